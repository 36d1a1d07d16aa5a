/* mcp_classify: which requests are MCP, from their path, head and body
 * alone (no connection state), so the flow's choices can be tested apart. */
#ifndef MCPF_MCP_CLASSIFY_H
#define MCPF_MCP_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "http1.h"
#include "json_sniff.h"

/* A path MCP transports use (/mcp, /sse, /messages, /message, / and below). */
bool mcp_path_is_mcp(const char *path);
/* A legacy session as a request target names it (POST
 * /messages?sessionId=S, /messages/?session_id=S of Python servers) and
 * as a stream's "endpoint" event announces it (the same, or an absolute
 * URL): the path and the parameter, percent-decoded ('+' a space in the
 * query) as URLSearchParams, Express and Starlette read them. A session
 * parameter is one whose name, up to a '[', lower-cased without '_' or
 * '-', is "sessionid". */
struct mcp_legacy_target {
	char path[256];
	char param[32];   /* as the server spells it */
	char id[128];
};
/* 1: one session parameter, read into *out; 0: none; -1: a target servers
 * could read otherwise (refuse it, 400): a session parameter given twice
 * (in any spelling), its name encoded or bracketed, an empty value, a bad
 * escape or control byte in it or in a name, a path that does not decode. */
int mcp_target_session(const char *target, size_t target_len, struct mcp_legacy_target *out);
int mcp_legacy_session(const struct http1_msg *m, struct mcp_legacy_target *out);
/* The same from the first bytes of a request (its request line, up to the
 * first LF; 0 while that is not whole). */
int mcp_request_line_session(const char *head, size_t n, struct mcp_legacy_target *out);
/* The key a session is registered under (mcp_session.h): path, parameter
 * and id, so a POST reaches it only the way its server reads it. */
#define MCP_LEGACY_KEY_MAX (256 + 32 + 128 + 2)
void mcp_legacy_key(const struct mcp_legacy_target *t, char *out, size_t cap);
/* The key of "session"-scoped limits and the audit log: the legacy
 * session id of a request to a legacy session's target, else
 * Mcp-Session-Id, else the connection's own key. true: the key is a
 * Streamable HTTP session's (Mcp-Session-Id). */
bool mcp_session_key(const struct http1_msg *m, const char *legacy_id, const char *conn_session,
		     char *out, size_t len);
/* Can no reader find JSON-RPC in text[0..len)? 1 none can, 0 one may,
 * -1 not known before more of it comes (sn carries the reading on). */
int mcp_sniff_text(struct json_sniff *sn, const char *text, size_t len, bool end);
/* Must this whole body be inspected as JSON-RPC? Yes when it holds
 * JSON-RPC, and whenever that cannot be ruled out: a coding that cannot be
 * decoded, a byte-order mark or UTF-16/32 JSON (which cJSON cannot read),
 * a value outside the strict grammar; inspection then refuses what it
 * cannot read. No when no reader, lenient ones included, can read JSON-RPC
 * from it: binary, text, scalars, values cut short, JSON naming no method. */
bool mcp_body_needs_inspection(const struct http1_msg *m, size_t limit);

#endif
