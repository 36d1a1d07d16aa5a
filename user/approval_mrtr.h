/*
 * approval_mrtr: asking the human through Multi Round-Trip Requests (MCP
 * 2026-07-28, SEP-2322), the stateless revision's way: no sessions, no
 * server-initiated requests; every request declares its protocol version
 * and client capabilities in params._meta.
 *
 *   1. A tools/call that needs approval, declaring protocol 2026-07-28 (or
 *      later) and io.modelcontextprotocol/clientCapabilities.elicitation:
 *      mrtr_ask registers it in the approval store (mcpfence approvals
 *      lists it, an operator may decide it, the bound and the timeout
 *      apply) and builds the daemon's own answer, never forwarded:
 *        {"resultType":"input_required",
 *         "inputRequests":{"mcpfence-approval":{"method":"elicitation/create","params":{...}}},
 *         "requestState":"mcpf1.<approval id>.<expiry>.<mac>"}
 *   2. The client retries with a new id, params.inputResponses
 *      {"mcpfence-approval": <elicitation result>} and params.requestState
 *      echoed. mrtr_retry verifies the state (HMAC-SHA256 with a
 *      per-daemon key over the approval id, expiry, server, tool, agent
 *      identity and argument hash: a forged, expired or other call's state
 *      fails) and judges the answer (elicit_accepted). A state is good for
 *      one retry.
 *   3. Approved: the caller forwards mrtr_strip's body: the request without
 *      the daemon's inputResponses key and requestState.
 *
 * Both peers using MRTR: only the "mcpfence-approval" key and a state
 * starting "mcpf1." are the daemon's; other inputResponses keys pass on.
 * A requestState that is not the daemon's is the server's: while the
 * daemon asks, its own state takes the field's place, so a retry answering
 * the daemon carries only the daemon's state; the server then sees its
 * call without its state and starts its own rounds again (each round is a
 * new tools/call, approved again unless "remember" covers it).
 */
#ifndef MCPF_APPROVAL_MRTR_H
#define MCPF_APPROVAL_MRTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "approval.h"
#include "bytebuf.h"
#include "stats_abi.h"

#define MRTR_KEY "mcpfence-approval"
#define MRTR_STATE_PREFIX "mcpf1."
#define MRTR_PROTOCOL "2026-07-28"
#define MRTR_MAX 4096                /* calls asked this way at once, pending or awaiting their retry */

/* What a requestState is bound to. */
struct mrtr_binding {
	char id[APPROVAL_ID_LEN + 1];
	const char *server, *tool;
	unsigned long long cgroup_id;
	unsigned int uid, pid;           /* pid: identity pid (0 per cgroup) */
	uint64_t args_hash;
	long long expires_s;             /* CLOCK_MONOTONIC */
};

/* "mcpf1.<id>.<expiry>.<mac>" and, when carried is not NULL, "." carried. */
int mrtr_state_mint(const unsigned char key[32], const struct mrtr_binding *b, const char *carried,
		    struct bytebuf *out);
/* 0: issued with key for exactly *expect (its id and expires_s are
 * filled from the state; *carried points into state, NULL if none);
 * -EBADMSG: malformed, forged or another call's; -ETIMEDOUT: genuine but
 * expired at now_s. */
int mrtr_state_verify(const unsigned char key[32], const char *state, struct mrtr_binding *expect,
		      long long now_s, const char **carried);

/* Does this request declare 2026-07-28 (or later) and elicitation in _meta? */
bool mrtr_client_can_elicit(const cJSON *params);
/* Does it carry the daemon's own key or state (a retry answering it)? */
bool mrtr_carries_own(const cJSON *params);

/* Step 1 for the call s describes, params its params: *result is the
 * input_required result. -ENOSPC over the bound. */
int mrtr_ask(struct approval_store *st, const struct approval_subject *s, const cJSON *params, cJSON **result);

struct mrtr_verdict {
	enum mcpf_decision decision;     /* ALLOW (approved: decide again), DECLINED, APPROVAL_TIMEOUT, INVALID, DENY */
	char by[64];
	char reason[256];
	cJSON *carried;                  /* ALLOW: the server's round carried in the state, or NULL; caller frees */
};
/* Step 2, for a retry of the call s describes; s->via is who may approve
 * it now (the current policy's decision): without MCPF_VIA_ELICITATION
 * the client's answer is not taken (DENY; the call stays pending, an
 * operator's decision still stands). */
int mrtr_retry(struct approval_store *st, const struct approval_subject *s, const cJSON *params,
	       struct mrtr_verdict *out);
/* Step 3: the request (one JSON-RPC object) without the daemon's key and
 * state, the carried server round put back. */
int mrtr_strip(const cJSON *request, const cJSON *carried, struct bytebuf *out);

#endif
