/*
 * http1: incremental HTTP/1.1 message parser for both directions of a
 * proxied connection (requests client->server, responses server->client),
 * on top of libhttp-parser. One parser per direction per connection.
 *
 * Pull API: feed bytes, get one status at a time, act, feed the rest.
 *
 *   struct http1_parser p;
 *   http1_init(&p, HTTP1_REQUEST, 4 << 20);     // body limit for BUFFER/SSE modes
 *   for (;;) {                 // for every input read from the socket
 *       size_t used;
 *       enum http1_status st = http1_feed(&p, data, len, &used);
 *       data += used; len -= used;
 *       if (st == HTTP1_NEED_MORE) break;   // all consumed, nothing pending
 *       ... act on st (below); ERROR also stops the loop ...
 *   }
 *   Any status but NEED_MORE means "call again", even when everything was
 *   consumed: several SSE events or a message end may still be pending.
 *   on peer EOF: call http1_feed_eof(&p) until it returns HTTP1_CLOSED or HTTP1_ERROR
 *   http1_free(&p);
 *
 * Statuses and what the consumed bytes (data[0..used)) are:
 *   HTTP1_NEED_MORE    everything was consumed, nothing to report.
 *   HTTP1_HEAD         the head is complete: http1_msg(&p) has method/status,
 *                      target, headers, framing, keep_alive, expect_continue,
 *                      upgrade; msg->head/head_len are the exact raw head bytes
 *                      (forward them unchanged to stay byte-identical). The
 *                      consumed bytes are all in msg->head. Now pick the body mode:
 *                        HTTP1_BODY_STREAM (default) pass the body through;
 *                        HTTP1_BODY_BUFFER keep it whole (requests to inspect,
 *                          tools/list replies): http1_set_body_mode returns -1
 *                          at once if Content-Length is over the limit;
 *                        HTTP1_BODY_SSE split a text/event-stream body into events.
 *   HTTP1_BODY         STREAM mode: the consumed bytes are raw body bytes (chunk
 *                      framing included): forward them as they are. To read
 *                      the content too, http1_watch_body() after the head: its
 *                      callback gets the de-chunked bytes during http1_feed.
 *   HTTP1_SSE_EVENT    SSE mode: http1_event(&p) is one event (sse.h); forward
 *                      ev->raw or a rewritten event (http1_emit_chunk() when the
 *                      response is chunked). Consumed bytes are already inside.
 *   HTTP1_MESSAGE_END  the message is complete. STREAM: the consumed bytes are
 *                      the last raw body bytes, forward them. BUFFER: msg->body
 *                      is the de-chunked body, msg->raw_body the body as
 *                      received (head + raw_body = the message byte for byte).
 *                      The msg stays valid until the next http1_feed call.
 *   HTTP1_ERROR        http1_error()/http1_error_text(): malformed, ambiguous
 *                      framing, head or body too large, truncated;
 *                      http1_error_status() is the status to answer with. The
 *                      connection cannot continue: answer, then close.
 *   HTTP1_CLOSED       (http1_feed_eof only) the stream ended cleanly.
 * A message that switches protocols (Upgrade, 101, CONNECT) is the last one
 * parsed: what follows it is not HTTP, and the next call reports HTTP1_ERROR.
 *
 * Responses: before a response can be parsed right the parser must know the
 * request method it answers (HEAD has no body, 2xx to CONNECT is a tunnel):
 * call http1_expect_response(&resp, method) for every request forwarded
 * upstream, in order. Interim 1xx responses are messages of their own
 * (status 100: drop it if the proxy already sent its own 100 Continue).
 *
 * Framing rules (refused as HTTP1_E_FRAMING): more than one Content-Length,
 * Content-Length together with Transfer-Encoding, any Transfer-Encoding
 * other than a single "chunked", Transfer-Encoding in HTTP/1.0, obsolete
 * header line folding. Also refused (HTTP1_E_MALFORMED), because a server
 * could read such a head differently: a bare LF line ending, a field name
 * that is not a token (e.g. "Content-Length :"), control characters in a
 * field value.
 *
 * Re-serialization helpers:
 *   http1_head_rebuild(msg, body_len, drop_content_encoding, &out)
 *       the head with Content-Length/Transfer-Encoding replaced by
 *       "Content-Length: body_len" (and Content-Encoding dropped if asked),
 *       every other byte as received. body_len < 0: "Transfer-Encoding:
 *       chunked" instead (to stream rewritten SSE events of a CL response).
 *   http1_request_rebuild(msg, body_len, drop_content_encoding, &out)
 *       the same for a request going upstream, every Accept-Encoding
 *       replaced by "Accept-Encoding: identity" (answers come back in the
 *       form the daemon reads as they stream); body_len -2: no framing
 *       header at all (a request without a body).
 *   http1_emit_chunk(&out, bytes, n)   one chunk; http1_emit_last_chunk(&out).
 *   http1_normalized_path(msg, buf, cap)  percent-decoded path with dot
 *       segments and repeated slashes removed, for endpoint matching; -1 for
 *       %00, %2F, bad escapes or overflow: such a target must be refused.
 */
#ifndef MCPF_HTTP1_H
#define MCPF_HTTP1_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"
#include "sse.h"

#define HTTP1_DEFAULT_BODY_LIMIT (4u << 20)
#define HTTP1_HEAD_MAX (64u << 10)
#define HTTP1_MAX_HEADERS 100
#define HTTP1_MAX_PIPELINE 32

enum http1_dir { HTTP1_REQUEST, HTTP1_RESPONSE };

