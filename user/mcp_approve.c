/* The approval side of the flow (approval.h): a tools/call held for a
 * human, asked through the operator, the agent's client (elicitation) or
 * the 2026-07-28 way (MRTR), and resumed once decided. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>

#include "acct.h"
#include "approval.h"
#include "approval_canon.h"
#include "approval_elicit.h"
#include "approval_mrtr.h"
#include "common.h"
#include "enforce_lock.h"
#include "log.h"
#include "mcp_flow_int.h"
#include "mcp_session.h"

static void held_post(void *ctx, const struct approval_result *r);

void mcp_flow_held_free(struct held_call *h)
{
	timer_cancel(&h->keepalive);
	bb_free(&h->upstream);
	free(h->id_raw);
	cJSON_Delete(h->arguments);
	free(h);
}

/* A client that asked for progress waits on the daemon's stream: a
 * comment now and then tells it (and proxies between) the call lives. */
void mcp_flow_held_keepalive(struct timer *t)
{
	struct held_call *h = container_of(t, struct held_call, keepalive);
	struct mcp_flow *f = h->f;

	if (http1_emit_chunk(f->client_out, ": keep-alive\n\n", 14) == 0)
		f->kick(f->conn);
	timer_arm(f->wheel, &h->keepalive, ELICIT_KEEPALIVE_S);
}

void mcp_flow_held_drop(struct mcp_flow *f, struct held_call *h)
{
	enforce_lock();
	if (h->posted) {
		timer_cancel(&h->keepalive);
		h->f = NULL;  /* held_decided frees it */
		h = NULL;
	} else {
		approval_cancel(f->enf->approvals, h->a);
	}
	enforce_unlock();
	if (h)
		mcp_flow_held_free(h);
}

/* Can the human be asked in the agent's own client (approval_elicit.h)?
 * The policy allows it, the session's client declared elicitation, this
 * POST accepts an event stream, and no answer is owed before this one on
 * the connection (the daemon's stream is the next thing it writes). */
static bool can_elicit(const struct request_ctx *rc, const struct approval_subject *s)
{
	const char *v;
	size_t n;
	char accept[512];

	if (!(s->via & MCPF_VIA_ELICITATION) || rc->batch || rc->legacy || rc->f->first != rc->ex ||
	    http1_find_header(rc->m, "Mcp-Session-Id", NULL, NULL) != 1 || !elicit_caps_has(s->server, rc->session, s->cgroup_id, s->uid) ||
	    http1_find_header(rc->m, "Accept", &v, &n) != 1)
		return false;
	snprintf(accept, sizeof(accept), "%.*s", (int)n, v);
	return strcasestr(accept, "text/event-stream") != NULL;
}

/* May the agent's client still approve this held call? The rule that
 * governs it now decides (the policy may have been reloaded since it
 * was asked): an approve rule must name elicitation; any other verdict
 * is met again when the approved call goes out (held_done). */
static bool elicit_allowed_now(struct policy_maps *p, const struct approval *a)
{
	const struct approval_subject *s = approval_subject_of(a);
	const struct held_call *h = approval_ctx_of(a);
	struct decide_request dr = {
		.server = s->server, .tool = s->tool, .arguments = h->arguments, .cgroup_id = s->cgroup_id,
		.uid = s->uid, .pid = s->identity_pid, .session = s->session, .now_ns = boot_time_ns(),
		.look_only = true,
	};
	struct decision d;

	return decide(p, &dr, &d) != MCPF_DECISION_APPROVE || (d.approval.via & MCPF_VIA_ELICITATION);
}

/* A response to the daemon's own elicitation/create: never forwarded
 * (the server does not know the id). It decides the held call when it
 * comes from the same agent, for the same server and session, and the
 * policy of now still lets the client approve it. */
static void elicit_answer(struct request_ctx *rc, const struct jsonrpc_msg *jm)
{
	const struct mcpf_conn *o = rc->f->origin;
	struct approval_store *st = rc->f->enf->approvals;
	const char *id = jm->id->valuestring + strlen(ELICIT_ID_PREFIX);
	const struct approval *a = st ? approval_find(st, id) : NULL;
	const struct approval_subject *s = a ? approval_subject_of(a) : NULL;

	if (!s || s->cgroup_id != o->cgroup_id || s->uid != o->uid || strcmp(s->server, o->server) ||
	    strcmp(s->session, rc->session) || !(s->via & MCPF_VIA_ELICITATION)) {
		log_info("pid=%u: an answer to an elicitation that is not pending for it; dropped", o->pid);
		return;
	}
	if (!elicit_allowed_now(rc->f->enf->policy, a)) {
		log_info("pid=%u: an answer to an elicitation the policy no longer lets its client give; dropped "
			 "(the call waits for an operator or its timeout)", o->pid);
		return;
	}
	approval_decide(st, id, elicit_accepted(cJSON_GetObjectItemCaseSensitive(jm->node, "result")), -1,
			"elicitation", "declined by user");
}

