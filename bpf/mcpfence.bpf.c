// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mcpfence kernel side.
 *
 *   sock_create     an agent's process makes a socket in a network
 *                   namespace the daemon does not serve yet: report it.
 *   connect4/6      agent connects to a registered MCP endpoint: remember
 *                   where it wanted to go and who it is, send it to the
 *                   daemon's listener instead.
 *   getpeername4/6  the agent keeps seeing the address it asked for.
 *   sockops         once the agent's source port exists, publish the
 *                   record under that address for the daemon; put both
 *                   ends of agent<->daemon connections in sock_pairs.
 *   sk_msg          move bytes between the two ends of such a pair
 *                   without a trip through loopback TCP.
 *   cgroup_mkdir    the agents' cgroup made again after an rmdir: point
 *                   settings at its new id before anyone can enter it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
#include "addr.bpf.h"
#include "maps.bpf.h"
#include "policy_maps.bpf.h"
#include "stats_maps.bpf.h"
#include "inventory_maps.bpf.h"

#define AF_INET  2
#define AF_INET6 10

/* cgroup hook verdicts (sock_addr, sock_create, sock_ops) */
#define CGROUP_ALLOW  1
#define CGROUP_REFUSE 0

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* A namespace without a listener is reported at most this often. */
#define NETNS_REPORT_NS (100ULL * 1000 * 1000)

static __always_inline struct mcpf_config *get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&settings, &zero);
}

static __always_inline bool addr_is_loopback(const union mcpf_addr *a)
{
	if (addr_is_v4mapped(a))
		return (a->w[3] & bpf_htonl(0xff000000)) == bpf_htonl(0x7f000000);
	return a->w[0] == 0 && a->w[1] == 0 && a->w[2] == 0 && a->w[3] == bpf_htonl(1);
}

/* connect() to an unspecified address reaches the loopback one (0.0.0.0
 * -> 127.0.0.1, :: -> ::1): match it as that. */
static __always_inline void addr_normalise(union mcpf_addr *a)
{
	if (addr_is_v4mapped(a)) {
		if (a->w[3] == 0)
			a->w[3] = bpf_htonl(0x7f000001);
	} else if (!(a->w[0] | a->w[1] | a->w[2] | a->w[3])) {
		a->w[3] = bpf_htonl(1);
	}
}

static __always_inline bool addr_is_local(__u64 netns, const union mcpf_addr *a)
{
	struct mcpf_local_addr key = { .netns = netns, .addr = *a };

	if (addr_is_loopback(a))
		return true;
	return bpf_map_lookup_elem(&local_addrs, &key) != NULL;
}

/* The TCP listener a connection to addr:port would reach in the caller's
 * namespace, described by what it is bound to. */
struct bound_to {
	__u32 family;
	__u32 ip4;
	__u32 ip6[4];
	__u32 port;
};

static __always_inline struct bpf_sock *lookup_listener(struct bpf_sock_addr *ctx, const union mcpf_addr *a,
							__u16 port)
{
	struct bpf_sock_tuple tuple = {};

	if (addr_is_v4mapped(a)) {
		tuple.ipv4.daddr = a->w[3];
		tuple.ipv4.dport = bpf_htons(port);
		return bpf_sk_lookup_tcp(ctx, &tuple, sizeof(tuple.ipv4), BPF_F_CURRENT_NETNS, 0);
	}
	__builtin_memcpy(tuple.ipv6.daddr, a->w, sizeof(tuple.ipv6.daddr));
	tuple.ipv6.dport = bpf_htons(port);
	return bpf_sk_lookup_tcp(ctx, &tuple, sizeof(tuple.ipv6), BPF_F_CURRENT_NETNS, 0);
}

static __always_inline bool listener_of(struct bpf_sock_addr *ctx, const union mcpf_addr *a, __u16 port,
					struct bound_to *b)
{
	struct bpf_sock *sk = lookup_listener(ctx, a, port);

	if (!sk)
		return false;
	b->family = sk->family;
	b->ip4 = sk->src_ip4;
	b->ip6[0] = sk->src_ip6[0];
	b->ip6[1] = sk->src_ip6[1];
	b->ip6[2] = sk->src_ip6[2];
	b->ip6[3] = sk->src_ip6[3];
	b->port = sk->src_port;
	bpf_sk_release(sk);
	return true;
}

