/*
 * connect4/6 and getpeername4/6 against real loopback sockets, as a
 * fixture table (one row per set-up, one column per destination), and
 * the conns record the daemon looks a redirected connection up by.
 *
 * Why real connect() rather than BPF_PROG_TEST_RUN with fixture contexts:
 * the kernel has no test_run for these program types (cgroup sock_addr,
 * cgroup sock, sock_ops, sk_msg; measured on 6.18: -ENOTSUPP, 524, for all
 * seven programs), and the decisions that look pure are not: "is this a
 * target" asks bpf_sk_lookup_tcp which listener a destination reaches,
 * and the fail mode asks it whether the daemon's listener is there. So
 * every row builds that world in a network namespace of its own.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mount.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "common.h"
#include "endpoint.h"
#include "harness.h"
#include "kern_fixture.h"
#include "kern_loader.h"
#include "mcpfence.skel.h"

#define PORT_SERVER 3001    /* the MCP server, registered */
#define PORT_OTHER  3002    /* the same server process's other port: no target names it */
#define PORT_D4     17001   /* the daemon's listeners (netns_listen) */
#define PORT_D6     17011

/* Where connect() ended: accepted by the daemon's listener (of the family
 * the destination is reached by), accepted by the server, or refused. */
enum outcome { R, S, E, X };

#define OWN_ADDR "192.0.2.1"   /* the namespace's own address (on its lo), like a pod IP */

static const struct dest {
	const char *addr;
	uint16_t port;
	const char *seen;   /* what getpeername and conns' orig_dst show */
} dests[] = {
	{ "127.0.0.1", PORT_SERVER, "127.0.0.1" },
	{ "127.0.0.2", PORT_SERVER, "127.0.0.2" },
	{ "0.0.0.0", PORT_SERVER, "127.0.0.1" },       /* reaches 127.0.0.1 */
	{ "::", PORT_SERVER, "::1" },                  /* reaches ::1 */
	{ "::1", PORT_SERVER, "::1" },
	{ "::ffff:127.0.0.1", PORT_SERVER, "::ffff:127.0.0.1" },
	{ "::ffff:0.0.0.0", PORT_SERVER, "::ffff:127.0.0.1" },
	{ OWN_ADDR, PORT_SERVER, OWN_ADDR },
	{ "127.0.0.1", PORT_OTHER, "127.0.0.1" },
};
#define N_DESTS (sizeof(dests) / sizeof(dests[0]))

enum serve { SERVE_BOTH, SERVE_V4, SERVE_NONE };          /* the netns_listen entry */
enum holder { DAEMON, SQUATTER, NOBODY };                 /* who listens on PORT_D4/PORT_D6 */

/* Unless a row says otherwise: the namespace is served, the daemon's
 * listeners are there, fail-open, the socket is made and connect()ed by
 * an agent, and the daemon knows the namespace's own address. */
