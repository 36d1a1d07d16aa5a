#include "kern_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "mcpfence.skel.h"
#include "kern_cgroup.h"
#include "common.h"
#include "endpoint.h"
#include "harness.h"
#include "sysfs.h"
#include "kern_loader.h"
#include "kern_target_ports.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static const char *const cg_names[KERN_CG_COUNT] = { NULL, "daemon", "agents", "other" };

/* Why this machine cannot run the kern tests, or NULL. The environment's
 * shortcomings only (the same as tests/lib/preflight.mjs): a program the
 * kernel refuses is a failure, reported by kern_open. */
static const char *kern_unavailable(void)
{
	static char why[256];
	char mnt[PATH_MAX];
	int fd;

	if (geteuid() != 0) {
		snprintf(why, sizeof(why), "not root (uid %u); cgroup BPF programs need CAP_BPF/CAP_NET_ADMIN/CAP_SYS_ADMIN",
			 geteuid());
		return why;
	}
	if (cgroup2_mount(mnt, sizeof(mnt)))
		return "no cgroup2 mount in /proc/mounts";
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);
	if (fd < 0) {
		snprintf(why, sizeof(why), "bpf() refused: %s", strerror(errno));
		return why;
	}
	close(fd);
	return NULL;
}

bool kern_require(void)
{
	static bool probed, reported;
	static const char *why;
	const char *ci = getenv("CI");

	if (!probed) {
		why = kern_unavailable();
		probed = true;
	}
	if (!why)
		return true;
	if (ci && !strcmp(ci, "true") && !reported)
		unit_fail(__FILE__, __LINE__, "BPF unavailable: %s (CI=true, so a failure; later kern tests skipped)",
			  why);
	else
		unit_skip("BPF unavailable: %s", why);
	reported = true;
	return false;
}

static int write_pid(const char *dir)
{
	char path[PATH_MAX + 16], pid[16];
	int fd, n, err = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(pid, sizeof(pid), "%d", getpid());
	if (write(fd, pid, n) != n)
		err = -errno;
	close(fd);
	return err;
}

int kern_enter(struct kern *k, enum kern_cg cg)
{
	return write_pid(k->cg[cg]);
}

