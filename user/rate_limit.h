/* Rate-limit budgets in the pinned rate_state map.
 *
 * Algorithm: fixed window opened by the first counted call. A budget is
 * (count, window_start). A call fits when the window has ended
 * (now >= window_start + window) or count < max. Counting a call either
 * opens a new window (count = 1, window_start = now) or increments count.
 * A call that does not fit must wait for the window's end:
 * retry_after = window_start + window - now, rounded up to whole seconds
 * (at least 1). Deterministic: the same calls at the same instants give
 * the same verdicts, whatever happened to the daemon in between.
 *
 * Time is CLOCK_BOOTTIME in ns (bpf_ktime_get_boot_ns), so windows keep
 * running across suspend and daemon restarts.
 *
 * Entries are read and written with BPF_F_LOCK: another process reading
 * the map sees whole (count, window) pairs. The read-check-write sequence
 * itself is not atomic, so exactly one daemon may count at a time.
 */
#ifndef MCPF_RATE_LIMIT_H
#define MCPF_RATE_LIMIT_H

#include <stdbool.h>
#include "policy.h"

/* Whose budget a call spends; see struct mcpf_rate_key for which fields
 * each scope uses. */
struct rate_subject {
	const char *server;
	const char *session;          /* Mcp-Session-Id or per-connection id */
	unsigned long long cgroup_id;
	unsigned int uid;
	unsigned int pid;
};

void rate_key(struct mcpf_rate_key *key, const struct mcpf_limit *limit,
	      const struct rate_subject *subject);

/* 1 if one more call fits, 0 if not (then *retry_ns says how long until it
 * would), -errno when the map cannot be read. */
int rate_check(int fd, const struct mcpf_rate_key *key, const struct mcpf_limit *limit,
	       unsigned long long now_ns, unsigned long long *retry_ns);

/* What counting one call changed, so a call refused by a later budget
 * can give it back (rate_unconsume). */
struct rate_undo {
	struct mcpf_rate_state before;
	bool created;
};

/* Count one call. 0 or -errno (-E2BIG/-ENOMEM: the map is full; -EDQUOT:
 * the key's owner, the agent's cgroup+uid, holds RATE_OWNER_MAX budgets
 * already). Global budgets have no owner. On success *undo says how to
 * take the count back. */
int rate_consume(int fd, const struct mcpf_rate_key *key, const struct mcpf_limit *limit,
		 unsigned long long now_ns, struct rate_undo *undo);

/* Take back a count rate_consume made in the same decision. The caller
 * holds the lock every decision takes, so nothing in this process counted
 * in between; another daemon sharing the map (a handover's drain) could
 * have, and its count is then lost, as the read-check-write above can
 * lose one: exactly one daemon counts at a time. */
int rate_unconsume(int fd, const struct mcpf_rate_key *key, const struct rate_undo *undo);

/* One agent's share of rate_state: what it can fill is the map's size
 * divided by this many agents. */
#define RATE_OWNER_MAX (MCPF_MAX_RATE_STATES / 16)

/* Delete budgets whose window ended before now: they would restart from
 * zero anyway. Call periodically so the map does not fill up. Returns how
 * many were deleted, or -errno. */
int rate_prune(int fd, unsigned long long now_ns);

#endif /* MCPF_RATE_LIMIT_H */
