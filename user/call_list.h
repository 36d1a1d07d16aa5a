/*
 * call_list: tools/call requests that were allowed and forwarded, waiting
 * for their answers, so each can be accounted (stats, audit) with its
 * latency and whether the server reported an error. Matched by JSON-RPC id
 * as a JSON value, the way the server echoes it.
 */
#ifndef MCPF_CALL_LIST_H
#define MCPF_CALL_LIST_H

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "mcpfence_abi.h"

#define CALL_LIST_MAX 64

struct pending_call {
	cJSON *id;
	cJSON *arguments;          /* kept only for the audit log, may be NULL */
	char tool[MCPF_NAME_LEN * 2];
	char rule[256];
	char session[128];
	uint64_t start_ns;
	uint64_t req_bytes;
	unsigned exchange;         /* which request carried it */
	bool method;               /* tool holds a method name, not a tool's (not tools/call) */
	char approved_by[64];      /* held for approval and approved by (approval.h); "" if not */
	char args_hash[17];
	size_t held_bytes;         /* what id and arguments hold (call_list_add sets it) */
};

struct call_list {
	size_t n;
	size_t bytes;              /* the calls' held_bytes: the memory budget counts them */
	struct pending_call calls[CALL_LIST_MAX];
};

/* Takes ownership of id and arguments. -ENOSPC when full (the caller refuses). */
int call_list_add(struct call_list *l, const struct pending_call *c);
/* Is a call with this id awaiting its answer? */
bool call_list_has(const struct call_list *l, const cJSON *id);
/* Removes the call answered by id into *out; false if none. */
bool call_list_take(struct call_list *l, const cJSON *id, struct pending_call *out);
/* The same for an id given as raw JSON text (an answer's, as scanned):
 * plain integers and strings are matched without building a tree. */
bool call_list_take_raw(struct call_list *l, const char *raw, size_t len, struct pending_call *out);
/* Removes any call of this exchange into *out; false when none is left. */
bool call_list_take_exchange(struct call_list *l, unsigned exchange, struct pending_call *out);
void call_free(struct pending_call *c);
void call_list_clear(struct call_list *l);

#endif