static int make_tree(struct kern *k)
{
	static unsigned seq;
	char mnt[PATH_MAX];
	int err;

	if ((err = cgroup2_self(k->cg[KERN_CG_HOME], sizeof(k->cg[0]))) || (err = cgroup2_mount(mnt, sizeof(mnt))))
		return err;
	/* named like tests/lib/cgroup.mjs's, so tests/lib/stale.mjs removes it
	 * if this process dies before kern_close */
	if (snprintf(k->root, sizeof(k->root), "%s/mcpfence-test-unit-kern-%d-%u", mnt, getpid(), ++seq) >=
	    (int)sizeof(k->root))
		return -ENAMETOOLONG;
	if (mkdir(k->root, 0755))
		return -errno;
	for (int i = KERN_CG_DAEMON; i < KERN_CG_COUNT; i++) {
		if (snprintf(k->cg[i], sizeof(k->cg[i]), "%s/%s", k->root, cg_names[i]) >= (int)sizeof(k->cg[i]))
			return -ENAMETOOLONG;
		if (mkdir(k->cg[i], 0755))
			return -errno;
		if ((err = cgroup2_id_level(k->cg[i], &k->cg_id[i], &k->cg_level[i])))
			return err;
	}
	k->root_fd = open(k->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return k->root_fd < 0 ? -errno : 0;
}

static int load(struct kern *k)
{
	struct mcpfence *s;
	struct bpf_map *map;
	int err;

	s = k->skel = mcpfence__open();
	if (!s)
		return -errno;
	/* the daemon pins by name under --bpffs; here nothing is pinned */
	bpf_object__for_each_map(map, s->obj)
		if ((err = bpf_map__set_pin_path(map, NULL)))
			return err;
	if ((err = mcpfence__load(s)))
		return err;
	if (bpf_prog_attach(bpf_program__fd(s->progs.mcpf_sk_msg), bpf_map__fd(s->maps.sock_pairs),
			    BPF_SK_MSG_VERDICT, 0))
		return -errno;
	k->sk_msg_attached = true;
	/* as the daemon attaches them (kern_loader.c) */
	struct bpf_program *progs[KERN_LINKS] = {
		s->progs.mcpf_connect4, s->progs.mcpf_connect6, s->progs.mcpf_getpeername4,
		s->progs.mcpf_getpeername6, s->progs.mcpf_sockops, s->progs.mcpf_sock_create,
	};
	for (int i = 0; i < KERN_LINKS; i++)
		if ((k->links[i] = kern_link_first(progs[i], k->root_fd)) < 0)
			return k->links[i];
	s->links.mcpf_cgroup_mkdir = bpf_program__attach(s->progs.mcpf_cgroup_mkdir);
	return s->links.mcpf_cgroup_mkdir ? 0 : -errno;
}

int kern_open(struct kern *k)
{
	int err;

	memset(k, 0, sizeof(*k));
	k->root_fd = k->home_netns = k->lb_prog = k->lb_link = -1;
	for (int i = 0; i < KERN_LINKS; i++)
		k->links[i] = -1;
	if ((err = make_tree(k))) {
		printf("  kern: cgroup tree %s: %s\n", k->root, strerror(-err));
		goto fail;
	}
	k->home_netns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (k->home_netns < 0) {
		err = -errno;
		goto fail;
	}
	if ((err = load(k))) {
		printf("  kern: loading or attaching the programs: %s\n", strerror(-err));
		goto fail;
	}
	return 0;
fail:
	kern_close(k);
	return err;
}

void kern_close(struct kern *k)
{
	kern_case_end(k);
	if (k->cg[KERN_CG_HOME][0] && kern_enter(k, KERN_CG_HOME))
		printf("  kern: back to %s: %s\n", k->cg[KERN_CG_HOME], strerror(errno));
	if (k->sk_msg_attached)
		bpf_prog_detach2(bpf_program__fd(k->skel->progs.mcpf_sk_msg), bpf_map__fd(k->skel->maps.sock_pairs),
				 BPF_SK_MSG_VERDICT);
	for (int i = 0; i < KERN_LINKS; i++)
		if (k->links[i] >= 0)
			close(k->links[i]);  /* detaches */
	if (k->lb_link >= 0)
		close(k->lb_link);
	if (k->lb_prog >= 0)
		close(k->lb_prog);
	mcpfence__destroy(k->skel);
	k->skel = NULL;
	if (k->root_fd >= 0)
		close(k->root_fd);
	for (int i = KERN_CG_COUNT - 1; i > KERN_CG_HOME; i--)
		if (k->cg[i][0] && rmdir(k->cg[i]) && errno != ENOENT)
			printf("  kern: removing %s: %s\n", k->cg[i], strerror(errno));
	if (k->root[0] && rmdir(k->root) && errno != ENOENT)
		printf("  kern: removing %s: %s\n", k->root, strerror(errno));
	if (k->home_netns >= 0)
		close(k->home_netns);
	memset(k, 0, sizeof(*k));
	k->root_fd = k->home_netns = k->lb_prog = k->lb_link = -1;
	for (int i = 0; i < KERN_LINKS; i++)
		k->links[i] = -1;
}

static int keep(struct kern *k, int fd)
{
	if (fd < 0)
		return -errno;
	if (k->nfds == KERN_CASE_FDS) {
		close(fd);
		return -EMFILE;
	}
	k->fds[k->nfds++] = fd;
	return fd;
}

__u64 kern_netns_cookie(int fd)
{
	__u64 cookie = 0;
	socklen_t len = sizeof(cookie);

	return getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) ? 0 : cookie;
}

