/*
 * mcp_filter: hide tools from tools/list results flowing server->client.
 *
 *   struct mcp_idset pending;                 // per MCP session (or connection)
 *   mcp_idset_init(&pending);
 *   client->server: for each forwarded request with method "tools/list":
 *       mcp_idset_add(&pending, m->id);        // -1 when full: refuse the request
 *   server->client: for a JSON reply body, or each SSE event's data:
 *       switch (mcp_filter_tools_list(json, len, &pending, is_hidden, ctx, &out)) {
 *       case 0:  forward the original bytes unchanged
 *       case 1:  forward out (JSON body: new Content-Length via
 *                http1_head_rebuild; SSE: sse_format_event with out as data)
 *       case -1: out of memory, or over json_limits_for_answers(): fail the reply
 *       }
 *   mcp_idset_free(&pending);
 *
 * Every response (single or inside a batch array) whose id is pending is
 * taken off the set; if its result.tools is an array, the tools whose
 * "name" is_hidden() are removed. The rest of the text keeps its exact
 * bytes. Ids match as JSON values (1 and 1.0 match, "1" and 1 do not), the
 * way the server compared them when it echoed them. Text that is not JSON
 * is left alone: the client cannot read it either.
 */
#ifndef MCPF_MCP_FILTER_H
#define MCPF_MCP_FILTER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "bytebuf.h"

#define MCP_IDSET_MAX 64

struct mcp_id {
	bool is_string;
	double number;
	char *string;
};

struct mcp_idset {
	size_t n;
	struct mcp_id ids[MCP_IDSET_MAX];
};

typedef bool (*mcp_hidden_fn)(const char *tool_name, void *ctx);

void mcp_idset_init(struct mcp_idset *s);
int mcp_idset_add(struct mcp_idset *s, const cJSON *id);
/* Removes id from the set; false when it was not there. */
bool mcp_idset_take(struct mcp_idset *s, const cJSON *id);
void mcp_idset_free(struct mcp_idset *s);

int mcp_filter_tools_list(const char *json, size_t len, struct mcp_idset *pending, mcp_hidden_fn is_hidden,
			  void *ctx, struct bytebuf *out);

#endif /* MCPF_MCP_FILTER_H */
