/* Writes a validated policy into the pinned policy maps as a new
 * generation and flips to it; see policy_compile.h for the order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common.h"
#include "kern_maps.h"
#include "loop.h"
#include "policy_cache.h"
#include "policy_compile.h"
#include "kern_target_ports.h"
#include "policy_scope.h"

void policy_maps_release(struct policy_maps *maps)
{
	policy_cache_free(maps->cache);
	maps->cache = NULL;
	policy_scopes_free(maps->scopes);
	maps->scopes = NULL;
}

unsigned int policy_active_generation(const struct policy_maps *maps)
{
	struct mcpf_policy_active active;
	unsigned int zero = 0;

	if (kern_map_lookup_locked(maps->active, &zero, &active))
		return 0;
	return active.generation;
}

/* A generation another process flips (a successor during a handover) is
 * seen within this long; one this process flips, at once. Reading it per
 * decision, or per batch of events, was two syscalls per call at one
 * connection. */
#define GENERATION_REREAD_NS 1000000ULL

unsigned int policy_generation_now(struct policy_maps *maps)
{
	unsigned long long now = monotonic_ns();

	if (!maps->gen_read_ns || now - maps->gen_read_ns >= GENERATION_REREAD_NS) {
		maps->gen_seen = policy_active_generation(maps);
		maps->gen_read_ns = now;
	}
	return maps->gen_seen;
}

/* Generation-keyed maps: every key starts with its generation. */
static bool other_generation(const void *key, void *keep)
{
	unsigned int gen;

	memcpy(&gen, key, sizeof(gen));
	return gen != *(const unsigned int *)keep;
}

/* Deletes every entry of a generation-keyed map whose generation is not keep. */
static int sweep(int fd, size_t key_size, unsigned int keep)
{
	return kern_map_prune(fd, key_size, other_generation, &keep);
}

static int sweep_all(struct policy_maps *maps, unsigned int keep)
{
	int a = sweep(maps->servers, sizeof(struct mcpf_policy_server_key), keep);
	int b = sweep(maps->tools, sizeof(struct mcpf_policy_tool_key), keep);
	int c = sweep(maps->conds, sizeof(struct mcpf_policy_cond_key), keep);

	return a ? a : b ? b : c;
}

/* Describes a failed map write (rc: -errno) in err; returns rc. */
static int map_error(char *err, size_t errlen, int rc, const char *map, const char *what, const char *sub)
{
	snprintf(err, errlen, "%s: cannot write %s%s%s: %s", map, what, *sub ? "/" : "", sub, strerror(-rc));
	return rc;
}

static int write_server(struct policy_maps *maps, const struct policy_server *s,
			unsigned int gen, char *err, size_t errlen)
{
	struct mcpf_policy_server_key skey = { .generation = gen };
	struct mcpf_policy_server sval = {
		.default_action = s->default_action,
		.tools = s->n_tools,
		.endpoints = s->n_endpoints,
	};
	int rc;

	memcpy(skey.server, s->name, sizeof(skey.server));
	if ((rc = kern_map_update(maps->servers, &skey, &sval, BPF_ANY)))
		return map_error(err, errlen, rc, "policy_servers", s->name, "");
	for (size_t t = 0; t < s->n_tools; t++) {
		const struct policy_tool *pt = &s->tools[t];
		struct mcpf_policy_tool_key tkey = { .generation = gen };

		memcpy(tkey.server, s->name, sizeof(tkey.server));
		memcpy(tkey.tool, pt->name, sizeof(tkey.tool));
		if ((rc = kern_map_update(maps->tools, &tkey, &pt->rule, BPF_ANY)))
			return map_error(err, errlen, rc, "policy_tools", s->name, pt->name);
		for (unsigned int i = 0; i < pt->rule.conditions; i++) {
			struct mcpf_policy_cond_key ckey = { .generation = gen, .index = i };

			memcpy(ckey.server, s->name, sizeof(ckey.server));
			memcpy(ckey.tool, pt->name, sizeof(ckey.tool));
			if ((rc = kern_map_update(maps->conds, &ckey, &pt->cond[i], BPF_ANY)))
				return map_error(err, errlen, rc, "policy_conds", s->name, pt->name);
		}
	}
	return 0;
}