static __always_inline bool same_listener(const struct bound_to *x, const struct bound_to *y)
{
	return x->family == y->family && x->port == y->port && x->ip4 == y->ip4 && x->ip6[0] == y->ip6[0] &&
	       x->ip6[1] == y->ip6[1] && x->ip6[2] == y->ip6[2] && x->ip6[3] == y->ip6[3];
}

/* dst is no address of the caller's namespace but one of another served
 * namespace (the host's own address seen from a pod, another pod's IP): a
 * server there on a wildcard address answers on it, and its listener
 * cannot be looked up from here. alts: the registered addresses on
 * key->port. When one namespace has dst, its registered address on the
 * port is that server; else (none of its own, or dst shared by several)
 * the first registered loopback address on the port, or the first
 * registered one: a neighbour on that port gets a server's policy rather
 * than the server being reached around it. 1 with key->addr set; 0 when
 * dst is no served namespace's own. A global function: verified once, not
 * once per caller and path (inlined, it doubled connect4/6's load time). */
__noinline int elsewhere_pick(const union mcpf_addr *dst, const struct mcpf_port_addrs *alts,
			      struct mcpf_endpoint *key)
{
	struct mcpf_addr_owners *owners;
	__u32 pick = MCPF_PORT_ADDRS;
	bool one;

	if (!dst || !alts || !key || !alts->count)
		return 0;
	owners = bpf_map_lookup_elem(&local_addr_owners, dst);
	if (!owners)
		return 0;
	one = owners->count == 1;
	for (__u32 i = 0; i < MCPF_PORT_ADDRS; i++) {
		if (i >= alts->count)
			break;
		if (addr_is_loopback(&alts->addr[i])) {
			if (pick == MCPF_PORT_ADDRS)
				pick = i;
		} else if (one && addr_is_local(owners->netns, &alts->addr[i])) {
			pick = i;
			break;
		}
	}
	if (pick >= MCPF_PORT_ADDRS)
		pick = one ? MCPF_PORT_ADDRS : 0;
	if (pick >= MCPF_PORT_ADDRS)
		return 0;
	key->addr = alts->addr[pick];
	return 1;
}

/* The registered endpoint dst reaches: exact address first, then the
 * port's wildcard, then, for a local destination with a listener on a
 * port a registered address uses: the registered address whose listening
 * socket is the one dst reaches (a server bound to 0.0.0.0 or :: answers
 * on 127.0.0.2, on the host's own addresses, on ::ffff:127.0.0.1...), or
 * else the first local registered address on the port, as if it were the
 * same server (its other socket, [::1]:P next to 127.0.0.1:P: enforcing
 * a policy on a neighbour beats letting the server's own be bypassed).
 * Local: loopback or in local_addrs; in a namespace not served (its
 * addresses unknown), any destination a listener in it takes; else, in
 * either, another served namespace's own address: elsewhere_pick. *key is
 * set to the entry that matched. */
static __always_inline struct mcpf_target *find_target(struct bpf_sock_addr *ctx, __u64 netns, bool served,
							const struct mcpf_endpoint *dst,
							struct mcpf_endpoint *key)
{
	struct mcpf_port_addrs *alts;
	struct mcpf_target *t;
	struct bound_to reached, cand;
	__u16 port = dst->port;
	__u32 local = MCPF_PORT_ADDRS;

	*key = *dst;
	t = bpf_map_lookup_elem(&targets, key);
	if (t)
		return t;
	__builtin_memset(&key->addr, 0, sizeof(key->addr));
	t = bpf_map_lookup_elem(&targets, key);
	if (t)
		return t;
	alts = bpf_map_lookup_elem(&target_ports, &port);
	if (!alts)
		return NULL;
	/* no address of this namespace's (unknown ones: nothing here takes it):
	 * another namespace's own address? */
	if (served && !addr_is_local(netns, &dst->addr))
		return elsewhere_pick(&dst->addr, alts, key) ? bpf_map_lookup_elem(&targets, key) : NULL;
	if (!listener_of(ctx, &dst->addr, port, &reached))
		return !served && elsewhere_pick(&dst->addr, alts, key) ? bpf_map_lookup_elem(&targets, key) : NULL;
	for (__u32 i = 0; i < MCPF_PORT_ADDRS; i++) {
		if (i >= alts->count)
			break;
		if (local == MCPF_PORT_ADDRS && addr_is_local(netns, &alts->addr[i]))
			local = i;
		if (!listener_of(ctx, &alts->addr[i], port, &cand) || !same_listener(&reached, &cand))
			continue;
		key->addr = alts->addr[i];
		return bpf_map_lookup_elem(&targets, key);
	}
	if (local >= MCPF_PORT_ADDRS)
		return NULL;
	key->addr = alts->addr[local];
	return bpf_map_lookup_elem(&targets, key);
}

