/*
 * Internal to mcp_flow.c, mcp_approve.c and mcp_answers.c: the state one
 * connection's flow shares between its files (the exchange queue, the
 * request being decided, a call held for approval) and the helpers they
 * call across. Not for other modules: they use mcp_flow.h.
 */
#ifndef MCPF_MCP_FLOW_INT_H
#define MCPF_MCP_FLOW_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "approval.h"
#include "bytebuf.h"
#include "call_list.h"
#include "decide.h"
#include "http1.h"
#include "jsonrpc.h"
#include "jsonrpc_reply.h"
#include "mailbox.h"
#include "mcp_flow.h"
#include "session_ids.h"
#include "timer_wheel.h"

/* Responses can legitimately be larger than requests (tool results); a
 * response the flow must inspect is held whole up to this size. */
#define RESPONSE_LIMIT_MIN (64u << 20)

/* One request, in the order the client sent it, until its answer is out. */
struct exchange {
	struct exchange *next;
	unsigned seq;
	bool local;                  /* answered here: reply holds the response */
	struct bytebuf reply;
	struct bytebuf extra;        /* answers to join to upstream's reply (partial batch): a JSON
	                              * array's text, a third of its tree's heap (mcp_flow_extra) */
	enum jsonrpc_shape shape;
	bool inspect;                /* tools/list or tools/call inside: read the answer */
	bool own_100;                /* we sent 100 Continue: drop upstream's */
	bool legacy;                 /* legacy transport: answers arrive on the session's stream */
	enum http_method method;
	struct held_call *held;      /* its call awaits approval: not forwarded yet */
	bool own_stream;             /* answered with the daemon's own event stream (elicitation) */
	bool init_elicit;            /* an initialize declaring elicitation: note its session */
	struct session_id *ids;      /* its request ids claimed in the session (session_ids.h) */
	unsigned n_ids;              /* ... how many (the memory budget counts them) */
	bool unanswered;             /* forwarded and dropped before its answer: ids stay claimed a while */
};

/* A tools/call held for approval (approval.h): what is needed to forward
 * it, answer it, or account it once a human (or the clock) decides. */
struct held_call {
	struct mcp_flow *f;
	struct exchange *ex;
	struct approval *a;
	struct bytebuf upstream;     /* the request as it goes upstream once approved */
	char *id_raw;
	cJSON *arguments;
	char tool[MCPF_NAME_LEN * 2], rule[256], session[128], args_hash[17];
	size_t req_bytes;
	unsigned long long start_ns;
	bool elicit;                 /* ask in the agent's client too (approval_elicit.h) */
	bool progress;               /* the call asked for progress: keep-alives on the daemon's stream */
	struct timer keepalive;
	bool keep_alive;
	enum http_method method;
	/* decided on another thread, or in the store's callback: the decision
	 * waits in the flow's mailbox (f NULL once the flow let go of it) */
	struct mail mail;
	struct approval_result result;
	bool posted;
};

struct accounting {
	const char *tool, *rule, *reason, *session;
	bool method;                 /* tool is a method name (not tools/call) */
	enum mcpf_decision decision;
	uint64_t latency_ns, req_bytes, resp_bytes;
	bool upstream_error;
	const cJSON *arguments;
	const char *approved_by, *args_hash;  /* held for approval: audit_record */
};

struct request_ctx {
	struct mcp_flow *f;
	struct mcp_session *legacy;
	char session[128];
	bool shared_ids;              /* ids are unique across the session's connections (session_ids.h) */
	bool session_full;            /* ... and the session holds all the claims it may (a claim saw it) */
	cJSON *replies;               /* NULL until the first (mcp_flow_add_reply) */
	bool inspect_answer;
	struct exchange *ex;
	bool batch;
	const struct http1_msg *m;
	struct held_call *held;      /* the call this request holds for approval */
	const char *approved_by;     /* the call being followed was approved (remembered) */
	char args_hash[17];
	char mrtr_by[64];            /* who decided a call asked the 2026-07-28 way (approval_mrtr.h) */
	struct bytebuf upstream_body; /* not empty: the call as it goes upstream instead (mrtr_strip) */
	const struct decision *allowed; /* its one call is allowed already (a quick body: on_mcp_request) */
	struct session_id *quick_ids;   /* ... and its id claimed, until its exchange takes the claim */
	unsigned long long allowed_ns;  /* ... at this time */
};

/* mcp_flow.c */
/* ex->extra as a tree again; NULL when there is none or no memory. */
cJSON *mcp_flow_extra(const struct exchange *ex);
/* Joins reply (consumed, NULL: no memory) to rc->replies; -1 no memory. */
int mcp_flow_add_reply(struct request_ctx *rc, cJSON *reply);
void mcp_flow_account(struct mcp_flow *f, const struct accounting *a);
void mcp_flow_account_answered(struct mcp_flow *f, struct pending_call *c, bool error, uint64_t resp_bytes);
/* Keeps one (f->spare) for the next request. */
void mcp_flow_exchange_free(struct mcp_flow *f, struct exchange *ex);
int mcp_flow_flush_local(struct mcp_flow *f, struct flow_io *io);
struct answer_track *mcp_flow_track_of(struct mcp_flow *f, struct mcp_session *s);
int mcp_flow_feed_requests(struct mcp_flow *f, const char *data, size_t len, struct flow_io *io);
int mcp_flow_answer_unreachable(struct mcp_flow *f, struct flow_io *io);

/* mcp_approve.c: holding a tools/call for a human, and resuming it */
void mcp_flow_held_free(struct held_call *h);
/* The flow no longer waits for h: withdrawn from the store and freed, or,
 * when its decision is posted already, freed by that mail. */
void mcp_flow_held_drop(struct mcp_flow *f, struct held_call *h);
void mcp_flow_held_keepalive(struct timer *t);
void mcp_flow_elicit_answer(struct request_ctx *rc, const struct jsonrpc_msg *jm);
int mcp_flow_ask_approval(struct request_ctx *rc, struct jsonrpc_msg *jm, struct decide_request *dr,
			  struct decision *d, enum mcpf_decision *v, size_t req_bytes);
enum { MRTR_NOT, MRTR_DECIDED, MRTR_ANSWERED };
int mcp_flow_mrtr_call(struct request_ctx *rc, struct jsonrpc_msg *jm, struct decide_request *dr,
		       struct decision *d, enum mcpf_decision *v);

#endif
