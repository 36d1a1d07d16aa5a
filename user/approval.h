/*
 * approval: calls held for a human (policy action "approve").
 *
 *   approval_store_init(&st, wheel, max_pending, secret);
 *   if (approval_remembered(&st, &subject, &by)) ... goes out at once
 *   approval_submit(&st, &subject, done, ctx, &a);   // -ENOSPC: over the bound,
 *                                                    // -EDQUOT: over this agent's share
 *   ... approval_decide(&st, id, true, remember_s, "operator uid 0", NULL)
 *   ... or the timer: done(ctx, {APPROVAL_TIMEOUT}) after subject.timeout_s
 *   approval_cancel(a);        // the held call's connection is gone: no callback
 *   approval_store_fini(&st, "mcpfence is stopping"); // every pending call denied
 *
 * Every pending call is bound to what was asked: server, tool, the agent
 * (cgroup id, uid, pid, comm) and the keyed hash of its canonical
 * arguments (approval_canon.h). An approval with `remember` lets calls
 * with the same server, tool, agent identity and hash through for that
 * long, and nothing else. Ids are 128 random bits: knowing one is proof
 * of having been shown it. done() runs exactly once per submitted call,
 * from the event loop (a timer or a control request), never inside
 * approval_submit; it may free its owner.
 */
#ifndef MCPF_APPROVAL_H
#define MCPF_APPROVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "mcpfence_abi.h"
#include "dlist.h"
#include "timer_wheel.h"

#define APPROVAL_ID_LEN 32           /* hex characters */
#define APPROVAL_DEFAULT_MAX 100
#define APPROVAL_DEFAULT_AGENT_MAX 25 /* per agent identity: others still get a turn */
#define APPROVAL_REMEMBER_MAX 1024   /* remembered approvals kept at once */
#define APPROVAL_LATENCY_BUCKETS 17

struct approval_subject {
	char server[MCPF_NAME_LEN];
	char tool[MCPF_NAME_LEN * 2];
	unsigned long long cgroup_id;
	unsigned int uid, pid;
	unsigned int identity_pid;       /* pid as agent identity: 0 per cgroup (--agent-identity cgroup) */
	char comm[MCPF_COMM_LEN + 1];
	char cgroup_path[256];           /* "" if unknown */
	uint64_t args_hash;
	char summary[256];               /* canonical arguments, cut */
	unsigned int timeout_s, remember_s;
	unsigned int via;                /* MCPF_VIA_* still possible for this call */
	char session[128];               /* the session it came in: an elicitation answer must too */
};

enum approval_outcome { APPROVAL_APPROVED, APPROVAL_DECLINED, APPROVAL_TIMEOUT, APPROVAL_STOPPED };

struct approval_result {
	enum approval_outcome outcome;
	char by[64];                     /* "operator uid 0", "elicitation", "remembered" */
	char reason[256];                /* for the agent when not approved */
	uint64_t latency_ns;             /* submit to decision */
};

struct approval;
typedef void (*approval_done_fn)(void *ctx, const struct approval_result *r);
/* Something happened to the pending set (new, decided): for watchers. */
enum approval_event { APPROVAL_EV_NEW, APPROVAL_EV_DECIDED };
typedef void (*approval_watch_fn)(void *ctx, enum approval_event ev, const struct approval *a,
				  const struct approval_result *r);

struct remembered {
	char server[MCPF_NAME_LEN];
	char tool[MCPF_NAME_LEN * 2];
	unsigned long long cgroup_id;
	unsigned int uid, pid;
	uint64_t args_hash;
	unsigned int via;                /* who approved it: MCPF_VIA_ELICITATION or _OPERATOR */
	long long until_s;               /* CLOCK_MONOTONIC */
};

struct approval_store {
	struct timer_wheel *wheel;
	unsigned int max_pending, n_pending;
	unsigned int max_per_agent;      /* held at once per agent identity; 0: max_pending */
	struct dlist pending;            /* struct approval, oldest first */
	struct remembered remembered[APPROVAL_REMEMBER_MAX];
	unsigned int n_remembered;
	char closed[128];                /* set by approval_store_fini: why new calls are refused */
	approval_watch_fn watch;         /* control socket, hook; NULL: none */
	void *watch_ctx;
	/* for /metrics */
	unsigned long long approved_total, declined_total, timeout_total, refused_full_total;
	unsigned long long latency_hist[APPROVAL_LATENCY_BUCKETS]; /* le 1, 2, 4 ... 32768 s, then more */
	unsigned long long latency_sum_ms;
};

int approval_store_init(struct approval_store *st, struct timer_wheel *wheel, unsigned int max_pending);
/* Deny every pending call with reason (their done() runs now). */
void approval_store_fini(struct approval_store *st, const char *reason);

/* Is an identical call covered by a remembered approval? */
bool approval_remembered(struct approval_store *st, const struct approval_subject *s);
int approval_submit(struct approval_store *st, const struct approval_subject *s, approval_done_fn done,
		    void *ctx, struct approval **out);
void approval_cancel(struct approval_store *st, struct approval *a);
/* Decide a pending call by id: approve, remembering identical calls for
 * remember_s (-1: the policy's "remember"; at most 24 h), or decline with
 * reason. by names who decided. -ENOENT: no such pending call. */
int approval_decide(struct approval_store *st, const char *id, bool approve, long remember_s,
		    const char *by, const char *reason);

const struct approval *approval_find(const struct approval_store *st, const char *id);
const char *approval_id(const struct approval *a);
const struct approval_subject *approval_subject_of(const struct approval *a);
void *approval_ctx_of(const struct approval *a);  /* the ctx given to approval_submit */
long long approval_age_s(const struct approval *a);
const struct approval *approval_first(const struct approval_store *st);
const struct approval *approval_next(const struct approval *a);

#endif