/* Tell the daemon about a namespace it does not serve yet. */
static __always_inline void report_netns(__u64 netns)
{
	struct mcpf_netns_event *ev;
	__u64 now = bpf_ktime_get_boot_ns(), *last, pid_tgid;

	last = bpf_map_lookup_elem(&netns_reported, &netns);
	if (last && now - *last < NETNS_REPORT_NS)
		return;
	bpf_map_update_elem(&netns_reported, &netns, &now, BPF_ANY);
	ev = bpf_ringbuf_reserve(&netns_events, sizeof(*ev), 0);
	if (!ev)
		return;
	pid_tgid = bpf_get_current_pid_tgid();
	ev->netns = netns;
	ev->pid = pid_tgid >> 32;
	ev->tid = (__u32)pid_tgid;
	bpf_ringbuf_submit(ev, 0);
}

/* Is the daemon's own listener there to take the connection? Looked up in
 * the caller's namespace, so a crashed daemon is noticed on the very next
 * connect(), and checked for the daemon's mark, so a socket someone else
 * bound on that port in the namespace is never handed an agent's bytes. */
static __always_inline bool daemon_listening(struct bpf_sock_addr *ctx, const struct mcpf_config *cfg,
					     __u16 port, bool v4)
{
	union mcpf_addr a = {};
	struct bpf_sock *sk;
	__u32 *mark;
	bool ok;

	if (!port)
		return false;
	if (v4)
		addr_from4(&a, cfg->listen_addr4);
	else
		a = cfg->listen_addr6;
	sk = lookup_listener(ctx, &a, port);
	if (!sk)
		return false;
	mark = bpf_sk_storage_get(&daemon_socks, sk, 0, 0);
	ok = mark && (*mark & MCPF_SOCK_LISTENER);
	bpf_sk_release(sk);
	return ok;
}

/* The verdict for a connection to a target that is not handed to the
 * daemon: refused while a daemon runs (it is about to serve the namespace,
 * or something is wrong with its listener there: never let that pass
 * unjudged), and when none runs, refused or passed by the fail mode. */
static __always_inline int unjudged_verdict(const struct mcpf_config *cfg)
{
	struct mcpf_daemon_alive *alive;
	__u32 zero = 0;

	if (cfg->fail_closed)
		return CGROUP_REFUSE;
	alive = bpf_map_lookup_elem(&daemon_alive, &zero);
	return alive && bpf_ktime_get_boot_ns() < alive->until_ns ? CGROUP_REFUSE : CGROUP_ALLOW;
}

static __always_inline bool record_origin(struct bpf_sock_addr *ctx, const struct mcpf_endpoint *dst,
					  const struct mcpf_endpoint *target, const struct mcpf_target *t)
{
	struct mcpf_conn *c;
	__u64 pid_tgid, uid_gid;

	c = bpf_sk_storage_get(&conn_origin, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!c)
		return false;
	pid_tgid = bpf_get_current_pid_tgid();
	uid_gid = bpf_get_current_uid_gid();
	c->orig_dst = *dst;
	c->target = *target;
	c->pid = pid_tgid >> 32;
	c->tid = (__u32)pid_tgid;
	c->uid = (__u32)uid_gid;
	c->gid = uid_gid >> 32;
	c->cgroup_id = bpf_get_current_cgroup_id();
	c->start_ns = bpf_ktime_get_boot_ns();
	bpf_get_current_comm(c->comm, sizeof(c->comm));
	__builtin_memcpy(c->server, t->server, sizeof(c->server));
	return true;
}

/* Common part of connect4/6: returns the listener port to redirect to,
 * or 0 when the connection is not redirected; *verdict is then what to
 * return. dst->addr is normalised in place. */