static const struct row {
	const char *name;
	const char *server;       /* bind address of the server (PORT_SERVER and PORT_OTHER) */
	const char *target;       /* the targets entry, as a policy writes it */
	const char *server2;      /* the same server's other socket on PORT_SERVER, if any */
	enum serve serve;
	enum holder holder;       /* SQUATTER: listening there without the daemon's mark */
	bool fail_closed;
	bool born_outside;        /* socket() by a task outside the agents' cgroup */
	bool caller_outside;      /* connect() by one */
	bool upstream;            /* socket marked MCPF_SOCK_UPSTREAM (the daemon's own) */
	bool own_addr_unknown;    /* OWN_ADDR not in local_addrs */
	bool refused;             /* the namespace is in netns_refused */
	enum kern_beat beat;      /* daemon_alive */
	enum outcome want[N_DESTS];
} rows[] = {
	/*         127.0.0.1 127.0.0.2 0.0.0.0 :: ::1 ::ffff:127.0.0.1 ::ffff:0.0.0.0 OWN_ADDR 127.0.0.1:3002 */
	{ "server 127.0.0.1, target 127.0.0.1", "127.0.0.1", "127.0.0.1:3001",
	  .want = { R, X, R, X, X, R, R, X, S } },
	/* a wildcard server answers on every local address: the same socket */
	{ "server 0.0.0.0, target 127.0.0.1", "0.0.0.0", "127.0.0.1:3001",
	  .want = { R, R, R, X, X, R, R, R, S } },
	{ "server 0.0.0.0, own address not in local_addrs", "0.0.0.0", "127.0.0.1:3001", .own_addr_unknown = true,
	  .want = { R, R, R, X, X, R, R, S, S } },
	{ "server ::, target 127.0.0.1", "::", "127.0.0.1:3001",
	  .want = { R, R, R, R, R, R, R, R, S } },
	{ "server ::, target [::1]", "::", "[::1]:3001",
	  .want = { R, R, R, R, R, R, R, R, S } },
	{ "server ::1, target [::1]", "::1", "[::1]:3001",
	  .want = { X, X, X, R, R, X, X, X, X } },
	/* any address on the port, even one nothing listens on */
	{ "server 127.0.0.1, target *:3001", "127.0.0.1", ":3001",
	  .want = { R, R, R, R, R, R, R, R, S } },
	{ "namespace not served, fail-open", "::", "127.0.0.1:3001", .serve = SERVE_NONE,
	  .want = { S, S, S, S, S, S, S, S, S } },
	/* a daemon runs: it is about to serve the namespace, never pass meanwhile */
	{ "namespace not served, fail-open, daemon running", "::", "127.0.0.1:3001", .serve = SERVE_NONE,
	  .beat = KERN_BEATING,
	  .want = { E, E, E, E, E, E, E, E, S } },
	{ "namespace not served, fail-open, daemon gone past its grace", "::", "127.0.0.1:3001", .serve = SERVE_NONE,
	  .beat = KERN_BEAT_STALE,
	  .want = { S, S, S, S, S, S, S, S, S } },
	{ "namespace not served, fail-closed", "::", "127.0.0.1:3001", .serve = SERVE_NONE, .fail_closed = true,
	  .want = { E, E, E, E, E, E, E, E, S } },
	/* its addresses are not known yet: whatever a listener takes on the port is the server */
	{ "namespace not served, own address not in local_addrs, fail-closed", "::", "127.0.0.1:3001",
	  .serve = SERVE_NONE, .fail_closed = true, .own_addr_unknown = true,
	  .want = { E, E, E, E, E, E, E, E, S } },
	{ "namespace not served, server 127.0.0.1, own address unknown, fail-closed", "127.0.0.1", "127.0.0.1:3001",
	  .serve = SERVE_NONE, .fail_closed = true, .own_addr_unknown = true,
	  .want = { E, X, E, X, X, E, E, X, S } },
	/* refused in either mode until served */
	{ "namespace refused, fail-open", "::", "127.0.0.1:3001", .serve = SERVE_NONE, .refused = true,
	  .own_addr_unknown = true,
	  .want = { E, E, E, E, E, E, E, E, S } },
	{ "namespace refused, then served", "::", "127.0.0.1:3001", .refused = true,
	  .want = { R, R, R, R, R, R, R, R, S } },
	/* one server, one socket per family: the unregistered one is the same server */
	{ "server 127.0.0.1 and [::1], target 127.0.0.1", "127.0.0.1", "127.0.0.1:3001", .server2 = "::1",
	  .want = { R, X, R, R, R, R, R, X, S } },
	{ "server 127.0.0.1 and [::1], target 127.0.0.1, not served, fail-closed", "127.0.0.1", "127.0.0.1:3001",
	  .server2 = "::1", .serve = SERVE_NONE, .fail_closed = true,
	  .want = { E, X, E, E, E, E, E, X, S } },
	{ "a squatter on the daemon's ports, fail-open", "::", "127.0.0.1:3001", .holder = SQUATTER,
	  .want = { S, S, S, S, S, S, S, S, S } },
	{ "a squatter on the daemon's ports, fail-closed", "::", "127.0.0.1:3001", .holder = SQUATTER,
	  .fail_closed = true,
	  .want = { E, E, E, E, E, E, E, E, S } },
	{ "daemon gone (served, nothing listening), fail-open", "::", "127.0.0.1:3001", .holder = NOBODY,
	  .want = { S, S, S, S, S, S, S, S, S } },
	{ "daemon just gone (served, nothing listening, last beat within the grace), fail-open", "::",
	  "127.0.0.1:3001", .holder = NOBODY, .beat = KERN_BEATING,
	  .want = { E, E, E, E, E, E, E, E, S } },
	{ "a squatter on the daemon's ports, fail-open, daemon running", "::", "127.0.0.1:3001", .holder = SQUATTER,
	  .beat = KERN_BEATING,
	  .want = { E, E, E, E, E, E, E, E, S } },
	{ "served, daemon running", "::", "127.0.0.1:3001", .beat = KERN_BEATING,
	  .want = { R, R, R, R, R, R, R, R, S } },
	{ "daemon gone (served, nothing listening), fail-closed", "::", "127.0.0.1:3001", .holder = NOBODY,
	  .fail_closed = true,
	  .want = { E, E, E, E, E, E, E, E, S } },
	{ "IPv4 listener only, fail-closed", "::", "127.0.0.1:3001", .serve = SERVE_V4, .fail_closed = true,
	  .want = { R, R, R, E, E, R, R, R, S } },
	{ "caller outside the agents' cgroup", "::", "127.0.0.1:3001", .born_outside = true, .caller_outside = true,
	  .want = { S, S, S, S, S, S, S, S, S } },
	/* by the caller, not the socket */
	{ "socket made outside, connect()ed by an agent", "::", "127.0.0.1:3001", .born_outside = true,
	  .want = { R, R, R, R, R, R, R, R, S } },
	{ "socket made by an agent, connect()ed from outside", "::", "127.0.0.1:3001", .caller_outside = true,
	  .want = { S, S, S, S, S, S, S, S, S } },
	/* the loop guard comes before the fail mode */
	{ "the daemon's upstream socket, fail-closed", "::", "127.0.0.1:3001", .upstream = true, .fail_closed = true,
	  .want = { S, S, S, S, S, S, S, S, S } },
};

