/* The kernel side without the daemon: the real skeleton
 * (build/mcpfence.skel.h) loaded with no map pinned anywhere, its programs
 * attached to a private cgroup v2 tree, and each case in a fresh network
 * namespace of its own, so the test_kern_* tests assert what the programs
 * do to real loopback sockets. The process itself moves between the
 * tree's cgroups (the programs decide by the calling task's cgroup) and
 * returns to its own at kern_close.
 *
 *   TEST(kern_something)
 *   {
 *       struct kern k;
 *
 *       if (!kern_require())          // no BPF here: skipped, or failed under CI=true
 *           return;
 *       CHECK(kern_open(&k) == 0);
 *       body(&k);                     // CHECKs here; kern_case_new/_end per case
 *       kern_close(&k);               // whatever body did
 *   }
 */
#ifndef MCPF_UNIT_KERN_FIXTURE_H
#define MCPF_UNIT_KERN_FIXTURE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/types.h>
#include "harness.h"
#include "mcpfence_abi.h"

/* The cgroups of the tree (all below its root, where the programs are
 * attached) and the process's own, outside it. */
enum kern_cg { KERN_CG_HOME, KERN_CG_DAEMON, KERN_CG_AGENTS, KERN_CG_OTHER, KERN_CG_COUNT };

#define KERN_CASE_FDS 16

#define KERN_LINKS 6

struct kern {
	struct mcpfence *skel;
	bool sk_msg_attached;
	int root_fd;                         /* the tree's root: attach point */
	int links[KERN_LINKS];               /* our programs' cgroup links */
	int lb_prog, lb_link;                /* kern_lb_first's */
	char root[PATH_MAX];
	char cg[KERN_CG_COUNT][PATH_MAX];
	uint64_t cg_id[KERN_CG_COUNT];
	unsigned cg_level[KERN_CG_COUNT];
	int home_netns;                      /* the process's own network namespace */
	/* the current case */
	bool in_case_netns;
	__u64 netns;                         /* its namespace's cookie */
	int fds[KERN_CASE_FDS];
	int nfds;
};

/* Can this machine load and attach BPF programs (root, a cgroup2 mount,
 * bpf() allowed)? If not, the running test is skipped with the reason, or
 * under CI=true failed with it (once; later kern tests are skipped), as
 * tests/run.sh treats the integration tests. */
bool kern_require(void);

/* Load, attach everything to a new cgroup tree (sk_msg to sock_pairs,
 * cgroup_mkdir to its tracepoint).
 * 0, or -errno with the reason printed and nothing left behind. */
int kern_open(struct kern *k);
/* Back to the process's own cgroup and namespace; detach, unload, remove
 * the tree. Safe after any failure. */
void kern_close(struct kern *k);

/* Move this process into cgroup cg. */
int kern_enter(struct kern *k, enum kern_cg cg);

/* A case: a fresh network namespace (lo up) for this thread, k->netns its
 * cookie; kern_case_end closes the case's sockets and returns to the
 * process's own namespace. */
int kern_case_new(struct kern *k);
void kern_case_end(struct kern *k);

/* settings: agents are the tasks in cgroup agents; no listener in a
 * namespace means EPERM when fail_closed; pairs go into sock_pairs when
 * sockmap. agents_cgroup: agents' parent and name, as the daemon writes it. */
int kern_settings(struct kern *k, enum kern_cg agents, bool fail_closed, bool sockmap);
/* rmdir (unless gone already) and mkdir cgroup cg (nothing may be in it):
 * k->cg_id[cg] is the new directory's id. */
int kern_remake(struct kern *k, enum kern_cg cg);
/* Detach cgroup_mkdir, as on a kernel that cannot run it. */
int kern_untrace(struct kern *k);
/* targets holds exactly endpoint (as a policy writes it: "127.0.0.1:3001",
 * "[::1]:3001", ":3001") for server, target_ports rebuilt from it. */
int kern_targets(struct kern *k, const char *endpoint, const char *server);
/* ... and one more, keeping those there. */
int kern_target_add(struct kern *k, const char *endpoint, const char *server);
/* netns_listen for the case's namespace (0: no listener of that family). */
int kern_serve(struct kern *k, uint16_t port4, uint16_t port6);
/* netns_refused holds the case's namespace (the daemon could not serve
 * it, or let it go). */
