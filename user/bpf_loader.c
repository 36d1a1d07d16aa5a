#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpf_loader.h"
#include "log.h"
#include "mcpfence.skel.h"
#include "sysfs.h"

/* Links are pinned so the programs outlive a crashed or killed daemon:
 * connect4/6 then see no listener and pass connections through (or refuse
 * them with --fail-closed) instead of leaving agents stranded. */
#define LINKS_DIR "links"

enum link_id { L_CONNECT4, L_CONNECT6, L_GETPEERNAME4, L_GETPEERNAME6, L_SOCKOPS, L_SOCK_CREATE, L_COUNT };
static const char *const link_names[L_COUNT] = {
	"connect4", "connect6", "getpeername4", "getpeername6", "sockops", "sock_create",
};

static void link_path(const struct bpf_state *st, int id, char *out, size_t len)
{
	snprintf(out, len, "%s/" LINKS_DIR "/%s", st->bpffs, link_names[id]);
}

/* Dropping a link's pin detaches its program: at start-up for the links a
 * daemon that did not shut down cleanly left behind, at exit for ours. */
static void unpin_links(const struct bpf_state *st, bool stale)
{
	char path[4200];

	for (int i = 0; i < L_COUNT; i++) {
		link_path(st, i, path, sizeof(path));
		if (unlink(path) == 0 && stale)
			log_info("removed stale link %s", path);
	}
	snprintf(path, sizeof(path), "%s/" LINKS_DIR, st->bpffs);
	rmdir(path);
}

static int lock_pin_dir(struct bpf_state *st)
{
	st->lock_fd = open(st->bpffs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->lock_fd < 0)
		return -errno;
	if (flock(st->lock_fd, LOCK_EX | LOCK_NB)) {
		log_error("%s is in use by another mcpfence daemon", st->bpffs);
		return -EBUSY;
	}
	return 0;
}

static int write_settings(struct bpf_state *st, const struct bpf_opts *o)
{
	struct mcpf_config cfg = {
		.listen_addr4 = htonl(INADDR_LOOPBACK),
		.listen_port = o->listen_port,
		.fail_closed = o->fail_closed,
		.sockmap = o->sockmap,
		.daemon_tgid = (unsigned)getpid(),
	};
	__u32 zero = 0;
	uint64_t id;
	int err;

	if ((err = cgroup2_id_level(o->cgroup, &id, &cfg.cgroup_level))) {
		log_error("--cgroup %s: %s", o->cgroup,
			  err == -EXDEV ? "not below the cgroup v2 mount" : strerror(-err));
		return err;
	}
	cfg.cgroup_id = id;

	memcpy(cfg.listen_addr6, &in6addr_loopback, sizeof(cfg.listen_addr6));
	if (bpf_map_update_elem(bpf_map__fd(st->skel->maps.settings), &zero, &cfg, BPF_ANY))
		return -errno;
	return 0;
}

int bpf_load(struct bpf_state *st, const struct bpf_opts *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = o->bpffs);
	int err;

	memset(st, 0, sizeof(*st));
	st->lock_fd = st->cgroup_fd = -1;
	snprintf(st->bpffs, sizeof(st->bpffs), "%s", o->bpffs);
	if ((err = bpffs_prepare(o->bpffs)) || (err = lock_pin_dir(st)))
		return err;
	unpin_links(st, true);

	st->skel = mcpfence__open_opts(&open_opts);
	if (!st->skel) {
		log_error("opening BPF object: %s", strerror(errno));
		return -errno;
	}
	bpf_program__set_autoload(st->skel->progs.mcpf_sk_msg, o->sockmap);
	err = mcpfence__load(st->skel);
	if (err) {
		/* the usual causes, in the order they happen */
		log_error("loading BPF programs: %s (%s; -vv shows libbpf's and the verifier's log)", strerror(-err),
			  err == -EPERM || err == -EACCES
				  ? "needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN, or root"
				  : "a map pinned by an incompatible version (remove it or pick another --bpffs), "
				    "or a program this kernel's verifier refuses");
		return err;
	}
	err = write_settings(st, o);
	if (err && err != -EXDEV && err != -ENOENT)
		log_error("writing settings map: %s", strerror(-err));
	return err;
}