__u64 kern_sock_cookie(int fd)
{
	__u64 cookie = 0;
	socklen_t len = sizeof(cookie);

	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) ? 0 : cookie;
}

int kern_case_new(struct kern *k)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd, err = 0;

	kern_case_end(k);
	if (unshare(CLONE_NEWNET))
		return -errno;
	k->in_case_netns = true;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr))
			err = -errno;
	} else {
		err = -errno;
	}
	k->netns = kern_netns_cookie(fd);
	close(fd);
	return err ? err : k->netns ? 0 : -EIO;
}

void kern_case_end(struct kern *k)
{
	for (int i = 0; i < k->nfds; i++)
		close(k->fds[i]);
	k->nfds = 0;
	if (k->netns && k->skel) {
		struct mcpf_local_addr key, next;
		int fd = bpf_map__fd(k->skel->maps.local_addrs);
		void *prev = NULL;

		bpf_map_delete_elem(bpf_map__fd(k->skel->maps.netns_listen), &k->netns);
		while (!bpf_map_get_next_key(fd, prev, &next)) {
			key = next;
			if (key.netns != k->netns || bpf_map_delete_elem(fd, &key))
				prev = &key;
		}
	}
	k->netns = 0;
	if (k->in_case_netns && setns(k->home_netns, CLONE_NEWNET))
		printf("  kern: back to the process's network namespace: %s\n", strerror(errno));
	k->in_case_netns = false;
}

int kern_settings(struct kern *k, enum kern_cg agents, bool fail_closed, bool sockmap)
{
	struct mcpf_config cfg = {
		.cgroup_id = k->cg_id[agents],
		.cgroup_level = k->cg_level[agents],
		.listen_addr4 = htonl(INADDR_LOOPBACK),
		.fail_closed = fail_closed,
		.sockmap = sockmap,
		.daemon_tgid = (unsigned)getpid(),
	};
	struct kern_cgroup ac = { .settings_fd = bpf_map__fd(k->skel->maps.settings),
				    .watch_fd = bpf_map__fd(k->skel->maps.agents_cgroup) };
	struct cgroup_identity cg;
	__u32 zero = 0;
	int err;

	memcpy(cfg.listen_addr6.b, &in6addr_loopback, sizeof(cfg.listen_addr6.b));
	if (bpf_map_update_elem(ac.settings_fd, &zero, &cfg, BPF_ANY))
		return -errno;
	/* what the daemon writes for cgroup_mkdir, as it writes it */
	return (err = cgroup_identity_of(k->cg[agents], &cg)) ? err : kern_cgroup_publish(&ac, &cg);
}

int kern_remake(struct kern *k, enum kern_cg cg)
{
	if ((rmdir(k->cg[cg]) && errno != ENOENT) || mkdir(k->cg[cg], 0755))
		return -errno;
	return cgroup2_id_level(k->cg[cg], &k->cg_id[cg], &k->cg_level[cg]);
}

int kern_untrace(struct kern *k)
{
	int err = bpf_link__destroy(k->skel->links.mcpf_cgroup_mkdir);

	k->skel->links.mcpf_cgroup_mkdir = NULL;
	return err;
}

int kern_targets(struct kern *k, const char *endpoint, const char *server)
{
	int fd = bpf_map__fd(k->skel->maps.targets);
	struct mcpf_endpoint key;

	while (!bpf_map_get_next_key(fd, NULL, &key))
		if (bpf_map_delete_elem(fd, &key))
			return -errno;
	return kern_target_add(k, endpoint, server);
}

int kern_target_add(struct kern *k, const char *endpoint, const char *server)
{
	int fd = bpf_map__fd(k->skel->maps.targets);
	struct mcpf_target t = { 0 };
	struct mcpf_endpoint ep;
	char err[128];

	if (endpoint_parse(endpoint, &ep, 1, err, sizeof(err)) != 1) {
		printf("  kern: target %s: %s\n", endpoint, err);
		return -EINVAL;
	}
	snprintf(t.server, sizeof(t.server), "%s", server);
	if (bpf_map_update_elem(fd, &ep, &t, BPF_ANY))
		return -errno;
	return kern_target_ports_sync(fd, bpf_map__fd(k->skel->maps.target_ports));
}

