/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Metrics maps. Written only by the daemon (no program touches them), read
 * by `mcpfence stats`/`top`, /metrics and bpftool. Pinned by name so counts
 * survive daemon restarts and can be read while the daemon is stopped. */
#ifndef MCPF_STATS_MAPS_H
#define MCPF_STATS_MAPS_H

#include "stats_abi.h"

/* (server, tool) -> counters. No prealloc: memory grows with the tools
 * actually called, not with the worst case. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MCPF_MAX_TOOL_STATS + 1);  /* + the overflow row */
	__type(key, struct mcpf_tool_key);
	__type(value, struct mcpf_tool_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tool_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mcpf_daemon_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} daemon_stats SEC(".maps");

#endif /* MCPF_STATS_MAPS_H */
