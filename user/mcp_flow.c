#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "acct.h"
#include "approval.h"
#include "approval_elicit.h"
#include "enforce_lock.h"
#include "bytebuf.h"
#include "common.h"
#include "content_decode.h"
#include "decide.h"
#include "http_strict.h"
#include "json_number.h"
#include "json_sniff.h"
#include "jsonrpc.h"
#include "jsonrpc_reply.h"
#include "log.h"
#include "mcp_classify.h"
#include "mcp_filter.h"
#include "mcp_legacy.h"
#include "mcp_flow.h"
#include "mcp_flow_int.h"
#include "mcp_method.h"
#include "mcp_session.h"
#include "siphash.h"
#include "stats.h"
#include "tool_names.h"

/* The answers made here for a request's elements: the array is made on
 * the first (most requests have none). */
int mcp_flow_add_reply(struct request_ctx *rc, cJSON *reply)
{
	if (!reply || (!rc->replies && !(rc->replies = cJSON_CreateArray()))) {
		cJSON_Delete(reply);
		return -1;
	}
	return cJSON_AddItemToArray(rc->replies, reply) ? 0 : -1;
}

/* One decided call: counted in the stats map and written to the audit log. */
void mcp_flow_account(struct mcp_flow *f, const struct accounting *a)
{
	const struct mcpf_conn *o = f->origin;
	char comm[MCPF_COMM_LEN + 1];

	/* a row per real tool, or per method of the specification; invented
	 * names share one */
	enforce_lock();
	const char *row = !a->tool || !a->tool[0]                  ? a->tool
			  : a->method ? (mcp_method_specified(a->tool) ? a->tool : STATS_OTHER_TOOL)
			  : !policy_tool_named(f->enf->policy, o->server, a->tool) &&
					    !tool_names_has(f->enf->listed, o->server, a->tool)
				  ? STATS_OTHER_TOOL
				  : a->tool;
	enforce_unlock();

	if (acct_call(f->enf->acct, o->server, row, a->decision, a->req_bytes,
		      a->resp_bytes, a->latency_ns, a->upstream_error))
		log_warn("recording stats for %s/%s failed", o->server, a->tool ? a->tool : "");
	if (!acct_audits(f->enf->acct))
		return;
	snprintf(comm, sizeof(comm), "%.*s", MCPF_COMM_LEN, o->comm);
	struct audit_record r = {
		.pid = o->pid, .uid = o->uid, .comm = comm, .cgroup_id = o->cgroup_id,
		.cgroup_path = f->cgroup_path[0] ? f->cgroup_path : NULL,
		.server = o->server, .tool = a->tool, .decision = a->decision, .rule = a->rule,
		.reason = a->reason, .session = a->session, .latency_ns = a->latency_ns,
		.arguments = a->arguments, .approved_by = a->approved_by,
		.args_hash = a->args_hash,
	};
	if (acct_audit(f->enf->acct, &r))
		log_warn("audit log write failed");
}

void mcp_flow_account_answered(struct mcp_flow *f, struct pending_call *c, bool error, uint64_t resp_bytes)
{
	struct accounting a = {
		.tool = c->tool, .rule = c->rule, .reason = "", .session = c->session,
		.decision = MCPF_DECISION_ALLOW, .latency_ns = boot_time_ns() - c->start_ns,
		.req_bytes = c->req_bytes, .resp_bytes = resp_bytes, .upstream_error = error,
		.arguments = c->arguments, .method = c->method,
	};

	if (c->approved_by[0]) {
		a.decision = MCPF_DECISION_APPROVED;
		a.approved_by = c->approved_by;
		a.args_hash = c->args_hash;
	}

	mcp_flow_account(f, &a);
	call_free(c);
}

/* ---- exchanges: answers go out in request order ---- */

static struct exchange *exchange_push(struct mcp_flow *f, enum http_method method)
{
	struct exchange *ex = f->spare;

	/* a connection's requests mostly come one after the other: the last
	 * one answered is used again */
	if (ex) {
		f->spare = NULL;
		memset(ex, 0, sizeof(*ex));
	} else if (!(ex = calloc(1, sizeof(*ex)))) {
		return NULL;
	}
	ex->seq = f->next_seq++;
	ex->method = method;
	if (f->last)
		f->last->next = ex;
	else
		f->first = ex;
	f->last = ex;
	return ex;
}

void mcp_flow_exchange_free(struct mcp_flow *f, struct exchange *ex)
{
	/* answered: its ids are free again; dropped unanswered, the server may
	 * still answer, to whichever connection reuses an id (session_ids.h) */
	if (ex->unanswered)
		session_ids_abandon(&ex->ids, SESSION_IDS_ABANDONED_NS);
	else
		session_ids_release(&ex->ids);
	bb_free(&ex->reply);
	bb_free(&ex->extra);
	if (f->spare)
		free(ex);
	else
		f->spare = ex;
}

cJSON *mcp_flow_extra(const struct exchange *ex)
{
	return ex->extra.len ? cJSON_ParseWithLength(ex->extra.data, ex->extra.len) : NULL;
}

/* Write every local answer that has nothing unanswered before it. */
int mcp_flow_flush_local(struct mcp_flow *f, struct flow_io *io)
{
	while (f->first && f->first->local) {
		struct exchange *ex = f->first;

		if (bb_append(io->to_client, ex->reply.data, ex->reply.len))
			return -1;
		f->first = ex->next;
		if (!f->first)
			f->last = NULL;
		mcp_flow_exchange_free(f, ex);
	}
	if (f->refused && !f->first)
		io->finished = true;  /* the refusal was the last answer owed */
	return 0;
}

struct answer_track *mcp_flow_track_of(struct mcp_flow *f, struct mcp_session *s)
{
	if (s)
		return &s->track;
	if (!f->track)
		f->track = answer_track_new();
	return f->track;
}

/* ---- requests ---- */

