/*
 * mcp_filter: hide entries from list results flowing server->client:
 * tools (tools/list), prompts (prompts/list), resources (resources/list,
 * by uri) and resource templates (resources/templates/list, by
 * uriTemplate); mcp_method.h names the arrays and keys.
 *
 *   struct mcp_idset pending;                 // per MCP session (or connection)
 *   mcp_idset_init(&pending);
 *   client->server: for each forwarded request with a list method:
 *       mcp_idset_add(&pending, m->id, list);  // -1 when full: refuse the request
 *   server->client: for a JSON reply body, or each SSE event's data:
 *       switch (mcp_filter_lists(json, len, &pending, is_hidden, ctx, &out)) {
 *       case 0:  forward the original bytes unchanged
 *       case 1:  forward out (JSON body: new Content-Length via
 *                http1_head_rebuild; SSE: sse_format_event with out as data)
 *       case -1: out of memory, over json_limits_for_answers(), or a list a
 *                client could read otherwise (a \u0000 in it, or a repeated
 *                name key, or a tool's description, schema or annotation
 *                hint given twice, or a tool name listed twice): fail the reply
 *       }
 *   mcp_idset_free(&pending);
 *
 * Every response (single or inside a batch array) whose id is pending is
 * taken off the set; if its result holds the array of the list that id
 * asked for, the entries whose name is_hidden(list, name) are removed. The rest of the text keeps its exact
 * bytes. Ids match as JSON values (1 and 1.0 match, "1" and 1 do not), the
 * way the server compared them when it echoed them. Empty (or white space)
 * text is left alone; any other text that is not exactly one JSON value
 * cJSON reads is refused (-1): clients read some of it (a lone surrogate
 * escape, SSE text under a Content-Type they read otherwise). Callers pass
 * only the SSE events a client reads as messages (type "message" or none).
 */
#ifndef MCPF_MCP_FILTER_H
#define MCPF_MCP_FILTER_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "bytebuf.h"
#include "mcp_method.h"

#define MCP_IDSET_MAX 64

struct mcp_id {
	bool is_string;
	double number;
	char *string;
	enum mcp_list list;
};

struct mcp_idset {
	size_t n;
	struct mcp_id ids[MCP_IDSET_MAX];
};

/* entry: the whole list entry (a tools/list tool object), for callers
 * that record what servers list (tool_inventory.h); asked: the answer's id
 * was pending as a request for this list. Entries of a result filtered by
 * its shape alone (mcp_filter_any_lists) come with asked false: a tool's
 * result can hold whatever its arguments put there, so such entries are
 * hidden as any others but are not known to be what the server lists. */
typedef bool (*mcp_hidden_fn)(enum mcp_list list, const char *name, const cJSON *entry, bool asked, void *ctx);

void mcp_idset_init(struct mcp_idset *s);
int mcp_idset_add(struct mcp_idset *s, const cJSON *id, enum mcp_list list);
/* Removes id from the set: the list it asked for, or -1 when it was not there. */
int mcp_idset_take(struct mcp_idset *s, const cJSON *id);
bool mcp_idset_has(const struct mcp_idset *s, const cJSON *id);
void mcp_idset_free(struct mcp_idset *s);

int mcp_filter_lists(const char *json, size_t len, struct mcp_idset *pending, mcp_hidden_fn is_hidden,
			  void *ctx, struct bytebuf *out);
/* The same for answers whose requests were not seen (a GET stream's, a
 * replay after Last-Event-ID): every response with a result is filtered
 * as each list whose array its result holds (result.tools, .prompts,
 * .resources, .resourceTemplates), whatever its id; pending ids are still
 * taken and filtered as the list they asked for. With nothing pending,
 * text naming none of those arrays plainly and holding no \u escape is
 * left alone unparsed (0); other non-empty text that is not exactly one
 * JSON value cJSON reads is refused (-1). */
int mcp_filter_any_lists(const char *json, size_t len, struct mcp_idset *pending, mcp_hidden_fn is_hidden,
			 void *ctx, struct bytebuf *out);

#endif /* MCPF_MCP_FILTER_H */
