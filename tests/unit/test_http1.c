/* HTTP/1.1 parser: framing, pipelining, limits, SSE mode, re-serialization. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "http1.h"

/*
 * Feeds `in` in pieces of `step` bytes (0: all at once), chooses `mode` for
 * every message and writes a transcript that does not depend on how the
 * input was split: "H <method or status> <target>|" per head, "E <body>|"
 * per message end (STREAM: head + forwarded raw bytes; BUFFER: the
 * de-chunked body), "S <type>:<data>|" per complete SSE event. Returns the
 * last status (HTTP1_ERROR stops the run).
 */
static enum http1_status drive(struct http1_parser *p, const char *in, size_t len, size_t step,
			       enum http1_body_mode mode, struct bytebuf *log)
{
	struct bytebuf fwd = BYTEBUF_INIT;
	enum http1_status st = HTTP1_NEED_MORE;
	size_t off = 0;

	while (off < len) {
		size_t piece = step && step < len - off ? step : len - off;
		const char *data = in + off;
		off += piece;
		/* Call until the parser asks for more: events may be pending after the last byte. */
		for (;;) {
			size_t used;
			st = http1_feed(p, data, piece, &used);
			const struct http1_msg *m = http1_msg(p);
			data += used;
			piece -= used;
			if (st == HTTP1_ERROR)
				goto out;
			if (st == HTTP1_NEED_MORE)
				break;
			if (st == HTTP1_HEAD) {
				if (p->dir == HTTP1_REQUEST)
					bb_printf(log, "H %s %.*s|", http_method_str(m->method), (int)m->target_len,
						  m->target);
				else
					bb_printf(log, "H %u|", m->status);
				bb_reset(&fwd);
				bb_append(&fwd, m->head, m->head_len);
				if (http1_set_body_mode(p, mode) < 0) {
					st = HTTP1_ERROR;
					goto out;
				}
			} else if (st == HTTP1_BODY) {
				bb_append(&fwd, data - used, used);
			} else if (st == HTTP1_SSE_EVENT) {
				const struct sse_event *ev = http1_event(p);
				if (ev->complete)
					bb_printf(log, "S %.*s:%.*s|", (int)ev->type_len, ev->type, (int)ev->data_len,
						  ev->data ? ev->data : "");
			} else if (st == HTTP1_MESSAGE_END) {
				if (mode == HTTP1_BODY_STREAM) {
					bb_append(&fwd, data - used, used);
					bb_printf(log, "E %.*s|", (int)fwd.len, fwd.data);
				} else if (mode == HTTP1_BODY_BUFFER) {
					bb_printf(log, "E %.*s|", (int)m->body_len, m->body);
				} else {
					bb_append_str(log, "E|");
				}
			}
		}
	}
out:
	bb_free(&fwd);
	return st;
}

static const char pipelined[] =
	"POST /mcp?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
	"GET /sse HTTP/1.1\r\nHost: a\r\n\r\n"
	"POST /mcp HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n";

TEST(http1_pipelined_requests_forward_byte_identical)
{
	struct http1_parser p;
	struct bytebuf log = BYTEBUF_INIT;

	http1_init(&p, HTTP1_REQUEST, HTTP1_DEFAULT_BODY_LIMIT);
	enum http1_status st = drive(&p, pipelined, sizeof(pipelined) - 1, 0, HTTP1_BODY_STREAM, &log);
	CHECK(st == HTTP1_NEED_MORE);
	/* STREAM mode: head + forwarded bytes of each message = the input, split at message bounds. */
	struct bytebuf want = BYTEBUF_INIT;
	bb_append_str(&want, "H POST /mcp?x=1|E POST /mcp?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello|");
	bb_append_str(&want, "H GET /sse|E GET /sse HTTP/1.1\r\nHost: a\r\n\r\n|");
	bb_append_str(&want, "H POST /mcp|E POST /mcp HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
			     "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n|");
	CHECK_STR_EQ(log.data, want.data);
	bb_free(&want);
	bb_free(&log);
	http1_free(&p);
}

