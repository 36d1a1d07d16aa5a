// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * mcpfence kernel side.
 *
 *   connect4/6      agent connects to a registered MCP endpoint: remember
 *                   where it wanted to go and who it is, send it to the
 *                   daemon's listener instead.
 *   getpeername4/6  the agent keeps seeing the address it asked for.
 *   sockops         once the agent's source port exists, publish the
 *                   record under that address for the daemon; put both
 *                   ends of agent<->daemon connections in sock_pairs.
 *   sk_msg          move bytes between the two ends of such a pair
 *                   without a trip through loopback TCP.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "addr.h"
#include "maps.h"
#include "policy_maps.h"
#include "stats_maps.h"

#define AF_INET  2
#define AF_INET6 10

/* cgroup sock_addr verdicts */
#define CONNECT_OK     1
#define CONNECT_REFUSE 0

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline struct mcpf_config *get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&settings, &zero);
}

/* The registered endpoint dst reaches: exact address first, then the
 * port's wildcard; *key is set to the entry that matched. */
static __always_inline struct mcpf_target *find_target(const struct mcpf_endpoint *dst,
							struct mcpf_endpoint *key)
{
	struct mcpf_target *t;

	*key = *dst;
	t = bpf_map_lookup_elem(&targets, key);
	if (t)
		return t;
	__builtin_memset(key->addr, 0, sizeof(key->addr));
	return bpf_map_lookup_elem(&targets, key);
}

/* Is the daemon's listener there to take the connection? Looked up in the
 * caller's network namespace, so a crashed or killed daemon is noticed on
 * the very next connect(). */
static __always_inline bool daemon_listening(struct bpf_sock_addr *ctx,
					     const struct mcpf_config *cfg, bool v4)
{
	struct bpf_sock_tuple tuple = {};
	struct bpf_sock *sk;

	if (v4) {
		tuple.ipv4.daddr = cfg->listen_addr4;
		tuple.ipv4.dport = bpf_htons(cfg->listen_port);
		sk = bpf_sk_lookup_tcp(ctx, &tuple, sizeof(tuple.ipv4), BPF_F_CURRENT_NETNS, 0);
	} else {
		__builtin_memcpy(tuple.ipv6.daddr, cfg->listen_addr6, 16);
		tuple.ipv6.dport = bpf_htons(cfg->listen_port);
		sk = bpf_sk_lookup_tcp(ctx, &tuple, sizeof(tuple.ipv6), BPF_F_CURRENT_NETNS, 0);
	}
	if (!sk)
		return false;
	bpf_sk_release(sk);
	return true;
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

/* Common part of connect4/6: returns the matching target's config when the
 * connection is to be redirected, NULL when it is left alone; *verdict is
 * what to return when it is NULL. */
static __always_inline struct mcpf_config *
should_redirect(struct bpf_sock_addr *ctx, const struct mcpf_endpoint *dst, bool v4, int *verdict)
{
	struct mcpf_config *cfg = get_config();
	struct mcpf_endpoint target;
	struct mcpf_target *t;

	*verdict = CONNECT_OK;
	if (!cfg || ctx->type != SOCK_STREAM)
		return NULL;
	/* The daemon's own upstream sockets carry its mark: never loop. */
	if (cfg->mark && ctx->sk->mark == cfg->mark)
		return NULL;
	t = find_target(dst, &target);
	if (!t)
		return NULL;
	if (!daemon_listening(ctx, cfg, v4) || !record_origin(ctx, dst, &target, t)) {
		*verdict = cfg->fail_closed ? CONNECT_REFUSE : CONNECT_OK;
		return NULL;
	}
	return cfg;
}

SEC("cgroup/connect4")
int mcpf_connect4(struct bpf_sock_addr *ctx)
{
	struct mcpf_endpoint dst = {};
	struct mcpf_config *cfg;
	int verdict;

	addr_from4(dst.addr, ctx->user_ip4);
	dst.port = bpf_ntohs((__u16)ctx->user_port);
	cfg = should_redirect(ctx, &dst, true, &verdict);
	if (!cfg)
		return verdict;
	ctx->user_ip4 = cfg->listen_addr4;
	ctx->user_port = bpf_htons(cfg->listen_port);
	return CONNECT_OK;
}

SEC("cgroup/connect6")
int mcpf_connect6(struct bpf_sock_addr *ctx)
{
	__u32 ip6[4] = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3] };
	struct mcpf_endpoint dst = {};
	struct mcpf_config *cfg;
	bool v4 = addr_is_v4mapped(ip6);
	int verdict;

	addr_from6(dst.addr, ip6);
	dst.port = bpf_ntohs((__u16)ctx->user_port);
	cfg = should_redirect(ctx, &dst, v4, &verdict);
	if (!cfg)
		return verdict;
	if (v4) {
		/* v4-mapped: stays IPv4 on the wire, goes to the IPv4 listener */
		ctx->user_ip6[0] = 0;
		ctx->user_ip6[1] = 0;
		ctx->user_ip6[2] = bpf_htonl(0xffff);
		ctx->user_ip6[3] = cfg->listen_addr4;
	} else {
		const __u32 *l6 = (const __u32 *)cfg->listen_addr6;

		ctx->user_ip6[0] = l6[0];
		ctx->user_ip6[1] = l6[1];
		ctx->user_ip6[2] = l6[2];
		ctx->user_ip6[3] = l6[3];
	}
	ctx->user_port = bpf_htons(cfg->listen_port);
	return CONNECT_OK;
}

