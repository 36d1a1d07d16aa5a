/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Metrics contract: key and value layouts of the pinned `tool_stats` and
 * `daemon_stats` maps (defined in stats_maps.h). Same rules as mcpfence.h:
 * plain fixed-size structs that compile for -target bpf and for the host,
 * names as char arrays so `bpftool map dump` prints them as strings.
 *
 * Concurrency: every value starts with a struct bpf_spin_lock, and user
 * space reads and writes whole values with BPF_F_LOCK. The kernel copies
 * the value under that lock, so a reader (`mcpfence stats`, /metrics)
 * always gets one consistent snapshot: calls equals the sum of the
 * decision counters and of the histogram buckets. Per-CPU values were
 * rejected because user space reads and writes them one CPU slot at a
 * time with no lock, so a reader could see a half-applied update, and
 * bpftool would print one value per CPU instead of one readable record.
 * The lock makes each copy atomic, not a read-modify-write: increments are
 * lossless because the daemon's event loop is the only writer (see
 * user/stats.c). bpftool itself dumps without BPF_F_LOCK, so its view may
 * be mid-update; `mcpfence stats` never is.
 */
#ifndef MCPF_STATS_H
#define MCPF_STATS_H

#ifndef __bpf__
#include <linux/bpf.h>   /* struct bpf_spin_lock; vmlinux.h has it for BPF */
#endif
#include "mcpfence.h"

/* Distinct (server, tool) rows; one more slot is kept for the overflow row
 * below, so an agent spraying random tool names cannot make calls vanish. */
#define MCPF_MAX_TOOL_STATS 16384
#define MCPF_OVERFLOW_NAME  "(overflow)"

/*
 * Latency histogram: log2 buckets over microseconds.
 *   bucket 0      latency <= 1 us
 *   bucket i      2^(i-1) us < latency <= 2^i us      (1 <= i <= 30)
 *   bucket 31     latency > 2^30 us (about 17.9 minutes)
 * Upper bounds are inclusive so they map one-to-one onto Prometheus `le`
 * buckets (le = 2^i us). Every recorded call lands in exactly one bucket,
 * so the buckets sum to `calls`.
 */
#define MCPF_LAT_BUCKETS 32

/* What the policy did with a tools/call. Also the `decision` label values. */
enum mcpf_decision {
	MCPF_DECISION_ALLOW,
	MCPF_DECISION_DENY,
	MCPF_DECISION_RATE_LIMITED,
	MCPF_DECISION_HIDDEN,     /* call to a tool the policy hides */
	MCPF_DECISION_INVALID,    /* request refused as uninterpretable */
	MCPF_DECISION_APPROVED,   /* held for approval (policy "approve"), approved, forwarded */
	MCPF_DECISION_DECLINED,   /* ... declined by the user or an operator (or the daemon stopped) */
	MCPF_DECISION_APPROVAL_TIMEOUT, /* ... no answer in time */
	MCPF_DECISIONS
};

/* Names longer than MCPF_NAME_LEN - 1 bytes are truncated (user/stats.c
 * cuts at a UTF-8 character boundary); the rest of the array is zero so
 * equal names give equal keys. */
struct mcpf_tool_key {
	char server[MCPF_NAME_LEN];
	char tool[MCPF_NAME_LEN];
};

struct mcpf_tool_stats {
	struct bpf_spin_lock lock;
	unsigned int pad;
	unsigned long long calls;          /* every decided tools/call */
	unsigned long long allowed;
	unsigned long long denied;
	unsigned long long rate_limited;
	unsigned long long hidden;
	unsigned long long invalid;
	unsigned long long approved;       /* issue 11: a pin of the shorter layout is replaced (bpf_loader.c) */
	unsigned long long declined;
	unsigned long long approval_timeout;
	unsigned long long upstream_errors; /* HTTP error, JSON-RPC error or isError result */
	unsigned long long req_bytes;      /* request bodies from the agent */
	unsigned long long resp_bytes;     /* response bodies to the agent */
	unsigned long long latency_ns_total; /* request start to end of response */
	unsigned long long latency_hist[MCPF_LAT_BUCKETS];
};

/* daemon_stats (single entry, key 0): connection and reload counters that
 * outlive the daemon, so `mcpfence stats` can show them while it is down. */
struct mcpf_daemon_stats {
	struct bpf_spin_lock lock;
	unsigned int pad;
	unsigned long long connections_intercepted; /* accepted redirected connections */
	unsigned long long connections_active;      /* reset to 0 when a daemon starts */
	unsigned long long policy_reloads_ok;
	unsigned long long policy_reloads_failed;
};

#endif /* MCPF_STATS_H */