/* An "approve" verdict (decide.h): a remembered approval of the identical
 * call lets it go (decided again as approved: budgets spent now); else
 * the call is held for a human (1), or *v and d say why nobody can be
 * asked (0). -1 out of memory. */
void mcp_flow_elicit_answer(struct request_ctx *rc, const struct jsonrpc_msg *jm)
{
	enforce_lock();
	elicit_answer(rc, jm);
	enforce_unlock();
}

static int ask_approval(struct request_ctx *rc, struct jsonrpc_msg *jm, struct decide_request *dr,
			struct decision *d, enum mcpf_decision *v, size_t req_bytes)
{
	struct mcp_flow *f = rc->f;
	const struct mcpf_conn *o = f->origin;
	struct approval_store *st = f->enf->approvals;
	struct approval_subject s = { .cgroup_id = o->cgroup_id, .uid = o->uid, .pid = o->pid,
				      .identity_pid = dr->pid, .timeout_s = d->approval.timeout_s,
				      .remember_s = d->approval.remember_s, .via = d->approval.via };
	const char *why = NULL;
	char busy[128];
	struct held_call *h;
	int err;

	snprintf(s.server, sizeof(s.server), "%.*s", MCPF_NAME_LEN - 1, o->server);
	snprintf(s.tool, sizeof(s.tool), "%s", jm->tool_name);
	snprintf(s.comm, sizeof(s.comm), "%.*s", MCPF_COMM_LEN, o->comm);
	snprintf(s.cgroup_path, sizeof(s.cgroup_path), "%s", f->cgroup_path);
	err = approval_args_hash(f->enf->session_secret, jm->arguments, &s.args_hash);
	if (err && err != -ERANGE)
		return -1;
	snprintf(s.session, sizeof(s.session), "%s", rc->session);
	snprintf(rc->args_hash, sizeof(rc->args_hash), "%016llx", (unsigned long long)s.args_hash);
	approval_summary(jm->arguments, s.summary, sizeof(s.summary));
	if (!st) {
		why = "no approval is possible on this daemon";
	} else if (err) {
		why = "an argument holds a number of magnitude 2^53 or more, which cannot be shown or bound "
		      "exactly for approval";
	} else if (approval_remembered(st, &s)) {
		dr->approved = true;
		*v = decide(f->enf->policy, dr, d);
		if (*v == MCPF_DECISION_ALLOW)
			rc->approved_by = "remembered";
		return 0;
	} else if (rc->batch) {
		why = "a call that needs approval must be sent alone, not in a batch";
	} else if (rc->legacy) {
		why = "a call that needs approval cannot be held on the legacy SSE transport";
	} else if (!(s.via & MCPF_VIA_OPERATOR) && !can_elicit(rc, &s)) {
		why = "the policy lets only the agent's MCP client approve this call (elicitation), "
		      "and this client cannot be asked";
	}
	if (!why) {
		bool elicit = can_elicit(rc, &s);

		/* a client that is not asked cannot answer either (elicit_answer) */
		if (!elicit)
			s.via &= ~MCPF_VIA_ELICITATION;
		h = calloc(1, sizeof(*h));
		if (!h)
			return -1;
		err = approval_submit(st, &s, held_post, h, &h->a);
		if (err == -ESHUTDOWN) {
			snprintf(busy, sizeof(busy), "%s", st->closed);
			why = busy;
			free(h);
		} else if (err == -ENOSPC || err == -EDQUOT) {
			snprintf(busy, sizeof(busy), "too many calls await approval (%u%s); try again later",
				 err == -EDQUOT ? st->max_per_agent : st->max_pending,
				 err == -EDQUOT ? " from this agent" : "");
			why = busy;
			free(h);
		} else if (err) {
			free(h);
			return -1;
		} else {
			h->f = f;
			h->ex = rc->ex;
			h->id_raw = strndup(jm->id_raw, jm->id_raw_len);
			h->arguments = jm->arguments ? cJSON_Duplicate(jm->arguments, true) : NULL;
			snprintf(h->tool, sizeof(h->tool), "%s", jm->tool_name);
			snprintf(h->rule, sizeof(h->rule), "%s", d->rule);
			snprintf(h->session, sizeof(h->session), "%s", rc->session);
			snprintf(h->args_hash, sizeof(h->args_hash), "%s", rc->args_hash);
			h->req_bytes = req_bytes;
			h->start_ns = dr->now_ns;
			h->elicit = elicit;
			h->progress = cJSON_GetObjectItemCaseSensitive(
					      cJSON_GetObjectItemCaseSensitive(jm->params, "_meta"), "progressToken") != NULL;
			rc->held = h;
			if (!h->id_raw || (jm->arguments && !h->arguments))
				return -1;  /* freed with the request (on_mcp_request) */
			return 1;
		}
	}
	*v = MCPF_DECISION_DENY;
	snprintf(d->reason, sizeof(d->reason), "%s", why);
	return 0;
}

