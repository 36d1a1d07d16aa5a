#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/netlink.h>
#include "kern_loader.h"
#include "handover.h"
#include "kern_maps.h"
#include "log.h"
#include "netns.h"

/* How often the sweep looks for namespaces to serve and to let go. */
#define SWEEP_SECONDS 2
/* A name just created in --netns-dir is bind-mounted a moment later:
 * look again this soon. */
#define SOON_NS (20 * 1000 * 1000)
#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

static void enter_or_die(int fd)
{
	/* Every later socket of this thread would be made in the wrong
	 * namespace: there is no safe way to go on. */
	if (setns(fd, CLONE_NEWNET)) {
		log_error("setns back to the daemon's network namespace: %s", strerror(errno));
		abort();
	}
}

int netns_socket(const struct netns *ns, int family, int type, int protocol)
{
	int fd, err;

	type |= SOCK_NONBLOCK | SOCK_CLOEXEC;
	if (ns->self) {
		fd = socket(family, type, protocol);
		return fd < 0 ? -errno : fd;
	}
	if (setns(ns->fd, CLONE_NEWNET))
		return -errno;
	fd = socket(family, type, protocol);
	err = errno;
	enter_or_die(ns->home_fd);
	return fd < 0 ? -err : fd;
}

static struct netns *find(struct netns_registry *r, dev_t dev, ino_t ino)
{
	for (struct netns *ns = r->list; ns; ns = ns->next)
		if (ns->ino == ino && ns->dev == dev)
			return ns;
	return NULL;
}

/* A listener on the loopback address of ns: the preferred port, or any
 * port when something in the namespace already holds that one (a pod may
 * bind what it likes; netns_listen says where ours is). Marked as the
 * daemon's, which is what connect4/6 check before redirecting. */