static int local_reply(struct mcp_flow *f, struct flow_io *io, struct bytebuf *reply)
{
	struct exchange *ex = exchange_push(f, HTTP_POST);

	if (!ex)
		return -1;
	ex->local = true;
	ex->reply = *reply;
	*reply = (struct bytebuf)BYTEBUF_INIT;
	return mcp_flow_flush_local(f, io);
}

static int refuse_http_retry(struct mcp_flow *f, struct flow_io *io, int status, int code, const char *why,
			     unsigned retry_after_s)
{
	struct bytebuf out = BYTEBUF_INIT;
	struct accounting a = { .tool = "", .rule = "http", .reason = why, .session = f->conn_session,
				.decision = MCPF_DECISION_INVALID };

	mcp_flow_account(f, &a);
	if (jsonrpc_http_error_retry(&out, status, code, why, false, retry_after_s) || local_reply(f, io, &out)) {
		bb_free(&out);
		return -1;
	}
	/* The stream cannot be trusted past this point: nothing more is read.
	 * Answers still owed for earlier requests come first, then this one,
	 * then the connection ends; at once if the server holds part of this
	 * request, as it would wait for the rest instead of answering. */
	f->refused = true;
	if (!f->first || f->rs.streaming)
		io->finished = true;
	return 0;
}

static int refuse_http(struct mcp_flow *f, struct flow_io *io, int status, int code, const char *why)
{
	return refuse_http_retry(f, io, status, code, why, 0);
}

int mcp_flow_refuse(struct mcp_flow *f, struct flow_io *io, int status, const char *why, unsigned retry_after_s)
{
	if (f->refused)
		return 0;  /* already ending: its refusal is queued */
	return refuse_http_retry(f, io, status, JSONRPC_INVALID_REQUEST, why, retry_after_s);
}

enum flow_phase mcp_flow_phase(const struct mcp_flow *f)
{
	if (http1_in_head(&f->req))
		return FLOW_HEAD;
	if (http1_in_body(&f->req))
		/* a sniffed body is kept (req_body) until it streams on */
		return f->rs.buffered || (f->rs.sniffing && !f->rs.streaming) ? FLOW_HELD_BODY : FLOW_STREAMED_BODY;
	return f->first ? FLOW_BUSY : FLOW_IDLE;
}

void mcp_flow_drop_request(struct mcp_flow *f)
{
	http1_free(&f->req);
	bb_free(&f->req_body);
	bb_free(&f->wide_text);
}

size_t mcp_flow_queued_bytes(const struct mcp_flow *f)
{
	size_t n = 0;

	for (const struct exchange *ex = f->first; ex; ex = ex->next)
		n += ex->reply.cap + ex->extra.cap + ex->n_ids * SESSION_IDS_CLAIM_BYTES;
	return n;
}

size_t mcp_flow_body_bytes(const struct mcp_flow *f)
{
	/* a legacy session's calls wait on its stream's connection */
	return f->req_body.cap + f->wide_text.cap + f->stalled.cap + (f->held ? f->held->upstream.cap : 0) +
	       (f->track ? f->track->calls.bytes : 0) + (f->stream_of ? f->stream_of->track.calls.bytes : 0) +
	       mcp_flow_queued_bytes(f);
}

bool mcp_flow_backlog_over(const struct mcp_flow *f, unsigned max)
{
	const struct exchange *ex = f->first;

	for (unsigned n = 0; ex; ex = ex->next)
		if (++n > max)
			return true;
	return false;
}

bool mcp_flow_holds_response(const struct mcp_flow *f)
{
	return (f->resp_mode == RESP_BUFFER || f->resp_mode == RESP_SSE) && http1_in_body(&f->resp);
}

/* A held request goes upstream with the daemon's own framing: its head
 * with a Content-Length for exactly `body`, never the agent's chunks. */
static int forward_reframed(struct flow_io *io, const struct http1_msg *m, const char *body, size_t len,
			    bool drop_content_encoding)
{
	/* on failure the connection ends: a part written stays unsent */
	return http1_request_rebuild(m, (int64_t)len, drop_content_encoding, io->to_upstream) ||
	       bb_append(io->to_upstream, body, len);
}

/* A held body some server would read differently from the daemon: chunk
 * framing outside RFC 9112, a charset other than UTF-8 (http_strict.h).
 * Refused (true) with 400 or 415. */
static bool held_body_refused(struct mcp_flow *f, struct flow_io *io, const struct http1_msg *m)
{
	const char *why;

	if (m->framing == HTTP1_FRAMING_CHUNKED && http_strict_chunked(m->raw_body, m->raw_body_len, &why) < 0) {
		refuse_http(f, io, 400, JSONRPC_INVALID_REQUEST, why);
		return true;
	}
	if (m->body_len && http_strict_charset(m, m->body, m->body_len, &why) < 0) {
		refuse_http(f, io, 415, JSONRPC_PARSE_ERROR, why);  /* not readable as UTF-8 JSON */
		return true;
	}
	return false;
}

/* An allowed request whose answer is awaited, to account it then; false
 * when it cannot be followed (too many in flight). */
static bool follow_answer(struct request_ctx *rc, const struct jsonrpc_msg *jm, const char *name,
			  const char *rule, unsigned long long start_ns, size_t req_bytes)
{
	struct mcp_flow *f = rc->f;
	struct answer_track *t = mcp_flow_track_of(f, rc->legacy);
	struct pending_call c = { .start_ns = start_ns, .req_bytes = req_bytes, .exchange = rc->ex->seq,
				  .method = !jm->is_tools_call };

	copy_cut(c.tool, sizeof(c.tool), name);
	copy_cut(c.rule, sizeof(c.rule), rule);
	copy_cut(c.session, sizeof(c.session), rc->session);
	c.id = cJSON_Duplicate(jm->id, true);
	c.arguments = acct_audits_args(f->enf->acct) && jm->arguments ? cJSON_Duplicate(jm->arguments, true) : NULL;
	if (rc->approved_by) {
		snprintf(c.approved_by, sizeof(c.approved_by), "%s", rc->approved_by);
		snprintf(c.args_hash, sizeof(c.args_hash), "%s", rc->args_hash);
	}
	if (t && c.id && call_list_add(&t->calls, &c) == 0) {
		rc->inspect_answer = true;
		return true;
	}
	call_free(&c);
	return false;
}

