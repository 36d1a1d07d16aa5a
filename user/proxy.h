/* The connection proxy: accepts the agent connections the kernel redirected,
 * finds each one's interception record, connects to the original
 * destination and forwards both directions with back-pressure and
 * half-close. */
#ifndef MCPF_PROXY_H
#define MCPF_PROXY_H

#include <stdint.h>
#include "bytebuf.h"
#include "conn_limits.h"
#include "enforce.h"
#include "kern_maps.h"
#include "loop.h"
#include "mem_budget.h"
#include "timer_wheel.h"

struct proxy_conn;
struct proxy;
struct netns;

struct listener {
	struct watch w;
	struct proxy *px;
	struct netns *ns;  /* the namespace it, its agents and their upstreams live in */
	struct timer resume;       /* out of fds even for shedding: paused until this fires */
};

struct proxy {
	struct loop *loop;
	struct kern_conns kern; /* interception records, sockets the daemon owns */
	const struct enforce *enforce;
	int spare_fd;           /* given up to accept-and-drop when out of fds */
	struct proxy_conn *conns;
	/* counters for /metrics */
	unsigned long long intercepted_total;
	unsigned long long unknown_total;   /* accepted with no interception record */
	unsigned long long upstream_failures;
	unsigned long long active;
	long long trimmed_at_s;            /* last malloc_trim, CLOCK_MONOTONIC_COARSE */
	struct timer_wheel wheel;          /* every connection's timeouts */
	struct conn_limits limits;         /* connections per agent and in all */
	struct mem_budget mem;             /* bytes held by all connections */
	unsigned long long timeouts_total, mem_refused_total, paused_total;
};

int proxy_start(struct proxy *px, struct loop *loop, struct kern_conns kern, const struct enforce *enforce);
/* The limits' gauges and counters, Prometheus text. 0 or -1. */
int proxy_render_limits(const struct proxy *px, struct bytebuf *out);
/* Close the connections with nothing in flight (mcp_flow_idle); how many. */
int proxy_close_idle(struct proxy *px);
/* Close every connection. */
void proxy_stop(struct proxy *px);

/* Accept redirected agents on fd, a listening socket in ns (taken over). */
int proxy_listener_start(struct proxy *px, struct listener *l, int fd, struct netns *ns);
/* Close it; nothing when it is not open. */
void proxy_listener_stop(struct proxy *px, struct listener *l);

#endif
