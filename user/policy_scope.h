/*
 * policy_scope: which server entry governs a connection, from the
 * registered endpoint it reached (mcpf_conn.target) and the agent's
 * cgroup, and the endpoint set the targets map must hold.
 *
 * A table per active policy (built by policy_activate, kept in
 * policy_maps.scopes): each server's addresses, host names with the
 * addresses they last resolved to (endpoint_watch.h fills them in), and
 * "agents" patterns.
 *
 * Choosing the server for a connection to endpoint T from cgroup C (path
 * relative to the cgroup2 root, no leading '/'):
 *   1. a server with T whose "agents" cover C: a pattern covers C when it
 *      matches (fnmatch, FNM_PATHNAME: '*' stays within one path segment)
 *      C's path or the path of one of C's ancestors;
 *   2. else the server with T that has no "agents" (at most one: policy
 *      check refuses two, and refuses scopes that could cover one cgroup);
 *   3. else none: the server name is left empty and mcp_flow refuses every
 *      request of the connection with 403 and a JSON-RPC error.
 * A host name resolving to an address that another server names can only
 * be caught here, not by policy check: the first server in file order wins.
 */
#ifndef MCPF_POLICY_SCOPE_H
#define MCPF_POLICY_SCOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "mcpfence_abi.h"

struct policy;
struct enforce;

struct scope_host {
	char host[256];
	unsigned short port;
	struct mcpf_endpoint *addrs;   /* last answer; kept while lookups fail */
	size_t n_addrs;
};

struct scope_server {
	char name[MCPF_NAME_LEN];
	char **agents;
	size_t n_agents;
	struct mcpf_endpoint *endpoints;
	size_t n_endpoints;
	struct scope_host *hosts;
	size_t n_hosts;
};

struct policy_scopes {
	struct scope_server *servers;  /* file order */
	size_t n_servers;
	unsigned long long epoch;      /* new for every table and every change of its addresses */
};

/* The table of policy; host names keep the addresses prev had for them
 * (a reload does not stop intercepting a resolved name). NULL when out of
 * memory. */
struct policy_scopes *policy_scopes_new(const struct policy *policy, const struct policy_scopes *prev);
void policy_scopes_free(struct policy_scopes *s);

/* Record what host:port resolved to, for every server naming it: true
 * when that changed any server's addresses. -ENOMEM. */
int policy_scopes_set_addrs(struct policy_scopes *s, const char *host, unsigned short port,
			    const struct mcpf_endpoint *addrs, size_t n);

/* Does some server at endpoint have "agents" (is the cgroup path needed)? */
bool policy_scopes_scoped(const struct policy_scopes *s, const struct mcpf_endpoint *endpoint);

/* Steps 1-3 above: 0 with the name in server, or -ENOENT with server "".
 * cgroup_path NULL when unknown (then only step 2 can match). */
int policy_scopes_server(const struct policy_scopes *s, const struct mcpf_endpoint *endpoint,
			 const char *cgroup_path, char server[MCPF_NAME_LEN]);

/* Does the pattern cover the cgroup at path (relative, no leading '/')? */
bool policy_agent_covers(const char *pattern, const char *path);

/* For each endpoint the targets map must hold: fn(ctx, endpoint, server
 * name), servers without "agents" first, then in file order. An endpoint
 * named twice comes twice: the first call is the one that counts. */
void policy_scopes_each_endpoint(const struct policy_scopes *s,
				 void (*fn)(void *ctx, const struct mcpf_endpoint *ep, const char *server),
				 void *ctx);

/* The daemon's call per accepted connection: sets origin->server from
 * origin->target and the agent's cgroup, as above. Called again on the
 * connection whenever policy_scope_epoch changed since (a reload, a host
 * name resolving anew): a connection is governed by the entry the active
 * policy gives it, not the one it was accepted under. */
struct mcpf_conn;
void policy_scope_assign(const struct enforce *enf, struct mcpf_conn *origin);
/* The active table's epoch; 0 before the first policy. */
unsigned long long policy_scope_epoch(const struct enforce *enf);

#endif /* MCPF_POLICY_SCOPE_H */