static struct decide_request call_request(const struct request_ctx *rc, const struct jsonrpc_msg *jm)
{
	const struct mcp_flow *f = rc->f;

	return (struct decide_request){
		.server = f->origin->server, .tool = jm->tool_name, .arguments = jm->arguments,
		.arguments_unread = jm->args_unread, .cgroup_id = f->origin->cgroup_id, .uid = f->origin->uid,
		.pid = f->enf->agent_per_cgroup ? 0 : f->origin->pid,
		.session = rc->session,
	};
}

/* Decide one tools/call; answered here unless allowed. */
static int decide_call(struct request_ctx *rc, struct jsonrpc_msg *jm, size_t req_bytes)
{
	struct mcp_flow *f = rc->f;
	struct decide_request dr = call_request(rc, jm);
	struct decision d;
	enum mcpf_decision v;

	if (jm->kind == JSONRPC_NOTIFICATION) {
		/* MCP's tools/call is a request: without an id it is no call a
		 * server could answer, only a tool run whose result nobody sees
		 * (and some stacks run it). Never forwarded, whatever the policy;
		 * dropped (202, no body, when alone), no budget spent on it. */
		struct accounting inv = { .tool = jm->tool_name, .rule = "request",
					  .reason = "tools/call must have an id", .session = rc->session,
					  .decision = MCPF_DECISION_INVALID, .req_bytes = req_bytes };

		mcp_flow_account(f, &inv);
		jm->verdict = JSONRPC_ANSWERED;
		return 0;
	}
	if (rc->allowed) {
		d = *rc->allowed;
		dr.now_ns = rc->allowed_ns;
		v = MCPF_DECISION_ALLOW;
	} else {
		dr.now_ns = boot_time_ns();
		enforce_lock();
		v = decide(f->enf->policy, &dr, &d);
		enforce_unlock();
	}
	int mrtr = mcp_flow_mrtr_call(rc, jm, &dr, &d, &v);

	if (mrtr < 0 || mrtr == MRTR_ANSWERED)
		return mrtr < 0 ? -1 : 0;
	if (v == MCPF_DECISION_APPROVE) {
		int held = mcp_flow_ask_approval(rc, jm, &dr, &d, &v, req_bytes);

		if (held)
			return held < 0 ? -1 : 0;  /* held: forwarded once approved */
	}
	struct accounting a = { .tool = jm->tool_name, .rule = d.rule, .reason = d.reason,
				.session = rc->session, .decision = v, .req_bytes = req_bytes,
				.arguments = jm->arguments, .approved_by = rc->approved_by,
				.args_hash = rc->approved_by ? rc->args_hash : NULL };

	if (v == MCPF_DECISION_ALLOW) {
		bool followed = follow_answer(rc, jm, jm->tool_name, d.rule, dr.now_ns, req_bytes);

		rc->approved_by = NULL;
		if (followed)
			return 0;
		/* cannot follow its answer: refuse rather than lose the account */
		v = MCPF_DECISION_INVALID;
		snprintf(d.rule, sizeof(d.rule), "capacity");
		snprintf(d.reason, sizeof(d.reason), "too many calls in flight on this connection");
		a.decision = MCPF_DECISION_INVALID;
	}
	mcp_flow_account(f, &a);
	jm->verdict = JSONRPC_ANSWERED;
	cJSON *reply = jsonrpc_denial(jm, d.rule, d.reason, v == MCPF_DECISION_RATE_LIMITED ? (long)d.retry_after : -1);

	return mcp_flow_add_reply(rc, reply);
}

/* Decide any other request or notification that is not lifecycle
 * (mcp_method.h), accounted under its method name. Refused requests get a
 * JSON-RPC error; a refused notification is dropped (it has no answer). */
static int decide_other(struct request_ctx *rc, struct jsonrpc_msg *jm, size_t req_bytes)
{
	struct mcp_flow *f = rc->f;
	struct decide_request dr = {
		.server = f->origin->server, .method = jm->method,
		.cgroup_id = f->origin->cgroup_id, .uid = f->origin->uid,
		.pid = f->enf->agent_per_cgroup ? 0 : f->origin->pid,
		.session = rc->session, .now_ns = boot_time_ns(),
	};
	struct decision d = { 0 };
	const char *why;
	int list = mcp_method_list(jm->method);
	enum mcpf_decision v;
	char uri_form[MCP_TARGET_NAME_MAX + 1];

	if (mcp_method_target(jm->method, jm->params, uri_form, &dr.target, &why) < 0) {
		v = d.verdict = MCPF_DECISION_INVALID;
		snprintf(d.rule, sizeof(d.rule), "params");
		snprintf(d.reason, sizeof(d.reason), "%s", why);
	} else {
		dr.arguments = dr.target.arguments;
		enforce_lock();
		v = decide_method(f->enf->policy, &dr, &d);
		enforce_unlock();
	}
	struct accounting a = { .tool = jm->method, .method = true, .rule = d.rule, .reason = d.reason,
				.session = rc->session, .decision = v, .req_bytes = req_bytes };

	if (v == MCPF_DECISION_ALLOW && jm->kind == JSONRPC_NOTIFICATION) {
		mcp_flow_account(f, &a);
		return 0;
	}
	if (v == MCPF_DECISION_ALLOW) {
		struct answer_track *t = mcp_flow_track_of(f, rc->legacy);

		/* an answer that could not be filtered or accounted: refuse instead */
		if (list < 0 || (t && mcp_idset_add(&t->lists, jm->id, list) == 0)) {
			if (follow_answer(rc, jm, jm->method, d.rule, dr.now_ns, req_bytes))
				return 0;
			if (list >= 0)
				mcp_idset_take(&t->lists, jm->id);
		}
		v = MCPF_DECISION_INVALID;
		snprintf(d.rule, sizeof(d.rule), "capacity");
		snprintf(d.reason, sizeof(d.reason), "too many requests in flight on this connection");
		a.decision = MCPF_DECISION_INVALID;
	}
	mcp_flow_account(f, &a);
	jm->verdict = JSONRPC_ANSWERED;
	if (jm->kind == JSONRPC_NOTIFICATION)
		return 0;

	char msg[sizeof(d.rule) + sizeof(d.reason) + 64];

	snprintf(msg, sizeof(msg), "Blocked by mcpfence: %s: %s", d.rule, d.reason);
	if (v == MCPF_DECISION_RATE_LIMITED)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "; retry after %u s", d.retry_after);
	cJSON *reply = jsonrpc_error_reply(jm, v == MCPF_DECISION_INVALID ? JSONRPC_INVALID_REQUEST : MCP_POLICY_REFUSED,
					   msg);

	return mcp_flow_add_reply(rc, reply);
}