int policy_stage(struct policy_maps *maps, const struct policy *policy,
		 unsigned int *generation, char *err, size_t errlen)
{
	unsigned int active = policy_active_generation(maps);
	unsigned int gen = active + 1 ? active + 1 : 1;
	int rc;

	if ((rc = sweep_all(maps, active))) {
		snprintf(err, errlen, "cannot clear an earlier unfinished load: %s", strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < policy->n_servers; i++)
		if ((rc = write_server(maps, &policy->servers[i], gen, err, errlen))) {
			sweep_all(maps, active);
			return rc;
		}
	*generation = gen;
	return 0;
}

struct wanted_targets {
	struct mcpf_endpoint *ep;
	struct mcpf_target *target;
	size_t n;
};

static void want_target(void *ctx, const struct mcpf_endpoint *ep, const char *server)
{
	struct wanted_targets *w = ctx;

	for (size_t i = 0; i < w->n; i++)
		if (!memcmp(&w->ep[i], ep, sizeof(*ep)))
			return;  /* the first server naming it keeps it */
	w->ep = reallocarray(w->ep, w->n + 1, sizeof(*w->ep));
	w->target = reallocarray(w->target, w->n + 1, sizeof(*w->target));
	if (!w->ep || !w->target)
		abort();
	w->ep[w->n] = *ep;
	memset(&w->target[w->n], 0, sizeof(w->target[0]));
	memcpy(w->target[w->n++].server, server, MCPF_NAME_LEN);
}

static bool unwanted(const void *ep, void *ctx)
{
	const struct wanted_targets *w = ctx;

	for (size_t i = 0; i < w->n; i++)
		if (!memcmp(&w->ep[i], ep, sizeof(w->ep[i])))
			return false;
	return true;
}

/* Stale endpoints go first so the map never needs room for both sets. */
int policy_targets_sync(struct policy_maps *maps, char *err, size_t errlen)
{
	struct wanted_targets w = { 0 };
	int rc = 0;

	policy_scopes_each_endpoint(maps->scopes, want_target, &w);
	kern_map_prune(maps->targets, sizeof(struct mcpf_endpoint), unwanted, &w);
	for (size_t i = 0; i < w.n && !rc; i++)
		if ((rc = kern_map_update(maps->targets, &w.ep[i], &w.target[i], BPF_ANY)))
			rc = map_error(err, errlen, rc, "targets", w.target[i].server, "endpoint");
	free(w.ep);
	free(w.target);
	if (!rc && (rc = kern_target_ports_sync(maps->targets, maps->target_ports)))
		rc = map_error(err, errlen, rc, "target_ports", "", "");
	return rc;
}

int policy_activate(struct policy_maps *maps, const struct policy *policy,
		    unsigned int generation, char *err, size_t errlen)
{
	struct mcpf_policy_active active = {
		.generation = generation,
		.servers = policy->n_servers,
		.tools = policy->n_tools,
	};
	unsigned int zero = 0;
	int rc;

	active.loaded_ns = boot_time_ns();
	if ((rc = kern_map_update(maps->active, &zero, &active, BPF_F_LOCK)))
		return map_error(err, errlen, rc, "policy_active", "generation", "");
	maps->gen_read_ns = 0;  /* decisions after this use the new generation */
	struct policy_scopes *scopes = policy_scopes_new(policy, maps->scopes);

	if (!scopes) {
		snprintf(err, errlen, "out of memory for the endpoint table");
		return -ENOMEM;
	}
	policy_scopes_free(maps->scopes);
	maps->scopes = scopes;
	if ((rc = policy_targets_sync(maps, err, errlen)))
		return rc;
	if ((rc = sweep_all(maps, generation))) {
		snprintf(err, errlen, "cannot delete the previous policy generation: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

int policy_compile(struct policy_maps *maps, const struct policy *policy,
		   char *err, size_t errlen)
{
	unsigned int gen;
	int rc = policy_stage(maps, policy, &gen, err, errlen);

	return rc ? rc : policy_activate(maps, policy, gen, err, errlen);
}