static int listen_in(struct netns_registry *r, struct netns *ns, int family, uint16_t *port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = family == AF_INET ? sizeof(*in) : sizeof(*in6);
	__u32 mark = MCPF_SOCK_LISTENER;
	int one = 1, fd, err;

	fd = netns_socket(ns, family, SOCK_STREAM, 0);
	if (fd < 0)
		return fd;
	ss.ss_family = family;
	if (family == AF_INET) {
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		in->sin_port = htons(r->port);
	} else {
		in6->sin6_addr = in6addr_loopback;
		in6->sin6_port = htons(r->port);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* a new namespace's lo may still be down: bind all the same */
	if (family == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len)) {
		if (errno != EADDRINUSE)
			goto fail;
		if (family == AF_INET)
			in->sin_port = 0;
		else
			in6->sin6_port = 0;
		if (bind(fd, (struct sockaddr *)&ss, len))
			goto fail;
	}
	if (listen(fd, SOMAXCONN) || getsockname(fd, (struct sockaddr *)&ss, &len) ||
	    kern_sock_mark(r->socks_map, fd, mark))
		goto fail;
	*port = ntohs(family == AF_INET ? in->sin_port : in6->sin6_port);
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

static void put_deferred(struct deferred *d)
{
	netns_put(container_of(d, struct netns, put));
}

/* Connects to targets from the namespace are refused from now on, in
 * either fail mode, until it is served (netns_refused). */
static void refuse(struct netns_registry *r, unsigned long long cookie)
{
	struct timespec now;
	__u64 when;
	int err;

	clock_gettime(CLOCK_BOOTTIME, &now);
	when = (__u64)now.tv_sec * 1000000000ull + (__u64)now.tv_nsec;
	if ((err = kern_map_update(r->refused_map, &cookie, &when, BPF_ANY)))
		log_warn("network namespace %llu: netns_refused: %s", cookie, strerror(-err));
}

/* forget: the namespace is let go, its kernel-side entries go too, and
 * it is refused: no process is in it, but a socket made there may still
 * connect (an agent that left it with unshare keeps what it made). Not so
 * at a stop: a successor serves on the same sockets under the same keys,
 * or connect4/6 are to refuse (fail-closed) while no daemon runs. */
static void release(struct netns_registry *r, struct netns *ns, bool forget)
{
	if (forget) {
		refuse(r, ns->cookie);
		kern_map_delete(r->listen_map, &ns->cookie);
	}
	proxy_listener_stop(r->px, &ns->l4);
	proxy_listener_stop(r->px, &ns->l6);
	netns_addrs_close(&ns->addrs, forget);
	/* Connections in it may hold it a while longer. The registry's own
	 * reference goes at the end of this batch of events, not now: events
	 * for the watches inside it (an accept, a netlink message) may have
	 * been fetched with this one, and a worker's put must not free it
	 * under them. */
	loop_defer(r->loop, &ns->put, put_deferred);
}

struct netns *netns_get(struct netns *ns)
{
	__atomic_add_fetch(&ns->refs, 1, __ATOMIC_RELAXED);
	return ns;
}

void netns_put(struct netns *ns)
{
	if (!ns || __atomic_sub_fetch(&ns->refs, 1, __ATOMIC_ACQ_REL))
		return;
	if (!ns->self) {
		close(ns->fd);
		close(ns->home_fd);
	}
	free(ns);
}

static uint16_t bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return 0;
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* Serve the namespace nsfd refers to (taken over), on the listeners
 * given (a predecessor's, taken over too) or on new ones (-1). A
 * namespace that cannot be served (an agent in it may hold every port a
 * listener could take) is refused until a later sweep serves it. */
static int serve_on(struct netns_registry *r, int nsfd, bool self, int fd4, int fd6, const char *how)
{
	struct mcpf_netns_listen val = { 0 };
	socklen_t clen = sizeof(unsigned long long);
	__u32 mark = MCPF_SOCK_LISTENER;
	unsigned long long cookie = 0;
	struct netns *ns = NULL;
	struct stat st;
	int nl = -1, err;

	if (fstat(nsfd, &st)) {
		err = -errno;
		goto fail;
	}
	if ((ns = find(r, st.st_dev, st.st_ino))) {
		ns->seen = true;
		ns = NULL;
		err = 0;
		goto fail;  /* nothing to do: not a failure */
	}
	ns = calloc(1, sizeof(*ns));
	if (!ns) {
		err = -ENOMEM;
		goto fail;
	}
	ns->refs = 1;  /* the registry's */
	ns->fd = nsfd;
	/* its own: a connection may outlive the registry (netns_stop) */
	ns->home_fd = self ? r->home_fd : fcntl(r->home_fd, F_DUPFD_CLOEXEC, 0);
	ns->self = self;
	if (ns->home_fd < 0) {
		err = -errno;
		goto fail;
	}
	ns->dev = st.st_dev;
	ns->ino = st.st_ino;
	ns->seen = true;
	ns->l4.w.fd = ns->l6.w.fd = ns->addrs.w.fd = -1;
	/* first: the cookie, to refuse the namespace by if what follows fails */
	nl = netns_socket(ns, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	if (nl < 0 || getsockopt(nl, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &clen)) {
		err = nl < 0 ? nl : -errno;
		goto fail_fds;
	}
	ns->cookie = cookie;
	if (fd4 < 0 && fd6 < 0) {
		fd4 = listen_in(r, ns, AF_INET, &val.port4);
		fd6 = listen_in(r, ns, AF_INET6, &val.port6);
	} else {
		/* marked by the predecessor (daemon_socks is pinned); again all the same */
		if (fd4 >= 0 && !kern_sock_mark(r->socks_map, fd4, mark))
			val.port4 = bound_port(fd4);
		if (fd6 >= 0 && !kern_sock_mark(r->socks_map, fd6, mark))
			val.port6 = bound_port(fd6);
	}
	if (fd4 < 0 && fd6 < 0) {
		err = fd4;
		goto fail_fds;
	}
	if (fd4 < 0 || fd6 < 0)
		log_debug("network namespace %s: no IPv%d listener: %s", how, fd4 < 0 ? 4 : 6,
			  strerror(-(fd4 < 0 ? fd4 : fd6)));
	/* the namespace's addresses are in local_addrs once this returns */
	err = netns_addrs_open(&ns->addrs, r->loop, r->addrs_map, r->owners_map, ns->cookie, nl);
	nl = -1;
	if (err)
		goto fail_fds;
	/* each fd is the listener's from here, whether it starts or not */
	if (fd4 >= 0) {
		err = proxy_listener_start(r->px, &ns->l4, fd4, ns);
		fd4 = -1;
		if (err)
			goto fail_started;
	}
	if (fd6 >= 0) {
		err = proxy_listener_start(r->px, &ns->l6, fd6, ns);
		fd6 = -1;
		if (err)
			goto fail_started;
	}
	/* last: connect4/6 redirect here only from now on */
	if ((err = kern_map_update(r->listen_map, &ns->cookie, &val, BPF_ANY)))
		goto fail_started;
	if ((err = kern_map_delete(r->refused_map, &ns->cookie)) && err != -ENOENT)
		log_warn("network namespace %llu: netns_refused: %s", ns->cookie, strerror(-err));
	ns->next = r->list;
	r->list = ns;
	r->stats.served++;
	r->stats.found_total++;
	log_info("serving network namespace %llu (%s): listeners on ports %u/%u", ns->cookie, how,
		 val.port4, val.port6);
	return 0;

fail_started:
	proxy_listener_stop(r->px, &ns->l4);
	proxy_listener_stop(r->px, &ns->l6);
	netns_addrs_close(&ns->addrs, true);
fail_fds:
	if (fd4 >= 0)
		close(fd4);
	if (fd6 >= 0)
		close(fd6);
	if (nl >= 0)
		close(nl);
	fd4 = fd6 = -1;
	if (cookie) {
		log_warn("network namespace %llu (%s) not served: %s; connects to targets from it are refused",
			 cookie, how, strerror(-err));
		refuse(r, cookie);
		err = err ? err : -EIO;
	}
fail:
	if (err && !cookie)
		log_warn("network namespace %s not served: %s", how, strerror(-err));
	if (fd4 >= 0)
		close(fd4);
	if (fd6 >= 0)
		close(fd6);
	if (!self)
		close(nsfd);
	if (ns && !self && ns->home_fd >= 0)
		close(ns->home_fd);
	free(ns);
	return err;
}

static int serve(struct netns_registry *r, int nsfd, bool self, const char *how)
{
	return serve_on(r, nsfd, self, -1, -1, how);
}

/* The namespace of a process (or one thread of it), served if new. */
static void try_task(struct netns_registry *r, unsigned pid, unsigned tid, const char *how)
{
	char path[64], what[96];
	struct netns *ns;
	struct stat st;
	int fd;

	if (tid && tid != pid)
		snprintf(path, sizeof(path), "/proc/%u/task/%u/ns/net", pid, tid);
	else
		snprintf(path, sizeof(path), "/proc/%u/ns/net", pid);
	if (stat(path, &st) || st.st_dev != r->nsfs_dev)
		return;
	if ((ns = find(r, st.st_dev, st.st_ino))) {
		ns->seen = true;
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;  /* gone already */
	snprintf(what, sizeof(what), "%s pid %u", how, pid);
	serve(r, fd, false, what);
}

/* Every process in the cgroup subtree at dir (depth-bounded). */
static void scan_cgroup(struct netns_registry *r, const char *dir, int depth)
{
	char path[PATH_MAX];
	struct dirent *de;
	unsigned pid;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if ((f = fopen(path, "re"))) {
		while (fscanf(f, "%u", &pid) == 1)
			try_task(r, pid, 0, "cgroup");
		fclose(f);
	}
	if (depth >= 32 || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) < (int)sizeof(path))
			scan_cgroup(r, path, depth + 1);
	}
	closedir(d);
}

/* The namespace bind-mounted at path, as a descriptor that does not hold
 * the mount: one opened there would keep `umount` from working for as long
 * as the daemon serves the namespace (ip netns and CNI plugins unmount
 * lazily, an operator may not). */
static int open_unpinned(struct netns_registry *r, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), nsfd, err;

	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET)) {
		err = -errno;
		close(fd);
		return err;
	}
	nsfd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	err = -errno;
	enter_or_die(r->home_fd);
	close(fd);
	return nsfd < 0 ? err : nsfd;
}

