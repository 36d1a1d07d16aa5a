/*
 * tool_inventory: what each server declared in the tools/list answers the
 * daemon relayed, kept in the pinned tool_inventory maps (bpf/inventory.h)
 * so it survives restarts and bpftool can read it.
 *
 *   struct tool_inventory inv;
 *   tool_inventory_init(&inv, tools_fd, servers_fd);
 *   per tools/list answer:   id = tool_inventory_answer(&inv);
 *   per tool in its array:   tool_inventory_see(&inv, server, tool_object, id);
 *
 * A tool is recorded the first time a server lists it: digests of its
 * description and of its inputSchema (canonical JSON, json_canon.h), its
 * annotations, and the class tool_class.h derives. Drift, once the server
 * is known (it was inventoried by an earlier answer, or by an earlier
 * daemon run):
 *   added    a tool not recorded yet appears;
 *   changed  a recorded tool's description, schema or annotations differ.
 * Each is logged and counted per server (mcpfence_tool_changes_total), and
 * the row keeps `drift` set: under a server's "on_change": "deny", such a
 * tool is denied until the policy names it (class_rule.h).
 *
 * The first listing of a server is its baseline, so a server whose first
 * listing spans several pages (nextCursor) reports the tools of the later
 * pages as added.
 *
 * Bounded: MCPF_INVENTORY_PER_SERVER tools per server, MCPF_INVENTORY_MAX
 * rows, MCPF_INVENTORY_SERVERS servers; past that tools are counted as
 * dropped (logged once per server), never recorded, never evicting. Names
 * must fit the map keys (63 bytes). The daemon's event loop is the only
 * writer; each listing is recorded whole before the next is read.
 */
#ifndef MCPF_TOOL_INVENTORY_H
#define MCPF_TOOL_INVENTORY_H

#include <stdbool.h>
#include <cjson/cJSON.h>
#include "bytebuf.h"
#include "inventory_abi.h"

struct tool_inventory {
	int tools_fd;                 /* tool_inventory; -1: not kept */
	int servers_fd;               /* tool_inventory_servers */
	unsigned long long run;       /* random daemon-run id, in the high 32 bits */
	unsigned int answers;
};

void tool_inventory_init(struct tool_inventory *inv, int tools_fd, int servers_fd);
/* A new id for one tools/list answer. */
unsigned long long tool_inventory_answer(struct tool_inventory *inv);
/* Record one entry of a tools/list result array. 0, or -errno (map error,
 * an entry without a usable name is ignored: 0). */
int tool_inventory_see(struct tool_inventory *inv, const char *server, const cJSON *tool,
		       unsigned long long answer);

/* Readers (the daemon's decisions, the CLI). 0, -ENOENT, or -errno. */
int tool_inventory_get(int tools_fd, const char *server, const char *tool, struct mcpf_inventory_tool *out);
int tool_inventory_server(int servers_fd, const char *server, struct mcpf_inventory_server *out);

/* /metrics: mcpfence_tool_changes_total{server,kind}, tools and dropped
 * per server. 0 or -errno. */
int tool_inventory_render(struct bytebuf *b, int servers_fd);

#endif /* MCPF_TOOL_INVENTORY_H */
