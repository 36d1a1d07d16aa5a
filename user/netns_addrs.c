#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "kern_maps.h"
#include "log.h"
#include "netns_addrs.h"

#define MAX_ADDRS_PER_NETNS 1024
#define DUMP_SEQ 1
#define DUMP_TIMEOUT_MS 1000

static int request_dump(struct netns_addrs *a)
{
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETADDR,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = DUMP_SEQ },
		.ifa = { .ifa_family = AF_UNSPEC },
	};

	return send(a->w.fd, &req, sizeof(req), 0) == sizeof(req) ? 0 : -errno;
}

static void addr_key(unsigned char out[16], int family, const void *data)
{
	memset(out, 0, 16);
	if (family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, data, 4);
	} else {
		memcpy(out, data, 16);
	}
}

static bool addr_is_loopback16(const unsigned char a[16])
{
	static const unsigned char v4mapped[12] = { [10] = 0xff, [11] = 0xff }, one[16] = { [15] = 1 };

	return (!memcmp(a, v4mapped, 12) && a[12] == 127) || !memcmp(a, one, 16);
}

struct other_owner {
	const unsigned char *addr;
	unsigned long long gone, found;
};

static int is_other_owner(const void *key, const void *value, void *ctx)
{
	const struct mcpf_local_addr *k = key;
	struct other_owner *o = ctx;

	(void)value;
	if (k->netns == o->gone || memcmp(k->addr.b, o->addr, 16))
		return 0;
	o->found = k->netns;
	return 1;
}

/* One namespace more (+1) or less (-1) has addr: the entry goes at 0.
 * Only the main thread writes it. The namespace it names must be the
 * one that has it when one does (connect4/6 then judge the address as
 * that namespace's registered server): when the one named goes and one
 * is left, that one is looked up in local_addrs. */
static void count_owner(struct netns_addrs *a, const unsigned char addr[16], int delta)
{
	struct mcpf_addr_owners o = { 0 };
	union mcpf_addr key;
	int err;

	/* every namespace has its loopback addresses: they are nobody's to judge by */
	if (addr_is_loopback16(addr))
		return;
	memcpy(key.b, addr, 16);
	if (kern_map_lookup(a->owners_fd, &key, &o) && delta < 0)
		return;
	o.count += (__u32)delta;
	if (delta > 0) {
		o.netns = a->netns;
	} else if (o.count == 1 && o.netns == a->netns) {
		struct other_owner other = { addr, a->netns, 0 };

		kern_map_dump(a->map_fd, sizeof(struct mcpf_local_addr), sizeof(__u8), 0, is_other_owner, &other);
		o.netns = other.found;  /* 0, no namespace, if the map disagrees: the loopback server then */
	}
	err = o.count ? kern_map_update(a->owners_fd, &key, &o, BPF_ANY) : kern_map_delete(a->owners_fd, &key);
	if (err)
		log_warn("local_addr_owners: %s", strerror(-err));
}

static void add_addr(struct netns_addrs *a, const unsigned char addr[16])
{
	struct mcpf_local_addr key = { .netns = a->netns };
	__u8 one = 1;
	int err;

	for (size_t i = 0; i < a->n; i++)
		if (!memcmp(a->addrs[i], addr, 16))
			return;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		void *p;

		if (cap > MAX_ADDRS_PER_NETNS || !(p = realloc(a->addrs, cap * 16))) {
			log_warn("netns %llu: too many local addresses; others are not matched", a->netns);
			return;
		}
		a->addrs = p;
		a->cap = cap;
	}
	memcpy(key.addr.b, addr, 16);
	if ((err = kern_map_update(a->map_fd, &key, &one, BPF_ANY))) {
		log_warn("local_addrs: %s", strerror(-err));
		return;
	}
	count_owner(a, addr, +1);
	memcpy(a->addrs[a->n++], addr, 16);
}

static void del_addr(struct netns_addrs *a, const unsigned char addr[16])
{
	struct mcpf_local_addr key = { .netns = a->netns };

	for (size_t i = 0; i < a->n; i++) {
		if (memcmp(a->addrs[i], addr, 16))
			continue;
		memcpy(key.addr.b, addr, 16);
		kern_map_delete(a->map_fd, &key);
		count_owner(a, addr, -1);
		memcpy(a->addrs[i], a->addrs[--a->n], 16);
		return;
	}
}