TEST(http1_buffer_mode_dechunks_and_keeps_raw)
{
	struct http1_parser p;
	struct bytebuf log = BYTEBUF_INIT;

	http1_init(&p, HTTP1_REQUEST, HTTP1_DEFAULT_BODY_LIMIT);
	CHECK(drive(&p, pipelined, sizeof(pipelined) - 1, 0, HTTP1_BODY_BUFFER, &log) == HTTP1_NEED_MORE);
	CHECK_STR_EQ(log.data, "H POST /mcp?x=1|E hello|H GET /sse|E |H POST /mcp|E abcde|");
	http1_free(&p);

	/* The message stays readable until the next http1_feed call. */
	const char *third = strstr(pipelined, "POST /mcp HTTP");
	const char *raw = strstr(third, "3;ext=1");
	size_t used;
	http1_init(&p, HTTP1_REQUEST, HTTP1_DEFAULT_BODY_LIMIT);
	CHECK(http1_feed(&p, third, strlen(third), &used) == HTTP1_HEAD);
	CHECK(http1_set_body_mode(&p, HTTP1_BODY_BUFFER) == 0);
	CHECK(http1_feed(&p, raw, strlen(raw), &used) == HTTP1_MESSAGE_END);
	CHECK_INT_EQ(used, strlen(raw));
	const struct http1_msg *m = http1_msg(&p);
	CHECK(m->framing == HTTP1_FRAMING_CHUNKED);
	CHECK(m->body_len == 5 && memcmp(m->body, "abcde", 5) == 0);
	CHECK_INT_EQ(m->raw_body_len, strlen(raw));
	CHECK(memcmp(m->raw_body, raw, m->raw_body_len) == 0);
	bb_free(&log);
	http1_free(&p);
}

TEST(http1_split_at_every_byte_gives_same_transcript)
{
	struct bytebuf whole = BYTEBUF_INIT;
	struct http1_parser p;

	for (int mode = HTTP1_BODY_STREAM; mode <= HTTP1_BODY_BUFFER; mode++) {
		bb_reset(&whole);
		http1_init(&p, HTTP1_REQUEST, HTTP1_DEFAULT_BODY_LIMIT);
		drive(&p, pipelined, sizeof(pipelined) - 1, 0, mode, &whole);
		http1_free(&p);
		for (size_t step = 1; step < 40; step++) {
			struct bytebuf log = BYTEBUF_INIT;
			http1_init(&p, HTTP1_REQUEST, HTTP1_DEFAULT_BODY_LIMIT);
			CHECK(drive(&p, pipelined, sizeof(pipelined) - 1, step, mode, &log) == HTTP1_NEED_MORE);
			CHECK_STR_EQ(log.data, whole.data);
			http1_free(&p);
			bb_free(&log);
		}
	}
	bb_free(&whole);
}

TEST(http1_head_fields)
{
	static const char req[] = "POST /mcp?sessionId=abc HTTP/1.1\r\nHost: example\r\n"
				  "Mcp-Session-Id:   s1  \r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
	struct http1_parser p;
	size_t used;

	http1_init(&p, HTTP1_REQUEST, HTTP1_DEFAULT_BODY_LIMIT);
	CHECK(http1_feed(&p, req, sizeof(req) - 1, &used) == HTTP1_HEAD);
	CHECK_INT_EQ(used, sizeof(req) - 1);
	const struct http1_msg *m = http1_msg(&p);
	CHECK_INT_EQ(m->head_len, sizeof(req) - 1);
	CHECK(m->method == HTTP_POST);
	CHECK(m->expect_continue);
	CHECK(m->keep_alive);
	CHECK_INT_EQ(m->content_length, 2);
	CHECK(m->framing == HTTP1_FRAMING_LENGTH);
	CHECK_INT_EQ(m->n_headers, 4);
	const char *v;
	size_t vlen;
	CHECK_INT_EQ(http1_find_header(m, "mcp-session-id", &v, &vlen), 1);
	CHECK(vlen == 2 && memcmp(v, "s1", 2) == 0);
	CHECK(m->target_len == 18 && memcmp(m->target, "/mcp?sessionId=abc", 18) == 0);
	/* Nothing is consumed past the head until the body arrives. */
	CHECK(http1_feed(&p, "", 0, &used) == HTTP1_NEED_MORE);
	CHECK(http1_feed(&p, "{}", 2, &used) == HTTP1_MESSAGE_END);
	CHECK_INT_EQ(used, 2);
	http1_free(&p);
}

