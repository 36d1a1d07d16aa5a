/*
 * endpoint_watch: the policy's host-name endpoints (a Kubernetes Service,
 * "localhost:8080"), resolved without blocking the event loop and kept
 * resolved, so that DNS that is not up yet never stops the daemon from
 * starting and an answer that changes moves interception with it.
 *
 * A timer on the loop drives everything (every 100 ms while a lookup
 * runs, every second otherwise, so new names of a reload start within a
 * second): it starts a getaddrinfo_a
 * lookup (glibc runs it on its own thread) for each host name of the
 * active policy (policy_maps.scopes) that is due, and collects finished
 * ones with gai_error. An answer that differs from the addresses in use
 * replaces them (policy_scopes_set_addrs) and the targets map is brought
 * in line (policy_targets_sync). A name is looked up again every 30 s; a
 * failed lookup keeps the addresses of the last good answer and is
 * retried after 1 s, doubling up to 30 s. Failures are logged once per
 * failing spell (then at debug level), recoveries once.
 *
 * Metrics: mcpfence_endpoint_resolution_failures_total (counter) and
 * mcpfence_endpoints_unresolved (gauge: names with no address yet).
 */
#ifndef MCPF_ENDPOINT_WATCH_H
#define MCPF_ENDPOINT_WATCH_H

#include <stddef.h>

#include "bytebuf.h"
#include "loop.h"
#include "policy_compile.h"

struct endpoint_lookup;

struct endpoint_watch {
	struct watch timer;           /* fd -1 until started */
	struct loop *loop;
	struct policy_maps *maps;
	struct endpoint_lookup *lookups;
	unsigned long long failures_total;
};

/* Start resolving now, then on every tick. 0 or -errno. */
int endpoint_watch_start(struct endpoint_watch *w, struct loop *loop, struct policy_maps *maps);
void endpoint_watch_stop(struct endpoint_watch *w);

/* Host names of the active policy without any address yet. */
size_t endpoint_watch_unresolved(const struct endpoint_watch *w);

/* The two metrics above, Prometheus text. */
void endpoint_watch_render(const struct endpoint_watch *w, struct bytebuf *out);

#endif /* MCPF_ENDPOINT_WATCH_H */