/* The 2026-07-28 way of asking (approval_mrtr.h), for a call alone in its
 * request that needs approval (or is allowed) and either answers the
 * daemon's input_required (a retry) or declares elicitation in _meta.
 * MRTR_ANSWERED: answered here with input_required; MRTR_DECIDED: *v and
 * d are the verdict (an approved retry goes upstream as
 * rc->upstream_body); MRTR_NOT: not this way; -1 out of memory. */
int mcp_flow_ask_approval(struct request_ctx *rc, struct jsonrpc_msg *jm, struct decide_request *dr,
			  struct decision *d, enum mcpf_decision *v, size_t req_bytes)
{
	enforce_lock();  /* the store, and h->f set before any decision can be posted */
	int held = ask_approval(rc, jm, dr, d, v, req_bytes);

	enforce_unlock();
	return held;
}

static int mrtr_call(struct request_ctx *rc, struct jsonrpc_msg *jm, struct decide_request *dr,
		     struct decision *d, enum mcpf_decision *v)
{
	struct mcp_flow *f = rc->f;
	const struct mcpf_conn *o = f->origin;
	struct approval_store *st = f->enf->approvals;
	bool retry = mrtr_carries_own(jm->params);
	struct approval_subject s = { .cgroup_id = o->cgroup_id, .uid = o->uid, .pid = o->pid,
				      .identity_pid = dr->pid, .timeout_s = d->approval.timeout_s,
				      .remember_s = d->approval.remember_s, .via = d->approval.via };
	struct mrtr_verdict mv;
	cJSON *result, *reply;
	int err;