/* A request reusing the id of one still awaiting its answer (MCP: ids are
 * unique in a session), on this track or earlier in this body: its answer
 * and the other's could not be told apart. Across a Streamable HTTP
 * session's connections: claim_id. */
static bool id_in_use(struct request_ctx *rc, const struct jsonrpc_body *b, size_t i)
{
	const cJSON *id = b->msgs[i].id;

	if (b->msgs[i].kind != JSONRPC_REQUEST || !id)
		return false;
	for (size_t k = 0; k < i; k++)
		if (b->msgs[k].kind == JSONRPC_REQUEST && b->msgs[k].id && json_equal(b->msgs[k].id, id))
			return true;
	return answer_track_awaits(rc->legacy ? &rc->legacy->track : rc->f->track, id);
}

/* Claims a request's id in its Streamable HTTP session until its exchange
 * ends (session_ids.h: the server routes an answer to the connection that
 * last sent its id); NULL, or why not (in flight on any connection of the
 * session, no memory). */
static const char *claim_id(struct request_ctx *rc, const struct jsonrpc_msg *jm)
{
	if (!rc->shared_ids || jm->kind != JSONRPC_REQUEST || !jm->id)
		return NULL;
	switch (rc->session_full ? -EDQUOT : session_ids_claim(&rc->ex->ids, rc->f->origin->server, rc->session, jm->id)) {
	case 0:
		rc->ex->n_ids++;
		return NULL;
	case -EEXIST:
		return "the id of a request still awaiting its answer";
	case -EDQUOT:
		rc->session_full = true;  /* the rest of a batch is refused without a lock round */
		return "too many requests in flight in this session";
	default:
		return "mcpfence: no memory to follow this request's id";
	}
}

/* A POST naming a legacy session whose stream another worker thread holds
 * (a connection's first request places it: one naming the session goes to
 * the stream's worker, any other its agent's, proxy.c): refused, never
 * touched across threads. 409, and the connection goes on. */
static int refuse_elsewhere(struct mcp_flow *f, struct flow_io *io, const struct http1_msg *m,
			    const char *session)
{
	static const char why[] = "mcpfence: this connection is served by another worker than this legacy SSE "
				  "session's stream; send the session's messages on a new connection";
	struct bytebuf out = BYTEBUF_INIT;
	struct accounting a = { .tool = "", .rule = "session", .reason = why + 10, .session = session,
				.decision = MCPF_DECISION_INVALID };

	mcp_flow_account(f, &a);
	if (jsonrpc_http_error(&out, 409, JSONRPC_INVALID_REQUEST, why, m->keep_alive) || local_reply(f, io, &out)) {
		bb_free(&out);
		return -1;
	}
	return m->keep_alive ? 0 : -1;
}

/* A body read without a tree (jsonrpc_quick.h), one tools/call request:
 * true when it is allowed as read, decided into *d (its budgets spent)
 * and its id claimed in its session (rc->quick_ids). false, nothing
 * spent or kept: a call its id cannot be told from, or whose decision
 * needs more of it (conditions on its arguments) or is not allow (an
 * approval, a denial): the body is read again with the tree. The id is
 * claimed before the decision, so no other connection's claim can come
 * between the two and refuse a call whose budgets are spent. */
static bool quick_allowed(struct request_ctx *rc, const struct jsonrpc_body *b, struct decision *d)
{
	struct decide_request dr = call_request(rc, &b->msgs[0]);
	enum mcpf_decision v;
	int claimed = 0;

	if (id_in_use(rc, b, 0) || (rc->shared_ids && (claimed = session_ids_claim(&rc->quick_ids, rc->f->origin->server,
										    rc->session, b->msgs[0].id)))) {
		/* a full session: the tree's reading refuses it without
		 * claiming again (the refusal is counted once, here) */
		rc->session_full = claimed == -EDQUOT;
		return false;
	}
	rc->allowed_ns = dr.now_ns = boot_time_ns();
	enforce_lock();
	v = decide(rc->f->enf->policy, &dr, d);
	enforce_unlock();
	if (v != MCPF_DECISION_ALLOW)
		session_ids_release(&rc->quick_ids);
	return v == MCPF_DECISION_ALLOW;
}

/* A buffered MCP request is complete: decide every element, then forward
 * what is allowed and answer the rest. Nothing is forwarded before this. */