enum { L_SERVER, L_SERVER2, L_OTHER, L_D4, L_D6, L_COUNT };
static const char *const listener_names[L_COUNT] = {
	"accepted by the server on 3001", "accepted by the server on 3001", "accepted by the server on 3002",
	"accepted on the daemon's port 127.0.0.1:17001", "accepted on the daemon's port [::1]:17011",
};

static const char *want_str(const struct dest *d, enum outcome o)
{
	switch (o) {
	case R: return listener_names[strchr(d->addr, ':') && !strchr(d->addr, '.') ? L_D6 : L_D4];
	case S: return listener_names[d->port == PORT_SERVER ? L_SERVER : L_OTHER];
	case E: return "EPERM";
	case X: return "ECONNREFUSED";
	}
	return "?";
}

static char where[200];

/* Which listener took the connection (its accepted socket in *acc). */
static const char *taken_by(struct kern *k, const int ls[L_COUNT], int *acc)
{
	struct pollfd p[L_COUNT];
	const char *who = "accepted by nobody";
	int n = 0;

	for (int i = 0; i < L_COUNT; i++)
		p[i] = (struct pollfd){ .fd = ls[i], .events = POLLIN };
	if (poll(p, L_COUNT, 1000) <= 0)
		return who;
	for (int i = 0; i < L_COUNT; i++) {
		int fd = ls[i] >= 0 ? kern_accept(k, ls[i], 0) : -1;

		if (fd >= 0) {
			who = n++ ? "accepted by two listeners" : listener_names[i];
			*acc = fd;
		}
	}
	return who;
}

/* The record the daemon finds for the accepted connection acc. */
static void check_record(struct kern *k, const struct row *r, const struct dest *d, int c, int acc,
			 __u64 t0, __u64 t1)
{
	struct mcpf_endpoint want_dst, want_target;
	struct mcpf_conn_key key;
	struct mcpf_conn rec;
	char a[64], b[64], comm[32] = "";
	FILE *f;

	KERN_CHECK(where, kern_conn_of(k, acc, &key, &rec) == 0);
	KERN_CHECK(where, key.netns == k->netns);
	KERN_CHECK_STR_EQ(where, endpoint_str(&key.agent, a), kern_local_str(c, b));
	kern_endpoint(d->seen, d->port, &want_dst);
	KERN_CHECK(where, endpoint_parse(r->target, &want_target, 1, a, sizeof(a)) == 1);
	KERN_CHECK_STR_EQ(where, endpoint_str(&rec.orig_dst, a), endpoint_str(&want_dst, b));
	KERN_CHECK_STR_EQ(where, endpoint_str(&rec.target, a), endpoint_str(&want_target, b));
	KERN_CHECK_STR_EQ(where, rec.server, "srv");
	KERN_CHECK(where, rec.pid == (unsigned)getpid() && rec.tid == (unsigned)gettid());
	KERN_CHECK(where, rec.uid == getuid() && rec.gid == getgid());
	KERN_CHECK(where, rec.cgroup_id == k->cg_id[r->caller_outside ? KERN_CG_OTHER : KERN_CG_AGENTS]);
	KERN_CHECK(where, rec.start_ns >= t0 && rec.start_ns <= t1);
	if ((f = fopen("/proc/thread-self/comm", "re"))) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	KERN_CHECK_STR_EQ(where, rec.comm, comm);
}

