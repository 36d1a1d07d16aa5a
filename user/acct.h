/* Accounting: what operators see of each decision. Owns the descriptors
 * behind it: the pinned tool_stats and daemon_stats maps (stats.h), the
 * audit log (audit.h) and the cgroup2 mount that names an agent's cgroup
 * in audit lines. Every function may be called from any event-loop thread.
 *
 * Calls are counted exactly but not one syscall pair each: a thread adds
 * each call to its own small table of rows, and writes the table to the
 * map (one locked lookup + update per row) at the end of the first batch
 * of events a millisecond after its first pending call (the loop wakes for
 * it if idle: loop_defer_within), when its loop stops, or at once outside
 * a loop. acct_flush writes every
 * thread's table, so a reader that flushes first (/metrics) sees every
 * call already answered. Audit lines are written one at a time, whole. */
#ifndef MCPF_ACCT_H
#define MCPF_ACCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit.h"
#include "stats.h"

struct acct;

/* audit (may be NULL) and cgroup2_fd (may be -1) are taken over and closed
 * by acct_free; the map fds stay the caller's. NULL on ENOMEM. */
struct acct *acct_new(int tool_stats_fd, int daemon_stats_fd, struct audit_log *audit, int cgroup2_fd);
/* Flush, then close what it owns. Every thread that counted must be done. */
void acct_free(struct acct *a);

/* stats_prepare on the maps. */
int acct_prepare(struct acct *a, bool reset_active);

/* One decided call on row (server, tool); tool "" or NULL when none. */
int acct_call(struct acct *a, const char *server, const char *tool, enum mcpf_decision decision,
	      uint64_t req_bytes, uint64_t resp_bytes, uint64_t latency_ns, bool upstream_error);
/* Write every thread's counted calls to the map. 0 or the first -errno. */
int acct_flush(struct acct *a);

void acct_connection_opened(struct acct *a);
void acct_connection_closed(struct acct *a);

/* Is there an audit log; append one line to it (0 or -errno). */
bool acct_audits(const struct acct *a);
/* ... and are tool arguments part of its lines (audit_logs_args)? */
bool acct_audits_args(const struct acct *a);
int acct_audit(struct acct *a, const struct audit_record *r);

/* The path of cgroup id below the cgroup2 mount (cgroup_path.h); -ENOENT
 * when the mount could not be opened. */
int acct_cgroup_path(const struct acct *a, uint64_t id, char *buf, size_t len);

/* For readers (/metrics) and the policy watcher's reload counters. */
int acct_tool_stats_fd(const struct acct *a);
int acct_daemon_stats_fd(const struct acct *a);

#endif /* MCPF_ACCT_H */
