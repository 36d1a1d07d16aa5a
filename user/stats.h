/* Per-tool call statistics in the pinned `tool_stats` map and daemon
 * counters in `daemon_stats` (layouts in bpf/stats_abi.h).
 *
 * Writers (the daemon): decided tools/calls (batched by acct.h), connections
 * accepted/closed, policy reloads. Each is a BPF_F_LOCK lookup plus a
 * BPF_F_LOCK update under one process-wide mutex, lossless because the
 * daemon is the only writing process and its threads take turns; readers
 * get whole-value snapshots. Functions return 0 or a negative errno. */
#ifndef MCPF_USER_STATS_H
#define MCPF_USER_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats_abi.h"

struct stats_row {
	struct mcpf_tool_key key;
	struct mcpf_tool_stats v;
};

/* Daemon start-up, once per map: reserve the overflow row that takes the
 * calls of new tools once the map is full, and zero connections_active
 * (connections of a previous daemon are gone) unless a previous daemon
 * still drains its own (handover: it counts them down itself). */
int stats_prepare(int tool_fd, int daemon_fd, bool reset_active);

/* Count one decided tools/call. tool may be "" or NULL when the request
 * named none (e.g. an invalid one). latency_ns: request start to the end
 * of the response (for a refusal: to the end of mcpfence's own answer). */
int stats_record(int tool_fd, const char *server, const char *tool,
		 enum mcpf_decision decision, uint64_t req_bytes, uint64_t resp_bytes,
		 uint64_t latency_ns, bool upstream_error);

/* Count one call into v (a row or a delta to add later). */
void stats_count(struct mcpf_tool_stats *v, enum mcpf_decision decision, uint64_t req_bytes,
		 uint64_t resp_bytes, uint64_t latency_ns, bool upstream_error);
/* Add every counter of delta to into (the lock header untouched). */
void stats_merge(struct mcpf_tool_stats *into, const struct mcpf_tool_stats *delta);
/* The row key of (server, tool), names cut as the map stores them. */
void stats_key(struct mcpf_tool_key *k, const char *server, const char *tool);
/* Add delta to the row of key (the overflow row when the map is full). */
int stats_add(int tool_fd, const struct mcpf_tool_key *key, const struct mcpf_tool_stats *delta);

int stats_connection_opened(int daemon_fd);
int stats_connection_closed(int daemon_fd);
int stats_policy_reloaded(int daemon_fd, bool ok);

/* Every row that has counted a call, in map order, as one malloc'd array
 * the caller frees (NULL when empty). */
int stats_read_all(int tool_fd, struct stats_row **rows, size_t *n);
int stats_read_daemon(int daemon_fd, struct mcpf_daemon_stats *out);

/* Histogram helpers (bucket rule in bpf/stats_abi.h). */
unsigned int stats_latency_bucket(uint64_t latency_ns);
uint64_t stats_bucket_upper_us(unsigned int bucket);  /* bucket < MCPF_LAT_BUCKETS - 1 */
/* Latency at quantile q (0 < q <= 1), interpolated linearly inside the
 * bucket the way Prometheus' histogram_quantile does; 0 when empty; the
 * overflow bucket reports its lower bound. */
uint64_t stats_percentile_ns(const unsigned long long hist[MCPF_LAT_BUCKETS], double q);

/* "allow", "deny", "rate_limited", "hidden", "invalid", "approved",
 * "declined", "approval_timeout". */
const char *stats_decision_name(enum mcpf_decision d);
/* The counter of the row that counts decision d. */
unsigned long long stats_decision_count(const struct mcpf_tool_stats *v, enum mcpf_decision d);

#endif /* MCPF_USER_STATS_H */