SEC("cgroup/getpeername4")
int mcpf_getpeername4(struct bpf_sock_addr *ctx)
{
	struct mcpf_conn *c = bpf_sk_storage_get(&conn_origin, ctx->sk, 0, 0);

	if (c) {
		ctx->user_ip4 = ((const __u32 *)c->orig_dst.addr)[3];
		ctx->user_port = bpf_htons(c->orig_dst.port);
	}
	return 1;
}

SEC("cgroup/getpeername6")
int mcpf_getpeername6(struct bpf_sock_addr *ctx)
{
	struct mcpf_conn *c = bpf_sk_storage_get(&conn_origin, ctx->sk, 0, 0);

	if (c) {
		const __u32 *a = (const __u32 *)c->orig_dst.addr;

		ctx->user_ip6[0] = a[0];
		ctx->user_ip6[1] = a[1];
		ctx->user_ip6[2] = a[2];
		ctx->user_ip6[3] = a[3];
		ctx->user_port = bpf_htons(c->orig_dst.port);
	}
	return 1;
}

/* sock_ops and sk_msg both describe a socket by family + addresses + ports;
 * remote_port arrives shifted into network order, local_port in host order. */
#define SOCK_KEY_FROM(ctx, k)                                                   \
	do {                                                                    \
		if ((ctx)->family == AF_INET) {                                 \
			addr_from4((k)->local, (ctx)->local_ip4);               \
			addr_from4((k)->remote, (ctx)->remote_ip4);             \
		} else {                                                        \
			__u32 l6[4] = { (ctx)->local_ip6[0], (ctx)->local_ip6[1], \
					(ctx)->local_ip6[2], (ctx)->local_ip6[3] }; \
			__u32 r6[4] = { (ctx)->remote_ip6[0], (ctx)->remote_ip6[1], \
					(ctx)->remote_ip6[2], (ctx)->remote_ip6[3] }; \
			addr_from6((k)->local, l6);                             \
			addr_from6((k)->remote, r6);                            \
		}                                                               \
		(k)->local_port = (ctx)->local_port;                            \
		(k)->remote_port = bpf_ntohl((ctx)->remote_port);               \
		(k)->netns = bpf_get_netns_cookie(ctx);                         \
	} while (0)

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
		return 1;
	cfg = get_config();
	if (!cfg)
		return 1;

	switch (ops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB: {
		/* An agent socket we redirected, now with its source port. */
		struct mcpf_conn_key agent = {};
		struct bpf_sock *sk = ops->sk;
		struct mcpf_conn *c;

		if (!sk)
			return 1;
		c = bpf_sk_storage_get(&conn_origin, sk, 0, 0);
		if (!c)
			return 1;
		SOCK_KEY_FROM(ops, &key);
		agent.netns = key.netns;
		__builtin_memcpy(agent.agent.addr, key.local, sizeof(agent.agent.addr));
		agent.agent.port = (__u16)ops->local_port;
		bpf_map_update_elem(&conns, &agent, c, BPF_ANY);
		if (cfg->sockmap)
			add_pair_end(ops, &key);
		break;
	}
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		/* The daemon's end of an agent connection. */
		if (!cfg->sockmap || ops->local_port != cfg->listen_port)
			return 1;
		SOCK_KEY_FROM(ops, &key);
		add_pair_end(ops, &key);
		break;
	}
	return 1;
}

SEC("sk_msg")
int mcpf_sk_msg(struct sk_msg_md *msg)
{
	struct mcpf_sock_key self = {}, peer = {};
	__u8 one = 1;

	SOCK_KEY_FROM(msg, &self);
	if (bpf_map_lookup_elem(&tcp_only, &self))
		return SK_PASS;
	__builtin_memcpy(peer.local, self.remote, sizeof(peer.local));
	__builtin_memcpy(peer.remote, self.local, sizeof(peer.remote));
	peer.local_port = self.remote_port;
	peer.remote_port = self.local_port;
	peer.netns = self.netns;
	/* Peer not (yet) in the map: these bytes take TCP, and so must every
	 * later byte of this socket, or they would overtake these. */
	if (bpf_msg_redirect_hash(msg, &sock_pairs, &peer, BPF_F_INGRESS) != SK_PASS)
		bpf_map_update_elem(&tcp_only, &self, &one, BPF_ANY);
	return SK_PASS;
}
