#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "approval.h"
#include "decide.h"

#define REMEMBER_MAX_S 86400

struct approval {
	struct dlist link;               /* in st->pending */
	struct approval_store *st;
	struct timer timer;
	char id[APPROVAL_ID_LEN + 1];
	struct approval_subject s;
	unsigned long long start_ns;     /* CLOCK_BOOTTIME */
	long long start_s;               /* CLOCK_MONOTONIC, for ages */
	approval_done_fn done;
	void *ctx;
};

const char *approval_id(const struct approval *a) { return a->id; }
const struct approval_subject *approval_subject_of(const struct approval *a) { return &a->s; }
void *approval_ctx_of(const struct approval *a) { return a->ctx; }
long long approval_age_s(const struct approval *a) { return monotonic_s() - a->start_s; }

static struct approval *approval_of(const struct dlist *n)
{
	return n ? container_of(n, struct approval, link) : NULL;
}

const struct approval *approval_first(const struct approval_store *st)
{
	return approval_of(dlist_first(&st->pending));
}

const struct approval *approval_next(const struct approval *a)
{
	return approval_of(dlist_next(&a->st->pending, &a->link));
}

int approval_store_init(struct approval_store *st, struct timer_wheel *wheel, unsigned int max_pending)
{
	memset(st, 0, sizeof(*st));
	st->wheel = wheel;
	st->max_pending = max_pending;
	return 0;
}

static void unlink_pending(struct approval_store *st, struct approval *a)
{
	timer_cancel(&a->timer);
	dlist_del(&a->link);
	st->n_pending--;
}

static bool same_call(const struct remembered *r, const struct approval_subject *s)
{
	return r->args_hash == s->args_hash && r->cgroup_id == s->cgroup_id && r->uid == s->uid &&
	       r->pid == s->identity_pid && !strcmp(r->server, s->server) && !strcmp(r->tool, s->tool);
}

/* The slot for a new remembered approval: an expired one, the same call,
 * or the one that expires first. */
static struct remembered *remember_slot(struct approval_store *st, const struct approval_subject *s, long long now)
{
	struct remembered *soonest = NULL;

	for (unsigned i = 0; i < st->n_remembered; i++) {
		struct remembered *r = &st->remembered[i];

		if (r->until_s <= now || same_call(r, s))
			return r;
		if (!soonest || r->until_s < soonest->until_s)
			soonest = r;
	}
	if (st->n_remembered < APPROVAL_REMEMBER_MAX)
		return &st->remembered[st->n_remembered++];
	return soonest;
}

bool approval_remembered(struct approval_store *st, const struct approval_subject *s)
{
	long long now = monotonic_s();

	/* an approval given in the agent's own client stands in only where
	 * that client may approve (via): never for an operator-only rule */
	for (unsigned i = 0; i < st->n_remembered; i++)
		if (st->remembered[i].until_s > now && same_call(&st->remembered[i], s) &&
		    (st->remembered[i].via & s->via))
			return true;
	return false;
}

static void count_outcome(struct approval_store *st, const struct approval_result *r)
{
	unsigned long long s = (r->latency_ns + 999999999ULL) / 1000000000ULL;
	unsigned b = 0;

	switch (r->outcome) {
	case APPROVAL_APPROVED: st->approved_total++; break;
	case APPROVAL_DECLINED: st->declined_total++; break;
	case APPROVAL_TIMEOUT: st->timeout_total++; break;
	default: return;
	}
	while (b < APPROVAL_LATENCY_BUCKETS - 1 && (1ULL << b) < s)
		b++;
	st->latency_hist[b]++;
	st->latency_sum_ms += r->latency_ns / 1000000;
}

/* Out of the pending set, counted, watchers told, then the owner. */
static void finish(struct approval_store *st, struct approval *a, struct approval_result *r)
{
	r->latency_ns = boot_time_ns() - a->start_ns;
	unlink_pending(st, a);
	count_outcome(st, r);
	if (st->watch)
		st->watch(st->watch_ctx, APPROVAL_EV_DECIDED, a, r);
	a->done(a->ctx, r);
	free(a);
}

static void on_timeout(struct timer *t)
{
	struct approval *a = container_of(t, struct approval, timer);
	struct approval_result r = { .outcome = APPROVAL_TIMEOUT };
	unsigned m = a->s.timeout_s / 60, sec = a->s.timeout_s % 60;

	if (sec)
		snprintf(r.reason, sizeof(r.reason), "no answer in %us", a->s.timeout_s);
	else
		snprintf(r.reason, sizeof(r.reason), "no answer in %um", m);
	snprintf(r.by, sizeof(r.by), "timeout");
	finish(a->st, a, &r);
}