static enum http1_error error_of(const char *req, enum http1_body_mode mode, size_t limit)
{
	struct http1_parser p;
	struct bytebuf log = BYTEBUF_INIT;

	http1_init(&p, HTTP1_REQUEST, limit);
	enum http1_status st = drive(&p, req, strlen(req), 0, mode, &log);
	enum http1_error e = st == HTTP1_ERROR ? http1_error(&p) : HTTP1_E_NONE;
	http1_free(&p);
	bb_free(&log);
	return e;
}

TEST(http1_refuses_ambiguous_framing)
{
	CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
		       HTTP1_BODY_STREAM, 100) == HTTP1_E_FRAMING);
	CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		       HTTP1_BODY_STREAM, 100) == HTTP1_E_FRAMING);
	CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc", HTTP1_BODY_STREAM, 100) ==
	      HTTP1_E_FRAMING);
	CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		       HTTP1_BODY_STREAM, 100) == HTTP1_E_FRAMING);
	CHECK(error_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
		       HTTP1_BODY_STREAM, 100) == HTTP1_E_FRAMING);
	CHECK(error_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
		       HTTP1_BODY_STREAM, 100) == HTTP1_E_FRAMING);
	CHECK(error_of("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nabc", HTTP1_BODY_STREAM, 100) ==
	      HTTP1_E_FRAMING);
	CHECK(error_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		       HTTP1_BODY_STREAM, 100) == HTTP1_E_FRAMING);
	CHECK(error_of("POST / HTTP/1.1\r\nMcp-Name: a\r\n b\r\nContent-Length: 0\r\n\r\n", HTTP1_BODY_STREAM,
		       100) == HTTP1_E_FRAMING);
	CHECK(error_of("POST / HTTP/1.1\r\nMcp-Name:\r\n b\r\nContent-Length: 0\r\n\r\n", HTTP1_BODY_STREAM,
		       100) == HTTP1_E_FRAMING);
	CHECK(error_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", HTTP1_BODY_STREAM, 100) ==
	      HTTP1_E_FRAMING);
	CHECK(error_of("POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\nhello", HTTP1_BODY_STREAM, 100) ==
	      HTTP1_E_MALFORMED);
	CHECK(error_of("POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", HTTP1_BODY_STREAM,
		       100) == HTTP1_E_MALFORMED);
	CHECK(error_of("POST / HTTP/1.1\r\nX: a\nContent-Length: 5\r\n\r\nhello", HTTP1_BODY_STREAM, 100) ==
	      HTTP1_E_MALFORMED);
	CHECK(error_of("POST / HTTP/1.1\nContent-Length: 5\n\nhello", HTTP1_BODY_STREAM, 100) == HTTP1_E_MALFORMED);
	CHECK(error_of("POST / HTTP/1.1\r\nX: a\x01b\r\nContent-Length: 0\r\n\r\n", HTTP1_BODY_STREAM, 100) ==
	      HTTP1_E_MALFORMED);
	CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\nhello", HTTP1_BODY_STREAM, 100) ==
	      HTTP1_E_FRAMING);
	CHECK(error_of("POST / HTTP/1.1\r\nHost: a\r\nX:\tv\r\nContent-Length: 0\r\n\r\n", HTTP1_BODY_STREAM, 100) ==
	      HTTP1_E_NONE);
	CHECK(error_of("GARBAGE\r\n\r\n", HTTP1_BODY_STREAM, 100) == HTTP1_E_MALFORMED);
	CHECK_INT_EQ(http1_error_status(HTTP1_E_MALFORMED), 400);
	CHECK_INT_EQ(http1_error_status(HTTP1_E_FRAMING), 400);
}

