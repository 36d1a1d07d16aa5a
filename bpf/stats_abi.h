/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Metrics contract: key and value layouts of the pinned `tool_stats` and
 * `daemon_stats` maps (defined in stats_maps.bpf.h). Same rules as mcpfence_abi.h:
 * plain fixed-size structs that compile for -target bpf and for the host,
 * names as char arrays so `bpftool map dump` prints them as strings.
 *
 * Every value starts with a bpf_spin_lock and user space copies whole
 * values with BPF_F_LOCK, so a reader (`mcpfence stats`, /metrics) sees one
 * consistent snapshot (calls = the sum of the decisions and of the buckets);
 * per-CPU values would be read slot by slot, unlocked, and bpftool would
 * print one record per CPU. Increments are lossless because the daemon is
 * the only writing process and its threads take a mutex around each lookup
 * + update (user/acct.c, user/stats.c); bpftool dumps without the lock, so
 * its view may be mid-update.
 */
#ifndef MCPF_STATS_ABI_H
#define MCPF_STATS_ABI_H

#ifndef __VMLINUX_H__
#include <linux/bpf.h>   /* struct bpf_spin_lock; vmlinux.h has it for BPF */
#endif
#include "mcpfence_abi.h"

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
	MCPF_DECISIONS,
	/* Never counted: decide()'s answer for a call a human must decide
	 * first (user/approval.h); it ends as APPROVED, DECLINED or _TIMEOUT. */
	MCPF_DECISION_APPROVE = MCPF_DECISIONS,
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
	__u32 pad;
	__u64 calls;          /* every decided tools/call */
	__u64 allowed;
	__u64 denied;
	__u64 rate_limited;
	__u64 hidden;
	__u64 invalid;
	__u64 approved;       /* a pin of the shorter layout is replaced (kern_loader.c) */
	__u64 declined;
	__u64 approval_timeout;
	__u64 upstream_errors; /* HTTP error, JSON-RPC error or isError result */
	__u64 req_bytes;      /* request bodies from the agent */
	__u64 resp_bytes;     /* response bodies to the agent */
	__u64 latency_ns_total; /* request start to end of response */
	__u64 latency_hist[MCPF_LAT_BUCKETS];
};

/* daemon_stats (single entry, key 0): connection and reload counters that
 * outlive the daemon, so `mcpfence stats` can show them while it is down. */
struct mcpf_daemon_stats {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 connections_intercepted; /* accepted redirected connections */
	__u64 connections_active;      /* reset to 0 when a daemon starts */
	__u64 policy_reloads_ok;
	__u64 policy_reloads_failed;
};

#endif /* MCPF_STATS_ABI_H */