/* Named namespaces; true when a name is not bind-mounted yet. */
static bool scan_names(struct netns_registry *r)
{
	char path[PATH_MAX], what[NAME_MAX + 16];
	bool pending = false;
	struct dirent *de;
	struct netns *ns;
	struct stat st;
	DIR *d;
	int fd;

	if (!r->dir || !(d = opendir(r->dir)))
		return false;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    snprintf(path, sizeof(path), "%s/%s", r->dir, de->d_name) >= (int)sizeof(path) ||
		    stat(path, &st))
			continue;
		if (st.st_dev != r->nsfs_dev) {
			pending = true;
			continue;
		}
		if ((ns = find(r, st.st_dev, st.st_ino))) {
			ns->seen = true;
			continue;
		}
		if ((fd = open_unpinned(r, path)) < 0)
			continue;
		snprintf(what, sizeof(what), "name %s", de->d_name);
		serve(r, fd, false, what);
	}
	closedir(d);
	return pending;
}

static int by_ino(const void *a, const void *b)
{
	const struct netns *x = *(struct netns *const *)a, *y = *(struct netns *const *)b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* Mark every served namespace some process is in (any process: a pod's
 * sidecar keeps its namespace in use too). */
static void mark_in_use(struct netns_registry *r)
{
	struct netns **sorted, key, *kp = &key, **hit;
	size_t n = 0, i = 0;
	char path[64];
	struct dirent *de;
	struct stat st;
	DIR *d;

	for (struct netns *ns = r->list; ns; ns = ns->next)
		n++;
	if (!n || !(sorted = malloc(n * sizeof(*sorted))))
		return;
	for (struct netns *ns = r->list; ns; ns = ns->next)
		sorted[i++] = ns;
	qsort(sorted, n, sizeof(*sorted), by_ino);
	if ((d = opendir("/proc"))) {
		while ((de = readdir(d))) {
			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%.16s/ns/net", de->d_name);
			if (stat(path, &st) || st.st_dev != r->nsfs_dev)
				continue;
			key.ino = st.st_ino;
			hit = bsearch(&kp, sorted, n, sizeof(*sorted), by_ino);
			if (hit)
				(*hit)->seen = true;
		}
		closedir(d);
	}
	free(sorted);
}

static void arm_sweep(struct netns_registry *r, bool soon)
{
	struct itimerspec t = { .it_interval = { SWEEP_SECONDS, 0 } };

	if (soon)
		t.it_value.tv_nsec = SOON_NS;
	else
		t.it_value.tv_sec = SWEEP_SECONDS;
	timerfd_settime(r->sweep.fd, 0, &t, NULL);
}

static void sweep(struct netns_registry *r)
{
	struct netns **pp = &r->list;
	bool pending;

	/* a namespace an agent made a socket or connected in since the last
	 * sweep is in use, whether or not a process is in it now */
	for (struct netns *ns = r->list; ns; ns = ns->next) {
		ns->seen = ns->self || ns->reported;
		ns->reported = false;
	}
	pending = scan_names(r);
	scan_cgroup(r, r->cgroup, 0);
	mark_in_use(r);
	while (*pp) {
		struct netns *ns = *pp;

		if (ns->seen) {
			pp = &ns->next;
			continue;
		}
		*pp = ns->next;
		log_info("network namespace %llu is gone: listeners closed", ns->cookie);
		r->stats.served--;
		r->stats.released_total++;
		release(r, ns, true);
	}
	if (pending)
		arm_sweep(r, true);
}

static void on_sweep(struct watch *w, uint32_t revents)
{
	struct netns_registry *r = container_of(w, struct netns_registry, sweep);

	(void)revents;
	if (loop_timer_fired(w))
		sweep(r);
}

static void on_names(struct watch *w, uint32_t revents)
{
	struct netns_registry *r = container_of(w, struct netns_registry, names);
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool created = false, gone = false;
	ssize_t n;

	(void)revents;
	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			created |= !!(ev->mask & (IN_CREATE | IN_MOVED_TO));
			gone |= !!(ev->mask & (IN_DELETE | IN_MOVED_FROM));
			p += sizeof(*ev) + ev->len;
		}
	}
	if (created && scan_names(r))
		arm_sweep(r, true);
	else if (gone)
		arm_sweep(r, true);
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct netns_registry *r = ctx;
	const struct mcpf_netns_event *ev = data;

	if (size < sizeof(*ev))
		return 0;
	/* served since (the daemon's own sockets, made in a namespace it is
	 * setting up, are reported too when it runs inside --cgroup) */
	for (struct netns *ns = r->list; ns; ns = ns->next)
		if (ns->cookie == ev->netns) {
			ns->reported = true;
			return 0;
		}
	r->stats.events_total++;
	log_info("pid %u made a socket or connected in network namespace %llu, not served yet", ev->pid, ev->netns);
	try_task(r, ev->pid, ev->tid, "agent");
	return 0;
}