static __always_inline __u16 redirect_port(struct bpf_sock_addr *ctx, struct mcpf_endpoint *dst, bool v4,
					   const struct mcpf_config **cfgp, int *verdict)
{
	const struct mcpf_config *cfg = get_config();
	struct mcpf_netns_listen *lst;
	struct mcpf_endpoint target;
	struct mcpf_target *t;
	__u64 netns;
	__u16 port;

	*verdict = CGROUP_ALLOW;
	if (!cfg || ctx->type != SOCK_STREAM)
		return 0;
	if (bpf_get_current_ancestor_cgroup_id(cfg->cgroup_level) != cfg->cgroup_id)
		return 0;
	/* the daemon's own upstream sockets: never loop back into it */
	if (bpf_sk_storage_get(&daemon_socks, ctx->sk, 0, 0))
		return 0;
	netns = bpf_get_netns_cookie(ctx);
	addr_normalise(&dst->addr);
	/* published by the daemon once the namespace's addresses are in local_addrs */
	lst = bpf_map_lookup_elem(&netns_listen, &netns);
	t = find_target(ctx, netns, lst != NULL, dst, &target);
	if (!t)
		return 0;
	if (!lst) {
		report_netns(netns);
		*verdict = bpf_map_lookup_elem(&netns_refused, &netns) ? CGROUP_REFUSE : unjudged_verdict(cfg);
		return 0;
	}
	port = v4 ? lst->port4 : lst->port6;
	if (!daemon_listening(ctx, cfg, port, v4) || !record_origin(ctx, dst, &target, t)) {
		*verdict = unjudged_verdict(cfg);
		return 0;
	}
	*cfgp = cfg;
	*verdict = CGROUP_ALLOW;
	return port;
}

/* A socket redirected before, disconnected (AF_UNSPEC) and connected
 * again elsewhere keeps no record of the first destination: getpeername
 * would show it and sock_ops would publish it. */
static __always_inline int not_redirected(struct bpf_sock_addr *ctx, int verdict)
{
	bpf_sk_storage_delete(&conn_origin, ctx->sk);
	return verdict;
}

SEC("cgroup/connect4")
int mcpf_connect4(struct bpf_sock_addr *ctx)
{
	const struct mcpf_config *cfg = NULL;
	struct mcpf_endpoint dst = {};
	int verdict;
	__u16 port;

	addr_from4(&dst.addr, ctx->user_ip4);
	dst.port = bpf_ntohs((__u16)ctx->user_port);
	port = redirect_port(ctx, &dst, true, &cfg, &verdict);
	if (!port || !cfg)
		return not_redirected(ctx, verdict);
	ctx->user_ip4 = cfg->listen_addr4;
	ctx->user_port = bpf_htons(port);
	return CGROUP_ALLOW;
}

SEC("cgroup/connect6")
int mcpf_connect6(struct bpf_sock_addr *ctx)
{
	__u32 ip6[4] = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3] };
	const struct mcpf_config *cfg = NULL;
	struct mcpf_endpoint dst = {};
	int verdict;
	__u16 port;
	bool v4;

	addr_from6(&dst.addr, ip6);
	v4 = addr_is_v4mapped(&dst.addr);
	dst.port = bpf_ntohs((__u16)ctx->user_port);
	port = redirect_port(ctx, &dst, v4, &cfg, &verdict);
	if (!port || !cfg)
		return not_redirected(ctx, verdict);
	if (v4) {
		/* v4-mapped: stays IPv4 on the wire, goes to the IPv4 listener */
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0xffff);
		ctx->user_ip6[3] = cfg->listen_addr4;
	} else {
		ctx->user_ip6[0] = cfg->listen_addr6.w[0];
		ctx->user_ip6[1] = cfg->listen_addr6.w[1];
		ctx->user_ip6[2] = cfg->listen_addr6.w[2];
		ctx->user_ip6[3] = cfg->listen_addr6.w[3];
	}
	ctx->user_port = bpf_htons(port);
	return CGROUP_ALLOW;
}

/* An agent's process creating a socket in a namespace not served yet:
 * tell the daemon now, most often well before any connect() to a target
 * (a pod's server, or the agent's own first socket, comes first).
 * A raw IP socket is refused to an agent: with one (CAP_NET_RAW) it could
 * hand-craft a TCP handshake to a server and never call connect(). */