	if (!st || (*v != MCPF_DECISION_APPROVE && !(retry && *v == MCPF_DECISION_ALLOW)) ||
	    (!retry && (rc->batch || rc->legacy || !(s.via & MCPF_VIA_ELICITATION) || !mrtr_client_can_elicit(jm->params))))
		return MRTR_NOT;
	if (rc->batch || rc->legacy) {
		/* its answer and state are the daemon's: never forwarded */
		*v = MCPF_DECISION_INVALID;
		snprintf(d->reason, sizeof(d->reason), "an answer to an mcpfence approval must be sent alone, "
			 "not in a batch or on the legacy SSE transport");
		return MRTR_DECIDED;
	}
	snprintf(s.server, sizeof(s.server), "%.*s", MCPF_NAME_LEN - 1, o->server);
	snprintf(s.tool, sizeof(s.tool), "%s", jm->tool_name);
	snprintf(s.comm, sizeof(s.comm), "%.*s", MCPF_COMM_LEN, o->comm);
	snprintf(s.cgroup_path, sizeof(s.cgroup_path), "%s", f->cgroup_path);
	snprintf(s.session, sizeof(s.session), "%s", rc->session);
	err = approval_args_hash(f->enf->session_secret, jm->arguments, &s.args_hash);
	if (err == -ERANGE && !retry)
		return MRTR_NOT;  /* mcp_flow_ask_approval refuses it, saying why */
	if (err == -ERANGE) {
		*v = MCPF_DECISION_INVALID;
		snprintf(d->reason, sizeof(d->reason), "an argument holds a number of magnitude 2^53 or more, "
			 "which cannot be bound exactly to an approval");
		return MRTR_DECIDED;
	}
	if (err)
		return -1;
	snprintf(rc->args_hash, sizeof(rc->args_hash), "%016llx", (unsigned long long)s.args_hash);
	approval_summary(jm->arguments, s.summary, sizeof(s.summary));
	if (!retry) {
		if (approval_remembered(st, &s))
			return MRTR_NOT;  /* mcp_flow_ask_approval lets it through */
		err = mrtr_ask(st, &s, jm->params, &result);
		if (err == -ESHUTDOWN) {
			*v = MCPF_DECISION_DENY;
			snprintf(d->reason, sizeof(d->reason), "%s", st->closed);
			return MRTR_DECIDED;
		}
		if (err == -ENOSPC || err == -EDQUOT) {
			*v = MCPF_DECISION_DENY;
			snprintf(d->reason, sizeof(d->reason), "too many calls await approval (%u%s); try again later",
				 err == -EDQUOT ? st->max_per_agent : st->max_pending,
				 err == -EDQUOT ? " from this agent" : "");
			return MRTR_DECIDED;
		}
		if (err)
			return -1;
		reply = jsonrpc_denial(jm, "", "", -1);  /* its id and envelope */
		if (!reply || !cJSON_ReplaceItemInObjectCaseSensitive(reply, "result", result)) {
			cJSON_Delete(result);
			cJSON_Delete(reply);
			return -1;
		}
		if (mcp_flow_add_reply(rc, reply))
			return -1;
		jm->verdict = JSONRPC_ANSWERED;
		return MRTR_ANSWERED;
	}
	if (*v == MCPF_DECISION_ALLOW)
		s.via = MCPF_VIA_ELICITATION | MCPF_VIA_OPERATOR;  /* no rule asks now: decided again below */
	if (mrtr_retry(st, &s, jm->params, &mv))
		return -1;
	snprintf(rc->mrtr_by, sizeof(rc->mrtr_by), "%s", mv.by);
	rc->approved_by = mv.by[0] ? rc->mrtr_by : NULL;  /* a refused retry was decided by nobody */
	*v = mv.decision;
	if (*v == MCPF_DECISION_ALLOW) {
		dr->approved = true;
		*v = decide(f->enf->policy, dr, d);
		err = *v == MCPF_DECISION_ALLOW ? mrtr_strip(jm->node, mv.carried, &rc->upstream_body) : 0;
		cJSON_Delete(mv.carried);
		return err ? -1 : MRTR_DECIDED;
	}
	snprintf(d->reason, sizeof(d->reason), "%s", mv.reason);
	return MRTR_DECIDED;
}

int mcp_flow_mrtr_call(struct request_ctx *rc, struct jsonrpc_msg *jm, struct decide_request *dr,
		       struct decision *d, enum mcpf_decision *v)
{
	enforce_lock();  /* the store and the MRTR slots, with the decisions they make */
	int r = mrtr_call(rc, jm, dr, d, v);

	enforce_unlock();
	return r;
}

bool mcp_flow_held(const struct mcp_flow *f)
{
	return f->held != NULL;
}

bool mcp_flow_held_idle(const struct mcp_flow *f)
{
	return f->held && f->first && f->first->held == f->held && !http1_in_head(&f->resp) &&
	       !http1_in_body(&f->resp);
}

/* ---- a held call decided (approval.h) ---- */

/* Approved: decided again as approved (conditions and budgets of this
 * moment, decide.h) and forwarded; else answered here with the usual
 * isError denial naming the reason. Then the bytes read after it. */
