/* The tool inventory as the CLI reads it (`mcpfence tools`, `suggest`):
 * the pinned inventory, policy and targets maps under --bpffs, and the
 * decision the active policy gives each tool, by decide() itself against
 * a scratch copy of the rate-limit map (so looking never spends a budget
 * and every budget looks fresh). Works while the daemon is stopped. */
#ifndef MCPF_INVENTORY_VIEW_H
#define MCPF_INVENTORY_VIEW_H

#include <stddef.h>
#include "decide.h"
#include "inventory_abi.h"

struct inventory_row {
	struct mcpf_inventory_key key;
	struct mcpf_inventory_tool v;
};

struct inventory_view {
	struct policy_maps policy;   /* .inventory, .inventory_servers, .targets too */
};

/* -1 after printing why ("mcpfence CMD: ..."). */
int inventory_view_open(const char *cmd, const char *bpffs, struct inventory_view *v);
void inventory_view_close(struct inventory_view *v);

/* Rows of server (NULL: every server), sorted by server then tool. 0 or -errno. */
int inventory_view_rows(const struct inventory_view *v, const char *server,
			struct inventory_row **rows, size_t *n);

/* What a call of the row's tool without arguments would get now. */
void inventory_view_decide(struct inventory_view *v, const struct inventory_row *r, struct decision *d);

/* The endpoints the targets map gives server, as policy files spell them
 * ("127.0.0.1:3002", "[::1]:3002", ":9000"), into a NULL-terminated
 * array the caller frees (each string and the array). NULL on OOM. */
char **inventory_view_endpoints(const struct inventory_view *v, const char *server);

#endif /* MCPF_INVENTORY_VIEW_H */
