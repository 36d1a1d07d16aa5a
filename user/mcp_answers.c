/* The response side of the flow: answers read as they come back (list
 * answers filtered, allowed calls accounted), responses held whole
 * finished and relayed, legacy SSE events passed on.
 *
 * What is hidden stays hidden by the shape of each answer, not by its id:
 * a server routes an answer to the stream that last sent its id in the
 * session, so any request may get a list answer (a tools/call or a ping
 * reusing the id of a tools/list in flight). Every answer on a POST's
 * reply or an event stream is scanned (answer_scan.h); one whose result
 * holds a list's array at its top level is filtered as a list whatever its
 * id, or, streamed, cut off before that part goes out. */
#include <stdio.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "answer_scan.h"
#include "approval_elicit.h"
#include "enforce_lock.h"
#include "call_list.h"
#include "content_decode.h"
#include "log.h"
#include "mcp_filter.h"
#include "mcp_flow_int.h"
#include "mcp_legacy.h"
#include "mcp_session.h"
#include "sse.h"
#include "tool_inventory.h"
#include "tool_names.h"

/* ---- responses ---- */

/* One list answer being filtered: its id in the tool inventory. */
struct list_answer {
	struct mcp_flow *f;
	unsigned long long inventory_id;
};

static bool is_hidden(enum mcp_list list, const char *name, const cJSON *entry, bool asked, void *ctx)
{
	struct list_answer *la = ctx;
	struct mcp_flow *f = la->f;
	int err;

	/* only a tools/list's own answer says what the server lists: a list
	 * shape found elsewhere may be a tool's result echoing the agent */
	if (list == MCP_LIST_TOOLS && asked) {
		tool_names_add(f->enf->listed, f->origin->server, name); /* the server lists it */
		if (f->enf->inventory &&
		    (err = tool_inventory_see(f->enf->inventory, f->origin->server, entry, la->inventory_id)))
			log_debug("tool inventory: %s", strerror(-err));
	}
	return policy_list_hidden(f->enf->policy, f->origin->server, list, name);
}

/* Account every tracked call the answers scanned so far settle, as
 * `bytes` of response each; the scan starts over. */
static void account_scanned(struct mcp_flow *f, struct answer_track *t)
{
	struct answer a;
	size_t pos = 0;

	while (t && answer_scan_next(&f->scan, &pos, &a)) {
		struct pending_call c;

		if (call_list_take_raw(&t->calls, a.id, a.id_len, &c))
			mcp_flow_account_answered(f, &c, a.error, f->scan.bytes);
	}
	answer_scan_reset(&f->scan);
}

/* Account every tracked call this whole server->client JSON text answers;
 * true when it must be filtered as answers never asked for: a result in it
 * holds a list's array, or it is text the scan cannot read (the filter
 * reads it whole then). */
static bool scan_answers(struct mcp_flow *f, struct answer_track *t, const char *json, size_t len)
{
	bool any;

	answer_scan_reset(&f->scan);
	answer_scan_feed(&f->scan, json, len);
	any = f->scan.list_result || f->scan.failed;
	account_scanned(f, t);
	return any;
}

static void scan_body(void *ctx, const char *data, size_t len)
{
	struct mcp_flow *f = ctx;

	answer_scan_feed(&f->scan, data, len);
}

/* Hidden entries out of a list answer; parsing is skipped when no list
 * request is awaiting one (a large tool result is not parsed twice),
 * unless the scan found a list's shape or could not read the text (any:
 * every list-shaped result is filtered, mcp_filter_any_lists). */
static int filter_lists(struct mcp_flow *f, struct answer_track *t, bool any, const char *json, size_t len,
			struct bytebuf *out)
{
	struct list_answer la = { f, 0 };
	struct mcp_idset none;
	int r;

	if (!any && (!t || !t->lists.n))
		return 0;
	mcp_idset_init(&none);
	enforce_lock();  /* the listed tools, the inventory, the policy: one section per list answer */
	if (f->enf->inventory)
		la.inventory_id = tool_inventory_answer(f->enf->inventory);
	r = any ? mcp_filter_any_lists(json, len, t ? &t->lists : &none, is_hidden, &la, out)
		: mcp_filter_lists(json, len, &t->lists, is_hidden, &la, out);
	enforce_unlock();
	if (r < 0)
		log_warn("server %s: a list answer that cannot be filtered (over the answer limits, out of memory, "
			 "or ambiguous: mcp_filter.h); not relayed", f->origin->server);
	return r;
}

static struct answer_track *answers_for(struct mcp_flow *f, const struct exchange *ex)
{
	if (f->stream_of)
		return &f->stream_of->track;
	return ex && !ex->legacy ? f->track : NULL;
}