TEST(http1_body_limit_by_content_length_before_the_body)
{
	static const char req[] = "POST /mcp HTTP/1.1\r\nContent-Length: 101\r\n\r\n";
	struct http1_parser p;
	size_t used;

	http1_init(&p, HTTP1_REQUEST, 100);
	CHECK(http1_feed(&p, req, sizeof(req) - 1, &used) == HTTP1_HEAD);
	CHECK(http1_set_body_mode(&p, HTTP1_BODY_BUFFER) == -1);
	CHECK(http1_error(&p) == HTTP1_E_BODY_TOO_LARGE);
	CHECK_INT_EQ(http1_error_status(http1_error(&p)), 413);
	CHECK(http1_feed(&p, "x", 1, &used) == HTTP1_ERROR);
	http1_free(&p);
	/* Exactly at the limit is fine; STREAM mode has no limit. */
	CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd", HTTP1_BODY_BUFFER, 4) == HTTP1_E_NONE);
	CHECK(error_of("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde", HTTP1_BODY_STREAM, 4) == HTTP1_E_NONE);
}

TEST(http1_body_limit_by_chunks_as_soon_as_exceeded)
{
	static const char head[] = "POST /mcp HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
	struct http1_parser p;
	size_t used;

	http1_init(&p, HTTP1_REQUEST, 10);
	CHECK(http1_feed(&p, head, sizeof(head) - 1, &used) == HTTP1_HEAD);
	CHECK(http1_set_body_mode(&p, HTTP1_BODY_BUFFER) == 0);
	CHECK(http1_feed(&p, "8\r\n12345678\r\n", 13, &used) == HTTP1_NEED_MORE);
	/* The second chunk's size alone does not tell; its bytes do, before the chunk ends. */
	CHECK(http1_feed(&p, "8\r\n123", 6, &used) == HTTP1_ERROR);
	CHECK(http1_error(&p) == HTTP1_E_BODY_TOO_LARGE);
	http1_free(&p);
	CHECK(error_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n",
		       HTTP1_BODY_BUFFER, 10) == HTTP1_E_NONE);
}

TEST(http1_expect_100_continue_reported_with_the_head)
{
	static const char req[] = "POST /mcp HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
				  "Content-Length: 2\r\n\r\n";
	struct http1_parser p;
	size_t used;

	http1_init(&p, HTTP1_REQUEST, 100);
	CHECK(http1_feed(&p, req, sizeof(req) - 1, &used) == HTTP1_HEAD);
	CHECK(http1_msg(&p)->expect_continue);
	CHECK(http1_set_body_mode(&p, HTTP1_BODY_BUFFER) == 0);
	/* The client waits for 100 Continue: no body bytes yet, and no error. */
	CHECK(http1_feed(&p, NULL, 0, &used) == HTTP1_NEED_MORE);
	CHECK(http1_feed(&p, "{}", 2, &used) == HTTP1_MESSAGE_END);
	CHECK(http1_msg(&p)->body_len == 2);
	http1_free(&p);

	/* Upstream's own interim 100 is a message of its own on the response side. */
	static const char resp[] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	struct bytebuf log = BYTEBUF_INIT;
	http1_init(&p, HTTP1_RESPONSE, 100);
	http1_expect_response(&p, HTTP_POST);
	CHECK(drive(&p, resp, sizeof(resp) - 1, 0, HTTP1_BODY_BUFFER, &log) == HTTP1_NEED_MORE);
	CHECK_STR_EQ(log.data, "H 100|E |H 200|E ok|");
	bb_free(&log);
	http1_free(&p);
}

TEST(http1_response_framing_kinds)
{
	static const char resp[] = "HTTP/1.1 204 No Content\r\n\r\n"
				   "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"  /* answer to HEAD: no body */
				   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
				   "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close";
	struct http1_parser p;
	struct bytebuf log = BYTEBUF_INIT;

	http1_init(&p, HTTP1_RESPONSE, 100);
	http1_expect_response(&p, HTTP_GET);
	http1_expect_response(&p, HTTP_HEAD);
	http1_expect_response(&p, HTTP_GET);
	http1_expect_response(&p, HTTP_GET);
	CHECK(drive(&p, resp, sizeof(resp) - 1, 0, HTTP1_BODY_BUFFER, &log) == HTTP1_NEED_MORE);
	CHECK(http1_msg(&p)->framing == HTTP1_FRAMING_CLOSE);
	CHECK(http1_feed_eof(&p) == HTTP1_MESSAGE_END);
	CHECK_STR_EQ(http1_msg(&p)->body, "until close");
	CHECK(http1_feed_eof(&p) == HTTP1_CLOSED);
	CHECK_STR_EQ(log.data, "H 204|E |H 200|E |H 200|E hi|H 200|");
	bb_free(&log);
	http1_free(&p);
}

