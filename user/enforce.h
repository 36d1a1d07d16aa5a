/* What the proxy needs from the daemon to enforce policy on a connection:
 * filled by `mcpfence run`, read by the MCP flow for every message. */
#ifndef MCPF_ENFORCE_H
#define MCPF_ENFORCE_H

#include <stdbool.h>
#include <stddef.h>

#include "conn_limits.h"

struct policy_maps;
struct acct;
struct tool_names;
struct tool_inventory;
struct approval_store;

struct enforce {
	struct policy_maps *policy;  /* decisions come from these maps */
	struct acct *acct;           /* counters, audit log, cgroup paths (acct.h) */
	size_t body_limit;           /* request/response bodies over this: 413 */
	bool agent_per_cgroup;       /* grant/agent limits key an agent by cgroup+uid, not +pid */
	struct tool_names *listed;   /* tools servers listed: the rest count as "(other)" */
	struct tool_inventory *inventory; /* what servers declare (tool_inventory.h); NULL: not kept */
	struct conn_limits_config conn; /* connection caps and timeouts (conn_limits.h) */
	size_t memory_budget;        /* bytes all connections may hold between events */
	unsigned char session_secret[16]; /* keys the session id of connections that name none */
	struct approval_store *approvals; /* calls held for a human (approval.h); NULL: "approve" denies */
};

#endif