int kern_serve(struct kern *k, uint16_t port4, uint16_t port6)
{
	struct mcpf_netns_listen v = { .port4 = port4, .port6 = port6 };

	return bpf_map_update_elem(bpf_map__fd(k->skel->maps.netns_listen), &k->netns, &v, BPF_ANY) ? -errno : 0;
}

int kern_refuse(struct kern *k)
{
	__u64 when = 1;

	return bpf_map_update_elem(bpf_map__fd(k->skel->maps.netns_refused), &k->netns, &when, BPF_ANY) ? -errno : 0;
}

int kern_alive(struct kern *k, enum kern_beat beat)
{
	struct mcpf_daemon_alive v = { .tgid = (__u32)getpid() };
	__u32 zero = 0;

	if (beat == KERN_BEATING)
		v.until_ns = boot_time_ns() + MCPF_ALIVE_GRACE_NS;
	else if (beat == KERN_BEAT_STALE)
		v.until_ns = boot_time_ns() - 1;
	return bpf_map_update_elem(bpf_map__fd(k->skel->maps.daemon_alive), &zero, &v, BPF_ANY) ? -errno : 0;
}

int kern_elsewhere(struct kern *k, const char *addr, unsigned owners)
{
	int fd = bpf_map__fd(k->skel->maps.local_addr_owners);
	struct mcpf_addr_owners o = { .count = owners, .netns = KERN_ELSEWHERE_NETNS };
	struct mcpf_endpoint ep;

	kern_endpoint(addr, 0, &ep);
	if (owners)
		return bpf_map_update_elem(fd, &ep.addr, &o, BPF_ANY) ? -errno : 0;
	return bpf_map_delete_elem(fd, &ep.addr) && errno != ENOENT ? -errno : 0;
}

int kern_lb_first(struct kern *k, const char *vip, uint16_t vport, uint16_t port)
{
	struct in_addr from, to = { htonl(INADDR_LOOPBACK) };
	short off_ip = offsetof(struct bpf_sock_addr, user_ip4), off_port = offsetof(struct bpf_sock_addr, user_port);

	if (inet_pton(AF_INET, vip, &from) != 1)
		return -EINVAL;
	/* if (ctx->user_ip4 == vip && ctx->user_port == vport)
	 *         ctx->user_ip4 = 127.0.0.1, ctx->user_port = port;
	 * return 1; */
	struct bpf_insn insns[] = {
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_1, .off = off_ip },
		{ .code = BPF_JMP | BPF_JNE | BPF_K, .dst_reg = BPF_REG_2, .off = 6, .imm = (int)from.s_addr },
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_1, .off = off_port },
		{ .code = BPF_JMP | BPF_JNE | BPF_K, .dst_reg = BPF_REG_2, .off = 4, .imm = htons(vport) },
		{ .code = BPF_ALU | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = (int)to.s_addr },
		{ .code = BPF_STX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_1, .src_reg = BPF_REG_2, .off = off_ip },
		{ .code = BPF_ALU | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = htons(port) },
		{ .code = BPF_STX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_1, .src_reg = BPF_REG_2, .off = off_port },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_CGROUP_INET4_CONNECT);

	k->lb_prog = bpf_prog_load(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "test_lb", "GPL", insns,
				   sizeof(insns) / sizeof(insns[0]), &opts);
	if (k->lb_prog < 0)
		return -errno;
	/* ours goes, the balancer comes, ours comes back */
	close(k->links[0]);
	k->links[0] = -1;
	if ((k->lb_link = bpf_link_create(k->lb_prog, k->root_fd, BPF_CGROUP_INET4_CONNECT, NULL)) < 0)
		return -errno;
	k->links[0] = kern_link_first(k->skel->progs.mcpf_connect4, k->root_fd);
	return k->links[0] < 0 ? k->links[0] : 0;
}