static void on_events(struct watch *w, uint32_t revents)
{
	struct netns_registry *r = container_of(w, struct netns_registry, events);

	(void)revents;
	kern_ring_consume(r->rb);
}

/* Entries no served namespace owns: a previous daemon's, for namespaces
 * let go since. Deleted only after this daemon has written its own, so that
 * at no moment does a served namespace lack its entry (a restart must not
 * open a fail-open window). */
static bool served_cookie(void *ctx, unsigned long long cookie);

/* ...and refused: a socket made in one may still connect. */
static bool not_served(const void *key, void *ctx)
{
	unsigned long long cookie = *(const unsigned long long *)key;

	if (served_cookie(ctx, cookie))
		return false;
	refuse(ctx, cookie);
	return true;
}

static void prune_listen_map(struct netns_registry *r)
{
	kern_map_prune(r->listen_map, sizeof(unsigned long long), not_served, r);
}

static int watch_names(struct netns_registry *r)
{
	r->names.cb = on_names;
	r->names.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (r->names.fd < 0)
		return -errno;
	if (mkdir(r->dir, 0755) && errno != EEXIST)
		return -errno;
	if (inotify_add_watch(r->names.fd, r->dir, IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM) < 0)
		return -errno;
	return loop_watch(r->loop, &r->names, EPOLLIN) ? -errno : 0;
}

