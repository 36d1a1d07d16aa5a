/* A read-only snapshot of one policy generation, taken from the maps.
 *
 * decide() needs the active generation's servers, tool entries and
 * conditions on every call; reading them with one syscall each costs more
 * than the decision itself, and conditions need parsing and regex compiling. The
 * snapshot is loaded from the maps the first time a generation is seen
 * and kept until policy_active names another one: a generation's entries
 * never change once it is active (policy_compile.h), so the snapshot is
 * exactly what the maps hold.
 */
#ifndef MCPF_POLICY_CACHE_H
#define MCPF_POLICY_CACHE_H

#include <stddef.h>
#include "policy_conditions.h"
#include "policy_compile.h"

struct cached_server {
	char name[MCPF_NAME_LEN];
	struct mcpf_policy_server value;
};

struct cached_tool {
	char server[MCPF_NAME_LEN];   /* with tool: the sort key */
	char tool[MCPF_NAME_LEN];
	struct mcpf_policy_tool rule;
	struct compiled_cond *cond;   /* rule.conditions entries */
};

struct policy_cache {
	unsigned int generation;
	struct cached_server *servers;  /* sorted by name */
	size_t n_servers;
	struct cached_tool *tools;      /* sorted by (server, tool) */
	size_t n_tools;
};

/* The snapshot of generation gen (loading it if needed). */
const struct policy_cache *policy_cache_for(struct policy_maps *maps, unsigned int generation);

const struct mcpf_policy_server *policy_cache_server(const struct policy_cache *cache,
						     const char *server);
/* NULL when the server has no entry for tool (names longer than the map
 * keys have none). */
const struct cached_tool *policy_cache_tool(const struct policy_cache *cache,
					    const char *server, const char *tool);

/* The server's entries whose names start with prefix: n of them from the
 * one returned (they sort together). */
const struct cached_tool *policy_cache_prefixed(const struct policy_cache *cache, const char *server,
						const char *prefix, size_t *n);

void policy_cache_free(struct policy_cache *cache);

#endif /* MCPF_POLICY_CACHE_H */