SEC("cgroup/sock_create")
int mcpf_sock_create(struct bpf_sock *sk)
{
	const struct mcpf_config *cfg = get_config();
	__u64 netns;

	if (!cfg || (sk->family != AF_INET && sk->family != AF_INET6))
		return CGROUP_ALLOW;
	if (sk->type != SOCK_STREAM && sk->type != SOCK_RAW)
		return CGROUP_ALLOW;
	if (bpf_get_current_ancestor_cgroup_id(cfg->cgroup_level) != cfg->cgroup_id)
		return CGROUP_ALLOW;
	if (sk->type == SOCK_RAW)
		return CGROUP_REFUSE;
	netns = bpf_get_netns_cookie(sk);
	if (!bpf_map_lookup_elem(&netns_listen, &netns))
		report_netns(netns);
	return CGROUP_ALLOW;
}

SEC("cgroup/getpeername4")
int mcpf_getpeername4(struct bpf_sock_addr *ctx)
{
	struct mcpf_conn *c = bpf_sk_storage_get(&conn_origin, ctx->sk, 0, 0);

	if (c) {
		ctx->user_ip4 = c->orig_dst.addr.w[3];
		ctx->user_port = bpf_htons(c->orig_dst.port);
	}
	return CGROUP_ALLOW;
}

SEC("cgroup/getpeername6")
int mcpf_getpeername6(struct bpf_sock_addr *ctx)
{
	struct mcpf_conn *c = bpf_sk_storage_get(&conn_origin, ctx->sk, 0, 0);

	if (c) {
		ctx->user_ip6[0] = c->orig_dst.addr.w[0];
		ctx->user_ip6[1] = c->orig_dst.addr.w[1];
		ctx->user_ip6[2] = c->orig_dst.addr.w[2];
		ctx->user_ip6[3] = c->orig_dst.addr.w[3];
		ctx->user_port = bpf_htons(c->orig_dst.port);
	}
	return CGROUP_ALLOW;
}

/* sock_ops and sk_msg both describe a socket by family + addresses + ports;
 * remote_port arrives shifted into network order, local_port in host order.
 * Every address word is read up front (the IPv4 ones pinned by
 * barrier_var): clang would otherwise sink the loads into the family
 * branches and merge them into one load through a computed ctx pointer,
 * which the verifier refuses. */
static __always_inline void sock_key_fill(struct mcpf_sock_key *k, bool v4, __be32 l4, __be32 r4,
					  const __u32 l6[4], const __u32 r6[4], __u32 local_port,
					  __u32 remote_port_net, __u64 netns)
{
	barrier_var(l4);
	barrier_var(r4);
	if (v4) {
		addr_from4(&k->local, l4);
		addr_from4(&k->remote, r4);
	} else {
		addr_from6(&k->local, l6);
		addr_from6(&k->remote, r6);
	}
	k->local_port = local_port;
	k->remote_port = bpf_ntohl(remote_port_net);
	k->netns = netns;
}

static __always_inline void sock_key_of_ops(struct bpf_sock_ops *ops, struct mcpf_sock_key *k)
{
	__u32 l6[4] = { ops->local_ip6[0], ops->local_ip6[1], ops->local_ip6[2], ops->local_ip6[3] };
	__u32 r6[4] = { ops->remote_ip6[0], ops->remote_ip6[1], ops->remote_ip6[2], ops->remote_ip6[3] };

	sock_key_fill(k, ops->family == AF_INET, ops->local_ip4, ops->remote_ip4, l6, r6, ops->local_port,
		      ops->remote_port, bpf_get_netns_cookie(ops));
}

static __always_inline void sock_key_of_msg(struct sk_msg_md *msg, struct mcpf_sock_key *k)
{
	__u32 l6[4] = { msg->local_ip6[0], msg->local_ip6[1], msg->local_ip6[2], msg->local_ip6[3] };
	__u32 r6[4] = { msg->remote_ip6[0], msg->remote_ip6[1], msg->remote_ip6[2], msg->remote_ip6[3] };

	sock_key_fill(k, msg->family == AF_INET, msg->local_ip4, msg->remote_ip4, l6, r6, msg->local_port,
		      msg->remote_port, bpf_get_netns_cookie(msg));
}

static __always_inline void add_pair_end(struct bpf_sock_ops *ops, struct mcpf_sock_key *key)
{
	bpf_map_delete_elem(&tcp_only, key);
	bpf_sock_hash_update(ops, &sock_pairs, key, BPF_NOEXIST);
}