static int on_mcp_request(struct mcp_flow *f, struct flow_io *io, const struct http1_msg *m, bool own_100)
{
	struct request_ctx rc = { .f = f };
	struct jsonrpc_body b;
	struct jsonrpc_refusal why;
	struct mcp_legacy_target lt;
	char legacy_key[MCP_LEGACY_KEY_MAX];
	size_t forwarded;
	bool elsewhere = false;
	int err = 0, named = mcp_legacy_session(m, &lt);

	if (named < 0)
		return refuse_http(f, io, 400, JSONRPC_INVALID_REQUEST,
				   "mcpfence: the session parameter of this target is repeated, encoded or unreadable");
	if (named) {
		mcp_legacy_key(&lt, legacy_key, sizeof(legacy_key));
		rc.legacy = mcp_session_find(f->origin->server, legacy_key, &elsewhere);
	}
	/* a legacy session's ids are checked on its one track already */
	rc.shared_ids = mcp_session_key(m, rc.legacy || elsewhere ? lt.id : NULL, f->conn_session, rc.session,
					sizeof(rc.session));

	if (elsewhere)
		return refuse_elsewhere(f, io, m, rc.session);
	/* the plain tools/call is read without a tree, unless the audit log
	 * wants its arguments */
	bool quick = !acct_audits_args(f->enf->acct);
	struct decision allowed;
again:
	if (jsonrpc_inspect_request(m, f->enf->body_limit, quick, &b, &why) < 0) {
		struct bytebuf out = BYTEBUF_INIT;
		struct accounting a = { .tool = "", .rule = "request", .reason = why.reason,
					.session = rc.session, .decision = MCPF_DECISION_INVALID };

		mcp_flow_account(f, &a);
		if (jsonrpc_http_refusal(&out, &why, m->keep_alive) || local_reply(f, io, &out)) {
			bb_free(&out);
			return -1;
		}
		return m->keep_alive ? 0 : -1;
	}
	if (b.quick) {
		if (!quick_allowed(&rc, &b, &allowed)) {
			jsonrpc_body_free(&b);
			quick = false;
			goto again;
		}
		rc.allowed = &allowed;
	}
	rc.ex = exchange_push(f, m->method);
	if (!rc.ex) {
		err = -1;
		goto out;
	}
	rc.ex->ids = rc.quick_ids;
	rc.ex->n_ids = rc.quick_ids != NULL;
	rc.quick_ids = NULL;
	rc.ex->own_100 = own_100;
	rc.ex->legacy = rc.legacy != NULL;
	rc.ex->shape = jsonrpc_reply_shape(m);
	rc.batch = b.batch;
	rc.m = m;

	for (size_t i = 0; i < b.count && !err; i++) {
		struct jsonrpc_msg *jm = &b.msgs[i];
		size_t req_bytes = b.batch ? jm->span.len : m->body_len;
		const char *why = jm->kind == JSONRPC_INVALID ? jm->invalid_reason
				  : rc.allowed                ? NULL  /* one call, read, checked and claimed */
				  : id_in_use(&rc, &b, i)     ? "the id of a request still awaiting its answer"
							      : claim_id(&rc, jm);

		if (why) {
			struct accounting a = { .tool = jm->tool_name ? jm->tool_name : "", .rule = "request",
						.reason = why, .session = rc.session,
						.decision = MCPF_DECISION_INVALID, .req_bytes = req_bytes };
			cJSON *reply = jsonrpc_error_reply(jm, JSONRPC_INVALID_REQUEST, why);

			mcp_flow_account(f, &a);
			jm->verdict = JSONRPC_ANSWERED;
			err = mcp_flow_add_reply(&rc, reply);
		} else if (jm->kind == JSONRPC_RESPONSE && cJSON_IsString(jm->id) &&
			   !strncmp(jm->id->valuestring, ELICIT_ID_PREFIX, strlen(ELICIT_ID_PREFIX))) {
			mcp_flow_elicit_answer(&rc, jm);
			jm->verdict = JSONRPC_ANSWERED;
		} else if (jm->is_tools_call) {
			/* an id-less one too: it is refused there, never forwarded */
			err = decide_call(&rc, jm, req_bytes);
		} else if (jm->kind != JSONRPC_RESPONSE && mcp_method_class(jm->method) != MCP_METHOD_LIFECYCLE) {
			err = decide_other(&rc, jm, req_bytes);
		} else if (jm->method && !strcmp(jm->method, "initialize") && elicit_declared(jm->params)) {
			rc.ex->init_elicit = true;
		}
	}
	if (err)
		goto out;
	if (rc.held) {
		/* alone in its request (mcp_flow_ask_approval): kept as it would go
		 * upstream; nothing after it is read until it is decided */
		struct flow_io hold = { .to_upstream = &rc.held->upstream };

		rc.ex->held = rc.held;
		rc.ex->inspect = true;
		f->held = rc.held;
		rc.held->keep_alive = m->keep_alive;
		rc.held->method = m->method;
		err = forward_reframed(&hold, m, b.text, b.text_len, b.decoded_body);
		enforce_lock();  /* a decision already posted (held_post) took the approval: no stream */
		if (!err && rc.held->elicit && !rc.held->posted) {
			rc.ex->own_stream = true;
			err = elicit_stream_start(io->to_client, rc.held->a, m->keep_alive);
			if (rc.held->progress) {
				rc.held->keepalive.fn = mcp_flow_held_keepalive;
				timer_arm(f->wheel, &rc.held->keepalive, ELICIT_KEEPALIVE_S);
			}
		}
		enforce_unlock();
		goto out;
	}

	forwarded = jsonrpc_forwarded_count(&b);
	bool any_reply = cJSON_GetArraySize(rc.replies) > 0;

	if (rc.legacy && any_reply) {
		/* legacy: answers travel on the session's SSE stream */
		err = mcp_legacy_deliver(rc.legacy, rc.replies);
		any_reply = false;
	}
	if (forwarded == 0) {
		/* everything answered here: the server sees nothing of it */
		const cJSON *payload = !any_reply ? NULL : b.batch ? rc.replies : cJSON_GetArrayItem(rc.replies, 0);

		rc.ex->local = true;
		err = err ? err : jsonrpc_http_reply(&rc.ex->reply, rc.ex->shape, payload, m->keep_alive);
		if (!err)
			err = mcp_flow_flush_local(f, io);
		goto out;
	}
	rc.ex->inspect = rc.inspect_answer || any_reply;
	if (any_reply) {
		/* they may wait long behind an unanswered request: kept as text */
		char *text = cJSON_PrintUnformatted(rc.replies);

		err = !text || bb_append_str(&rc.ex->extra, text) ? -1 : 0;
		cJSON_free(text);
		if (err)
			goto out;
	}
	/* What goes upstream is the text that was decided on: decoded, with
	 * the daemon's own Content-Length (forward_reframed). */
	if (rc.upstream_body.len) {
		err = forward_reframed(io, m, rc.upstream_body.data, rc.upstream_body.len, b.decoded_body);
	} else if (forwarded == b.count) {
		err = forward_reframed(io, m, b.text, b.text_len, b.decoded_body);
	} else {
		struct bytebuf body = BYTEBUF_INIT;

		err = jsonrpc_forward_body(&b, &body) || forward_reframed(io, m, body.data, body.len, b.decoded_body);
		bb_free(&body);
	}
	if (!err && http1_expect_response(&f->resp, m->method))
		err = -1;
out:
	session_ids_release(&rc.quick_ids);
	if (rc.held && !f->held)
		mcp_flow_held_drop(f, rc.held);
	cJSON_Delete(rc.replies);
	bb_free(&rc.upstream_body);
	jsonrpc_body_free(&b);
	return err;
}

