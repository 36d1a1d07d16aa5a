/* The network namespaces the daemon serves. connect4/6 redirect an agent
 * to the daemon's listener in the agent's *own* namespace (its 127.0.0.1
 * is not ours), so the daemon keeps a listener pair (127.0.0.1 and ::1)
 * in every namespace that holds agents, registered in the netns_listen map
 * and marked as the daemon's in daemon_socks, and opens each redirected
 * connection's upstream socket in that namespace too, where the original
 * destination (a pod's 127.0.0.1, a pod IP, a ClusterIP) means what the
 * agent meant.
 *
 * Namespaces are found (a) at start, from the processes in --cgroup;
 * (b) as they are named in --netns-dir (ip netns, CNI plugins), before
 * any process runs in them; (c) from the netns_events ring buffer, when
 * connect4/6 meet an agent in a namespace not served yet (that one
 * connection passes or is refused per the fail mode); (d) by a sweep every
 * few seconds. A namespace no process is in and no name in --netns-dir
 * holds is let go: its listeners would otherwise keep it alive. */
#ifndef MCPF_NETNS_H
#define MCPF_NETNS_H

#include <stdint.h>
#include <sys/types.h>
#include "loop.h"
#include "netns_addrs.h"
#include "proxy.h"

struct kern_state;
struct handover_item;
struct handover_set;
struct kern_ring;

struct netns {
	struct netns *next;
	unsigned long long cookie;  /* bpf_get_netns_cookie() / SO_NETNS_COOKIE */
	dev_t dev;                  /* nsfs identity */
	ino_t ino;
	int fd;                     /* the namespace, to setns() into */
	int home_fd;                /* the daemon's own, to come back to (its own copy; the registry's for self) */
	unsigned refs;              /* the registry's, and one per connection in it (atomic) */
	bool self;                  /* the daemon's own namespace */
	bool seen;                  /* sweep mark */
	bool reported;              /* an agent's socket or connect reported it since the last sweep */
	struct listener l4, l6;
	struct netns_addrs addrs;
	struct deferred put;        /* the registry's reference, dropped at the batch's end */
};

struct netns_stats {
	unsigned long long served;       /* namespaces served now */
	unsigned long long found_total;  /* by start scan, name, event or sweep */
	unsigned long long events_total; /* ring buffer reports (agents met unserved) */
	unsigned long long released_total;
};

struct netns_registry {
	struct loop *loop;
	struct proxy *px;
	const char *cgroup;       /* --cgroup: whose processes' namespaces to serve */
	const char *dir;          /* --netns-dir: named namespaces */
	uint16_t port;            /* preferred listener port */
	int listen_map, socks_map, addrs_map, owners_map, refused_map;
	dev_t nsfs_dev;
	int home_fd;              /* the daemon's own namespace */
	struct netns *list;
	struct watch names;       /* inotify on dir */
	struct watch events;      /* the netns_events ring buffer */
	struct watch sweep;       /* timerfd */
	struct kern_ring *rb;
	struct netns_stats stats;
};

/* Serve the daemon's own namespace and every one found; start watching.
 * Listeners a previous daemon handed over (inherited, may be NULL) are
 * taken as they are, in their namespaces: the same sockets, the same
 * netns_listen entries, nothing to redirect anew. */
int netns_start(struct netns_registry *r, struct loop *loop, struct proxy *px, const struct kern_state *kern,
		const char *cgroup, const char *dir, uint16_t port, struct handover_set *inherited);
/* Stop accepting and watching. The kernel-side entries (netns_listen,
 * local_addrs) stay: for a successor that serves on the same sockets, or
 * to refuse (fail-closed) while no daemon does. Safe to call twice. */
void netns_stop(struct netns_registry *r);
/* Handover: every listener as an item (the fds stay ours); how many. */
int netns_export(const struct netns_registry *r, struct handover_item *items, int max);

/* A socket created inside ns (SOCK_NONBLOCK | SOCK_CLOEXEC), or -errno. */
int netns_socket(const struct netns *ns, int family, int type, int protocol);
/* A reference for a connection on a worker thread: the namespace stays
 * (its descriptors open) until the last one is put, even after the
 * registry let it go. netns_put(NULL) does nothing. */
struct netns *netns_get(struct netns *ns);
void netns_put(struct netns *ns);

#endif
