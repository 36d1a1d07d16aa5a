/* sock_ops and sk_msg: both ends of an agent<->daemon connection in
 * sock_pairs (and nothing else), bytes between them redirected. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <linux/tcp.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "mcpfence.skel.h"
#include "endpoint.h"
#include "harness.h"
#include "kern_fixture.h"

#define PORT_SERVER 3001
#define PORT_D4     17001
#define PORT_D6     17011

static char where[160];

/* The sockhash key of the end fd of the connection fd<->peer, as sock_ops
 * builds it: both addresses from getsockname, since getpeername on the
 * agent's end shows the original destination. */
static int sock_key(struct kern *k, int fd, int peer, struct mcpf_sock_key *key)
{
	struct sockaddr_storage l, r;
	socklen_t ll = sizeof(l), rl = sizeof(r);
	struct mcpf_endpoint el, er;

	if (getsockname(fd, (struct sockaddr *)&l, &ll) || getsockname(peer, (struct sockaddr *)&r, &rl))
		return -errno;
	endpoint_from_sockaddr(&el, &l);
	endpoint_from_sockaddr(&er, &r);
	memset(key, 0, sizeof(*key));
	key->local = el.addr;
	key->remote = er.addr;
	key->local_port = el.port;
	key->remote_port = er.port;
	key->netns = k->netns;
	return 0;
}

/* Is fd's end in sock_pairs? 1 if its entry holds fd's socket cookie. */
static int paired(struct kern *k, int fd, int peer)
{
	struct mcpf_sock_key key;
	__u64 cookie = 0;
	int err;

	if ((err = sock_key(k, fd, peer, &key)))
		return err;
	if (bpf_map_lookup_elem(bpf_map__fd(k->skel->maps.sock_pairs), &key, &cookie))
		return -errno;
	return cookie == kern_sock_cookie(fd) ? 1 : -ESTALE;
}

static int tcp_only(struct kern *k, int fd, int peer)
{
	struct mcpf_sock_key key;
	__u8 v;

	return sock_key(k, fd, peer, &key) ? -1
					   : !bpf_map_lookup_elem(bpf_map__fd(k->skel->maps.tcp_only), &key, &v);
}

/* Bytes fd's TCP has sent: none when sk_msg redirects them. */
static long long tcp_bytes_sent(int fd)
{
	struct tcp_info ti = { 0 };
	socklen_t len = sizeof(ti);

	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) ? -1 : (long long)ti.tcpi_bytes_sent;
}

/* send on from, the same bytes arrive on to */
static int carries(int from, int to, const char *msg)
{
	struct pollfd p = { .fd = to, .events = POLLIN };
	char buf[64] = "";
	ssize_t n = (ssize_t)strlen(msg);

	if (send(from, msg, n, 0) != n || poll(&p, 1, 1000) != 1 || recv(to, buf, sizeof(buf) - 1, 0) != n)
		return 0;
	return !memcmp(buf, msg, n);
}

/* An agent connects to the target at dst (redirected to the daemon's
 * listener of that family); when sockmap, both ends are paired. */