/* A legacy session's POST is answered on its stream (202); a JSON answer
 * it gets in place instead went by no track: read as one never seen. */
static bool legacy_in_place(const struct exchange *ex, const struct http1_msg *r)
{
	return ex->legacy && r->status != 202 && http1_content_type_is(r, "application/json");
}

/* An answer the daemon must read and cannot, or must not relay: the agent
 * gets a 502 with a JSON-RPC error in its place (an error event on the
 * daemon's own stream), never its bytes, and the connection ends
 * (io->finished: nothing more of the server's reply is read). An answer
 * relayed as it comes (RESP_SCAN) has its head out already: it is cut
 * short there, nothing added (the agent reads a truncated reply). */
static int refuse_answer(struct mcp_flow *f, struct flow_io *io, const struct exchange *ex, const char *why)
{
	char msg[256];
	struct bytebuf out = BYTEBUF_INIT;
	int err;

	snprintf(msg, sizeof(msg), "mcpfence: server %s: %s; not relayed", f->origin->server, why);
	log_warn("%s", msg + 10);
	io->finished = true;
	if (f->resp_mode == RESP_SCAN)
		return 0;
	if (ex->own_stream) {
		struct jsonrpc_msg none = { 0 };
		cJSON *e = jsonrpc_error_reply(&none, -32603, msg);
		char *text = e ? cJSON_PrintUnformatted(e) : NULL;

		err = !text || elicit_stream_event(&out, text, strlen(text), true);
		cJSON_free(text);
		cJSON_Delete(e);
	} else {
		err = jsonrpc_http_error(&out, 502, -32603, msg, false);
	}
	err = err || bb_append(io->to_client, out.data, out.len);
	bb_free(&out);
	return err ? -1 : 0;
}

static int on_sse_event(struct mcp_flow *f, struct flow_io *io)
{
	const struct sse_event *ev = http1_event(&f->resp);
	struct bytebuf filtered = BYTEBUF_INIT, rewritten = BYTEBUF_INIT;
	struct answer_track *t;
	int changed = 0, err;

	if (!f->stream_of)
		f->stream_of = mcp_legacy_endpoint(f, ev);
	t = answers_for(f, f->first);
	/* clients read only "message" events (the default type) as JSON-RPC;
	 * whatever the stream (a GET's replay after Last-Event-ID, a legacy
	 * session's), a list is filtered by its shape (scan_answers) */
	if (ev->has_data && (!ev->type_len || (ev->type_len == 7 && !memcmp(ev->type, "message", 7)))) {
		bool any = scan_answers(f, t, ev->data, ev->data_len);

		changed = filter_lists(f, t, any, ev->data, ev->data_len, &filtered);
		if (changed < 0)
			return -1;
	}
	if (changed == 1) {
		err = sse_format_event(&rewritten, ev->type, ev->type_len, ev->id, ev->id_len, ev->has_id,
				       filtered.data, filtered.len) ||
		      mcp_sse_append(io->to_client, f->sse_chunked, rewritten.data, rewritten.len);
	} else {
		err = mcp_sse_append(io->to_client, f->sse_chunked, ev->raw, ev->raw_len);
	}
	bb_free(&filtered);
	bb_free(&rewritten);
	return err;
}