static int attach_one(struct bpf_state *st, struct bpf_program *prog, int cgroup_fd, int id)
{
	char path[4200];
	struct bpf_link *link = bpf_program__attach_cgroup(prog, cgroup_fd);
	int err;

	if (!link) {
		err = -errno;
		log_error("attaching %s: %s", link_names[id], strerror(-err));
		return err;
	}
	link_path(st, id, path, sizeof(path));
	err = bpf_link__pin(link, path);
	if (err)
		log_error("pinning %s: %s", path, strerror(-err));
	/* the pin holds the attachment; our handle is not needed */
	bpf_link__destroy(link);
	return err;
}

static int open_cgroup(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		log_error("cgroup %s: %s", path, strerror(errno));
	return fd;
}

/* Every program is attached at the cgroup2 root: cgroup hooks run for the
 * cgroup a socket was created in, and an agent can connect() a socket
 * born elsewhere (inherited, or passed over a unix socket). connect4/6
 * pick the agents by the calling task's cgroup instead (settings). */
int bpf_attach(struct bpf_state *st, const struct bpf_opts *o)
{
	struct mcpfence *s = st->skel;
	char links[4200], root[4096];
	int err;

	snprintf(links, sizeof(links), "%s/" LINKS_DIR, st->bpffs);
	if (mkdir(links, 0700) && errno != EEXIST)
		return -errno;
	if ((err = cgroup2_mount(root, sizeof(root))))
		return err;
	st->cgroup_fd = open_cgroup(root);
	if (st->cgroup_fd < 0)
		return -errno;

	if (o->sockmap) {
		err = bpf_prog_attach(bpf_program__fd(s->progs.mcpf_sk_msg),
				      bpf_map__fd(s->maps.sock_pairs), BPF_SK_MSG_VERDICT, 0);
		if (err) {
			log_error("attaching sk_msg: %s", strerror(errno));
			return -errno;
		}
		st->sk_msg_attached = true;
	}
	if ((err = attach_one(st, s->progs.mcpf_connect4, st->cgroup_fd, L_CONNECT4)) ||
	    (err = attach_one(st, s->progs.mcpf_connect6, st->cgroup_fd, L_CONNECT6)) ||
	    (err = attach_one(st, s->progs.mcpf_getpeername4, st->cgroup_fd, L_GETPEERNAME4)) ||
	    (err = attach_one(st, s->progs.mcpf_getpeername6, st->cgroup_fd, L_GETPEERNAME6)) ||
	    (err = attach_one(st, s->progs.mcpf_sockops, st->cgroup_fd, L_SOCKOPS)) ||
	    (err = attach_one(st, s->progs.mcpf_sock_create, st->cgroup_fd, L_SOCK_CREATE)))
		return err;
	return 0;
}

void bpf_unload(struct bpf_state *st, bool keep_maps)
{
	if (st->lock_fd >= 0)
		unpin_links(st, false);
	if (st->sk_msg_attached)
		bpf_prog_detach2(bpf_program__fd(st->skel->progs.mcpf_sk_msg),
				 bpf_map__fd(st->skel->maps.sock_pairs), BPF_SK_MSG_VERDICT);
	if (st->skel && !keep_maps)
		bpf_object__unpin_maps(st->skel->obj, NULL);
	mcpfence__destroy(st->skel);
	st->skel = NULL;
	if (st->cgroup_fd >= 0)
		close(st->cgroup_fd);
	if (st->lock_fd >= 0) {
		if (!keep_maps && rmdir(st->bpffs) && errno != ENOENT)
			log_warn("removing %s: %s", st->bpffs, strerror(errno));
		close(st->lock_fd);
	}
	st->cgroup_fd = st->lock_fd = -1;
}

int bpf_conns_fd(const struct bpf_state *st)
{
	return bpf_map__fd(st->skel->maps.conns);
}

int bpf_tool_stats_fd(const struct bpf_state *st)
{
	return bpf_map__fd(st->skel->maps.tool_stats);
}

int bpf_daemon_stats_fd(const struct bpf_state *st)
{
	return bpf_map__fd(st->skel->maps.daemon_stats);
}

int bpf_map_fd_of(const struct bpf_state *st, enum bpf_map_id id)
{
	const struct mcpfence *s = st->skel;

	switch (id) {
	case MAP_NETNS_LISTEN: return bpf_map__fd(s->maps.netns_listen);
	case MAP_DAEMON_SOCKS: return bpf_map__fd(s->maps.daemon_socks);
	case MAP_LOCAL_ADDRS: return bpf_map__fd(s->maps.local_addrs);
	case MAP_TARGET_PORTS: return bpf_map__fd(s->maps.target_ports);
	case MAP_NETNS_EVENTS: return bpf_map__fd(s->maps.netns_events);
	}
	return -EINVAL;
}