static void on_addr_msg(struct netns_addrs *a, const struct nlmsghdr *nh)
{
	const struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	const struct rtattr *rta = IFA_RTA(ifa);
	int len = IFA_PAYLOAD(nh);
	const void *local = NULL, *address = NULL;
	unsigned char key[16];
	size_t want;

	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return;
	want = ifa->ifa_family == AF_INET ? 4 : 16;
	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (RTA_PAYLOAD(rta) != want)
			continue;
		if (rta->rta_type == IFA_LOCAL)
			local = RTA_DATA(rta);
		else if (rta->rta_type == IFA_ADDRESS)
			address = RTA_DATA(rta);
	}
	/* IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's
	 * on point-to-point links); IPv6 only sends IFA_ADDRESS */
	if (!local)
		local = address;
	if (!local)
		return;
	addr_key(key, ifa->ifa_family, local);
	if (nh->nlmsg_type == RTM_NEWADDR)
		add_addr(a, key);
	else
		del_addr(a, key);
}

/* The messages in buf[0..n): addresses go to the map. 1 once the dump
 * (sequence 1) is done, -errno if it failed, else 0. */
static int on_messages(struct netns_addrs *a, const char *buf, size_t n)
{
	int ret = 0;

	/* NLMSG_OK mixes signed and unsigned lengths (clang warns): the same
	 * walk with the bounds spelled out */
	for (size_t off = 0; off + sizeof(struct nlmsghdr) <= n;) {
		const struct nlmsghdr *nh = (const struct nlmsghdr *)(buf + off);

		if (nh->nlmsg_len < sizeof(*nh) || nh->nlmsg_len > n - off)
			break;
		if (nh->nlmsg_type == RTM_NEWADDR || nh->nlmsg_type == RTM_DELADDR)
			on_addr_msg(a, nh);
		else if (nh->nlmsg_seq == DUMP_SEQ && nh->nlmsg_type == NLMSG_DONE)
			ret = 1;
		else if (nh->nlmsg_seq == DUMP_SEQ && nh->nlmsg_type == NLMSG_ERROR &&
			 nh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr)))
			ret = ((const struct nlmsgerr *)NLMSG_DATA(nh))->error < 0
				      ? ((const struct nlmsgerr *)NLMSG_DATA(nh))->error : -EIO;
		off += NLMSG_ALIGN(nh->nlmsg_len);
	}
	return ret;
}

static void on_readable(struct watch *w, uint32_t revents)
{
	struct netns_addrs *a = container_of(w, struct netns_addrs, w);
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));

	(void)revents;
	for (;;) {
		ssize_t n = recv(w->fd, buf, sizeof(buf), 0);

		if (n < 0) {
			if (errno == ENOBUFS) {
				/* events were lost: read the whole table again */
				request_dump(a);
				continue;
			}
			return;
		}
		on_messages(a, buf, (size_t)n);
	}
}

/* The first dump, read to its end before the namespace counts as served:
 * until its addresses are in the map, connect4/6 could not tell its own
 * address (a pod IP) from a remote one. */
static int read_dump(struct netns_addrs *a)
{
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct pollfd p = { .fd = a->w.fd, .events = POLLIN };
	int ret = 0;

	while (!ret) {
		ssize_t n;

		if (poll(&p, 1, DUMP_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		n = recv(a->w.fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		ret = on_messages(a, buf, (size_t)n);
	}
	return ret < 0 ? ret : 0;
}

int netns_addrs_open(struct netns_addrs *a, struct loop *loop, int map_fd, int owners_fd, unsigned long long netns,
		     int sock)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR };
	int err;

	memset(a, 0, sizeof(*a));
	a->loop = loop;
	a->map_fd = map_fd;
	a->owners_fd = owners_fd;
	a->netns = netns;
	a->w.cb = on_readable;
	a->w.fd = sock;
	if (bind(a->w.fd, (struct sockaddr *)&sa, sizeof(sa)))
		err = -errno;
	else if (!(err = request_dump(a)) && !(err = read_dump(a)) && loop_watch(loop, &a->w, EPOLLIN))
		err = -errno;
	if (err)
		netns_addrs_close(a, true);
	return err;
}

void netns_addrs_close(struct netns_addrs *a, bool forget)
{
	struct mcpf_local_addr key = { .netns = a->netns };

	if (a->loop)
		loop_close(a->loop, &a->w);
	for (size_t i = 0; forget && i < a->n; i++) {
		memcpy(key.addr.b, a->addrs[i], 16);
		kern_map_delete(a->map_fd, &key);
		count_owner(a, a->addrs[i], -1);
	}
	free(a->addrs);
	a->addrs = NULL;
	a->n = a->cap = 0;
}

struct prune {
	bool (*keep)(void *ctx, unsigned long long netns);
	void *ctx;
};

static bool not_kept(const void *key, void *ctx)
{
	const struct prune *p = ctx;

	return !p->keep(p->ctx, ((const struct mcpf_local_addr *)key)->netns);
}

void netns_addrs_prune(int map_fd, bool (*keep)(void *ctx, unsigned long long netns), void *ctx)
{
	struct prune p = { keep, ctx };

	kern_map_prune(map_fd, sizeof(struct mcpf_local_addr), not_kept, &p);
}