int kern_refuse(struct kern *k);
/* daemon_alive: no daemon ever beat (KERN_NO_BEAT), a daemon beat just
 * now (KERN_BEATING), or its last beat is past the grace period
 * (KERN_BEAT_STALE: it died a while ago). */
enum kern_beat { KERN_NO_BEAT, KERN_BEATING, KERN_BEAT_STALE };
int kern_alive(struct kern *k, enum kern_beat beat);
/* IPv4 address addr on the case's lo (a namespace's own address, like a
 * pod IP), and in local_addrs when known (as the daemon's netlink feed
 * puts it there). */
int kern_own_addr(struct kern *k, const char *addr, bool known);
/* local_addr_owners: IPv4 addr is the own address of that many other
 * served namespaces (0: of none; 1: of KERN_ELSEWHERE_NETNS, a cookie no
 * case has); kern_elsewhere_has: addr is an address of that namespace too. */
#define KERN_ELSEWHERE_NETNS 1ULL
int kern_elsewhere(struct kern *k, const char *addr, unsigned owners);
int kern_elsewhere_has(struct kern *k, const char *addr);
/* A connect-time load balancer, as Cilium's socket LB is: a connect4
 * program of its own rewriting vip:vport to 127.0.0.1:port, attached
 * before ours was (ours is then attached again, as a starting daemon
 * attaches it). */
int kern_lb_first(struct kern *k, const char *vip, uint16_t vport, uint16_t port);
/* daemon_socks mark (MCPF_SOCK_*) on socket fd. */
int kern_mark(struct kern *k, int fd, __u32 mark);

/* Sockets of the case (closed by kern_case_end): a TCP socket of family,
 * and a non-blocking TCP listener on addr:port (a v6 wildcard is dual
 * stack). fd or -errno. */
int kern_socket(struct kern *k, int family);
int kern_listen(struct kern *k, const char *addr, uint16_t port);
/* A connection accepted on listener fd within timeout_ms, or -errno. */
int kern_accept(struct kern *k, int fd, int timeout_ms);

/* addr ("127.0.0.1", "::ffff:0.0.0.0"...) and port as a sockaddr (family
 * from the text) or as the kernel's key (IPv4 v4-mapped). */
socklen_t kern_sockaddr(const char *addr, uint16_t port, struct sockaddr_storage *ss);
void kern_endpoint(const char *addr, uint16_t port, struct mcpf_endpoint *ep);
/* The socket's local or peer address as an endpoint, "" on error. */
const char *kern_local_str(int fd, char buf[64]);
const char *kern_peer_str(int fd, char buf[64]);

/* What the daemon does with an accepted socket: its peer address and
 * namespace cookie as the conns key. 0, or -errno (-ENOENT: no record). */
int kern_conn_of(struct kern *k, int accepted, struct mcpf_conn_key *key, struct mcpf_conn *out);
/* SO_NETNS_COOKIE / SO_COOKIE of fd, 0 on error. */
__u64 kern_netns_cookie(int fd);
__u64 kern_sock_cookie(int fd);

/* CHECK and CHECK_STR_EQ for table rows: the failure names the case
 * (a string the test keeps up to date), not just the line. */
#define KERN_CHECK(where, cond)                                                       \
	do {                                                                          \
		if (!(cond)) {                                                        \
			unit_fail(__FILE__, __LINE__, "%s: %s", (where), #cond);      \
			return;                                                       \
		}                                                                     \
	} while (0)

#define KERN_CHECK_STR_EQ(where, actual, expected)                                    \
	do {                                                                          \
		const char *kern_a_ = (actual), *kern_e_ = (expected);                \
		if (strcmp(kern_a_, kern_e_)) {                                       \
			unit_fail(__FILE__, __LINE__, "%s: %s == %s (got \"%s\", want \"%s\")", \
				  (where), #actual, #expected, kern_a_, kern_e_);     \
			return;                                                       \
		}                                                                     \
	} while (0)

#endif /* MCPF_UNIT_KERN_FIXTURE_H */
