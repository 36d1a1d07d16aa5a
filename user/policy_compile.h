/* Compile a validated policy into the pinned policy maps, atomically.
 *
 * Reload = stage + activate:
 *   stage     writes the policy as generation G+1 next to the active G
 *             (first removing leftovers of an interrupted stage); readers
 *             still see G, completely.
 *   activate  flips policy_active to G+1 in one locked write, then points
 *             the targets map at the new endpoints (upsert new, delete
 *             gone), then deletes generation G's entries.
 * Endpoints change after the flip, so an endpoint is never redirected to
 * the daemon before its server is in the active policy; during the short
 * moment between the flip and the targets update, new endpoints are not
 * intercepted yet and removed ones still are (and decided by the new
 * policy, which fails closed for a server it no longer has).
 *
 * Rate-limit state is never touched here: windows survive reloads and
 * restarts.
 */
#ifndef MCPF_POLICY_COMPILE_H
#define MCPF_POLICY_COMPILE_H

#include <stddef.h>
#include "policy.h"

struct policy_cache;          /* policy_cache.h */
struct policy_scopes;         /* policy_scope.h */

/* File descriptors of the pinned maps, plus decide()'s snapshot of the
 * active generation. The fds belong to whoever opened the maps. */
struct policy_maps {
	int active;
	int servers;
	int tools;
	int conds;
	int rate;
	int targets;
	int target_ports;  /* derived from targets (kern_target_ports.h) */
	int inventory;     /* tool_inventory, for class rules (class_rule.h); <= 0: none */
	int inventory_servers;
	struct policy_cache *cache;
	struct policy_scopes *scopes; /* the active policy's endpoints and agent scopes */
	/* policy_generation_now: the generation last read, and when
	 * (CLOCK_MONOTONIC ns; 0: never, or this process flipped it) */
	unsigned long long gen_read_ns;
	unsigned int gen_seen;
};

/* Frees the snapshot and the scopes (not the fds). */
void policy_maps_release(struct policy_maps *maps);

/* The generation decisions use now; 0 before the first policy. */
unsigned int policy_active_generation(const struct policy_maps *maps);
/* The same, read at most once a millisecond rather than a syscall per
 * decision: another process's flip is seen within a millisecond, as if
 * the decisions in between had come just before it; this daemon's own
 * flips at once. Callers hold enforce_lock (the cache is shared). */
unsigned int policy_generation_now(struct policy_maps *maps);

/* stage + activate. 0, or -errno with a one-line reason in err; on
 * failure the active policy is unchanged. */
int policy_compile(struct policy_maps *maps, const struct policy *policy,
		   char *err, size_t errlen);

int policy_stage(struct policy_maps *maps, const struct policy *policy,
		 unsigned int *generation, char *err, size_t errlen);
int policy_activate(struct policy_maps *maps, const struct policy *policy,
		    unsigned int generation, char *err, size_t errlen);

/* Make the targets map hold exactly the endpoints of maps->scopes (after
 * a host name resolved differently). 0 or -errno with a reason in err. */
int policy_targets_sync(struct policy_maps *maps, char *err, size_t errlen);

#endif /* MCPF_POLICY_COMPILE_H */
