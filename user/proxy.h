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
#include "loop.h"
#include "mem_budget.h"
#include "timer_wheel.h"

struct proxy_conn;
struct proxy;

struct listener {
	struct watch w;
	struct proxy *px;
	unsigned long long netns;  /* cookie of the namespace it (and its agents) live in */
	struct timer resume;       /* out of fds even for shedding: paused until this fires */
};

struct proxy {
	struct loop *loop;
	int conns_fd;           /* BPF map: agent address -> struct mcpf_conn */
	uint32_t mark;          /* SO_MARK on upstream sockets (loop guard) */
	const struct enforce *enforce;
	struct listener listeners[2];
	int nlisteners;
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

/* Listen on 127.0.0.1:port and [::1]:port (the addresses connect4/6 rewrite to). */
int proxy_start(struct proxy *px, struct loop *loop, uint16_t port, int conns_fd, uint32_t mark,
		const struct enforce *enforce);
/* The limits' gauges and counters, Prometheus text. 0 or -1. */
int proxy_render_limits(const struct proxy *px, struct bytebuf *out);
/* Close listeners and every connection. */
void proxy_stop(struct proxy *px);

#endif