static void held_done(void *ctx, const struct approval_result *r)
{
	struct held_call *h = ctx;
	struct mcp_flow *f = h->f;
	const struct mcpf_conn *o = f->origin;
	struct flow_io io = { .to_upstream = f->upstream_out, .to_client = f->client_out };
	struct decide_request dr = {
		.server = o->server, .tool = h->tool, .arguments = h->arguments, .cgroup_id = o->cgroup_id,
		.uid = o->uid, .pid = f->enf->agent_per_cgroup ? 0 : o->pid, .session = h->session,
		.now_ns = boot_time_ns(), .approved = true,
	};
	struct decision d = { 0 };
	enum mcpf_decision v = MCPF_DECISION_DENY;
	int err = 0;

	h->ex->held = NULL;
	f->held = NULL;
	if (r->outcome == APPROVAL_APPROVED) {
		enforce_lock();
		v = decide(f->enf->policy, &dr, &d);
		enforce_unlock();
	} else {
		snprintf(d.rule, sizeof(d.rule), "%s", h->rule);
		snprintf(d.reason, sizeof(d.reason), "%s", r->reason);
	}
	if (v == MCPF_DECISION_ALLOW) {
		struct answer_track *t = mcp_flow_track_of(f, NULL);
		struct pending_call c = { .start_ns = h->start_ns, .req_bytes = h->req_bytes, .exchange = h->ex->seq };

		snprintf(c.tool, sizeof(c.tool), "%s", h->tool);
		snprintf(c.rule, sizeof(c.rule), "%s", d.rule);
		snprintf(c.session, sizeof(c.session), "%s", h->session);
		snprintf(c.approved_by, sizeof(c.approved_by), "%s", r->by);
		snprintf(c.args_hash, sizeof(c.args_hash), "%s", h->args_hash);
		c.id = cJSON_Parse(h->id_raw);
		c.arguments = acct_audits_args(f->enf->acct) && h->arguments ? cJSON_Duplicate(h->arguments, true) : NULL;
		if (t && c.id && call_list_add(&t->calls, &c) == 0) {
			err = bb_append(io.to_upstream, h->upstream.data, h->upstream.len) ||
			      http1_expect_response(&f->resp, h->method) ? -1 : 0;
			goto next;
		}
		call_free(&c);
		v = MCPF_DECISION_INVALID;
		snprintf(d.rule, sizeof(d.rule), "capacity");
		snprintf(d.reason, sizeof(d.reason), "too many calls in flight on this connection");
	}
	struct accounting a = {
		.tool = h->tool, .rule = d.rule, .reason = d.reason, .session = h->session,
		.decision = r->outcome == APPROVAL_APPROVED ? v
			    : r->outcome == APPROVAL_TIMEOUT ? MCPF_DECISION_APPROVAL_TIMEOUT : MCPF_DECISION_DECLINED,
		.req_bytes = h->req_bytes, .arguments = h->arguments, .latency_ns = r->latency_ns,
		.approved_by = r->by, .args_hash = h->args_hash,
	};
	struct jsonrpc_msg m = { .id_raw = h->id_raw, .id_raw_len = strlen(h->id_raw) };
	cJSON *reply = jsonrpc_denial(&m, d.rule, d.reason, v == MCPF_DECISION_RATE_LIMITED ? (long)d.retry_after : -1);

	mcp_flow_account(f, &a);
	h->ex->local = true;
	if (reply && h->ex->own_stream) {
		char *text = cJSON_PrintUnformatted(reply);

		err = !text || elicit_stream_event(&h->ex->reply, text, strlen(text), true) || mcp_flow_flush_local(f, &io) ? -1 : 0;
		cJSON_free(text);
	} else {
		err = !reply || jsonrpc_http_reply(&h->ex->reply, h->ex->shape, reply, h->keep_alive) ||
		      mcp_flow_flush_local(f, &io) ? -1 : 0;
	}
	cJSON_Delete(reply);
next:
	mcp_flow_held_free(h);
	if (!err && f->upstream_error[0])
		err = mcp_flow_answer_unreachable(f, &io);
	if (!err && f->stalled.len && !f->refused) {
		struct bytebuf in = f->stalled;

		f->stalled = (struct bytebuf)BYTEBUF_INIT;
		err = mcp_flow_feed_requests(f, in.data, in.len, &io);
		bb_free(&in);
	}
	f->resume(f->conn, err, io.finished);
}

/* The flow's own thread, from its mailbox. */
static void held_decided(struct mail *m)
{
	struct held_call *h = container_of(m, struct held_call, mail);

	if (!h->f)
		mcp_flow_held_free(h);  /* its connection went meanwhile */
	else
		held_done(h, &h->result);
}

/* approval.h's done(), under enforce_lock on whichever thread decided
 * (the main one for an operator or a timeout, a worker for an
 * elicitation answer): the flow is its worker's, so the decision is
 * posted there. */
static void held_post(void *ctx, const struct approval_result *r)
{
	struct held_call *h = ctx;

	h->a = NULL;  /* the store frees it after this */
	if (!h->f->mailbox) {
		held_done(h, r);  /* a flow outside a proxy worker */
		return;
	}
	h->result = *r;
	h->posted = true;
	mailbox_post(h->f->mailbox, &h->mail, held_decided);
}