static int on_response_head(struct mcp_flow *f, struct flow_io *io)
{
	const struct http1_msg *r = http1_msg(&f->resp);
	struct exchange *ex = f->first;
	bool sse = http1_content_type_is(r, "text/event-stream");

	if (!ex || ex->local) {
		log_debug("server %s sent a response nobody asked for", f->origin->server);
		return -1;
	}
	if (r->status / 100 == 1) {
		if (r->status == 101) {
			/* no Upgrade request is ever forwarded (on_request_head) */
			log_debug("server %s switched protocols unasked: connection closed", f->origin->server);
			return -1;
		}
		if ((r->status == 100 && ex->own_100) || ex->own_stream)
			return 0;
		return bb_append(io->to_client, r->head, r->head_len);
	}
	f->resp_mode = RESP_STREAM;
	f->sse_chunked = false;
	if (ex->init_elicit && r->status / 100 == 2) {
		const char *sid;
		size_t n;

		if (http1_find_header(r, "Mcp-Session-Id", &sid, &n) == 1) {
			enforce_lock();
			elicit_caps_note(f->origin->server, sid, n, f->origin->cgroup_id, f->origin->uid);
			enforce_unlock();
		}
	}
	/* events are read as they come: a coding would hide them */
	if (sse && content_is_encoded(r))
		return refuse_answer(f, io, ex, "an event stream with a Content-Encoding cannot be inspected");
	if (ex->own_stream) {
		/* the agent has the daemon's stream already: the server's answer
		 * goes on it, as events in the daemon's chunks */
		f->resp_mode = sse ? RESP_SSE : RESP_BUFFER;
		f->sse_chunked = true;
		return http1_set_body_mode(&f->resp, sse ? HTTP1_BODY_SSE : HTTP1_BODY_BUFFER) < 0 ? -1 : 0;
	}
	if (sse) {
		struct bytebuf head = BYTEBUF_INIT, extra = BYTEBUF_INIT;
		int err;

		if (http1_set_body_mode(&f->resp, HTTP1_BODY_SSE) < 0)
			return -1;
		f->resp_mode = RESP_SSE;
		f->sse_chunked = r->framing != HTTP1_FRAMING_CLOSE;
		if (r->framing == HTTP1_FRAMING_LENGTH)
			/* events may change length: relay as chunked */
			err = http1_head_rebuild(r, -1, false, &head) || bb_append(io->to_client, head.data, head.len);
		else
			err = bb_append(io->to_client, r->head, r->head_len);
		if (!err && ex->extra.len) {
			cJSON *ours = mcp_flow_extra(ex);

			err = !ours || jsonrpc_sse_events(ours, &extra) ||
			      mcp_sse_append(io->to_client, f->sse_chunked, extra.data, extra.len);
			cJSON_Delete(ours);
		}
		bb_free(&head);
		bb_free(&extra);
		return err;
	}
	if (ex->method == HTTP_POST) {
		struct answer_track *t = answers_for(f, ex);

		/* a coded JSON answer cannot be scanned as it comes: held, decoded */
		if ((ex->inspect && (ex->extra.len || (t && t->lists.n) || legacy_in_place(ex, r))) ||
		    (content_is_encoded(r) && (ex->inspect || http1_content_type_is(r, "application/json")))) {
			f->resp_mode = RESP_BUFFER;
			return http1_set_body_mode(&f->resp, HTTP1_BODY_BUFFER) < 0 ? -1 : 0;
		}
		/* relayed as it comes, scanned on the way (pump_responses): a
		 * reply to any POST may carry another request's answer */
		f->resp_mode = RESP_SCAN;
		answer_scan_reset(&f->scan);
		http1_watch_body(&f->resp, scan_body, f);
	}
	return bb_append(io->to_client, r->head, r->head_len);
}

/* A held response is complete: filter, account, join denials, relay. */
static int finish_buffered(struct mcp_flow *f, struct flow_io *io, struct exchange *ex)
{
	const struct http1_msg *r = http1_msg(&f->resp);
	struct bytebuf decoded = BYTEBUF_INIT, filtered = BYTEBUF_INIT, merged = BYTEBUF_INIT, head = BYTEBUF_INIT;
	struct answer_track *t = answers_for(f, ex);
	const char *body;
	size_t len;
	enum content_coding_status st = content_decode_text(r, r->body, r->body_len, RESPONSE_LIMIT_MIN, &decoded,
							    &body, &len);
	bool decoded_ce = st == CODING_DECODED, changed = decoded_ce;
	cJSON *ours = NULL;  /* ex->extra's denials */
	int err = 0, fr;

	if (st != CODING_IDENTITY && !decoded_ce) {
		/* cannot read it, so cannot filter it: the client gets an error */
		char why[96];

		snprintf(why, sizeof(why), "an answer to inspect cannot be decoded (%s)", content_coding_status_text(st));
		err = refuse_answer(f, io, ex, why);
		goto out;
	}
	fr = filter_lists(f, t, scan_answers(f, t, body, len), body, len, &filtered);
	if (fr < 0) {
		err = -1;
		goto out;
	}
	if (fr == 1) {
		body = filtered.data;
		len = filtered.len;
		changed = true;
	}
	if (ex->extra.len) {
		ours = mcp_flow_extra(ex);
		if (!ours) {
			err = -1;
			goto out;
		}
		if (len == 0 || r->status == 202) {
			/* upstream had nothing to say: our answers are the reply */
			err = jsonrpc_http_reply(&merged, ex->shape, ours, r->keep_alive) ||
			      bb_append(io->to_client, merged.data, merged.len);
			goto out;
		}
		if (jsonrpc_merge_json(body, len, ours, &merged)) {
			log_warn("server %s answered a batch with something not JSON; closing", f->origin->server);
			err = -1;
			goto out;
		}
		body = merged.data;
		len = merged.len;
		changed = true;
	}
	if (ex->own_stream)
		err = len ? elicit_stream_event(io->to_client, body, len, true) : http1_emit_last_chunk(io->to_client);
	else if (changed)
		err = http1_head_rebuild(r, (int64_t)len, decoded_ce, &head) ||
		      bb_append(io->to_client, head.data, head.len) || bb_append(io->to_client, body, len);
	else
		err = bb_append(io->to_client, r->head, r->head_len) ||
		      bb_append(io->to_client, r->raw_body, r->raw_body_len);
out:
	cJSON_Delete(ours);
	bb_free(&decoded);
	bb_free(&filtered);
	bb_free(&merged);
	bb_free(&head);
	return err;
}

