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
/* The sessionId query parameter of a legacy /messages POST. */
bool mcp_legacy_session_id(const struct http1_msg *m, char *out, size_t len);
/* The same from a request target, or from the first bytes of a request
 * (its request line, up to the first LF; false while that is not whole). */
bool mcp_target_session_id(const char *target, size_t target_len, char *out, size_t len);
bool mcp_request_line_session_id(const char *head, size_t n, char *out, size_t len);
/* The key of "session"-scoped limits and the audit log: Mcp-Session-Id,
 * else the legacy session id, else the connection's own key. */
void mcp_session_key(const struct http1_msg *m, const char *legacy_id, const char *conn_session,
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
