/*
 * mcp_session: what one MCP session's connections share.
 *
 * The legacy HTTP+SSE transport (protocol 2024-11-05) splits a session in
 * two: the client POSTs to /messages?sessionId=S (Python servers:
 * /messages/?session_id=S) and the server answers on a GET /sse stream that
 * announced that target in its "endpoint" event; sessions are found by
 * the key mcp_legacy_key() makes of it. A denial must
 * then be delivered on the stream, and tools/list results to filter, like
 * answers to account, arrive there too. Connections of Streamable HTTP keep
 * their own state and need no session here.
 */
#ifndef MCPF_MCP_SESSION_H
#define MCPF_MCP_SESSION_H

#include "call_list.h"
#include "mcp_classify.h"
#include "mcp_filter.h"

struct mcp_flow;

/* Ids of forwarded tools/list requests and allowed calls awaiting answers. */
struct answer_track {
	struct mcp_idset lists;      /* list requests whose answers get filtered */
	struct call_list calls;
};

struct mcp_session {
	const void *owner;          /* the loop (proxy worker) its stream's connection lives on */
	char server[MCPF_NAME_LEN];
	char id[MCP_LEGACY_KEY_MAX];  /* path?param=id, as mcp_legacy_key() writes it */
	struct mcp_flow *stream;    /* the connection carrying the SSE stream */
	struct answer_track track;
	struct mcp_session *next;
};

struct answer_track *answer_track_new(void);
void answer_track_free(struct answer_track *t);
/* Does t await an answer with this id (a list request or a call)? Answers
 * are matched by id alone, so a second request with it could have its
 * answer read as the first one's (an echo read as a tools/list). */
bool answer_track_awaits(const struct answer_track *t, const cJSON *id);

struct mcp_session *mcp_session_open(const char *server, const char *id, struct mcp_flow *stream);
/* The session, when its stream lives on this thread's loop; NULL, with
 * *elsewhere set, when it lives on another one's: never touched from here
 * (the registry is shared by the workers, a session is its stream's). */
struct mcp_session *mcp_session_find(const char *server, const char *id, bool *elsewhere);
/* The loop (as mcp_session.owner) holding the session's stream; NULL if none. Only to
 * route a new connection to it (proxy.c): the loop is never entered. */
const void *mcp_session_owner(const char *server, const char *id);
void mcp_session_close(struct mcp_session *s);

#endif
