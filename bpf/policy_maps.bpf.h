/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Policy map definitions (layouts in policy_abi.h). All pinned by name so the
 * compiled policy and, above all, the rate-limit windows outlive a daemon
 * restart. Hash maps are not preallocated: they are sized for two policy
 * generations side by side, but usually hold far less. */
#ifndef MCPF_POLICY_MAPS_H
#define MCPF_POLICY_MAPS_H

#include "policy_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mcpf_policy_active);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy_active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * MCPF_MAX_SERVERS);
	__type(key, struct mcpf_policy_server_key);
	__type(value, struct mcpf_policy_server);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy_servers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * MCPF_POLICY_MAX_TOOLS);
	__type(key, struct mcpf_policy_tool_key);
	__type(value, struct mcpf_policy_tool);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy_tools SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 2 * MCPF_POLICY_MAX_CONDS);
	__type(key, struct mcpf_policy_cond_key);
	__type(value, struct mcpf_policy_cond);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy_conds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MCPF_MAX_RATE_STATES);
	__type(key, struct mcpf_rate_key);
	__type(value, struct mcpf_rate_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rate_state SEC(".maps");

#endif /* MCPF_POLICY_MAPS_H */
