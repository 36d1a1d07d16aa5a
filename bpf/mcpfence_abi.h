/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The contract between the kernel programs (bpf/) and the daemon (user/):
 * the key and value layouts of every pinned map. Plain fixed-size structs
 * only, so the same definitions compile for -target bpf and for the host,
 * and names are char arrays so `bpftool map dump` prints them as strings.
 *
 * Addresses are stored as 16-byte IPv6 addresses; IPv4 is kept in its
 * v4-mapped form (::ffff:a.b.c.d) so one key type serves both families.
 * Ports are in host byte order so dumps read as the numbers people type.
 */
#ifndef MCPF_ABI_H
#define MCPF_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define MCPF_NAME_LEN     64   /* server and tool names */
#define MCPF_COMM_LEN     16   /* TASK_COMM_LEN */
#define MCPF_MAX_TARGETS  4096
#define MCPF_MAX_CONNS    65536
#define MCPF_MAX_SERVERS  256

#define MCPF_MAX_NETNS    4096 /* network namespaces served */
#define MCPF_MAX_LOCAL_ADDRS 16384
#define MCPF_PORT_ADDRS   8    /* registered addresses per port tried for equivalence */
#define MCPF_MAX_REFUSED_NETNS 65536 /* namespaces refused: not servable, or let go */

/* An IPv6 address, IPv4 as ::ffff:a.b.c.d: bytes for keys and dumps,
 * network-order words for the programs' compares. */
union mcpf_addr {
	__u8 b[16];
	__be32 w[4];
};

/* An endpoint: address + port. An all-zero address is the wildcard
 * "any address on this port". */
struct mcpf_endpoint {
	union mcpf_addr addr;
	__u16 port;
	__u16 pad;
};

/* targets map value: which policy server owns the endpoint. By name, so
 * it stays true across policy reloads that add or remove servers. */
struct mcpf_target {
	char server[MCPF_NAME_LEN];
};

/* settings map (single entry, key 0): written by the daemon at start-up,
 * read by every program. A map rather than .rodata so a restarted daemon
 * updates it in place and an operator can read it with bpftool.
 *
 * The programs are attached at the cgroup2 root and intercept a connect()
 * when the *calling task* is in the agents' cgroup (ancestor id at level):
 * a socket created outside that cgroup and handed to an agent is caught
 * too, since cgroup hooks otherwise follow the socket's birth cgroup. */
struct mcpf_config {
	__u64 cgroup_id;   /* the agents' cgroup (--cgroup); cgroup_mkdir follows it (agents_cgroup) */
	__u32 cgroup_level;      /* its depth below the cgroup2 root */
	__u32 listen_addr4;      /* daemon IPv4 listeners, network order */
	union mcpf_addr listen_addr6; /* daemon IPv6 listeners */
	__u16 listen_port;     /* preferred port; per netns in netns_listen */
	__u8 fail_closed;      /* no daemon: 1 = refuse, 0 = pass through (see daemon_alive) */
	__u8 sockmap;          /* 1 = put agent<->daemon pairs in the sockhash */
	__u32 daemon_tgid;       /* informational: who wrote this config */
};

/* agents_cgroup (single entry, key 0): what names the agents' cgroup
 * besides its id, so that cgroup_mkdir can tell the directory made again
 * after an `rmdir` (a systemd unit restarted, a user slice at the next
 * login, kubepods.slice after a node restart) and point settings.cgroup_id
 * at it: the same name below the same parent, at settings.cgroup_level.
 * Written by the daemon with settings; parent_id 0 (--cgroup is the root,
 * never made again) turns the program off. */
#define MCPF_CGROUP_NAME_LEN 256 /* NAME_MAX + 1 */
struct mcpf_agents_cgroup {
	__u64 parent_id;                 /* the parent directory's cgroup id */
	char name[MCPF_CGROUP_NAME_LEN]; /* the directory's name, NUL-terminated */
};

/* daemon_alive (single entry, key 0): a running daemon rewrites it every
 * MCPF_ALIVE_BEAT_MS, MCPF_ALIVE_GRACE_NS ahead, and clears it when it
 * detaches. While until_ns is ahead, a connection to a target that cannot
 * be handed to the daemon (its namespace not served yet, no listener of
 * the daemon's there) is refused in either fail mode: the daemon is there
 * and serves the namespace within milliseconds. Fail-open passes such a
 * connection only once no daemon has run for the grace period. */