enum http1_status {
	HTTP1_NEED_MORE,
	HTTP1_HEAD,
	HTTP1_BODY,
	HTTP1_SSE_EVENT,
	HTTP1_MESSAGE_END,
	HTTP1_ERROR,
	HTTP1_CLOSED,
};

enum http1_body_mode { HTTP1_BODY_STREAM, HTTP1_BODY_BUFFER, HTTP1_BODY_SSE };

enum http1_framing {
	HTTP1_FRAMING_NONE,	/* no body */
	HTTP1_FRAMING_LENGTH,	/* Content-Length */
	HTTP1_FRAMING_CHUNKED,
	HTTP1_FRAMING_CLOSE,	/* response body runs until the server closes */
};

enum http1_error {
	HTTP1_E_NONE,
	HTTP1_E_MALFORMED,
	HTTP1_E_FRAMING,
	HTTP1_E_HEAD_TOO_LARGE,
	HTTP1_E_BODY_TOO_LARGE,
	HTTP1_E_TRUNCATED,
	HTTP1_E_NOMEM,
};

struct http1_header {
	const char *name;
	size_t name_len;
	const char *value;	/* without surrounding whitespace */
	size_t value_len;
};

struct http1_msg {
	const char *head;	/* exact raw head, terminating blank line included */
	size_t head_len;
	enum http_method method;	/* requests */
	unsigned status;		/* responses */
	unsigned http_major, http_minor;
	const char *target;	/* request-target as sent (path + query) */
	size_t target_len;
	size_t n_headers;
	enum http1_framing framing;
	int64_t content_length;	/* -1 when absent */
	bool keep_alive;
	bool expect_continue;	/* Expect: 100-continue */
	bool upgrade;		/* protocol switch requested (request) or done (response) */
	const char *body;	/* BUFFER mode, at HTTP1_MESSAGE_END: de-chunked */
	size_t body_len;
	const char *raw_body;	/* BUFFER mode: as received, chunk framing included */
	size_t raw_body_len;
	/* last: a new message clears what comes before only (3 KiB less to
	 * write per message, per direction); entries past n_headers are stale */
	struct http1_header headers[HTTP1_MAX_HEADERS];
};

/* Where a header field lies in the head while the head is still growing. */
struct http1_field_offsets {
	size_t name_off, name_len, value_off, value_len;
};

/* Sees the de-chunked body bytes of a STREAM-mode message as they pass. */
typedef void (*http1_body_fn)(void *ctx, const char *data, size_t len);

/* Private state: use the functions below. */
struct http1_parser {
	http_parser hp;
	http_parser_settings settings;
	enum http1_dir dir;
	size_t body_limit;
	int phase;
	enum http1_body_mode mode;
	bool lf_owed;		/* head reported before http_parser saw its last LF */
	bool msg_done;
	bool eof;
	const char *exec_data;	/* input of the running http_parser_execute */
	size_t exec_base;	/* head offset of exec_data[0] */
	struct http1_field_offsets offs[HTTP1_MAX_HEADERS];
	size_t n_offs;
	size_t target_off, target_len;
	enum http_method pending[HTTP1_MAX_PIPELINE];
	size_t n_pending;
	struct http1_msg msg;
	struct bytebuf head, raw, body;
	struct sse_splitter sse;
	struct sse_event event;
	http1_body_fn body_fn;
	void *body_ctx;
	enum http1_error err;
	const char *err_text;
};

void http1_init(struct http1_parser *p, enum http1_dir dir, size_t body_limit);
void http1_free(struct http1_parser *p);

enum http1_status http1_feed(struct http1_parser *p, const char *data, size_t len, size_t *used);
enum http1_status http1_feed_eof(struct http1_parser *p);

const struct http1_msg *http1_msg(const struct http1_parser *p);
const struct sse_event *http1_event(const struct http1_parser *p);
int http1_set_body_mode(struct http1_parser *p, enum http1_body_mode mode);
/* STREAM mode: also hand the de-chunked body of this message to fn. */
void http1_watch_body(struct http1_parser *p, http1_body_fn fn, void *ctx);

/* For the proxy's limits: bytes the parser holds allocated (head, body,
 * events); whether a head, or a body, is being read; between messages,
 * free buffers a large message left over HTTP1_KEEP_BUFFER bytes. */
#define HTTP1_KEEP_BUFFER (64u << 10)
size_t http1_held_bytes(const struct http1_parser *p);
bool http1_in_head(const struct http1_parser *p);
bool http1_in_body(const struct http1_parser *p);
void http1_shrink(struct http1_parser *p);
int http1_expect_response(struct http1_parser *resp, enum http_method request_method);

enum http1_error http1_error(const struct http1_parser *p);
const char *http1_error_text(const struct http1_parser *p);
/* The HTTP status to answer an error with: 400, 413, 431 or 500. */
int http1_error_status(enum http1_error err);

/* Number of headers called `name` (case-insensitive); value and len get the first. */
size_t http1_find_header(const struct http1_msg *m, const char *name, const char **value, size_t *len);
/* Media type of Content-Type equals `type` (case-insensitive, parameters ignored). */
bool http1_content_type_is(const struct http1_msg *m, const char *type);

int http1_head_rebuild(const struct http1_msg *m, int64_t body_len, bool drop_content_encoding,
		       struct bytebuf *out);
int http1_request_rebuild(const struct http1_msg *m, int64_t body_len, bool drop_content_encoding,
			  struct bytebuf *out);
int http1_emit_chunk(struct bytebuf *out, const void *data, size_t len);
int http1_emit_last_chunk(struct bytebuf *out);
int http1_normalized_path(const struct http1_msg *m, char *out, size_t cap);

#endif /* MCPF_HTTP1_H */
