/*
 * session_ids: the JSON-RPC ids awaiting answers in each Streamable HTTP
 * session, over all its connections and worker threads.
 *
 * Servers route an answer to the stream that most recently sent a request
 * with its id in the session (the TS SDK's _requestToStreamMapping, the
 * Python SDK's _request_streams keyed by str(id)), while the daemon reads
 * an answer by the request its own connection carried: a second request
 * reusing an id in flight on another connection would get the first one's
 * answer (an unfiltered tools/list read as a tools/call). Such a request
 * is refused before it is forwarded.
 *
 * Keys are (server, session, id), the id in its canonical text as the
 * Python SDK compares them: a string's decoded value, an integer's
 * decimal digits (7 and "7" are one id). Only a 128-bit keyed digest of
 * the key is kept, so an entry costs the same whatever the id's length.
 * Each claim belongs to one exchange (a chain it keeps) and is released
 * with it, however it ends.
 *
 * Bounded by the requests in flight: at most --max-batch ids a request;
 * a connection is not read while PIPELINE_MAX (proxy.c) of its requests
 * await answers (the read that crossed it may add a few more); and the
 * connection caps. An agent cannot grow it otherwise.
 *
 *   struct session_id *chain = NULL;
 *   session_ids_claim(&chain, server, session, id);  // -EEXIST: refuse
 *   ...answer relayed, exchange abandoned or connection closed...
 *   session_ids_release(&chain);
 */
#ifndef MCPF_SESSION_IDS_H
#define MCPF_SESSION_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

struct session_id;

/* Claims id in the session for the exchange whose claims chain holds.
 * 0; -EEXIST when any connection's exchange claims it already; -EINVAL
 * for an id neither a string nor a number; -ENOMEM. */
int session_ids_claim(struct session_id **chain, const char *server, const char *session, const cJSON *id);
/* Is id claimed in the session (by any exchange)? */
bool session_ids_busy(const char *server, const char *session, const cJSON *id);
/* Releases every claim of the chain; *chain is NULL after. */
void session_ids_release(struct session_id **chain);
/* Claims held, over all sessions (tests, the bound). */
size_t session_ids_count(void);

#endif
