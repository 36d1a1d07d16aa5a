/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Tool inventory maps (layouts in inventory.h). Pinned by name so the
 * inventory survives daemon restarts and can be read while the daemon is
 * stopped. Not preallocated: memory follows the tools actually listed. */
#ifndef MCPF_INVENTORY_MAPS_H
#define MCPF_INVENTORY_MAPS_H

#include "inventory_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MCPF_INVENTORY_MAX);
	__type(key, struct mcpf_inventory_key);
	__type(value, struct mcpf_inventory_tool);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tool_inventory SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MCPF_INVENTORY_SERVERS);
	__type(key, char[MCPF_NAME_LEN]);
	__type(value, struct mcpf_inventory_server);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tool_inventory_servers SEC(".maps");

#endif /* MCPF_INVENTORY_MAPS_H */
