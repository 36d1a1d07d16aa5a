/*
 * mcp_flow: the MCP enforcement point inside one proxied connection.
 *
 * The proxy hands every byte it reads to the flow, which decides what goes
 * where: requests are parsed as HTTP/1.1; POST bodies on MCP paths (or any
 * body that is JSON-RPC) are inspected and every tools/call is decided from
 * the policy maps before anything of that request reaches the server.
 * Denied calls are answered here, in request order and in the shape the
 * client asked for (JSON or SSE); the rest is forwarded byte for byte.
 * Responses are parsed too: tools/list results lose hidden tools, and each
 * allowed call is accounted (stats map, audit log) when its answer arrives.
 *
 *   mcp_flow_init(&f, enforce, origin, conn_id, kick, conn);
 *   mcp_flow_client_data(&f, bytes, n, &io)   / mcp_flow_client_eof(&f, &io)
 *   mcp_flow_upstream_data(&f, bytes, n, &io) / mcp_flow_upstream_eof(&f, &io)
 *   mcp_flow_free(&f);
 *
 * Each call appends to io->to_upstream / io->to_client and returns 0; the
 * one way the flow ends a connection is io->finished: end it once
 * io->to_client has been written (a refusal, an unreachable server). -1:
 * the flow cannot go on (no memory, a server reply it cannot relay).
 */
#ifndef MCPF_MCP_FLOW_H
#define MCPF_MCP_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "answer_scan.h"
#include "bytebuf.h"
#include "enforce.h"
#include "http1.h"
#include "http_strict.h"
#include "json_sniff.h"
#include "mcpfence_abi.h"

struct timer_wheel;
struct mailbox;

struct exchange;
struct mcp_session;
struct answer_track;

struct flow_io {
	struct bytebuf *to_upstream;
	struct bytebuf *to_client;
	bool finished;    /* set by the flow: end the connection once to_client is written */
};

/* Ask the proxy to write conn's pending client bytes: used when another
 * connection's flow appends to this one (legacy SSE replies). */
typedef void (*flow_kick_fn)(void *conn);
/* A call held for approval was decided outside any read (a timer, the
 * control socket): the flow wrote to the connection's queues; rc and
 * finished as a data call's. */
typedef void (*flow_resume_fn)(void *conn, int rc, bool finished);
struct held_call;

/* The request being read: held whole (MCP) or streamed through. */
struct req_state {
	bool buffered;
	bool streaming;   /* its head went upstream, its body is going as it comes */
	bool own_100;     /* we answered Expect: 100-continue ourselves */
	bool mcp_path;
	bool sniffing;    /* a body read through the flow (mcp_flow.c, body_piece) */
	bool hold;        /* ... kept whole, to be decided at its end */
	bool chunked_out; /* ... streamed on in the daemon's own chunks */
	size_t checked;   /* bytes of mcp_flow.req_body already checked for charset */
	struct http_chunk_check chunks;
	struct json_sniff sniff;
	bool wide_known;
	enum json_wide wide;  /* UTF-16/32 by its first bytes: sniffed transcoded */
	struct json_sniff sniff_raw;  /* ... and, with no BOM, as the bytes are (NULs as whitespace) */
	size_t wide_pos;      /* bytes of req_body transcoded into wide_text */
};

/* How the body of the response being relayed is handled:
 *   STREAM  passed through untouched;
 *   SCAN    passed through as it comes, its answers read for accounting;
 *   BUFFER  held whole (tools/list to filter, denials to merge, an encoded body);
 *   SSE     relayed event by event. */
enum resp_mode { RESP_STREAM, RESP_SCAN, RESP_BUFFER, RESP_SSE };

