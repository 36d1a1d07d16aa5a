/*
 * jsonrpc: inspection of a client->server POST body on an MCP endpoint.
 *
 *   struct jsonrpc_body b;
 *   struct jsonrpc_refusal why;
 *   if (jsonrpc_inspect_request(msg, limit, &b, &why) < 0) {
 *       // nothing may be forwarded: answer with jsonrpc_http_refusal(&out, &why, ...)
 *   }
 *   for (size_t i = 0; i < b.count; i++) {
 *       struct jsonrpc_msg *m = &b.msgs[i];
 *       m->kind: REQUEST (method + id), NOTIFICATION (method, no id),
 *                RESPONSE (result/error + id), INVALID (m->invalid_reason:
 *                answer it with -32600, never forward it)
 *       m->method, m->id_raw (exact id text, echo it), m->params,
 *       for tools/call: m->is_tools_call, m->tool_name (decoded; also set on an
 *       INVALID call whose params.name is a string), m->arguments
 *       decide; when the proxy answers an element itself: m->verdict = JSONRPC_ANSWERED
 *       (a denied NOTIFICATION is dropped the same way, with no reply: it has no id)
 *   }
 *   jsonrpc_forwarded_count(&b): 0 -> nothing to forward, answer alone;
 *       == b.count -> forward the original request bytes unchanged (zero-copy);
 *       else jsonrpc_forward_body(&b, &out) is the batch of the forwarded
 *       elements (their original bytes), sent with http1_head_rebuild(msg,
 *       out.len, b.decoded_body, ...).
 *   jsonrpc_body_free(&b);
 *
 * Refused outright (whole request, jsonrpc_refusal): Content-Encoding not
 * decodable (415) or over the limit once decoded (413), invalid JSON or
 * trailing bytes after it (-32700), not an object or array, an empty batch,
 * a duplicate object key anywhere, a \u0000 escape in any string (cJSON would
 * truncate the string, so the policy and the server would see different
 * names), Mcp-Method / Mcp-Name / Mcp-Param-* headers that are repeated,
 * badly encoded or disagree with the body (-32600). Element rules (INVALID): "jsonrpc" must be
 * "2.0", id a string or number, params an object or array, a method and a
 * result/error not both; tools/call needs params.name as a string and
 * params.arguments, when present, as an object.
 *
 * Mcp-Method / Mcp-Name (MCP 2026-07-28): a value "=?base64?<b64>?=" is
 * decoded (exact lowercase markers; anything else is the literal value).
 * When present, every element must carry that method, and the name must
 * equal params.name (tools/call, prompts/get) or params.uri (resources/read).
 * Mcp-Param-{name} (MCP 2026-07-28, x-mcp-header): every element must be
 * a tools/call (read with its arguments) whose top-level argument {name}
 * (case-insensitive) the decoded value renders: a string verbatim, an
 * integer in decimal, true / false. A header that maps to no argument
 * (the daemon keeps no inputSchema, so an x-mcp-header on another or a
 * nested property), an argument of any other type, a repeated name (also
 * spelled with '_'), an "Mcp_Param_" prefix, a plain value that is not
 * printable ASCII: refused (400, -32600), like a mismatch. A server or
 * gateway may route on these headers; none goes out the decision did not
 * see.
 * Headers never decide policy; the body does.
 */
#ifndef MCPF_JSONRPC_H
#define MCPF_JSONRPC_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "bytebuf.h"
#include "http1.h"
#include "json_span.h"
#include "mcpfence_abi.h"

enum jsonrpc_kind { JSONRPC_REQUEST, JSONRPC_NOTIFICATION, JSONRPC_RESPONSE, JSONRPC_INVALID };
enum jsonrpc_verdict { JSONRPC_FORWARD, JSONRPC_ANSWERED };

#define JSONRPC_PARSE_ERROR (-32700)
#define JSONRPC_INVALID_REQUEST (-32600)

struct jsonrpc_msg {
	enum jsonrpc_kind kind;
	const cJSON *node;
	struct json_span span;		/* the element's bytes in jsonrpc_body.text */
	const char *method;		/* decoded; NULL for responses */
	const cJSON *id;		/* NULL when absent */
	const char *id_raw;		/* exact id text ("7", "\"a\""), NULL when absent */
	size_t id_raw_len;
	const cJSON *params;
	bool is_tools_call;
	const char *tool_name;		/* decoded params.name of a tools/call */
	const cJSON *arguments;		/* params.arguments of a tools/call, or NULL; numbers
					 * whose literal a double does not keep are flagged
					 * (json_number.h) */
	bool args_unread;		/* read without a tree: params and arguments not read
					 * (NULL), whatever the body holds (jsonrpc_quick.h) */
	const char *invalid_reason;	/* JSONRPC_INVALID only */
	enum jsonrpc_verdict verdict;	/* the caller's slot, JSONRPC_FORWARD at first */
};

struct jsonrpc_body {
	cJSON *root;
	bool quick;		/* read without a tree (jsonrpc_quick.h): root NULL, */
	cJSON *id_node;		/* ... msgs[0].id, */
	struct jsonrpc_msg one;	/* ... msgs, */
	char name[MCPF_NAME_LEN * 2];	/* ... and its tool_name */
	const char *text;	/* the JSON text that spans index (decoded body) */
	size_t text_len;
	bool decoded_body;	/* text was Content-Encoding decoded: drop that header if rebuilt */
	struct bytebuf decoded;
	bool batch;
	size_t count;
	struct jsonrpc_msg *msgs;
};

struct jsonrpc_refusal {
	int http_status;	/* 400, 413, 415, 500 */
	int code;		/* JSONRPC_PARSE_ERROR or JSONRPC_INVALID_REQUEST */
	const char *reason;
};

/* Everything above from a buffered request (http1 BUFFER mode). On -1
 * nothing is left to free; on 0 call jsonrpc_body_free. quick: a plain
 * tools/call may be read without a tree (b.quick; jsonrpc_quick.h), when
 * the caller needs no more of it than jsonrpc_quick_read gives. */
int jsonrpc_inspect_request(const struct http1_msg *req, size_t limit, bool quick, struct jsonrpc_body *out,
			    struct jsonrpc_refusal *why);
/* The steps, for callers that have the pieces separately. text must outlive
 * out. On -1 nothing is left to free. */
int jsonrpc_parse(const char *text, size_t len, struct jsonrpc_body *out, struct jsonrpc_refusal *why);
int jsonrpc_parse_quick(const char *text, size_t len, struct jsonrpc_body *out, struct jsonrpc_refusal *why);
/* req carries an Mcp-Param-* header (any case, '_' for '-'). */
bool jsonrpc_has_param_headers(const struct http1_msg *req);
int jsonrpc_check_mcp_headers(const struct jsonrpc_body *b, const struct http1_msg *req,
			      struct jsonrpc_refusal *why);
/* Decodes an Mcp-* header value (base64 form or literal) into out; -1 on bad base64. */
int mcp_header_decode(const char *value, size_t len, struct bytebuf *out);

size_t jsonrpc_forwarded_count(const struct jsonrpc_body *b);
int jsonrpc_forward_body(const struct jsonrpc_body *b, struct bytebuf *out);
void jsonrpc_body_free(struct jsonrpc_body *b);

#endif /* MCPF_JSONRPC_H */