static void run_case(struct kern *k, const struct row *r, const struct dest *d, enum outcome want)
{
	int ls[L_COUNT] = { -1, -1, -1, -1, -1 }, c, acc = -1, rc;
	struct sockaddr_storage ss;
	socklen_t len = kern_sockaddr(d->addr, d->port, &ss);
	struct mcpf_conn_key key = { 0 };
	struct mcpf_conn rec;
	const char *got;
	char a[64], b[64];
	__u64 t0, t1;

	snprintf(where, sizeof(where), "%s; connect to %s port %u", r->name, d->addr, d->port);
	KERN_CHECK(where, kern_case_new(k) == 0);
	KERN_CHECK(where, kern_settings(k, KERN_CG_AGENTS, r->fail_closed, false) == 0);
	KERN_CHECK(where, kern_targets(k, r->target, "srv") == 0);
	if (r->serve != SERVE_NONE)
		KERN_CHECK(where, kern_serve(k, PORT_D4, r->serve == SERVE_BOTH ? PORT_D6 : 0) == 0);
	KERN_CHECK(where, kern_own_addr(k, OWN_ADDR, !r->own_addr_unknown) == 0);
	if (r->refused)
		KERN_CHECK(where, kern_refuse(k) == 0);
	KERN_CHECK(where, kern_alive(k, r->beat) == 0);

	KERN_CHECK(where, kern_enter(k, KERN_CG_DAEMON) == 0);
	KERN_CHECK(where, (ls[L_SERVER] = kern_listen(k, r->server, PORT_SERVER)) >= 0);
	KERN_CHECK(where, (ls[L_OTHER] = kern_listen(k, r->server, PORT_OTHER)) >= 0);
	if (r->server2)
		KERN_CHECK(where, (ls[L_SERVER2] = kern_listen(k, r->server2, PORT_SERVER)) >= 0);
	if (r->holder != NOBODY) {
		KERN_CHECK(where, (ls[L_D4] = kern_listen(k, "127.0.0.1", PORT_D4)) >= 0);
		KERN_CHECK(where, (ls[L_D6] = kern_listen(k, "::1", PORT_D6)) >= 0);
	}
	if (r->holder == DAEMON) {
		KERN_CHECK(where, kern_mark(k, ls[L_D4], MCPF_SOCK_LISTENER) == 0);
		KERN_CHECK(where, kern_mark(k, ls[L_D6], MCPF_SOCK_LISTENER) == 0);
	}

	KERN_CHECK(where, kern_enter(k, r->born_outside ? KERN_CG_OTHER : KERN_CG_AGENTS) == 0);
	KERN_CHECK(where, (c = kern_socket(k, ss.ss_family)) >= 0);
	if (r->upstream)
		KERN_CHECK(where, kern_mark(k, c, MCPF_SOCK_UPSTREAM) == 0);
	KERN_CHECK(where, kern_enter(k, r->caller_outside ? KERN_CG_OTHER : KERN_CG_AGENTS) == 0);
	t0 = boot_time_ns();
	rc = connect(c, (struct sockaddr *)&ss, len) ? -errno : 0;
	t1 = boot_time_ns();
	KERN_CHECK(where, kern_enter(k, KERN_CG_DAEMON) == 0);

	got = rc == -EPERM ? "EPERM" : rc == -ECONNREFUSED ? "ECONNREFUSED" : rc ? strerror(-rc)
									: taken_by(k, ls, &acc);
	KERN_CHECK_STR_EQ(where, got, want_str(d, want));
	if (rc)
		return;
	/* redirected or not, the agent sees where it connected to */
	kern_endpoint(d->seen, d->port, &key.agent);
	KERN_CHECK_STR_EQ(where, kern_peer_str(c, a), endpoint_str(&key.agent, b));
	if (want == R) {
		check_record(k, r, d, c, acc, t0, t1);
		return;
	}
	/* not redirected: no record under the agent's address either */
	KERN_CHECK(where, kern_conn_of(k, acc, &key, &rec) == -ENOENT);
}

