/* The connection proxy: accepts the agent connections the kernel redirected,
 * finds each one's interception record, connects to the original
 * destination and forwards both directions with back-pressure and
 * half-close. */
#ifndef MCPF_PROXY_H
#define MCPF_PROXY_H

#include <stdint.h>
#include "enforce.h"
#include "loop.h"

struct proxy_conn;
struct proxy;
struct handover_item;
struct handover_set;

struct listener {
	struct watch w;
	struct proxy *px;
	int family;
	unsigned long long netns;  /* cookie of the namespace it (and its agents) live in */
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
};

/* Listen on 127.0.0.1:port and [::1]:port (the addresses connect4/6
 * rewrite to): the ones in inherited (may be NULL) that fit, new ones for
 * the rest. */
int proxy_start(struct proxy *px, struct loop *loop, uint16_t port, int conns_fd, uint32_t mark,
		const struct enforce *enforce, struct handover_set *inherited);
/* Handover, sending side: the listeners as items (the fds stay ours and
 * open); returns how many. */
int proxy_export_listeners(const struct proxy *px, struct handover_item *items, int max);
/* Handover, receiving side: watch the proxy listeners among set bound to
 * port (their item fd becomes -1); returns how many. */
int proxy_adopt_listeners(struct proxy *px, struct handover_set *set, uint16_t port);
/* Stop accepting (drain): the connections go on. */
void proxy_stop_listening(struct proxy *px);
/* Close the connections with nothing in flight (mcp_flow_idle); how many. */
int proxy_close_idle(struct proxy *px);
/* Close listeners and every connection. */
void proxy_stop(struct proxy *px);

#endif