SEC("sockops")
int mcpf_sockops(struct bpf_sock_ops *ops)
{
	struct mcpf_sock_key key = {};
	struct mcpf_config *cfg;

	if (ops->family != AF_INET && ops->family != AF_INET6)
		return CGROUP_ALLOW;
	cfg = get_config();
	if (!cfg)
		return CGROUP_ALLOW;

	switch (ops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB: {
		/* An agent socket we redirected, now with its source port. */
		struct mcpf_conn_key agent = {};
		struct bpf_sock *sk = ops->sk;
		struct mcpf_conn *c;

		if (!sk)
			return CGROUP_ALLOW;
		c = bpf_sk_storage_get(&conn_origin, sk, 0, 0);
		if (!c)
			return CGROUP_ALLOW;
		sock_key_of_ops(ops, &key);
		agent.netns = key.netns;
		agent.agent.addr = key.local;
		agent.agent.port = (__u16)ops->local_port;
		bpf_map_update_elem(&conns, &agent, c, BPF_ANY);
		if (cfg->sockmap)
			add_pair_end(ops, &key);
		break;
	}
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB: {
		/* The daemon's end of an agent connection. */
		struct mcpf_netns_listen *lst;
		__u64 netns;

		if (!cfg->sockmap)
			return CGROUP_ALLOW;
		netns = bpf_get_netns_cookie(ops);
		lst = bpf_map_lookup_elem(&netns_listen, &netns);
		if (!lst || (ops->local_port != lst->port4 && ops->local_port != lst->port6))
			return CGROUP_ALLOW;
		sock_key_of_ops(ops, &key);
		add_pair_end(ops, &key);
		break;
	}
	}
	return CGROUP_ALLOW;
}

SEC("sk_msg")
int mcpf_sk_msg(struct sk_msg_md *msg)
{
	struct mcpf_sock_key self = {}, peer = {};
	__u8 one = 1;

	sock_key_of_msg(msg, &self);
	if (bpf_map_lookup_elem(&tcp_only, &self))
		return SK_PASS;
	peer.local = self.remote;
	peer.remote = self.local;
	peer.local_port = self.remote_port;
	peer.remote_port = self.local_port;
	peer.netns = self.netns;
	/* Peer not (yet) in the map: these bytes take TCP, and so must every
	 * later byte of this socket, or they would overtake these. */
	if (bpf_msg_redirect_hash(msg, &sock_pairs, &peer, BPF_F_INGRESS) != SK_PASS)
		bpf_map_update_elem(&tcp_only, &self, &one, BPF_ANY);
	return SK_PASS;
}

static __always_inline bool same_name(const char *a, const char *b, int len)
{
	for (int i = 0; i < MCPF_CGROUP_NAME_LEN; i++) {
		if (i >= len)
			return true;
		if (a[i] != b[i])
			return false;
	}
	return true;
}

/* A cgroup directory was made (any hierarchy). When it is the agents' one
 * made again (rmdir + mkdir: same name, same parent, so the same level),
 * it has another id: without this, connect4/6 and sock_create would never
 * pick its processes again. The tracepoint fires under the cgroup lock
 * before kernfs_activate makes the directory visible, so no process can be
 * in it (cgroup.procs, clone3's CLONE_INTO_CGROUP) before settings name it.
 * Reads go through CO-RE (struct cgroup is no stable ABI); the parent is
 * cgroup_parent()'s: self.parent's cgroup. */
SEC("tp_btf/cgroup_mkdir")
int mcpf_cgroup_mkdir(__u64 *ctx)
{
	struct cgroup *cgrp = (struct cgroup *)ctx[0];  /* (struct cgroup *cgrp, const char *path) */
	char name[MCPF_CGROUP_NAME_LEN];
	struct mcpf_agents_cgroup *want;
	struct mcpf_config *cfg = get_config();
	__u32 zero = 0;
	int len;

	want = bpf_map_lookup_elem(&agents_cgroup, &zero);
	if (!cfg || !want || !want->parent_id)
		return 0;
	/* hierarchy 0: cgroup v2, whose ids the other programs compare */
	if (BPF_CORE_READ(cgrp, root, hierarchy_id) != 0 || BPF_CORE_READ(cgrp, level) != (int)cfg->cgroup_level)
		return 0;
	if (BPF_CORE_READ(cgrp, self.parent, cgroup, kn, id) != want->parent_id)
		return 0;
	len = bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(cgrp, kn, name));
	if (len <= 0 || !same_name(name, want->name, len))
		return 0;
	cfg->cgroup_id = BPF_CORE_READ(cgrp, kn, id);
	return 0;
}
