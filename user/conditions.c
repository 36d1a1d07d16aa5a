/* Argument conditions: a per-generation cache of parsed values and
 * compiled regexes, and the evaluation of one condition. */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "conditions.h"

struct cached_cond {
	struct mcpf_policy_cond_key key;
	struct mcpf_policy_cond cond;
	cJSON *value;            /* NULL when the condition has none */
	regex_t re;
	bool has_re;
	bool usable;
};

struct condition_cache {
	unsigned int generation;
	size_t n;
	struct cached_cond *v;   /* sorted by key */
};

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct mcpf_policy_cond_key));
}

void condition_cache_free(struct condition_cache *cache)
{
	if (!cache)
		return;
	for (size_t i = 0; i < cache->n; i++) {
		cJSON_Delete(cache->v[i].value);
		if (cache->v[i].has_re)
			regfree(&cache->v[i].re);
	}
	free(cache->v);
	free(cache);
}

static void prepare(struct cached_cond *c)
{
	c->usable = c->cond.op == MCPF_OP_EXISTS;  /* the only op without a value */
	if (!c->cond.value[0])
		return;
	c->usable = true;
	c->value = cJSON_Parse(c->cond.value);
	if (!c->value) {
		c->usable = false;
		return;
	}
	if (c->cond.op == MCPF_OP_REGEX) {
		c->has_re = cJSON_IsString(c->value) &&
			    !regcomp(&c->re, c->value->valuestring, REG_EXTENDED | REG_NOSUB);
		c->usable = c->has_re;
	}
}

static struct condition_cache *load(int fd, unsigned int gen)
{
	struct condition_cache *cache = calloc(1, sizeof(*cache));
	struct mcpf_policy_cond_key key, next;
	void *prev = NULL;

	if (!cache)
		abort();
	cache->generation = gen;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct cached_cond *c;

		key = next;
		prev = &key;
		if (key.generation != gen)
			continue;
		cache->v = reallocarray(cache->v, cache->n + 1, sizeof(*cache->v));
		if (!cache->v)
			abort();
		c = &cache->v[cache->n];
		memset(c, 0, sizeof(*c));
		c->key = key;
		if (bpf_map_lookup_elem(fd, &key, &c->cond))
			continue;
		cache->n++;
		prepare(c);
	}
	qsort(cache->v, cache->n, sizeof(*cache->v), key_cmp);
	return cache;
}

static const struct cached_cond *find(struct policy_maps *maps, unsigned int gen,
				      const char *server, const char *tool, unsigned int index)
{
	struct mcpf_policy_cond_key key = { .generation = gen, .index = index };

	if (!maps->cache || maps->cache->generation != gen) {
		condition_cache_free(maps->cache);
		maps->cache = load(maps->conds, gen);
	}
	strncpy(key.server, server, sizeof(key.server) - 1);
	strncpy(key.tool, tool, sizeof(key.tool) - 1);
	return bsearch(&key, maps->cache->v, maps->cache->n, sizeof(*maps->cache->v), key_cmp);
}

/* The member of obj named by the first len bytes of name; *dup when the
 * name occurs more than once. */
static const cJSON *object_member(const cJSON *obj, const char *name, size_t len, bool *dup)
{
	const cJSON *found = NULL;

	for (const cJSON *c = obj->child; c; c = c->next) {
		if (strlen(c->string) != len || memcmp(c->string, name, len))
			continue;
		if (found) {
			*dup = true;
			return NULL;
		}
		found = c;
	}
	return found;
}

static const cJSON *array_member(const cJSON *arr, const char *seg, size_t len)
{
	int index = 0;

	if (len > 9)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)seg[i]))
			return NULL;
		index = index * 10 + (seg[i] - '0');
	}
	return cJSON_GetArrayItem(arr, index);
}

static const cJSON *resolve(const cJSON *args, const char *path, bool *dup)
{
	const cJSON *node = args;
	const char *seg = path + strlen("args.");

	while (node) {
		const char *dot = strchr(seg, '.');
		size_t len = dot ? (size_t)(dot - seg) : strlen(seg);

		if (cJSON_IsObject(node))
			node = object_member(node, seg, len, dup);
		else if (cJSON_IsArray(node))
			node = array_member(node, seg, len);
		else
			node = NULL;
		if (!dot)
			return node;
		seg = dot + 1;
	}
	return NULL;
}

static bool any_equal(const cJSON *list, const cJSON *item)
{
	for (const cJSON *c = list->child; c; c = c->next)
		if (cJSON_Compare(c, item, true))
			return true;
	return false;
}

static bool holds(const struct cached_cond *c, const cJSON *arg)
{
	const cJSON *v = c->value;

	if (!arg && c->cond.op != MCPF_OP_EXISTS)
		return false;
	switch (c->cond.op) {
	case MCPF_OP_EXISTS:
		return (arg != NULL) == (!v || cJSON_IsTrue(v));
	case MCPF_OP_EQ:
		return cJSON_Compare(arg, v, true);
	case MCPF_OP_NEQ:
		return !cJSON_Compare(arg, v, true);
	case MCPF_OP_IN:
		return any_equal(v, arg);
	case MCPF_OP_NOT_IN:
		return !any_equal(v, arg);
	case MCPF_OP_LT:
		return cJSON_IsNumber(arg) && arg->valuedouble < v->valuedouble;
	case MCPF_OP_LTE:
		return cJSON_IsNumber(arg) && arg->valuedouble <= v->valuedouble;
	case MCPF_OP_GT:
		return cJSON_IsNumber(arg) && arg->valuedouble > v->valuedouble;
	case MCPF_OP_GTE:
		return cJSON_IsNumber(arg) && arg->valuedouble >= v->valuedouble;
	case MCPF_OP_REGEX:
		return cJSON_IsString(arg) && !regexec(&c->re, arg->valuestring, 0, NULL, 0);
	case MCPF_OP_CONTAINS:
		if (cJSON_IsString(arg) && cJSON_IsString(v))
			return strstr(arg->valuestring, v->valuestring) != NULL;
		return cJSON_IsArray(arg) && any_equal(arg, v);
	}
	return false;
}

enum cond_result condition_eval(struct policy_maps *maps, unsigned int gen,
				const char *server, const char *tool, unsigned int index,
				const cJSON *args, const struct mcpf_policy_cond **cond)
{
	const struct cached_cond *c = find(maps, gen, server, tool, index);
	const cJSON *arg;
	bool dup = false;

	if (!c || !c->usable)
		return COND_BROKEN;
	*cond = &c->cond;
	arg = resolve(args, c->cond.path, &dup);
	if (dup)
		return COND_AMBIGUOUS;
	return holds(c, arg) ? COND_HOLDS : COND_FAILS;
}