static bool served_cookie(void *ctx, unsigned long long cookie)
{
	const struct netns_registry *r = ctx;

	for (const struct netns *ns = r->list; ns; ns = ns->next)
		if (ns->cookie == cookie)
			return true;
	return false;
}

/* The listener pairs a predecessor handed over, namespace by namespace.
 * Items without a namespace fd are in the sender's own, which must be ours. */
static void adopt(struct netns_registry *r, struct handover_set *set, unsigned long long home_cookie)
{
	for (int i = 0; i < set->n; i++) {
		struct handover_item *it = &set->items[i];
		int fd4 = -1, fd6 = -1, nsfd;
		bool self;

		if (it->kind != HANDOVER_PROXY_LISTENER || it->fd < 0)
			continue;
		self = it->netns_fd < 0;
		if (self && it->netns_cookie != home_cookie) {
			log_warn("handover: a listener of another namespace came without it; closing it");
			continue;
		}
		/* this item and its namespace's other family, if sent */
		for (int j = i; j < set->n; j++) {
			struct handover_item *o = &set->items[j];

			if (o->kind != HANDOVER_PROXY_LISTENER || o->fd < 0 || o->netns_cookie != it->netns_cookie)
				continue;
			if (o->family == AF_INET && fd4 < 0)
				fd4 = o->fd, o->fd = -1;
			else if (o->family == AF_INET6 && fd6 < 0)
				fd6 = o->fd, o->fd = -1;
		}
		nsfd = self ? r->home_fd : it->netns_fd;
		if (!self)
			it->netns_fd = -1;
		serve_on(r, nsfd, self, fd4, fd6, "handed over");
	}
}