static void pair_case(struct kern *k, const char *dst, bool sockmap)
{
	struct sockaddr_storage ss;
	socklen_t len = kern_sockaddr(dst, PORT_SERVER, &ss);
	int d4, d6, c, acc, want = sockmap ? 1 : -ENOENT;
	bool v4 = strchr(dst, '.') != NULL;   /* IPv4 or v4-mapped: the IPv4 listener */
	char target[64];

	snprintf(where, sizeof(where), "connect to %s, sockmap %s", dst, sockmap ? "on" : "off");
	snprintf(target, sizeof(target), ss.ss_family == AF_INET ? "%s:%u" : "[%s]:%u", dst, PORT_SERVER);
	KERN_CHECK(where, kern_case_new(k) == 0);
	KERN_CHECK(where, kern_settings(k, KERN_CG_AGENTS, false, sockmap) == 0);
	KERN_CHECK(where, kern_targets(k, target, "srv") == 0);
	KERN_CHECK(where, kern_serve(k, PORT_D4, PORT_D6) == 0);
	KERN_CHECK(where, kern_enter(k, KERN_CG_DAEMON) == 0);
	KERN_CHECK(where, (d4 = kern_listen(k, "127.0.0.1", PORT_D4)) >= 0);
	KERN_CHECK(where, (d6 = kern_listen(k, "::1", PORT_D6)) >= 0);
	KERN_CHECK(where, kern_mark(k, d4, MCPF_SOCK_LISTENER) == 0 && kern_mark(k, d6, MCPF_SOCK_LISTENER) == 0);
	KERN_CHECK(where, kern_enter(k, KERN_CG_AGENTS) == 0);
	KERN_CHECK(where, (c = kern_socket(k, ss.ss_family)) >= 0);
	KERN_CHECK(where, connect(c, (struct sockaddr *)&ss, len) == 0);
	KERN_CHECK(where, kern_enter(k, KERN_CG_DAEMON) == 0);
	KERN_CHECK(where, (acc = kern_accept(k, v4 ? d4 : d6, 1000)) >= 0);

	KERN_CHECK(where, paired(k, c, acc) == want);
	KERN_CHECK(where, paired(k, acc, c) == want);
	KERN_CHECK(where, carries(c, acc, "ping") && carries(acc, c, "pong!"));
	/* paired: sk_msg moved the bytes, TCP sent none and nothing fell back to it */
	KERN_CHECK(where, tcp_bytes_sent(c) == (sockmap ? 0 : 4) && tcp_bytes_sent(acc) == (sockmap ? 0 : 5));
	KERN_CHECK(where, tcp_only(k, c, acc) == 0 && tcp_only(k, acc, c) == 0);
}

/* With sockmap on, a connection the programs did not redirect (the caller
 * is no agent) stays out of sock_pairs at both ends. */
static void unpaired_case(struct kern *k)
{
	struct sockaddr_storage ss;
	socklen_t len = kern_sockaddr("127.0.0.1", PORT_SERVER, &ss);
	int srv, d4, c, acc;

	snprintf(where, sizeof(where), "caller outside the agents' cgroup, sockmap on");
	KERN_CHECK(where, kern_case_new(k) == 0);
	KERN_CHECK(where, kern_settings(k, KERN_CG_AGENTS, false, true) == 0);
	KERN_CHECK(where, kern_targets(k, "127.0.0.1:3001", "srv") == 0);
	KERN_CHECK(where, kern_serve(k, PORT_D4, PORT_D6) == 0);
	KERN_CHECK(where, kern_enter(k, KERN_CG_DAEMON) == 0);
	KERN_CHECK(where, (srv = kern_listen(k, "127.0.0.1", PORT_SERVER)) >= 0);
	KERN_CHECK(where, (d4 = kern_listen(k, "127.0.0.1", PORT_D4)) >= 0);
	KERN_CHECK(where, kern_mark(k, d4, MCPF_SOCK_LISTENER) == 0);
	KERN_CHECK(where, kern_enter(k, KERN_CG_OTHER) == 0);
	KERN_CHECK(where, (c = kern_socket(k, AF_INET)) >= 0);
	KERN_CHECK(where, connect(c, (struct sockaddr *)&ss, len) == 0);
	KERN_CHECK(where, kern_enter(k, KERN_CG_DAEMON) == 0);
	KERN_CHECK(where, (acc = kern_accept(k, srv, 1000)) >= 0);
	KERN_CHECK(where, paired(k, c, acc) == -ENOENT && paired(k, acc, c) == -ENOENT);
	KERN_CHECK(where, carries(c, acc, "ping") && carries(acc, c, "pong"));
}

TEST(kern_sockops_pairs_agent_and_daemon_ends)
{
	static const char *const dsts[] = { "127.0.0.1", "::1", "::ffff:127.0.0.1" };
	struct kern k;

	if (!kern_require())
		return;
	CHECK(kern_open(&k) == 0);
	for (size_t i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
		pair_case(&k, dsts[i], true);
		kern_case_end(&k);
		pair_case(&k, dsts[i], false);
		kern_case_end(&k);
	}
	unpaired_case(&k);
	kern_close(&k);
}
