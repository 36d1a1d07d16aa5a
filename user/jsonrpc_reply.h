/*
 * jsonrpc_reply: what the proxy answers itself, in the shape the client
 * accepts, and how those answers join an upstream reply to a batch.
 *
 * Reply objects (cJSON, free with cJSON_Delete):
 *   jsonrpc_denial(m, rule, reason, retry_after_s)
 *       {"jsonrpc":"2.0","id":<m's exact id text>,"result":{"content":[{"type":
 *       "text","text":"Blocked by mcpfence: <rule>: <reason>[; retry after N s]"}],
 *       "isError":true}}; retry_after_s < 0 leaves the retry part out.
 *   jsonrpc_error_reply(m, code, message)
 *       {"jsonrpc":"2.0","id":<m's id, or null when m is NULL or has none>,
 *       "error":{"code":code,"message":message}}: for INVALID elements (-32600).
 *
 * Whole HTTP responses (appended to out):
 *   jsonrpc_reply_shape(req)   JSON unless the Accept header prefers or only
 *                              allows text/event-stream
 *   jsonrpc_http_reply(out, shape, payload, keep_alive)
 *       200 with payload (one object, or an array for a batch) as
 *       application/json, or as text/event-stream with one "event: message"
 *       per object; payload NULL: 202 Accepted, no body (only notifications
 *       or responses were sent and nothing is to be answered).
 *   jsonrpc_http_refusal(out, why, keep_alive)   why->http_status with a
 *       JSON-RPC error body, id null
 *   jsonrpc_http_error(out, status, code, message, keep_alive)  the same from
 *       parts: 400 for malformed HTTP, 413 for a body over the limit
 *       (http1 errors); keep_alive false adds "Connection: close".
 *
 * A batch with some elements answered by the proxy and the rest forwarded:
 *   jsonrpc_merge_json(upstream, len, replies, out)  upstream's JSON body (an
 *       array, or a single object) with the replies array appended, the
 *       upstream bytes unchanged; -1 if upstream is not JSON.
 *   jsonrpc_sse_events(replies, out)  the replies as extra "event: message"
 *       events to put into upstream's SSE reply stream.
 *   If upstream answers 202 (nothing to say), send jsonrpc_http_reply with
 *   the replies instead.
 */
#ifndef MCPF_JSONRPC_REPLY_H
#define MCPF_JSONRPC_REPLY_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "bytebuf.h"
#include "http1.h"
#include "jsonrpc.h"

enum jsonrpc_shape { JSONRPC_SHAPE_JSON, JSONRPC_SHAPE_SSE };

cJSON *jsonrpc_denial(const struct jsonrpc_msg *m, const char *rule, const char *reason, long retry_after_s);
cJSON *jsonrpc_error_reply(const struct jsonrpc_msg *m, int code, const char *message);

enum jsonrpc_shape jsonrpc_reply_shape(const struct http1_msg *req);
int jsonrpc_http_reply(struct bytebuf *out, enum jsonrpc_shape shape, const cJSON *payload, bool keep_alive);
int jsonrpc_http_refusal(struct bytebuf *out, const struct jsonrpc_refusal *why, bool keep_alive);
int jsonrpc_http_error(struct bytebuf *out, int status, int code, const char *message, bool keep_alive);
/* The same with "Retry-After: retry_after_s" (none when 0). */
int jsonrpc_http_error_retry(struct bytebuf *out, int status, int code, const char *message, bool keep_alive,
			     unsigned retry_after_s);

int jsonrpc_merge_json(const char *upstream, size_t len, const cJSON *replies, struct bytebuf *out);
int jsonrpc_sse_events(const cJSON *replies, struct bytebuf *out);

#endif /* MCPF_JSONRPC_REPLY_H */