int netns_export(const struct netns_registry *r, struct handover_item *items, int max)
{
	int n = 0;

	for (const struct netns *ns = r->list; ns; ns = ns->next) {
		const struct listener *ls[2] = { &ns->l4, &ns->l6 };

		for (int i = 0; i < 2; i++) {
			if (ls[i]->w.fd < 0 || n == max)
				continue;
			items[n++] = (struct handover_item){
				.kind = HANDOVER_PROXY_LISTENER, .family = i ? AF_INET6 : AF_INET,
				.netns_cookie = ns->cookie, .fd = ls[i]->w.fd, .netns_fd = ns->self ? -1 : ns->fd,
			};
		}
	}
	return n;
}

int netns_start(struct netns_registry *r, struct loop *loop, struct proxy *px, const struct kern_state *kern,
		const char *cgroup, const char *dir, uint16_t port, struct handover_set *inherited)
{
	unsigned long long home_cookie = 0;
	socklen_t clen = sizeof(home_cookie);
	int probe;
	struct stat st;
	int err;

	memset(r, 0, sizeof(*r));
	r->names.fd = r->events.fd = r->sweep.fd = -1;
	r->loop = loop;
	r->px = px;
	r->cgroup = cgroup;
	r->dir = dir;
	r->port = port;
	r->listen_map = kern_map_fd_of(kern, KERN_MAP_NETNS_LISTEN);
	r->socks_map = kern_map_fd_of(kern, KERN_MAP_DAEMON_SOCKS);
	r->addrs_map = kern_map_fd_of(kern, KERN_MAP_LOCAL_ADDRS);
	r->owners_map = kern_map_fd_of(kern, KERN_MAP_LOCAL_ADDR_OWNERS);
	r->refused_map = kern_map_fd_of(kern, KERN_MAP_NETNS_REFUSED);
	r->home_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (r->home_fd < 0 || fstat(r->home_fd, &st))
		return -errno;
	r->nsfs_dev = st.st_dev;
	if ((probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		getsockopt(probe, SOL_SOCKET, SO_NETNS_COOKIE, &home_cookie, &clen);
		close(probe);
	}
	if (inherited)
		adopt(r, inherited, home_cookie);

	if ((err = serve(r, r->home_fd, true, "the daemon's own"))) {
		log_error("listening in the daemon's own network namespace: %s", strerror(-err));
		return err;
	}
	if ((err = kern_ring_open(kern_map_fd_of(kern, KERN_MAP_NETNS_EVENTS), on_event, r, &r->rb)))
		return err;
	r->events.cb = on_events;
	r->events.fd = kern_ring_fd(r->rb);
	if (loop_watch(loop, &r->events, EPOLLIN))
		return -errno;
	if (dir && (err = watch_names(r)))
		log_warn("--netns-dir %s: %s; named namespaces are found by the sweep only", dir, strerror(-err));
	r->sweep.cb = on_sweep;
	r->sweep.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->sweep.fd < 0 || loop_watch(loop, &r->sweep, EPOLLIN))
		return -errno;
	sweep(r);
	prune_listen_map(r);
	netns_addrs_prune(r->addrs_map, served_cookie, r);
	arm_sweep(r, false);
	return 0;
}

void netns_stop(struct netns_registry *r)
{
	while (r->list) {
		struct netns *ns = r->list;

		r->list = ns->next;
		release(r, ns, false);
	}
	r->stats.served = 0;
	if (r->loop) {
		loop_close(r->loop, &r->names);
		loop_close(r->loop, &r->sweep);
		if (r->events.fd >= 0)
			loop_unwatch(r->loop, &r->events);  /* the ring buffer owns it */
	}
	kern_ring_close(r->rb);
	r->rb = NULL;
	r->events.fd = -1;
	if (r->home_fd >= 0)
		close(r->home_fd);
	r->home_fd = -1;
}