/* STREAM-mode request bodies, de-chunked, collect here (f->req_body)
 * until the flow knows what to do with them (body_piece). */
static void collect_body(void *ctx, const char *data, size_t len)
{
	struct mcp_flow *f = ctx;

	bb_append(&f->req_body, data, len);  /* failure is sticky: seen in body_piece */
}

/* Per request head. MCP POSTs are held whole (BUFFER mode). Any other
 * request with a body is read through the daemon (STREAM mode, collected
 * by collect_body): its first bytes tell whether a JSON reader could find
 * an object in it; if not, it streams on with the daemon's own framing,
 * else it is held whole and decided at its end (body_piece). */
static int on_request_head(struct mcp_flow *f, struct flow_io *io)
{
	const struct http1_msg *m = http1_msg(&f->req);
	struct req_state *rs = &f->rs;
	char path[2048];
	const char *why;

	memset(rs, 0, sizeof(*rs));
	bb_reset(&f->req_body);
	/* no server entry covers this agent at this endpoint (policy_scope.h) */
	if (!f->origin->server[0])
		return refuse_http(f, io, 403, JSONRPC_INVALID_REQUEST,
				   "mcpfence: no server of the policy covers this agent at this endpoint");
	/* After a protocol switch nothing could be inspected any more, and a
	 * WebSocket can carry MCP: on an intercepted endpoint it is refused,
	 * whatever the path. */
	if (m->method == HTTP_CONNECT || http1_find_header(m, "Upgrade", NULL, NULL) > 0)
		return refuse_http(f, io, 403, JSONRPC_INVALID_REQUEST,
				   "mcpfence: protocol upgrades and CONNECT tunnels are refused on MCP endpoints "
				   "(what follows them could not be inspected)");
	if (http1_normalized_path(m, path, sizeof(path)) < 0)
		return refuse_http(f, io, 400, JSONRPC_INVALID_REQUEST,
				   "mcpfence: request target has encoded slashes, NULs or bad escapes");
	if (http_strict_head(m, &why) < 0)
		return refuse_http(f, io, 400, JSONRPC_INVALID_REQUEST, why);
	rs->mcp_path = mcp_path_is_mcp(path) && m->method == HTTP_POST;
	if (!rs->mcp_path && m->framing == HTTP1_FRAMING_NONE && m->content_length < 0) {
		/* no body: the head goes as it came, but for its Accept-Encoding
		 * (http1_request_rebuild) */
		if (!exchange_push(f, m->method) || http1_expect_response(&f->resp, m->method))
			return -1;
		rs->streaming = true;
		return http1_request_rebuild(m, -2, false, io->to_upstream);
	}
	/* Every body is read, whatever its method, path or media type:
	 * servers that ignore Content-Type (Go handlers, express.json with
	 * type '*' + '/' + '*') read JSON-RPC anywhere. An empty body is too,
	 * when framed: its Content-Encoding is checked. */
	if (m->framing != HTTP1_FRAMING_NONE && http_strict_charset(m, "", 0, &why) < 0)
		return refuse_http(f, io, 415, JSONRPC_PARSE_ERROR, why);
	http_chunk_check_init(&rs->chunks);
	if (rs->mcp_path) {
		if (http1_set_body_mode(&f->req, HTTP1_BODY_BUFFER) < 0)
			return refuse_http(f, io, 413, JSONRPC_INVALID_REQUEST, "mcpfence: request body over the limit");
		rs->buffered = true;
	} else {
		/* an encoded body cannot be sniffed as it comes: held whole */
		rs->hold = content_is_encoded(m);
		if (rs->hold && m->framing == HTTP1_FRAMING_LENGTH && (uint64_t)m->content_length > f->enf->body_limit)
			return refuse_http(f, io, 413, JSONRPC_INVALID_REQUEST, "mcpfence: request body over the limit");
		rs->sniffing = true;
		json_sniff_init(&rs->sniff);
		json_sniff_init(&rs->sniff_raw);
		http1_watch_body(&f->req, collect_body, f);
	}
	if (m->expect_continue && !f->first) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

		rs->own_100 = true;
		return bb_append(io->to_client, cont, sizeof(cont) - 1);
	}
	return 0;
}

/* A sniffed body cannot be JSON-RPC: its head goes upstream now, with the
 * daemon's own framing (the same Content-Length, or chunks of its own). */
static int start_streaming(struct mcp_flow *f, struct flow_io *io, const struct http1_msg *m)
{
	struct req_state *rs = &f->rs;
	struct exchange *ex = exchange_push(f, m->method);
	struct bytebuf head = BYTEBUF_INIT;
	int err;

	if (!ex || http1_expect_response(&f->resp, m->method))
		return -1;
	ex->own_100 = rs->own_100;
	rs->streaming = true;
	rs->chunked_out = m->framing == HTTP1_FRAMING_CHUNKED;
	err = http1_request_rebuild(m, rs->chunked_out ? -1 : m->content_length, false, &head) ||
	      bb_append(io->to_upstream, head.data, head.len);
	bb_free(&head);
	return err;
}

