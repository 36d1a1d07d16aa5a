/* Per-generation snapshot of the policy maps; see policy_cache.h. */
#include <stdlib.h>
#include <string.h>

#include "kern_maps.h"
#include "policy_cache.h"

static void *grow(void *p, size_t n, size_t size)
{
	p = reallocarray(p, n, size);
	if (!p)
		abort();
	return p;
}

static int server_cmp(const void *a, const void *b)
{
	return strncmp(((const struct cached_server *)a)->name,
		       ((const struct cached_server *)b)->name, MCPF_NAME_LEN);
}

static int tool_cmp(const void *a, const void *b)
{
	const struct cached_tool *x = a, *y = b;
	int c = strncmp(x->server, y->server, MCPF_NAME_LEN);

	return c ? c : strncmp(x->tool, y->tool, MCPF_NAME_LEN);
}

static int add_server(const void *k, const void *value, void *ctx)
{
	const struct mcpf_policy_server_key *key = k;
	struct policy_cache *cache = ctx;
	struct cached_server *s;

	if (key->generation != cache->generation)
		return 0;
	cache->servers = grow(cache->servers, cache->n_servers + 1, sizeof(*s));
	s = &cache->servers[cache->n_servers++];
	memcpy(s->name, key->server, sizeof(s->name));
	s->value = *(const struct mcpf_policy_server *)value;
	return 0;
}

static void load_servers(int fd, struct policy_cache *cache)
{
	kern_map_dump(fd, sizeof(struct mcpf_policy_server_key), sizeof(struct mcpf_policy_server), 0,
		      add_server, cache);
	if (cache->n_servers)
		qsort(cache->servers, cache->n_servers, sizeof(*cache->servers), server_cmp);
}

/* A condition missing from the map stays unusable: calls needing it are
 * refused as invalid rather than decided without it. */
static void load_conditions(int fd, unsigned int gen, struct cached_tool *t)
{
	struct mcpf_policy_cond_key key = { .generation = gen };

	memcpy(key.server, t->server, sizeof(key.server));
	memcpy(key.tool, t->tool, sizeof(key.tool));
	t->cond = calloc(t->rule.conditions ? t->rule.conditions : 1, sizeof(*t->cond));
	if (!t->cond)
		abort();
	for (unsigned int i = 0; i < t->rule.conditions; i++) {
		key.index = i;
		if (!kern_map_lookup(fd, &key, &t->cond[i].cond))
			condition_compile(&t->cond[i]);
	}
}

struct tools_load {
	struct policy_cache *cache;
	int conds_fd;
};

static int add_tool(const void *k, const void *value, void *ctx)
{
	const struct mcpf_policy_tool_key *key = k;
	struct tools_load *l = ctx;
	struct policy_cache *cache = l->cache;
	struct cached_tool *t;

	if (key->generation != cache->generation)
		return 0;
	cache->tools = grow(cache->tools, cache->n_tools + 1, sizeof(*t));
	t = &cache->tools[cache->n_tools++];
	memset(t, 0, sizeof(*t));
	memcpy(t->server, key->server, sizeof(t->server));
	memcpy(t->tool, key->tool, sizeof(t->tool));
	t->rule = *(const struct mcpf_policy_tool *)value;
	if (t->rule.conditions > MCPF_TOOL_MAX_CONDS)
		t->rule.conditions = MCPF_TOOL_MAX_CONDS;
	load_conditions(l->conds_fd, cache->generation, t);
	return 0;
}

static void load_tools(struct policy_maps *maps, struct policy_cache *cache)
{
	struct tools_load l = { cache, maps->conds };

	kern_map_dump(maps->tools, sizeof(struct mcpf_policy_tool_key), sizeof(struct mcpf_policy_tool), 0,
		      add_tool, &l);
	if (cache->n_tools)  /* tools stays NULL when there are none */
		qsort(cache->tools, cache->n_tools, sizeof(*cache->tools), tool_cmp);
}

const struct policy_cache *policy_cache_for(struct policy_maps *maps, unsigned int generation)
{
	if (maps->cache && maps->cache->generation == generation)
		return maps->cache;
	policy_cache_free(maps->cache);
	maps->cache = calloc(1, sizeof(*maps->cache));
	if (!maps->cache)
		abort();
	maps->cache->generation = generation;
	load_servers(maps->servers, maps->cache);
	load_tools(maps, maps->cache);
	/* Another daemon flipped while it was read (decide reads the
	 * generation at most once a millisecond): its sweep may have taken
	 * entries of this one, a deny among them. An empty snapshot refuses
	 * every call of it (fail-closed); the next decision reads anew. */
	if (policy_active_generation(maps) != generation) {
		policy_cache_free(maps->cache);
		maps->cache = calloc(1, sizeof(*maps->cache));
		if (!maps->cache)
			abort();
		maps->cache->generation = generation;
		maps->gen_read_ns = 0;
	}
	return maps->cache;
}

const struct mcpf_policy_server *policy_cache_server(const struct policy_cache *cache,
						     const char *server)
{
	struct cached_server key = {0};
	const struct cached_server *s;

	if (!cache->n_servers || strlen(server) >= sizeof(key.name))
		return NULL;
	strcpy(key.name, server);
	s = bsearch(&key, cache->servers, cache->n_servers, sizeof(*s), server_cmp);
	return s ? &s->value : NULL;
}

const struct cached_tool *policy_cache_tool(const struct policy_cache *cache,
					    const char *server, const char *tool)
{
	struct cached_tool key;

	if (!cache->n_tools || strlen(server) >= sizeof(key.server) || strlen(tool) >= sizeof(key.tool))
		return NULL;
	strcpy(key.server, server);
	strcpy(key.tool, tool);
	return bsearch(&key, cache->tools, cache->n_tools, sizeof(key), tool_cmp);
}

const struct cached_tool *policy_cache_prefixed(const struct policy_cache *cache, const char *server,
						const char *prefix, size_t *n)
{
	struct cached_tool key;
	size_t lo = 0, hi = cache->n_tools, plen = strlen(prefix);

	*n = 0;
	if (strlen(server) >= sizeof(key.server) || plen >= sizeof(key.tool))
		return NULL;
	strcpy(key.server, server);
	strcpy(key.tool, prefix);
	while (lo < hi) {  /* first entry not below (server, prefix) */
		size_t mid = lo + (hi - lo) / 2;

		if (tool_cmp(&cache->tools[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + *n < cache->n_tools && !strncmp(cache->tools[lo + *n].server, server, MCPF_NAME_LEN) &&
	       !strncmp(cache->tools[lo + *n].tool, prefix, plen))
		(*n)++;
	return *n ? &cache->tools[lo] : NULL;
}

void policy_cache_free(struct policy_cache *cache)
{
	if (!cache)
		return;
	for (size_t i = 0; i < cache->n_tools; i++) {
		for (unsigned int c = 0; c < cache->tools[i].rule.conditions; c++)
			condition_release(&cache->tools[i].cond[c]);
		free(cache->tools[i].cond);
	}
	free(cache->tools);
	free(cache->servers);
	free(cache);
}
