/*
 * conn_limits: how many connections the proxy holds, per agent and in all,
 * and how long a connection may sit in each state without progress.
 *
 *   conn_limits_init(&cl, &cfg);
 *   at accept, once the agent is known (its interception record):
 *       r = conn_limits_admit(&cl, &agent, fd);  // 0: counted; -EMFILE: global
 *                                            // cap or descriptors; -EUSERS: the agent's cap
 *   at close: conn_limits_release(&cl, &agent);
 *   conn_limits_free(&cl);
 *
 * An agent is the identity rate limits use: cgroup+uid+pid, or cgroup+uid
 * with --agent-identity cgroup (pid 0). The table holds agents with at
 * least one connection, so its size is bounded by the global cap.
 *
 * Timeouts (seconds, 0 = none), each counted from the moment a connection
 * enters the state, not from its last byte, so trickling bytes does not
 * extend them (slowloris):
 *   header  a request head has started and is not complete: 408, close;
 *   body    the body of a request is not complete (held for inspection,
 *           or streamed through: an upload must end within it too): 408;
 *   idle    nothing in flight (no request, no answer owed, nothing queued): close;
 *   the same idle time bounds an agent that does not read what is queued
 *   for it while it is over the high-water mark with no write progress:
 *   the connection is reset.
 */
#ifndef MCPF_CONN_LIMITS_H
#define MCPF_CONN_LIMITS_H

#include <stddef.h>

struct conn_limits_config {
	unsigned max_conns;            /* all agents; 0: CONN_DEFAULT_MAX */
	unsigned max_conns_per_agent;
	unsigned header_timeout_s, body_timeout_s, idle_timeout_s;
};

#define CONN_DEFAULT_MAX 4096
#define CONN_DEFAULT_PER_AGENT 1024
#define CONN_DEFAULT_HEADER_TIMEOUT 10
#define CONN_DEFAULT_BODY_TIMEOUT 30
#define CONN_DEFAULT_IDLE_TIMEOUT 60

struct conn_agent {
	unsigned long long cgroup_id;
	unsigned int uid, pid;
};

struct agent_count;

#define CONN_AGENT_BUCKETS 1024

struct conn_limits {
	struct conn_limits_config cfg;
	unsigned active;
	struct agent_count *buckets[CONN_AGENT_BUCKETS];
	unsigned fd_base;              /* descriptors held before the first connection (conn_limits_init) */
	unsigned long long refused_global, refused_agent;
};

void conn_limits_init(struct conn_limits *cl, const struct conn_limits_config *cfg);
/* fd: the accepted descriptor (-1: none). Besides the caps, connections
 * leave the last quarter of RLIMIT_NOFILE (at least 128, read at each
 * admission: prlimit may change it) to namespaces (about 4 each), reloads,
 * the metrics port and control clients: refused (-EMFILE) when two more
 * descriptors over fd_base would reach it, or when fd is that high itself
 * (accept4 gives the lowest free one: at least that many are open). */
int conn_limits_admit(struct conn_limits *cl, const struct conn_agent *a, int fd);
/* Where an admitted agent's connections are served (proxy.c's worker
 * index), -1 until set: kept while it has a connection, so all of them
 * share one worker. NULL for an agent not admitted. */
int *conn_limits_home(struct conn_limits *cl, const struct conn_agent *a);
void conn_limits_release(struct conn_limits *cl, const struct conn_agent *a);
void conn_limits_free(struct conn_limits *cl);

#endif