int kern_elsewhere_has(struct kern *k, const char *addr)
{
	struct mcpf_local_addr key = { .netns = KERN_ELSEWHERE_NETNS };
	struct mcpf_endpoint ep;
	__u8 one = 1;

	kern_endpoint(addr, 0, &ep);
	key.addr = ep.addr;
	return bpf_map_update_elem(bpf_map__fd(k->skel->maps.local_addrs), &key, &one, BPF_ANY) ? -errno : 0;
}

int kern_own_addr(struct kern *k, const char *addr, bool known)
{
	struct ifreq ifr = { .ifr_name = "lo:1" };
	struct sockaddr_in *in = (struct sockaddr_in *)&ifr.ifr_addr;
	struct mcpf_local_addr key = { .netns = k->netns };
	struct mcpf_endpoint ep;
	__u8 one = 1;
	int fd, err = 0;

	in->sin_family = AF_INET;
	if (inet_pton(AF_INET, addr, &in->sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCSIFADDR, &ifr))
		err = -errno;
	close(fd);
	if (err || !known)
		return err;
	kern_endpoint(addr, 0, &ep);
	key.addr = ep.addr;
	return bpf_map_update_elem(bpf_map__fd(k->skel->maps.local_addrs), &key, &one, BPF_ANY) ? -errno : 0;
}

int kern_mark(struct kern *k, int fd, __u32 mark)
{
	return bpf_map_update_elem(bpf_map__fd(k->skel->maps.daemon_socks), &fd, &mark, BPF_ANY) ? -errno : 0;
}

socklen_t kern_sockaddr(const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		return sizeof(*in);
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		return sizeof(*in6);
	}
	return 0;
}

void kern_endpoint(const char *addr, uint16_t port, struct mcpf_endpoint *ep)
{
	struct sockaddr_storage ss;

	kern_sockaddr(addr, port, &ss);
	endpoint_from_sockaddr(ep, &ss);
}

static const char *name_str(int fd, bool peer, char buf[64])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct mcpf_endpoint ep;

	if (peer ? getpeername(fd, (struct sockaddr *)&ss, &len) : getsockname(fd, (struct sockaddr *)&ss, &len))
		return "";
	endpoint_from_sockaddr(&ep, &ss);
	return endpoint_str(&ep, buf);
}

const char *kern_local_str(int fd, char buf[64])
{
	return name_str(fd, false, buf);
}

const char *kern_peer_str(int fd, char buf[64])
{
	return name_str(fd, true, buf);
}

int kern_socket(struct kern *k, int family)
{
	struct timeval tv = { .tv_sec = 2 };
	int fd = keep(k, socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));

	/* a blocking connect() gives up after this */
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return -errno;
	return fd;
}

int kern_listen(struct kern *k, const char *addr, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = kern_sockaddr(addr, port, &ss);
	int fd, v6only;

	if (!len)
		return -EINVAL;
	fd = keep(k, socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
	if (fd < 0)
		return fd;
	v6only = !IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&ss)->sin6_addr);
	if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)))
		return -errno;
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 16))
		return -errno;
	return fd;
}

int kern_accept(struct kern *k, int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n = poll(&p, 1, timeout_ms);

	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	return keep(k, accept4(fd, NULL, NULL, SOCK_CLOEXEC));
}

int kern_conn_of(struct kern *k, int accepted, struct mcpf_conn_key *key, struct mcpf_conn *out)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);

	memset(key, 0, sizeof(*key));
	if (getpeername(accepted, (struct sockaddr *)&peer, &len))
		return -errno;
	key->netns = kern_netns_cookie(accepted);
	endpoint_from_sockaddr(&key->agent, &peer);
	return bpf_map_lookup_elem(bpf_map__fd(k->skel->maps.conns), key, out) ? -errno : 0;
}
