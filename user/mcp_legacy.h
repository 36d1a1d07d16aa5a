/* mcp_legacy: the legacy HTTP+SSE transport (protocol 2024-11-05) inside a
 * flow: which session a GET /sse stream announces, and answers for that
 * session delivered on its stream as events (mcp_session.h). */
#ifndef MCPF_MCP_LEGACY_H
#define MCPF_MCP_LEGACY_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "bytebuf.h"
#include "sse.h"

struct mcp_flow;
struct mcp_session;

/* The session a stream's "endpoint" event names (data
 * "/messages?sessionId=S", "/messages/?session_id=S", or an absolute URL:
 * mcp_target_session), opened with stream as its carrier under the key of
 * its path, parameter and id; NULL for any other event, an endpoint with
 * no session parameter read plainly, or out of memory (logged). */
struct mcp_session *mcp_legacy_endpoint(struct mcp_flow *stream, const struct sse_event *ev);
/* Answers for the session, as SSE events on its stream (the stream's
 * connection is kicked). -ENOBUFS when the stream's agent does not read
 * what is queued for it already. */
int mcp_legacy_deliver(struct mcp_session *s, const cJSON *replies);
/* SSE bytes to a client, in a chunk of their own when the reply is chunked. */
int mcp_sse_append(struct bytebuf *out, bool chunked, const char *bytes, size_t n);

#endif