TEST(http1_truncated_message_at_eof_is_an_error)
{
	struct http1_parser p;
	size_t used;

	http1_init(&p, HTTP1_REQUEST, 100);
	CHECK(http1_feed(&p, "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", 41, &used) == HTTP1_HEAD);
	CHECK(http1_feed(&p, "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab" + used, 41 - used, &used) == HTTP1_BODY);
	CHECK(http1_feed_eof(&p) == HTTP1_ERROR);
	CHECK(http1_error(&p) == HTTP1_E_TRUNCATED);
	http1_free(&p);
}

/* An SSE body exercising CRLF, CR and LF endings, comments, an empty id,
 * a field without colon and an unterminated tail, sent in chunks that cut
 * lines and CRLF pairs. */
static const char *const sse_chunks[] = {
	": keepalive\r\n\r\nevent: message\r\nid:\r",
	"\n 7\r\ndata: {\"a\":1}\r\n\r",
	"\ndata: x\rdata: y\r\rda",
	"ta: z\n\nretry: 5\ndata\n\ndata: tail\r\n",
};

static void sse_response(struct bytebuf *out)
{
	bb_append_str(out, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (size_t i = 0; i < sizeof(sse_chunks) / sizeof(sse_chunks[0]); i++)
		http1_emit_chunk(out, sse_chunks[i], strlen(sse_chunks[i]));
	http1_emit_last_chunk(out);
}

TEST(http1_sse_events_split_with_crlf_cr_lf_at_any_split)
{
	struct bytebuf whole = BYTEBUF_INIT, resp = BYTEBUF_INIT;
	struct http1_parser p;

	sse_response(&resp);
	http1_init(&p, HTTP1_RESPONSE, 1000);
	http1_expect_response(&p, HTTP_POST);
	CHECK(drive(&p, resp.data, resp.len, 0, HTTP1_BODY_SSE, &whole) == HTTP1_NEED_MORE);
	http1_free(&p);
	CHECK_STR_EQ(whole.data, "H 200|S :|S message:{\"a\":1}|S :x\ny|S :z|S :|E|");
	for (size_t step = 1; step < 30; step++) {
		struct bytebuf log = BYTEBUF_INIT;
		http1_init(&p, HTTP1_RESPONSE, 1000);
		http1_expect_response(&p, HTTP_POST);
		CHECK(drive(&p, resp.data, resp.len, step, HTTP1_BODY_SSE, &log) == HTTP1_NEED_MORE);
		CHECK_STR_EQ(log.data, whole.data);
		bb_free(&log);
		http1_free(&p);
	}
	bb_free(&whole);
	bb_free(&resp);
}

TEST(http1_sse_raw_blocks_concatenate_to_the_body)
{
	struct http1_parser p;
	struct bytebuf raw = BYTEBUF_INIT, resp = BYTEBUF_INIT;
	sse_response(&resp);
	const char *in = resp.data;
	size_t len = resp.len, used;
	bool ended = false, saw_id = false;

	http1_init(&p, HTTP1_RESPONSE, 1000);
	http1_expect_response(&p, HTTP_GET);
	/* One byte at a time: every event is reported as soon as its blank line ends. */
	while (!ended) {
		enum http1_status st = http1_feed(&p, in, len ? 1 : 0, &used);
		CHECK(st != HTTP1_ERROR);
		if (st == HTTP1_HEAD)
			CHECK(http1_set_body_mode(&p, HTTP1_BODY_SSE) == 0);
		if (st == HTTP1_SSE_EVENT) {
			const struct sse_event *ev = http1_event(&p);
			bb_append(&raw, ev->raw, ev->raw_len);
			if (ev->has_id) {
				CHECK_INT_EQ(ev->id_len, 0);
				saw_id = true;
			}
		}
		ended = st == HTTP1_MESSAGE_END;
		in += used;
		len -= used;
	}
	CHECK(ended && saw_id);
	CHECK_STR_EQ(raw.data, ": keepalive\r\n\r\nevent: message\r\nid:\r\n 7\r\ndata: {\"a\":1}\r\n\r\n"
			       "data: x\rdata: y\r\rdata: z\n\nretry: 5\ndata\n\ndata: tail\r\n");
	bb_free(&raw);
	bb_free(&resp);
	http1_free(&p);
}

TEST(http1_sse_event_over_the_limit_is_an_error)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
				   "data: 0123456789012345678901234567890123456789\n";
	struct http1_parser p;
	struct bytebuf log = BYTEBUF_INIT;

	http1_init(&p, HTTP1_RESPONSE, 16);
	http1_expect_response(&p, HTTP_GET);
	CHECK(drive(&p, resp, sizeof(resp) - 1, 0, HTTP1_BODY_SSE, &log) == HTTP1_ERROR);
	CHECK(http1_error(&p) == HTTP1_E_BODY_TOO_LARGE);
	bb_free(&log);
	http1_free(&p);
}