struct mcpf_daemon_alive {
	__u64 until_ns;          /* bpf_ktime_get_boot_ns() clock; 0: no daemon */
	__u32 tgid;              /* informational: who wrote it */
	__u32 pad;
};
#define MCPF_ALIVE_BEAT_MS 1000
#define MCPF_ALIVE_GRACE_NS (3ULL * 1000 * 1000 * 1000)

/* netns_listen value, keyed by network namespace cookie: the ports of the
 * daemon's listeners inside that namespace (0: none of that family).
 * Ports differ from namespace to namespace when the preferred one is taken. */
struct mcpf_netns_listen {
	__u16 port4;
	__u16 port6;
	__u32 pad;
};

/* daemon_socks (socket storage) value: sockets the daemon owns. Only a
 * listener marked here receives redirected connections, and sockets
 * marked upstream are never redirected (the loop guard): an agent cannot
 * set either, unlike a SO_MARK, which CAP_NET_RAW alone can. */
#define MCPF_SOCK_LISTENER 1u
#define MCPF_SOCK_UPSTREAM 2u

/* local_addrs key: an address configured on an interface of a namespace
 * the daemon serves (loopback ranges are implied). A server listening on a
 * wildcard address is reached through every one of them. */
struct mcpf_local_addr {
	__u64 netns;
	union mcpf_addr addr;
};

/* local_addr_owners value, keyed by address: how many served namespaces
 * have it, and the one that got it last (the one, when count is 1). */
struct mcpf_addr_owners {
	__u32 count;
	__u32 pad;
	__u64 netns;
};

/* target_ports value, keyed by port: the registered (non-wildcard)
 * addresses on that port, so that connect4/6 can tell whether another
 * local address reaches the same listening socket as one of them. */
struct mcpf_port_addrs {
	__u32 count;
	union mcpf_addr addr[MCPF_PORT_ADDRS];
};

/* netns_events ring buffer record: connect4/6 met a namespace with no
 * daemon listener; the daemon opens /proc/PID/ns/net and serves it. */
struct mcpf_netns_event {
	__u64 netns;
	__u32 pid;
	__u32 tid;
};

/* conns map key: the agent's address and port as the daemon's accepted
 * socket sees its peer, in the network namespace both live in. Loopback
 * addresses repeat in every namespace (each pod has its own 127.0.0.1),
 * so the namespace's cookie is part of the key: a daemon serving several
 * namespaces through a listener in each finds each agent's own record. */
struct mcpf_conn_key {
	__u64 netns;   /* bpf_get_netns_cookie() / SO_NETNS_COOKIE */
	struct mcpf_endpoint agent;
	__u32 pad;
};

/* Who connected, and where to. Written by connect4/6 into socket-local
 * storage, copied by sock_ops into the conns map once the agent's source
 * port is known, and looked up by the daemon with the peer address of the
 * accepted socket: one lookup per connection. */
struct mcpf_conn {
	struct mcpf_endpoint orig_dst;   /* what the agent asked for */
	struct mcpf_endpoint target;     /* the registered endpoint it reached (targets key) */
	__u32 pid;        /* tgid of the connecting process */
	__u32 tid;
	__u32 uid;
	__u32 gid;
	__u64 cgroup_id;
	__u64 start_ns;  /* bpf_ktime_get_boot_ns() at connect */
	char comm[MCPF_COMM_LEN];
	char server[MCPF_NAME_LEN];
};

/* sockhash key: one TCP endpoint of a local connection, seen from the
 * socket that owns it (local address/port, remote address/port), in its
 * network namespace (the same 4-tuple can exist in another pod's). */
struct mcpf_sock_key {
	union mcpf_addr local;
	union mcpf_addr remote;
	__u32 local_port;  /* host byte order, as sock_ops gives it */
	__u32 remote_port; /* host byte order */
	__u64 netns; /* bpf_get_netns_cookie() */
};

#endif /* MCPF_ABI_H */