/* Can the body collected so far be read as JSON by nobody? 1 yes, 0 no
 * (hold it whole), -1 not known yet. json_sniff decides (lenient readers
 * included), on the UTF-8 transcoding of a body that Python or Jackson
 * would read as UTF-16 or UTF-32 (known from its first four bytes). */
static int sniff(struct mcp_flow *f, const struct bytebuf *b, bool end)
{
	struct req_state *rs = &f->rs;
	const char *t = b->data ? b->data : "";

	if (b->len < 4 && !end)
		return -1;
	if (!rs->wide_known) {
		rs->wide = json_wide_detect(t, b->len);
		rs->wide_known = true;
		bb_reset(&f->wide_text);
	}
	if (rs->wide) {
		/* NULs alone said "wide": a C reader (cJSON) skips them as
		 * whitespace and reads the bytes as they are; streamed only when
		 * neither reading can be JSON-RPC */
		bool bom = (unsigned char)t[0] == 0xfe || (unsigned char)t[0] == 0xff ||
			   (b->len >= 4 && !memcmp(t, "\0\0\xfe\xff", 4));
		int raw = bom ? 1 : mcp_sniff_text(&rs->sniff_raw, t, b->len, end), wide;

		/* read as those readers would: transcoded */
		if (json_wide_to_utf8(rs->wide, t, b->len, &rs->wide_pos, &f->wide_text) < 0)
			return 0;
		wide = mcp_sniff_text(&rs->sniff, f->wide_text.data ? f->wide_text.data : "", f->wide_text.len, end);
		return !raw || !wide ? 0 : raw == 1 && wide == 1 ? 1 : -1;
	}
	return mcp_sniff_text(&rs->sniff, t, b->len, end);
}

/* A held (not MCP path) body is complete: decided like an MCP request
 * when it could be JSON-RPC, else forwarded as the daemon read it. */
static int finish_held(struct mcp_flow *f, struct flow_io *io, const struct http1_msg *m)
{
	struct http1_msg held = *m;
	struct exchange *ex;

	held.body = held.raw_body = f->req_body.data ? f->req_body.data : "";
	held.body_len = held.raw_body_len = f->req_body.len;
	if (mcp_body_needs_inspection(&held, f->enf->body_limit))
		return on_mcp_request(f, io, &held, f->rs.own_100);
	ex = exchange_push(f, m->method);
	if (!ex || http1_expect_response(&f->resp, m->method))
		return -1;
	ex->own_100 = f->rs.own_100;
	return forward_reframed(io, &held, held.body, held.body_len, false);
}

/* More of a sniffed body (raw: its bytes as received, framing included;
 * f->req_body: the de-chunked ones not dealt with yet). */
static int body_piece(struct mcp_flow *f, struct flow_io *io, const char *raw, size_t n, bool end)
{
	const struct http1_msg *m = http1_msg(&f->req);
	struct req_state *rs = &f->rs;
	struct bytebuf *b = &f->req_body;
	const char *why;
	int harmless, err = 0;

	if (b->failed)
		return -1;
	if (m->framing == HTTP1_FRAMING_CHUNKED &&
	    (http_chunk_check_feed(&rs->chunks, raw, n, &why) < 0 || (end && http_chunk_check_end(&rs->chunks, &why) < 0)))
		return refuse_http(f, io, 400, JSONRPC_INVALID_REQUEST, why);
	if (b->len && http_strict_charset(m, b->data + rs->checked, b->len - rs->checked, &why) < 0)
		return refuse_http(f, io, 415, JSONRPC_PARSE_ERROR, why);
	rs->checked = b->len;
	if (b->len > f->enf->body_limit && !rs->streaming)
		return refuse_http(f, io, 413, JSONRPC_INVALID_REQUEST, "mcpfence: request body over the limit");
	if (!rs->streaming && !rs->hold) {
		harmless = sniff(f, b, end);
		if (harmless < 0)
			return 0;
		rs->hold = !harmless;
		if (harmless && start_streaming(f, io, m))
			return -1;
	}
	if (rs->hold)
		return end ? finish_held(f, io, m) : 0;
	err = rs->chunked_out ? http1_emit_chunk(io->to_upstream, b->data, b->len)
			      : bb_append(io->to_upstream, b->data, b->len);
	bb_reset(b);
	rs->checked = 0;
	if (!err && end) {
		rs->streaming = false;
		if (rs->chunked_out)
			err = http1_emit_last_chunk(io->to_upstream);
	}
	return err;
}

static int on_request_end(struct mcp_flow *f, struct flow_io *io, const char *raw, size_t n)
{
	const struct http1_msg *m = http1_msg(&f->req);
	struct req_state *rs = &f->rs;

	if (rs->sniffing)
		return body_piece(f, io, raw, n, true);
	if (!rs->buffered) {
		rs->streaming = false;
		return bb_append(io->to_upstream, raw, n);
	}
	if (held_body_refused(f, io, m))
		return f->refused ? 0 : -1;
	return on_mcp_request(f, io, m, rs->own_100);
}

int mcp_flow_feed_requests(struct mcp_flow *f, const char *data, size_t len, struct flow_io *io)
{
	for (;;) {
		size_t used = 0;
		enum http1_status st = http1_feed(&f->req, data, len, &used);
		const char *raw = data;
		int err = 0;

		if (used) { /* data is NULL at EOF */
			data += used;
			len -= used;
		}
		switch (st) {
		case HTTP1_NEED_MORE:
			return 0;
		case HTTP1_HEAD:
			f->req_open = true;
			err = on_request_head(f, io);
			break;
		case HTTP1_BODY:
			err = f->rs.sniffing ? body_piece(f, io, raw, used, false) : 0;
			break;
		case HTTP1_MESSAGE_END:
			f->req_open = false;
			err = on_request_end(f, io, raw, used);
			break;
		case HTTP1_ERROR:
			return refuse_http(f, io, http1_error_status(http1_error(&f->req)),
					   JSONRPC_INVALID_REQUEST, http1_error_text(&f->req));
		default:
			return -1;
		}
		if (err)
			return -1;
		if (f->refused)
			return 0;
		if (f->held) {
			/* what follows waits until the held call is decided */
			return len && bb_append(&f->stalled, data, len) ? -1 : 0;
		}
	}
}

