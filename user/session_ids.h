/*
 * session_ids: the JSON-RPC ids awaiting answers in each Streamable HTTP
 * session, over all its connections and worker threads.
 *
 * Servers route an answer to the stream that most recently sent a request
 * with its id in the session (the TS SDK's _requestToStreamMapping, the
 * Python SDK's _request_streams keyed by str(id)), while the daemon reads
 * an answer by the request its own connection carried: a second request
 * reusing an id in flight on another connection would get the first one's
 * answer (a tools/list's read as a tools/call's). Such a request is
 * refused before it is forwarded. This keeps answers and accounting
 * where they belong; hidden list entries do not depend on it (tombstones
 * can be evicted): mcp_answers.c filters every answer by its shape.
 *
 * Keys are (server, session, id), the id in its canonical text as the
 * Python SDK compares them: a string's decoded value, an integer's
 * decimal digits (7 and "7" are one id). Only a 128-bit keyed digest of
 * the key is kept, so an entry costs the same whatever the id's length.
 * Each claim belongs to one exchange (a chain it keeps) and is released
 * with it once its answer is through or it was answered here. An
 * exchange forwarded and dropped before its answer (the agent hung up,
 * the reply ended without it) leaves its claims as tombstones for
 * SESSION_IDS_ABANDONED_NS: the server may still be working on the
 * request and would route its answer to the next connection reusing the
 * id (the TS SDK does not cancel a handler when its POST's connection
 * closes).
 *
 * Bounded by the requests in flight: at most --max-batch ids a request;
 * a connection is not read while PIPELINE_MAX (proxy.c) of its requests
 * await answers (the read that crossed it may add a few more), and its
 * claims count in the memory budget (SESSION_IDS_CLAIM_BYTES each, in
 * mcp_flow_body_bytes); at most SESSION_IDS_PER_SESSION_MAX in one
 * session, -EDQUOT past that (the request is refused). Tombstones: at
 * most SESSION_IDS_TOMBS_MAX, the oldest dropped first past that.
 *
 *   struct session_id *chain = NULL;
 *   session_ids_claim(&chain, server, session, id);  // -EEXIST: refuse
 *   ...answer relayed, or answered here...
 *   session_ids_release(&chain);
 *   ...or forwarded and dropped unanswered...
 *   session_ids_abandon(&chain, SESSION_IDS_ABANDONED_NS);
 */
#ifndef MCPF_SESSION_IDS_H
#define MCPF_SESSION_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

struct session_id;

#define SESSION_IDS_ABANDONED_NS (600ULL * 1000000000ULL)  /* 10 minutes */
#define SESSION_IDS_TOMBS_MAX 65536
#define SESSION_IDS_PER_SESSION_MAX 4096
/* What one claim holds, malloc's own header included (a static assert
 * in session_ids.c keeps it true). */
#define SESSION_IDS_CLAIM_BYTES 96

/* Claims id in the session for the exchange whose claims chain holds.
 * 0; -EEXIST when any connection's exchange claims it already; -EDQUOT
 * when the session holds SESSION_IDS_PER_SESSION_MAX claims; -EINVAL for
 * an id neither a string nor a number; -ENOMEM. */
int session_ids_claim(struct session_id **chain, const char *server, const char *session, const cJSON *id);
/* Is id claimed in the session (by any exchange, or a tombstone)? For
 * tests and checks: the daemon claims at once (session_ids_claim). */
bool session_ids_busy(const char *server, const char *session, const cJSON *id);
/* Releases every claim of the chain; *chain is NULL after. */
void session_ids_release(struct session_id **chain);
/* The chain's claims stay for ttl_ns more, owned by no exchange; *chain
 * is NULL after. */
void session_ids_abandon(struct session_id **chain, unsigned long long ttl_ns);
/* Claims held, tombstones included, over all sessions (tests, the bound). */
size_t session_ids_count(void);

/* For /metrics: claims held (tombstones apart), tombstones, and claims
 * refused past SESSION_IDS_PER_SESSION_MAX since the start. */
struct session_ids_stats {
	size_t claims, tombstones;
	unsigned long long refused;
};
void session_ids_stats(struct session_ids_stats *st);

#endif
