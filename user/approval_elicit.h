/*
 * approval_elicit: asking the human in the agent's own MCP client
 * (elicitation, MCP 2025-06-18 and later) whether a held call may run.
 *
 * The daemon answers the held tools/call POST itself with an event stream
 * (Streamable HTTP: a server may send requests on a POST's stream before
 * its response) and sends on it an "elicitation/create" request whose id
 * is "mcpfence-" + the approval's id (128 random bits). The client POSTs
 * its JSON-RPC response to the endpoint like any message; the flow takes
 * every response whose id starts "mcpfence-" out of the traffic (the
 * server never sees it: its ids are not the server's) and decides the call
 * if the answer comes from the same agent (cgroup, uid), for the same
 * server and session. Then the server's answer, or the denial, goes out on
 * the same stream.
 *
 * Which sessions can be asked: a client declares "elicitation" in the
 * capabilities of its initialize; the server names the session in the
 * answer's Mcp-Session-Id. elicit_caps_note records that pair for the
 * agent (cgroup, uid) (a bounded table, oldest entry replaced; an agent
 * past its share replaces its own, so one flooding initialize cannot push
 * others' sessions out); a call without a session id (stateless), on a
 * session not recorded, or from another agent cannot be asked this way.
 */
#ifndef MCPF_APPROVAL_ELICIT_H
#define MCPF_APPROVAL_ELICIT_H

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "approval.h"
#include "bytebuf.h"

#define ELICIT_ID_PREFIX "mcpfence-"
#define ELICIT_CAPS_MAX 4096
#define ELICIT_CAPS_AGENT_MAX 64    /* entries one agent (cgroup, uid) may hold */
#define ELICIT_KEEPALIVE_S 15   /* ": keep-alive" comments on the stream, when the call asked for progress */

/* Does this initialize request declare the elicitation capability? */
bool elicit_declared(const cJSON *params);
void elicit_caps_note(const char *server, const char *session, size_t session_len, uint64_t cgroup_id,
		      uint32_t uid);
bool elicit_caps_has(const char *server, const char *session, uint64_t cgroup_id, uint32_t uid);

/* The params of the daemon's elicitation/create for a pending call: a
 * message naming agent, server, tool and arguments, and a form with one
 * boolean field "approve". NULL: out of memory. */
cJSON *elicit_params(const struct approval *a);
/* The start of the daemon's own answer to the held POST: a chunked
 * text/event-stream head and the elicitation/create request event. */
int elicit_stream_start(struct bytebuf *out, const struct approval *a, bool keep_alive);
/* One JSON-RPC message as an event in a chunk of that stream (last: and
 * the stream's end). */
int elicit_stream_event(struct bytebuf *out, const char *json, size_t len, bool last);

/* A client's answer (the response's "result", or NULL for an error
 * response): approved only on {"action":"accept","content":{"approve":true}}. */
bool elicit_accepted(const cJSON *result);

#endif
