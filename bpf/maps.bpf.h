/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Map definitions. Maps that hold state an operator or a restarted daemon
 * needs are pinned by name under the daemon's --bpffs dir; the two
 * sockmap-acceleration maps live only as long as the programs. */
#ifndef MCPF_MAPS_H
#define MCPF_MAPS_H

#include "mcpfence_abi.h"

/* Registered MCP endpoints -> server. Exact address first, then wildcard. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCPF_MAX_TARGETS);
	__type(key, struct mcpf_endpoint);
	__type(value, struct mcpf_target);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mcpf_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} settings SEC(".maps");

/* How cgroup_mkdir recognises the agents' cgroup made again. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mcpf_agents_cgroup);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} agents_cgroup SEC(".maps");

/* Whether a daemon runs (see struct mcpf_daemon_alive). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mcpf_daemon_alive);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} daemon_alive SEC(".maps");

/* Network namespace cookie -> the daemon's listener ports in it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MCPF_MAX_NETNS);
	__type(key, __u64);
	__type(value, struct mcpf_netns_listen);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} netns_listen SEC(".maps");

/* Namespace cookie -> when (boot ns) the daemon put it here: connects to
 * targets from it are refused in either fail mode. A namespace the daemon
 * could not serve (an agent holds every port it could listen on) stays
 * here until it is served; one it let go (no process left, yet a socket
 * made there may still connect) for good, which costs one entry: cookies
 * are never reused. LRU, so a flood of abandoned namespaces evicts the
 * oldest rather than failing. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MCPF_MAX_REFUSED_NETNS);
	__type(key, __u64);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} netns_refused SEC(".maps");

/* Sockets the daemon owns (listeners, upstream sockets): pinned, so a
 * daemon that takes over another's listeners finds them marked. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} daemon_socks SEC(".maps");

/* Address -> how many served namespaces have it on an interface: an
 * index of local_addrs by address alone, so connect4/6 know a destination
 * is another namespace's own (the host's address seen from a pod, another
 * pod's IP), where a server on a wildcard address answers. Each daemon
 * builds its own from the namespaces it serves: not pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MCPF_MAX_LOCAL_ADDRS);
	__type(key, union mcpf_addr);
	__type(value, struct mcpf_addr_owners);
} local_addr_owners SEC(".maps");

/* Addresses of the served namespaces' interfaces (netlink-fed). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MCPF_MAX_LOCAL_ADDRS);
	__type(key, struct mcpf_local_addr);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} local_addrs SEC(".maps");

/* Port -> registered addresses on it (derived from targets). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, MCPF_MAX_TARGETS);
	__type(key, __u16);
	__type(value, struct mcpf_port_addrs);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} target_ports SEC(".maps");

/* Namespaces without a listener, reported to the daemon... */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} netns_events SEC(".maps");

/* ...at most once per namespace every MCPF_NETNS_REPORT_NS. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MCPF_MAX_NETNS);
	__type(key, __u64);
	__type(value, __u64);
} netns_reported SEC(".maps");

/* Per-socket record of a redirected agent socket: lives and dies with the
 * socket, so getpeername never sees a stale entry and nothing leaks. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct mcpf_conn);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conn_origin SEC(".maps");

/* Agent netns + address:port (as the daemon sees the peer) -> record. LRU so
 * records of connections the daemon never accepted age out; the daemon
 * deletes its entry when the proxied connection ends, so a dump shows the
 * connections in flight. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MCPF_MAX_CONNS);
	__type(key, struct mcpf_conn_key);
	__type(value, struct mcpf_conn);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conns SEC(".maps");

/* Both ends of each agent<->daemon connection, for sk_msg redirects.
 * __u64 values so user space can look entries up (returns the cookie). */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 2 * MCPF_MAX_CONNS);
	__type(key, struct mcpf_sock_key);
	__type(value, __u64);
} sock_pairs SEC(".maps");

/* Sockets whose first bytes left through TCP before the peer was in
 * sock_pairs: redirecting later bytes would overtake the earlier ones in
 * the peer's receive path, so they stay on TCP for their lifetime. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MCPF_MAX_CONNS);
	__type(key, struct mcpf_sock_key);
	__type(value, __u8);
} tcp_only SEC(".maps");

#endif /* MCPF_MAPS_H */