/* Every request still waiting for the unreachable server gets a 502 with a
 * JSON-RPC error, in order, after the answers the policy gave before it. */
int mcp_flow_answer_unreachable(struct mcp_flow *f, struct flow_io *io)
{
	char msg[256];

	if (!f->first)
		return 0; /* answer the request when it comes, not a reset now */
	snprintf(msg, sizeof(msg), "mcpfence: server %s is unreachable: %s", f->origin->server, f->upstream_error);
	for (struct exchange *ex = f->first; ex; ex = ex->next) {
		struct pending_call c;

		if (ex->local)
			continue;
		if (ex->held) {
			mcp_flow_held_drop(f, ex->held);
			ex->held = f->held = NULL;
		}
		while (f->track && call_list_take_exchange(&f->track->calls, ex->seq, &c))
			mcp_flow_account_answered(f, &c, true, 0);
		ex->local = true;
		bb_reset(&ex->reply);
		if (ex->own_stream) {
			struct jsonrpc_msg none = { 0 };
			cJSON *e = jsonrpc_error_reply(&none, -32603, msg);
			char *text = e ? cJSON_PrintUnformatted(e) : NULL;
			int bad = !text || elicit_stream_event(&ex->reply, text, strlen(text), true);

			cJSON_free(text);
			cJSON_Delete(e);
			if (bad)
				return -1;
			continue;
		}
		if (jsonrpc_http_error(&ex->reply, 502, -32603, msg, false))
			return -1;
	}
	io->finished = true;
	return mcp_flow_flush_local(f, io);
}

int mcp_flow_upstream_failed(struct mcp_flow *f, const char *why, struct flow_io *io)
{
	snprintf(f->upstream_error, sizeof(f->upstream_error), "%s", why);
	return mcp_flow_answer_unreachable(f, io);
}

int mcp_flow_client_data(struct mcp_flow *f, const char *data, size_t len, struct flow_io *io)
{
	int err;

	if (f->refused)
		return 0;  /* bytes after a refused request: never read as requests */
	if (f->held)
		return bb_append(&f->stalled, data, len) ? -1 : 0;
	err = mcp_flow_feed_requests(f, data, len, io);
	return err || !f->upstream_error[0] ? err : mcp_flow_answer_unreachable(f, io);
}

int mcp_flow_client_eof(struct mcp_flow *f, struct flow_io *io)
{
	enum http1_status st;

	(void)io;
	if (f->refused)
		return 0;
	/* a request cut short was never forwarded (held) or is cut short
	 * upstream as well (streamed): either way nothing more to do */
	do
		st = http1_feed_eof(&f->req);
	while (st != HTTP1_CLOSED && st != HTTP1_ERROR);
	return 0;
}

int mcp_flow_init(struct mcp_flow *f, const struct enforce *enf, const struct mcpf_conn *origin,
		  unsigned long long conn_id, flow_kick_fn kick, void *conn)
{
	size_t resp_limit = enf->body_limit > RESPONSE_LIMIT_MIN ? enf->body_limit : RESPONSE_LIMIT_MIN;

	memset(f, 0, sizeof(*f));
	f->enf = enf;
	f->wheel = enf->approvals ? enf->approvals->wheel : NULL;  /* a proxy worker's own instead */
	f->origin = origin;
	f->kick = kick;
	f->conn = conn;
	/* unguessable: another agent naming it could spend this one's budget */
	snprintf(f->conn_session, sizeof(f->conn_session), "conn-%016llx",
		 (unsigned long long)siphash24(enf->session_secret, &conn_id, sizeof(conn_id)));
	/* once per connection: three syscalls, only worth it for the audit log */
	if (acct_audits(enf->acct) &&
	    acct_cgroup_path(enf->acct, origin->cgroup_id, f->cgroup_path, sizeof(f->cgroup_path)))
		f->cgroup_path[0] = '\0';
	http1_init(&f->req, HTTP1_REQUEST, enf->body_limit);
	http1_init(&f->resp, HTTP1_RESPONSE, resp_limit);
	return 0;
}

void mcp_flow_free(struct mcp_flow *f)
{
	struct pending_call c;

	if (f->held) {
		mcp_flow_held_drop(f, f->held);
		f->held = NULL;
	}
	bb_free(&f->stalled);
	/* calls whose answers never came: the connection ended first */
	while (f->track && f->track->calls.n) {
		c = f->track->calls.calls[0];
		call_list_take(&f->track->calls, c.id, &c);
		mcp_flow_account_answered(f, &c, true, 0);
	}
	while (f->first) {
		struct exchange *ex = f->first;

		f->first = ex->next;
		ex->unanswered = !ex->local && !ex->held;
		mcp_flow_exchange_free(f, ex);
	}
	f->last = NULL;
	free(f->spare);
	f->spare = NULL;
	answer_track_free(f->track);
	if (f->stream_of)
		mcp_session_close(f->stream_of);
	http1_free(&f->req);
	http1_free(&f->resp);
	bb_free(&f->req_body);
	bb_free(&f->wide_text);
	answer_scan_free(&f->scan);
}

bool mcp_flow_idle(const struct mcp_flow *f)
{
	/* a connection with no request yet was just made for one: its
	 * bytes may be on their way */
	if (f->next_seq == 0 || f->req_open || f->stream_of)
		return false;
	for (const struct exchange *ex = f->first; ex; ex = ex->next)
		if (ex->method != HTTP_GET)
			return false;
	return true;
}