int approval_submit(struct approval_store *st, const struct approval_subject *s, approval_done_fn done,
		    void *ctx, struct approval **out)
{
	unsigned char rnd[APPROVAL_ID_LEN / 2];
	struct approval *a;

	if (st->closed[0])
		return -ESHUTDOWN;
	if (st->n_pending >= st->max_pending) {
		st->refused_full_total++;
		return -ENOSPC;
	}
	if (st->max_per_agent) {
		unsigned mine = 0;
		struct dlist *n, *next;

		dlist_for_each_safe(n, next, &st->pending) {
			const struct approval_subject *held = &approval_of(n)->s;

			mine += held->cgroup_id == s->cgroup_id && held->uid == s->uid &&
				held->identity_pid == s->identity_pid;
		}
		if (mine >= st->max_per_agent) {
			st->refused_full_total++;
			return -EDQUOT;
		}
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -EIO;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(a->id + 2 * i, 3, "%02x", rnd[i]);
	a->st = st;
	a->s = *s;
	a->done = done;
	a->ctx = ctx;
	a->start_ns = boot_time_ns();
	a->start_s = monotonic_s();
	a->timer.fn = on_timeout;
	dlist_add_tail(&st->pending, &a->link);
	st->n_pending++;
	timer_arm(st->wheel, &a->timer, s->timeout_s ? s->timeout_s : 1);
	if (st->watch)
		st->watch(st->watch_ctx, APPROVAL_EV_NEW, a, NULL);
	*out = a;
	return 0;
}

void approval_cancel(struct approval_store *st, struct approval *a)
{
	struct approval_result r = { .outcome = APPROVAL_STOPPED };

	snprintf(r.by, sizeof(r.by), "agent");
	snprintf(r.reason, sizeof(r.reason), "the agent's connection ended");
	r.latency_ns = boot_time_ns() - a->start_ns;
	unlink_pending(st, a);
	if (st->watch)
		st->watch(st->watch_ctx, APPROVAL_EV_DECIDED, a, &r);
	free(a);
}

/* The pending call with this id, or NULL. */
static struct approval *pending(const struct approval_store *st, const char *id)
{
	struct dlist *n, *next;

	dlist_for_each_safe(n, next, &st->pending)
		if (!strcmp(approval_of(n)->id, id))
			return approval_of(n);
	return NULL;
}

const struct approval *approval_find(const struct approval_store *st, const char *id)
{
	return pending(st, id);
}

int approval_decide(struct approval_store *st, const char *id, bool approve, long remember_s,
		    const char *by, const char *reason)
{
	struct approval_result r = { .outcome = approve ? APPROVAL_APPROVED : APPROVAL_DECLINED };
	struct approval *a = pending(st, id);

	if (!a)
		return -ENOENT;
	snprintf(r.by, sizeof(r.by), "%s", by);
	if (!approve)
		snprintf(r.reason, sizeof(r.reason), "%s", reason && *reason ? reason : "declined by operator");
	if (remember_s < 0)
		remember_s = a->s.remember_s;
	if (approve && remember_s > 0) {
		long long now = monotonic_s();
		struct remembered *slot = remember_slot(st, &a->s, now);

		*slot = (struct remembered){ .cgroup_id = a->s.cgroup_id, .uid = a->s.uid, .pid = a->s.identity_pid,
					     .args_hash = a->s.args_hash,
					     .via = strcmp(by, "elicitation") ? MCPF_VIA_OPERATOR : MCPF_VIA_ELICITATION,
					     .until_s = now + (remember_s > REMEMBER_MAX_S ? REMEMBER_MAX_S : remember_s) };
		snprintf(slot->server, sizeof(slot->server), "%s", a->s.server);
		snprintf(slot->tool, sizeof(slot->tool), "%s", a->s.tool);
	}
	finish(st, a, &r);
	return 0;
}

void approval_store_fini(struct approval_store *st, const char *reason)
{
	/* workers may still read requests until their stop: a call held
	 * from here on would end with its connection, not with this reason */
	snprintf(st->closed, sizeof(st->closed), "%s", reason);
	while (!dlist_empty(&st->pending)) {
		struct approval_result r = { .outcome = APPROVAL_STOPPED };

		snprintf(r.by, sizeof(r.by), "daemon");
		snprintf(r.reason, sizeof(r.reason), "%s", reason);
		finish(st, approval_of(dlist_first(&st->pending)), &r);
	}
}