TEST(http1_upgrade_is_the_last_message_parsed)
{
	static const char req[] = "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
				  "GET /next HTTP/1.1\r\n\r\n";
	/* Lengths are tracked by hand: gcc 12 -O2 miscompiles strlen() of a
	 * pointer into this static array once the offset variable changes. */
	const size_t next_len = 22;
	struct http1_parser p;
	size_t used;

	http1_init(&p, HTTP1_REQUEST, 100);
	CHECK(http1_feed(&p, req, sizeof(req) - 1, &used) == HTTP1_HEAD);
	CHECK(http1_msg(&p)->upgrade);
	const char *next = req + used;
	CHECK_INT_EQ(sizeof(req) - 1 - used, next_len);
	CHECK(http1_feed(&p, next, next_len, &used) == HTTP1_MESSAGE_END);
	/* What follows is never read as a request. */
	CHECK(http1_feed(&p, next, next_len, &used) == HTTP1_ERROR);
	CHECK_INT_EQ(used, 0);
	CHECK_STR_EQ(http1_error_text(&p), "protocol switch: what follows is not HTTP");
	http1_free(&p);

	/* The same for a 101 response. */
	static const char resp[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello";
	http1_init(&p, HTTP1_RESPONSE, 100);
	http1_expect_response(&p, HTTP_GET);
	CHECK(http1_feed(&p, resp, sizeof(resp) - 1, &used) == HTTP1_HEAD);
	CHECK_INT_EQ(http1_msg(&p)->status, 101);
	size_t rest = sizeof(resp) - 1 - used;
	const char *after = resp + used;
	enum http1_status st = http1_feed(&p, after, rest, &used);
	if (st == HTTP1_MESSAGE_END)
		st = http1_feed(&p, after + used, rest - used, &used);
	CHECK(st == HTTP1_ERROR);
	http1_free(&p);
}

TEST(http1_head_rebuild_replaces_framing_only)
{
	static const char req[] = "POST /mcp HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
				  "Content-Encoding: gzip\r\nAuthorization: Bearer x\r\n\r\n";
	struct http1_parser p;
	struct bytebuf out = BYTEBUF_INIT;
	size_t used;

	http1_init(&p, HTTP1_REQUEST, 100);
	CHECK(http1_feed(&p, req, sizeof(req) - 1, &used) == HTTP1_HEAD);
	CHECK(http1_head_rebuild(http1_msg(&p), 42, true, &out) == 0);
	CHECK_STR_EQ(out.data, "POST /mcp HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\nContent-Length: 42\r\n\r\n");
	bb_reset(&out);
	CHECK(http1_head_rebuild(http1_msg(&p), -1, false, &out) == 0);
	CHECK_STR_EQ(out.data, "POST /mcp HTTP/1.1\r\nHost: a\r\nContent-Encoding: gzip\r\n"
			       "Authorization: Bearer x\r\nTransfer-Encoding: chunked\r\n\r\n");
	bb_reset(&out);
	CHECK(http1_emit_chunk(&out, "hello world, hi", 15) == 0);
	CHECK(http1_emit_chunk(&out, "", 0) == 0);
	CHECK(http1_emit_last_chunk(&out) == 0);
	CHECK_STR_EQ(out.data, "f\r\nhello world, hi\r\n0\r\n\r\n");
	bb_free(&out);
	http1_free(&p);
}

/* Requests go upstream asking for answers in no coding: the daemon reads
 * them as they stream (an event stream in gzip holds no events it could
 * filter). Every Accept-Encoding goes, whatever its case. */
TEST(http1_request_rebuild_asks_for_identity)
{
	static const char req[] = "GET /mcp HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip, br\r\n"
				  "accept-encoding: deflate\r\nLast-Event-ID: 7\r\n\r\n";
	static const char post[] = "POST /mcp HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}";
	struct http1_parser p;
	struct bytebuf out = BYTEBUF_INIT;
	size_t used;

	http1_init(&p, HTTP1_REQUEST, 100);
	CHECK(http1_feed(&p, req, sizeof(req) - 1, &used) == HTTP1_HEAD);
	CHECK(http1_request_rebuild(http1_msg(&p), -2, false, &out) == 0);
	CHECK_STR_EQ(out.data, "GET /mcp HTTP/1.1\r\nHost: a\r\nLast-Event-ID: 7\r\nAccept-Encoding: identity\r\n\r\n");
	http1_free(&p);
	bb_reset(&out);
	http1_init(&p, HTTP1_REQUEST, 100);
	CHECK(http1_feed(&p, post, sizeof(post) - 1, &used) == HTTP1_HEAD);
	CHECK(http1_request_rebuild(http1_msg(&p), 2, false, &out) == 0);
	CHECK_STR_EQ(out.data, "POST /mcp HTTP/1.1\r\nHost: a\r\nAccept-Encoding: identity\r\nContent-Length: 2\r\n\r\n");
	bb_free(&out);
	http1_free(&p);
}

static const char *normalized(const char *target)
{
	static char out[64];
	struct http1_parser p;
	struct bytebuf req = BYTEBUF_INIT;
	size_t used;

	bb_printf(&req, "GET %s HTTP/1.1\r\n\r\n", target);
	http1_init(&p, HTTP1_REQUEST, 100);
	const char *res = NULL;
	if (http1_feed(&p, req.data, req.len, &used) == HTTP1_HEAD &&
	    http1_normalized_path(http1_msg(&p), out, sizeof(out)) >= 0)
		res = out;
	http1_free(&p);
	bb_free(&req);
	return res ? res : "(refused)";
}

TEST(http1_normalized_path_for_endpoint_matching)
{
	CHECK_STR_EQ(normalized("/mcp"), "/mcp");
	CHECK_STR_EQ(normalized("/mcp/?sessionId=1"), "/mcp");
	CHECK_STR_EQ(normalized("//a/./b/../M%63p"), "/a/mcp");
	CHECK_STR_EQ(normalized("/../../mcp"), "/mcp");
	CHECK_STR_EQ(normalized("http://host:8080/mcp?x"), "/mcp");
	CHECK_STR_EQ(normalized("/"), "/");
	CHECK_STR_EQ(normalized("/a%2fmcp"), "(refused)");
	CHECK_STR_EQ(normalized("/mcp%00"), "(refused)");
	CHECK_STR_EQ(normalized("/mcp%zz"), "(refused)");
}

/* The header array is not cleared per message: a head that fails its
 * checks shows only the entries checked before the failure, never the
 * previous message's. */
TEST(http1_failed_head_shows_no_previous_headers)
{
	static const char two[] =
		"POST /a HTTP/1.1\r\nHost: a\r\nX-One: 1\r\nX-Two: 2\r\nX-Three: 3\r\nContent-Length: 0\r\n\r\n"
		"POST /b HTTP/1.1\r\nHost: b\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n";
	struct bytebuf log = BYTEBUF_INIT;
	struct http1_parser p;

	http1_init(&p, HTTP1_REQUEST, 1 << 20);
	CHECK_INT_EQ(drive(&p, two, sizeof(two) - 1, 0, HTTP1_BODY_STREAM, &log), HTTP1_ERROR);
	CHECK(http1_msg(&p)->n_headers <= 2);
	CHECK_INT_EQ(http1_find_header(http1_msg(&p), "X-Three", NULL, NULL), 0);
	http1_free(&p);
	bb_free(&log);
}
