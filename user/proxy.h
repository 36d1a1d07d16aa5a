/* The connection proxy: accepts the agent connections the kernel redirected,
 * finds each one's interception record, connects to the original
 * destination and forwards both directions with back-pressure and
 * half-close.
 *
 * Threads: the main thread's loop owns the listeners; it accepts, finds
 * the record, admits the connection under the caps and posts it to one of
 * n worker threads (struct proxy_worker), chosen by the agent process
 * (cgroup id and pid), so one process's connections, a legacy SSE stream
 * and the POSTs into it, share a worker. A connection then lives on its
 * worker alone: its loop, timer wheel and list. What workers share is in
 * struct proxy (the caps under enforce_lock, the memory budget atomic) or
 * behind enforce_lock (enforce_lock.h). */
#ifndef MCPF_PROXY_H
#define MCPF_PROXY_H

#include <pthread.h>
#include <stdint.h>
#include "bytebuf.h"
#include "conn_limits.h"
#include "dlist.h"
#include "enforce.h"
#include "kern_maps.h"
#include "loop.h"
#include "mailbox.h"
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

/* One worker thread and the connections it serves. */
struct proxy_worker {
	struct proxy *px;
	struct loop loop;
	struct timer_wheel wheel;          /* its connections' timeouts */
	struct mailbox mail;               /* connections and decisions posted to it */
	struct mail idle_mail, stop_mail;  /* proxy_close_idle, proxy_stop */
	bool idle_queued;                  /* idle_mail is in the mailbox (atomic) */
	pthread_t thread;
	bool running;                      /* the thread was started (and not joined yet) */
	bool stopping;                     /* its connections are closed: new ones are refused */
	struct dlist conns;                /* struct proxy_conn */
	struct dlist mem_waiters;          /* ... streams waiting for budget (stream_may_read) */
	struct timer mem_retry;            /* tries them again each second */
	long long trimmed_at_s;            /* last malloc_trim, CLOCK_MONOTONIC_COARSE */
	/* atomic: the main thread reads them */
	unsigned long long active, upstream_failures, timeouts_total, mem_refused_total;
};

struct proxy {
	struct loop *loop;      /* the main thread's: listeners */
	struct kern_conns kern; /* interception records, sockets the daemon owns */
	const struct enforce *enforce;
	int spare_fd;           /* given up to accept-and-drop when out of fds */
	unsigned long long intercepted_total;  /* also numbers the connections */
	unsigned long long unknown_total;   /* accepted with no interception record */
	struct timer_wheel wheel;          /* the main thread's timeouts (listener pauses, admin, approvals) */
	struct conn_limits limits;         /* connections per agent and in all: under enforce_lock */
	struct mem_budget mem;             /* bytes held by all connections: atomic */
	unsigned long long paused_total;
	struct proxy_worker *workers;
	unsigned n_workers;
	struct dlist routing;              /* struct conn_mail: accepted, awaiting their first request line (main thread) */
	unsigned next_home;                /* worker_of's turn for ties: under enforce_lock */
};

/* Start n worker threads (n >= 1). */
int proxy_start(struct proxy *px, struct loop *loop, struct kern_conns kern, const struct enforce *enforce,
		unsigned n);
/* Connections open now, on every worker. */
unsigned long long proxy_active(const struct proxy *px);
/* The limits' gauges and counters, Prometheus text. 0 or -1. */
int proxy_render_limits(const struct proxy *px, struct bytebuf *out);
/* Have every worker close its connections with nothing in flight
 * (mcp_flow_idle); they do so on their own threads, soon after. */
void proxy_close_idle(struct proxy *px);
/* Is a worker yet to run the last proxy_close_idle? */
bool proxy_closing_idle(const struct proxy *px);
/* Close every connection and end the worker threads (not from a worker). */
void proxy_stop(struct proxy *px);

/* Accept redirected agents on fd, a listening socket in ns (taken over). */
int proxy_listener_start(struct proxy *px, struct listener *l, int fd, struct netns *ns);
/* Close it; nothing when it is not open. */
void proxy_listener_stop(struct proxy *px, struct listener *l);

#endif