TEST(kern_connect_table)
{
	struct kern k;

	if (!kern_require())
		return;
	CHECK(kern_open(&k) == 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		for (size_t j = 0; j < N_DESTS; j++) {
			run_case(&k, &rows[i], &dests[j], rows[i].want[j]);
			kern_case_end(&k);
		}
	kern_close(&k);
}

/* Only TCP is redirected: a UDP socket "connected" to a target in an
 * unserved namespace with fail-closed is left alone. */
static void udp_body(struct kern *k)
{
	struct sockaddr_storage ss;
	socklen_t len = kern_sockaddr("127.0.0.1", PORT_SERVER, &ss);
	char a[64], b[64];
	int fd, rc;

	CHECK(kern_case_new(k) == 0);
	CHECK(kern_settings(k, KERN_CG_AGENTS, true, false) == 0);
	CHECK(kern_targets(k, "127.0.0.1:3001", "srv") == 0);
	CHECK(kern_enter(k, KERN_CG_AGENTS) == 0);
	CHECK((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0);
	rc = connect(fd, (struct sockaddr *)&ss, len) ? -errno : 0;
	snprintf(a, sizeof(a), "%s", kern_peer_str(fd, b));
	close(fd);
	CHECK_INT_EQ(rc, 0);
	CHECK_STR_EQ(a, "127.0.0.1:3001");
}

TEST(kern_connect_leaves_udp_alone)
{
	struct kern k;

	if (!kern_require())
		return;
	CHECK(kern_open(&k) == 0);
	udp_body(&k);
	kern_close(&k);
}

/* A socket redirected once, disconnected (AF_UNSPEC) and connected to a
 * port no target names keeps nothing of the first connection: getpeername
 * shows where it is connected now, and the daemon finds no record. */
static void reconnect_body(struct kern *k)
{
	struct sockaddr_storage ss;
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	struct mcpf_conn_key key;
	struct mcpf_conn rec;
	int server, other, d4, d6, c, acc;
	char a[64];

	CHECK(kern_case_new(k) == 0);
	CHECK(kern_settings(k, KERN_CG_AGENTS, false, false) == 0);
	CHECK(kern_targets(k, "127.0.0.1:3001", "srv") == 0);
	CHECK(kern_serve(k, PORT_D4, PORT_D6) == 0);
	CHECK(kern_enter(k, KERN_CG_DAEMON) == 0);
	CHECK((server = kern_listen(k, "127.0.0.1", PORT_SERVER)) >= 0);
	CHECK((other = kern_listen(k, "127.0.0.1", PORT_OTHER)) >= 0);
	CHECK((d4 = kern_listen(k, "127.0.0.1", PORT_D4)) >= 0);
	CHECK((d6 = kern_listen(k, "::1", PORT_D6)) >= 0);
	CHECK(kern_mark(k, d4, MCPF_SOCK_LISTENER) == 0);
	CHECK(kern_mark(k, d6, MCPF_SOCK_LISTENER) == 0);

	CHECK(kern_enter(k, KERN_CG_AGENTS) == 0);
	CHECK((c = kern_socket(k, AF_INET)) >= 0);
	CHECK(connect(c, (struct sockaddr *)&ss, kern_sockaddr("127.0.0.1", PORT_SERVER, &ss)) == 0);
	CHECK(kern_accept(k, d4, 1000) >= 0);
	CHECK_STR_EQ(kern_peer_str(c, a), "127.0.0.1:3001");
	CHECK(connect(c, &unspec, sizeof(unspec)) == 0);
	CHECK(connect(c, (struct sockaddr *)&ss, kern_sockaddr("127.0.0.1", PORT_OTHER, &ss)) == 0);
	CHECK(kern_enter(k, KERN_CG_DAEMON) == 0);
	CHECK((acc = kern_accept(k, other, 1000)) >= 0);
	CHECK_STR_EQ(kern_peer_str(c, a), "127.0.0.1:3002");
	CHECK_INT_EQ(kern_conn_of(k, acc, &key, &rec), -ENOENT);
}

/* One case on the real programs, cleaned up also after a failed CHECK. */
static void one_case(void (*body)(struct kern *k))
{
	struct kern k;

	if (!kern_require())
		return;
	CHECK(kern_open(&k) == 0);
	body(&k);
	kern_case_end(&k);
	kern_close(&k);
}

TEST(kern_connect_reconnect_forgets_the_redirect)
{
	one_case(reconnect_body);
}

/* A destination that is no address of the caller's namespace but another
 * served namespace's own (the host's address seen from a pod, another
 * pod's IP: a server there on a wildcard address answers on it) is the
 * registered loopback server on that port, or that namespace's registered
 * address on it: redirected. Not another port,
 * nor the address once no served namespace has it (then nothing routes
 * it from this namespace). */
#define ELSEWHERE "198.51.100.7"

static int connect_elsewhere(struct kern *k, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = kern_sockaddr(ELSEWHERE, port, &ss);
	int c = kern_socket(k, AF_INET);

	return c < 0 ? c : connect(c, (struct sockaddr *)&ss, len) ? -errno : 0;
}

static void elsewhere_body(struct kern *k)
{
	int d4, acc;
	struct mcpf_conn_key key;
	struct mcpf_conn rec;
	char a[64];

	CHECK(kern_case_new(k) == 0);
	CHECK(kern_settings(k, KERN_CG_AGENTS, false, false) == 0);
	CHECK(kern_targets(k, "127.0.0.1:3001", "srv") == 0);
	CHECK(kern_serve(k, PORT_D4, 0) == 0);
	CHECK(kern_elsewhere(k, ELSEWHERE, 1) == 0);
	CHECK(kern_enter(k, KERN_CG_DAEMON) == 0);
	CHECK((d4 = kern_listen(k, "127.0.0.1", PORT_D4)) >= 0);
	CHECK(kern_mark(k, d4, MCPF_SOCK_LISTENER) == 0);

	CHECK(kern_enter(k, KERN_CG_AGENTS) == 0);
	CHECK_INT_EQ(connect_elsewhere(k, PORT_SERVER), 0);
	CHECK(kern_enter(k, KERN_CG_DAEMON) == 0);
	CHECK((acc = kern_accept(k, d4, 1000)) >= 0);
	CHECK_INT_EQ(kern_conn_of(k, acc, &key, &rec), 0);
	CHECK_STR_EQ(endpoint_str(&rec.orig_dst, a), ELSEWHERE ":3001");
	CHECK_STR_EQ(endpoint_str(&rec.target, a), "127.0.0.1:3001");

	/* a registered address of the namespace that has dst is its server */
	CHECK(kern_target_add(k, "198.51.100.9:3001", "node") == 0);
	CHECK(kern_elsewhere_has(k, "198.51.100.9") == 0);
	CHECK(kern_enter(k, KERN_CG_AGENTS) == 0);
	CHECK_INT_EQ(connect_elsewhere(k, PORT_SERVER), 0);
	CHECK(kern_enter(k, KERN_CG_DAEMON) == 0);
	CHECK((acc = kern_accept(k, d4, 1000)) >= 0);
	CHECK_INT_EQ(kern_conn_of(k, acc, &key, &rec), 0);
	CHECK_STR_EQ(endpoint_str(&rec.target, a), "198.51.100.9:3001");
	CHECK_STR_EQ(rec.server, "node");

	/* shared by two namespaces, no loopback address registered on the port:
	 * a registered server's policy still, never a pass */
	CHECK(kern_targets(k, "198.51.100.9:3001", "node") == 0);
	CHECK(kern_elsewhere(k, ELSEWHERE, 2) == 0);
	CHECK(kern_enter(k, KERN_CG_AGENTS) == 0);
	CHECK_INT_EQ(connect_elsewhere(k, PORT_SERVER), 0);
	CHECK(kern_enter(k, KERN_CG_DAEMON) == 0);
	CHECK((acc = kern_accept(k, d4, 1000)) >= 0);
	CHECK_INT_EQ(kern_conn_of(k, acc, &key, &rec), 0);
	CHECK_STR_EQ(rec.server, "node");

	/* the caller's own address with nothing listening on it: no target,
	 * even when the daemon indexes it as some namespace's own */
	CHECK(kern_own_addr(k, OWN_ADDR, true) == 0);
	CHECK(kern_elsewhere(k, OWN_ADDR, 1) == 0);
	CHECK(kern_enter(k, KERN_CG_AGENTS) == 0);
	{
		struct sockaddr_storage ss;
		socklen_t len = kern_sockaddr(OWN_ADDR, PORT_SERVER, &ss);
		int c = kern_socket(k, AF_INET);

		CHECK(c >= 0);
		CHECK_INT_EQ(connect(c, (struct sockaddr *)&ss, len) ? -errno : 0, -ECONNREFUSED);
	}

	CHECK_INT_EQ(connect_elsewhere(k, PORT_OTHER), -ENETUNREACH);
	CHECK(kern_elsewhere(k, ELSEWHERE, 0) == 0);
	CHECK_INT_EQ(connect_elsewhere(k, PORT_SERVER), -ENETUNREACH);
}

TEST(kern_connect_another_namespaces_own_address_is_the_server)
{
	one_case(elsewhere_body);
}

/* From a namespace not served yet, the same destination is a target too:
 * refused while the daemon runs (it serves the namespace in a moment) and
 * with --fail-closed; passed only when no daemon runs, fail-open. */
static void unserved_elsewhere_body(struct kern *k)
{
	static const struct { bool fail_closed; enum kern_beat beat; int want; } modes[] = {
		{ false, KERN_BEATING, -EPERM },
		{ true, KERN_NO_BEAT, -EPERM },
		{ false, KERN_BEAT_STALE, -ENETUNREACH },  /* not redirected: nothing routes it here */
	};

	CHECK(kern_case_new(k) == 0);
	CHECK(kern_targets(k, "127.0.0.1:3001", "srv") == 0);
	CHECK(kern_elsewhere(k, ELSEWHERE, 1) == 0);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		CHECK(kern_enter(k, KERN_CG_DAEMON) == 0);
		CHECK(kern_settings(k, KERN_CG_AGENTS, modes[i].fail_closed, false) == 0);
		CHECK(kern_alive(k, modes[i].beat) == 0);
		CHECK(kern_enter(k, KERN_CG_AGENTS) == 0);
		CHECK_INT_EQ(connect_elsewhere(k, PORT_SERVER), modes[i].want);
	}
}

TEST(kern_connect_another_namespaces_own_address_from_an_unserved_one)
{
	one_case(unserved_elsewhere_body);
}

/* A connect-time load balancer attached before the daemon (Cilium's
 * socket LB rewrites a ClusterIP to a backend in connect4): the daemon's
 * connect4 runs first all the same and sees the ClusterIP the policy
 * names; the balancer then sees the daemon's listener and leaves it. */
#define CLUSTER_IP "10.96.0.10"

/* With the balancer in place (kern_lb_first): CLUSTER_IP:80 a target, the
 * server listening on PORT_SERVER (*server), the daemon on PORT_D4 (*d4). */
static void lb_serve(struct kern *k, int *server, int *d4)
{
	CHECK(kern_settings(k, KERN_CG_AGENTS, false, false) == 0);
	CHECK(kern_targets(k, CLUSTER_IP ":80", "srv") == 0);
	CHECK(kern_serve(k, PORT_D4, 0) == 0);
	CHECK(kern_enter(k, KERN_CG_DAEMON) == 0);
	CHECK((*server = kern_listen(k, "127.0.0.1", PORT_SERVER)) >= 0);
	CHECK((*d4 = kern_listen(k, "127.0.0.1", PORT_D4)) >= 0);
	CHECK(kern_mark(k, *d4, MCPF_SOCK_LISTENER) == 0);
}

/* A task of cgroup cg connects to CLUSTER_IP:80, taken on listener ls;
 * *found: 0 when the daemon would find a record for it (in *rec), or -errno. */
static void lb_connect(struct kern *k, enum kern_cg cg, int ls, struct mcpf_conn *rec, int *found)
{
	struct sockaddr_storage ss;
	struct mcpf_conn_key key;
	int c, acc;

	CHECK(kern_enter(k, cg) == 0);
	CHECK((c = kern_socket(k, AF_INET)) >= 0);
	CHECK_INT_EQ(connect(c, (struct sockaddr *)&ss, kern_sockaddr(CLUSTER_IP, 80, &ss)) ? -errno : 0, 0);
	CHECK(kern_enter(k, KERN_CG_DAEMON) == 0);
	CHECK((acc = kern_accept(k, ls, 1000)) >= 0);
	*found = kern_conn_of(k, acc, &key, rec);
}

static void lb_body(struct kern *k)
{
	struct mcpf_conn rec;
	int d4, server, found = -1;
	char a[64];

	CHECK(kern_case_new(k) == 0);
	CHECK(kern_lb_first(k, CLUSTER_IP, 80, PORT_SERVER) == 0);
	lb_serve(k, &server, &d4);
	lb_connect(k, KERN_CG_AGENTS, d4, &rec, &found);
	CHECK_INT_EQ(found, 0);
	CHECK_STR_EQ(endpoint_str(&rec.orig_dst, a), CLUSTER_IP ":80");
	/* and the balancer still balances what is not ours */
	found = 1;
	lb_connect(k, KERN_CG_OTHER, server, &rec, &found);
	CHECK_INT_EQ(found, -ENOENT);
}

TEST(kern_connect_runs_before_a_load_balancer_attached_first)
{
	one_case(lb_body);
}

/* A link pinned by a daemon that attached without BPF_F_BEFORE, behind
 * the balancer: the next daemon's adoption puts a first one in its place
 * under the same pin (swapping the program in would keep its place). */
static char adopt_pin[64];  /* in a bpffs of the test's own */

static void adopt_behind_body(struct kern *k)
{
	struct bpf_program *prog = k->skel->progs.mcpf_connect4;
	struct mcpf_conn rec;
	int d4, server, legacy, found = -1;

	CHECK(adopt_pin[0] != '\0');
	CHECK(kern_case_new(k) == 0);
	CHECK(kern_lb_first(k, CLUSTER_IP, 80, PORT_SERVER) == 0);
	/* ours as an older daemon left it: attached after the balancer, pinned */
	close(k->links[0]);
	k->links[0] = -1;
	CHECK((legacy = bpf_link_create(bpf_program__fd(prog), k->root_fd, BPF_CGROUP_INET4_CONNECT, NULL)) >= 0);
	CHECK(bpf_obj_pin(legacy, adopt_pin) == 0);
	close(legacy);
	CHECK_INT_EQ(kern_adopt_link(prog, k->root_fd, adopt_pin, "connect4"), 1);
	lb_serve(k, &server, &d4);
	lb_connect(k, KERN_CG_AGENTS, d4, &rec, &found);
	CHECK_INT_EQ(found, 0);
}

TEST(kern_adopting_a_link_behind_a_load_balancer_puts_a_first_one_in_its_place)
{
	char dir[] = "/tmp/mcpfence-unit-bpffs-XXXXXX";

	if (!kern_require())
		return;
	CHECK(mkdtemp(dir) != NULL);
	if (mount("bpf", dir, "bpf", 0, NULL) == 0) {
		snprintf(adopt_pin, sizeof(adopt_pin), "%s/connect4", dir);
		one_case(adopt_behind_body);
		unlink(adopt_pin);  /* detaches it */
		umount(dir);
	}
	rmdir(dir);
	adopt_pin[0] = '\0';
}

/* A raw IP socket would let an agent with CAP_NET_RAW hand-craft a TCP
 * handshake without connect(): refused to agents, and only to them. */
static void raw_body(struct kern *k)
{
	static const struct { int family, protocol; } kinds[] = {
		{ AF_INET, IPPROTO_RAW }, { AF_INET, IPPROTO_TCP }, { AF_INET6, IPPROTO_RAW }, { AF_INET6, IPPROTO_TCP },
	};
	int fd;

	CHECK(kern_case_new(k) == 0);
	CHECK(kern_settings(k, KERN_CG_AGENTS, false, false) == 0);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		CHECK(kern_enter(k, KERN_CG_AGENTS) == 0);
		fd = socket(kinds[i].family, SOCK_RAW | SOCK_CLOEXEC, kinds[i].protocol);
		CHECK_INT_EQ(fd < 0 ? -errno : 0, -EPERM);
		if (fd >= 0)
			close(fd);
		CHECK(kern_enter(k, KERN_CG_OTHER) == 0);
		fd = socket(kinds[i].family, SOCK_RAW | SOCK_CLOEXEC, kinds[i].protocol);
		CHECK(fd >= 0);
		close(fd);
	}
	/* datagram and stream sockets stay the agent's to make */
	CHECK(kern_enter(k, KERN_CG_AGENTS) == 0);
	CHECK((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0);
	close(fd);
	CHECK(kern_socket(k, AF_INET6) >= 0);
}

TEST(kern_sock_create_refuses_raw_to_agents)
{
	one_case(raw_body);
}