/* More of a streamed answer, read by the scan already (scan_body runs in
 * http1_feed): relayed, unless a result in it named a list's array. Calls
 * never answer with tools, prompts, resources or resourceTemplates at the
 * top of their result (MCP's results for calls, pings, reads and the rest
 * hold none): such an answer is a list's, routed here by its id (another
 * connection's tools/list, answered to this one reusing its id); it is
 * refused, before the part holding the list goes out. */
static int relay_scanned(struct mcp_flow *f, struct flow_io *io, const struct exchange *ex, const char *raw, size_t n)
{
	if (f->resp_mode == RESP_SCAN && f->scan.list_result)
		return refuse_answer(f, io, ex, "a list answer to a request that asked for none");
	return bb_append(io->to_client, raw, n);
}

static int on_response_end(struct mcp_flow *f, struct flow_io *io, const char *raw, size_t n)
{
	const struct http1_msg *r = http1_msg(&f->resp);
	struct exchange *ex = f->first;
	struct pending_call c;
	bool cut = false;  /* the agent has part of it: nothing may follow */
	int err = 0;

	if (r->status / 100 == 1)
		return 0; /* interim: the request is still waiting for its answer */
	switch (f->resp_mode) {
	case RESP_STREAM:
		err = bb_append(io->to_client, raw, n);
		break;
	case RESP_SCAN:
		err = relay_scanned(f, io, ex, raw, n);
		cut = io->finished;
		account_scanned(f, answers_for(f, ex));
		break;
	case RESP_SSE:
		if (f->sse_chunked) {
			struct bytebuf last = BYTEBUF_INIT;

			err = http1_emit_last_chunk(&last) || bb_append(io->to_client, last.data, last.len);
			bb_free(&last);
		}
		break;
	case RESP_BUFFER:
		err = finish_buffered(f, io, ex);
		break;
	}
	/* calls this reply did not answer (HTTP error, 202, cut short) */
	if (f->track && !ex->legacy)
		while (call_list_take_exchange(&f->track->calls, ex->seq, &c)) {
			mcp_flow_account_answered(f, &c, true, 0);
			ex->unanswered = true;
		}
	f->first = ex->next;
	if (!f->first)
		f->last = NULL;
	mcp_flow_exchange_free(f, ex);
	f->resp_mode = RESP_STREAM;
	f->sse_chunked = false;
	return err || (!cut && mcp_flow_flush_local(f, io)) ? -1 : 0;
}

static int pump_responses(struct mcp_flow *f, const char *data, size_t len, bool eof, struct flow_io *io)
{
	for (;;) {
		size_t used = 0;
		enum http1_status st = eof ? http1_feed_eof(&f->resp) : http1_feed(&f->resp, data, len, &used);
		const char *raw = data;
		int err = 0;

		if (used) { /* data is NULL at EOF */
			data += used;
			len -= used;
		}
		switch (st) {
		case HTTP1_NEED_MORE:
		case HTTP1_CLOSED:
			return 0;
		case HTTP1_HEAD:
			err = on_response_head(f, io);
			break;
		case HTTP1_BODY:
			err = relay_scanned(f, io, f->first, raw, used);
			break;
		case HTTP1_SSE_EVENT:
			err = on_sse_event(f, io);
			break;
		case HTTP1_MESSAGE_END:
			err = on_response_end(f, io, raw, used);
			break;
		case HTTP1_ERROR:
			log_debug("server %s: bad response: %s", f->origin->server, http1_error_text(&f->resp));
			/* cut short by the server: the agent sees the same cut */
			return eof ? 0 : -1;
		default:
			return -1;
		}
		if (err)
			return -1;
		if (io->finished)
			return 0;  /* an answer refused: nothing more of it is read */
	}
}

int mcp_flow_upstream_data(struct mcp_flow *f, const char *data, size_t len, struct flow_io *io)
{
	return pump_responses(f, data, len, false, io);
}

int mcp_flow_upstream_eof(struct mcp_flow *f, struct flow_io *io)
{
	return pump_responses(f, NULL, 0, true, io);
}