struct mcp_flow {
	const struct enforce *enf;
	const struct mcpf_conn *origin;
	char conn_session[32];          /* session key when the client names none */
	char cgroup_path[256];          /* the agent's cgroup, for the audit log; "" if unknown */
	struct http1_parser req, resp;
	struct exchange *first, *last;  /* requests in order, awaiting answers */
	struct exchange *spare;         /* the last one answered, for the next request */
	struct answer_track *track;     /* tools/list ids, allowed calls: made on first use */
	struct mcp_session *stream_of;  /* this connection carries a legacy SSE stream */
	bool sse_chunked;               /* the SSE reply being relayed goes out chunked */
	bool refused;                   /* a request was refused: nothing after it is read */
	bool req_open;                  /* a request's head came, its end not yet */
	unsigned next_seq;
	char upstream_error[128];       /* why the server cannot be reached; "" while it can */
	struct req_state rs;
	struct bytebuf req_body;        /* a sniffed request body, de-chunked (body_piece) */
	struct bytebuf wide_text;       /* ... its UTF-8 transcoding, when it looks UTF-16/32 */
	enum resp_mode resp_mode;
	struct answer_scan scan;        /* the answers of the response (or SSE event) being read */
	struct bytebuf *client_out;         /* for the legacy registry */
	struct bytebuf *upstream_out;       /* for approvals decided outside a read */
	struct held_call *held;         /* a call awaiting approval: nothing after it is read */
	struct bytebuf stalled;         /* bytes read after it, fed in once it is decided */
	flow_resume_fn resume;
	flow_kick_fn kick;
	void *conn;
	struct timer_wheel *wheel;      /* its thread's: held calls' keep-alives */
	struct mailbox *mailbox;        /* its thread's: a held call's decision is posted here (NULL: run at once) */
};

int mcp_flow_init(struct mcp_flow *f, const struct enforce *enf, const struct mcpf_conn *origin,
		  unsigned long long conn_id, flow_kick_fn kick, void *conn);
void mcp_flow_free(struct mcp_flow *f);

int mcp_flow_client_data(struct mcp_flow *f, const char *data, size_t len, struct flow_io *io);
int mcp_flow_client_eof(struct mcp_flow *f, struct flow_io *io);
int mcp_flow_upstream_data(struct mcp_flow *f, const char *data, size_t len, struct flow_io *io);
int mcp_flow_upstream_eof(struct mcp_flow *f, struct flow_io *io);
/* For the proxy's limits. Refuse what the agent is sending (timeout, no
 * memory) with status and a JSON-RPC error, after the answers owed before
 * it (then io->finished); same return as the data calls, and nothing more is read. */
int mcp_flow_refuse(struct mcp_flow *f, struct flow_io *io, int status, const char *why, unsigned retry_after_s);
/* What the connection waits for: IDLE nothing in flight; HEAD the rest of a
 * request head; HELD_BODY the rest of a body held for inspection;
 * STREAMED_BODY the rest of a body passing through; BUSY answers owed. */
enum flow_phase { FLOW_IDLE, FLOW_HEAD, FLOW_HELD_BODY, FLOW_STREAMED_BODY, FLOW_BUSY };
enum flow_phase mcp_flow_phase(const struct mcp_flow *f);
/* The connection ends after a refusal: let go of the request being read
 * (a body held in part may be megabytes) while the proxy lingers. */
void mcp_flow_drop_request(struct mcp_flow *f);
/* Bytes the flow keeps itself, for the memory budget: request bodies
 * (read through it to be sniffed or decided), the calls awaiting their
 * answers (ids, and arguments for the audit log), and what is queued. */
size_t mcp_flow_body_bytes(const struct mcp_flow *f);
/* What waits with the requests in flight: answers made here queued behind
 * an earlier one still unanswered (denials, refusals), denials to join to
 * a server's batch answer, the ids claimed in their session. Past the
 * high-water mark the agent is not read until they drain. */
size_t mcp_flow_queued_bytes(const struct mcp_flow *f);
/* More than max requests wait for their answers (pipelining). */
bool mcp_flow_backlog_over(const struct mcp_flow *f, unsigned max);
/* A response is being held whole (tools/list to filter, answers to merge),
 * or split into events (one event is held whole). */
bool mcp_flow_holds_response(const struct mcp_flow *f);
/* The server cannot be reached: requests are answered 502 here instead,
 * and io->finished once one was (a request that comes later is answered then). */
int mcp_flow_upstream_failed(struct mcp_flow *f, const char *why, struct flow_io *io);
/* Nothing owed that a drain must wait for: a request came and was
 * answered, none is being read, none awaits its answer but GET streams
 * (which clients open again), and no legacy SSE stream other connections'
 * answers go to. */
bool mcp_flow_idle(const struct mcp_flow *f);
/* A call waits for a human's approval: read nothing more from the agent
 * (what follows must not overtake it). */
bool mcp_flow_held(const struct mcp_flow *f);
/* ... and nothing else of the connection awaits the server (the server
 * may close it meanwhile without losing anything). */
bool mcp_flow_held_idle(const struct mcp_flow *f);

#endif
