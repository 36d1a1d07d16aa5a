#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "common.h"
#include "kern_loader.h"
#include "log.h"
#include "mcpfence.skel.h"
#include "policy_compile.h"
#include "sysfs.h"

/* Links are pinned so the programs outlive a crashed, killed or (with
 * --fail-closed, or after a handover) stopped daemon: connect4/6 then see
 * no listener and, once its heartbeat is old (daemon_alive), pass
 * connections through (or refuse them with --fail-closed) instead of
 * leaving agents stranded. The next daemon
 * adopts the pinned links and swaps its programs in (BPF_LINK_UPDATE), so
 * the hooks are never empty. */
#define LINKS_DIR "links"

enum link_id { L_CONNECT4, L_CONNECT6, L_GETPEERNAME4, L_GETPEERNAME6, L_SOCKOPS, L_SOCK_CREATE, L_CGROUP_MKDIR,
	       L_COUNT };
static const char *const link_names[L_COUNT] = {
	"connect4", "connect6", "getpeername4", "getpeername6", "sockops", "sock_create", "cgroup_mkdir",
};

static void link_path(const struct kern_state *st, int id, char *out, size_t len)
{
	snprintf(out, len, "%s/" LINKS_DIR "/%s", st->bpffs, link_names[id]);
}

/* Dropping a link's pin detaches its program. */
static void unpin_links(const struct kern_state *st)
{
	char path[4200];

	for (int i = 0; i < L_COUNT; i++) {
		link_path(st, i, path, sizeof(path));
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/" LINKS_DIR, st->bpffs);
	rmdir(path);
}

/* wait_ms: how long a daemon handing over to us may take to let go. */
static int lock_pin_dir(struct kern_state *st, int wait_ms)
{
	st->lock_fd = open(st->bpffs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (st->lock_fd < 0)
		return -errno;
	for (int waited = 0; flock(st->lock_fd, LOCK_EX | LOCK_NB); waited += 5) {
		if (errno != EWOULDBLOCK || waited >= wait_ms) {
			log_error("%s is in use by another mcpfence daemon", st->bpffs);
			return -EBUSY;
		}
		usleep(5000);
	}
	return 0;
}

void kern_release_lock(struct kern_state *st)
{
	if (st->lock_fd >= 0)
		flock(st->lock_fd, LOCK_UN);
}

int kern_relock(struct kern_state *st)
{
	if (st->lock_fd >= 0 && flock(st->lock_fd, LOCK_EX | LOCK_NB))
		return -errno;
	return 0;
}

static int write_settings(struct kern_state *st, const struct kern_opts *o)
{
	struct mcpf_config cfg = {
		.listen_addr4 = htonl(INADDR_LOOPBACK),
		.listen_port = o->listen_port,
		.fail_closed = o->fail_closed,
		.sockmap = o->sockmap,
		.daemon_tgid = (unsigned)getpid(),
	};
	struct cgroup_identity cg;
	__u32 zero = 0;
	int err;

	if ((err = cgroup_identity_of(o->cgroup, &cg))) {
		log_error("--cgroup %s: %s", o->cgroup,
			  err == -EXDEV ? "not below the cgroup v2 mount" : strerror(-err));
		return err;
	}
	memcpy(cfg.listen_addr6.b, &in6addr_loopback, sizeof(cfg.listen_addr6.b));
	/* whole, agents included: a predecessor's programs may be running on it */
	cfg.cgroup_id = cg.id;
	cfg.cgroup_level = cg.level;
	if (bpf_map_update_elem(bpf_map__fd(st->skel->maps.settings), &zero, &cfg, BPF_ANY))
		return -errno;
	st->agents.dir = o->cgroup;
	st->agents.settings_fd = bpf_map__fd(st->skel->maps.settings);
	st->agents.watch_fd = bpf_map__fd(st->skel->maps.agents_cgroup);
	st->agents.id = cg.id;
	return kern_cgroup_publish(&st->agents, &cg);
}

/* A pin of another layout (an older version: the policy rule grew the
 * approval parameters, tool_stats the approval decisions) is dropped for
 * a new map instead of failing the load. The compiled policy is written
 * again from the policy file at every start; per-tool counters start
 * again from zero (the log says so). Rate-limit windows are never dropped. */
static void drop_stale_pin(const struct kern_state *st, const struct bpf_map *map)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char path[PATH_MAX + 64];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", st->bpffs, bpf_map__name(map));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &len) && info.value_size != bpf_map__value_size(map)) {
		log_info("pinned %s has another layout (value %u bytes, now %u): replaced",
			 bpf_map__name(map), info.value_size, bpf_map__value_size(map));
		unlink(path);
	}
	close(fd);
}

static int open_and_load(struct kern_state *st, const struct kern_opts *o, bool trace)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = o->bpffs);

	st->skel = mcpfence__open_opts(&open_opts);
	if (!st->skel) {
		log_error("opening BPF object: %s", strerror(errno));
		return -errno;
	}
	bpf_program__set_autoload(st->skel->progs.mcpf_sk_msg, o->sockmap);
	bpf_program__set_autoload(st->skel->progs.mcpf_cgroup_mkdir, trace);
	drop_stale_pin(st, st->skel->maps.policy_tools);
	drop_stale_pin(st, st->skel->maps.tool_stats);
	drop_stale_pin(st, st->skel->maps.agents_cgroup);
	return mcpfence__load(st->skel);
}

int kern_load(struct kern_state *st, const struct kern_opts *o)
{
	int err, trace_err;

	memset(st, 0, sizeof(*st));
	st->lock_fd = st->cgroup_fd = -1;
	snprintf(st->bpffs, sizeof(st->bpffs), "%s", o->bpffs);
	if ((err = bpffs_prepare(o->bpffs)) || (err = lock_pin_dir(st, o->lock_wait_ms)))
		return err;

	err = open_and_load(st, o, true);
	st->agents.traced = !err;
	if (err && st->skel) {
		/* a kernel without tp_btf or this tracepoint still enforces;
		 * only a recreated --cgroup waits for the daemon's next look */
		trace_err = err;
		mcpfence__destroy(st->skel);
		err = open_and_load(st, o, false);
		if (!err)
			log_warn("the cgroup_mkdir tracing program does not load on this kernel (%s): a --cgroup made "
				 "again is followed by the daemon within %d ms instead of at mkdir",
				 strerror(-trace_err), MCPF_ALIVE_BEAT_MS);
	}
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
	/* before anything is attached: the first connects see a daemon */
	if (!err && (err = kern_beat(st, true)))
		log_error("writing daemon_alive: %s", strerror(-err));
	return err;
}

static unsigned long long cgroup_id_of(int cgroup_fd)
{
	struct stat sb;

	/* on cgroup2 the id is the directory's inode number */
	return fstat(cgroup_fd, &sb) ? 0 : sb.st_ino;
}

/* Is prog_id the first program attached to the cgroup for this hook? */
static bool runs_first(int cgroup_fd, enum bpf_attach_type type, __u32 prog_id)
{
	__u32 ids[64], n = sizeof(ids) / sizeof(ids[0]);
	LIBBPF_OPTS(bpf_prog_query_opts, q, .prog_ids = ids, .prog_cnt = n);

	return !bpf_prog_query_opts(cgroup_fd, type, &q) && q.prog_cnt && ids[0] == prog_id;
}

/* A link of ours that runs after another program (pinned by a daemon that
 * attached without BPF_F_BEFORE, behind a socket load balancer): a new
 * one goes first, then takes the pin's name, which lets the old one go.
 * Both run for that moment, never neither. */
/* Pin link_fd at path in one step: pinned next to it, then renamed over
 * it, which lets a link pinned there before go (the pin held it). */
static int pin_over(int link_fd, const char *path)
{
	char tmp[4216];
	int err = 0;

	/* bpffs refuses names with a '.' */
	if (snprintf(tmp, sizeof(tmp), "%s_new", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);  /* left by a daemon that died here */
	if (bpf_obj_pin(link_fd, tmp) || rename(tmp, path)) {
		err = -errno;
		unlink(tmp);
	}
	return err;
}

static int replace_behind(struct bpf_program *prog, int cgroup_fd, const char *path, const char *name)
{
	int fd, err;

	if ((fd = kern_link_first(prog, cgroup_fd)) < 0)
		return fd;
	err = pin_over(fd, path);
	close(fd);
	if (err) {
		log_error("placing %s first: %s", name, strerror(-err));
		return err;
	}
	log_info("pinned %s ran after another program: attached first again", name);
	return 1;
}

int kern_adopt_link(struct bpf_program *prog, int cgroup_fd, const char *path, const char *name)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	struct bpf_link *link;
	int err;

	if (access(path, F_OK))
		return errno == ENOENT ? 0 : -errno;
	link = bpf_link__open(path);
	if (!link)
		return -errno;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len) ||
	    info.type != BPF_LINK_TYPE_CGROUP || info.cgroup.cgroup_id != cgroup_id_of(cgroup_fd)) {
		/* another --cgroup than ours: detach it, attach afresh */
		log_info("dropping pinned %s: attached to another cgroup", name);
		bpf_link__destroy(link);
		return unlink(path) ? -errno : 0;
	}
	if (!runs_first(cgroup_fd, bpf_program__expected_attach_type(prog), info.prog_id)) {
		bpf_link__destroy(link);
		return replace_behind(prog, cgroup_fd, path, name);
	}
	err = bpf_link__update_program(link, prog);
	bpf_link__destroy(link);   /* the pin keeps it */
	if (err) {
		log_error("adopting pinned %s: %s", name, strerror(-err));
		return err;
	}
	log_debug("adopted pinned %s", name);
	return 1;
}

/* Not in Debian 12's uapi headers (Linux 6.1): cgroup links placed first
 * among a cgroup's programs (6.16), and before its descendants' (6.15). */
#ifndef BPF_F_BEFORE
#define BPF_F_BEFORE (1U << 3)
#endif
#ifndef BPF_F_PREORDER
#define BPF_F_PREORDER (1U << 6)
#endif

int kern_link_first(struct bpf_program *prog, int cgroup_fd)
{
	/* A connect-time load balancer that is a cgroup program too (Cilium's
	 * socket LB) and ran first would hand connect4/6 the backend it chose,
	 * not the ClusterIP a policy names: run before every other program
	 * where the kernel can order them, as it is attached. */
	static const __u32 tries[] = { BPF_F_PREORDER | BPF_F_BEFORE, BPF_F_BEFORE, BPF_F_PREORDER, 0 };
	int fd = -EINVAL;

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = tries[i]);

		fd = bpf_link_create(bpf_program__fd(prog), cgroup_fd, bpf_program__expected_attach_type(prog), &opts);
		if (fd >= 0) {
			log_debug("%s attached with flags %#x", bpf_program__name(prog), tries[i]);
			return fd;
		}
		fd = -errno;
		if (fd != -EINVAL)
			break;
	}
	return fd;
}

static int attach_one(struct kern_state *st, struct bpf_program *prog, int cgroup_fd, int id)
{
	char path[4200];
	int err, fd;

	link_path(st, id, path, sizeof(path));
	err = kern_adopt_link(prog, cgroup_fd, path, link_names[id]);
	if (err)
		return err < 0 ? err : 0;
	st->adopted = false;
	fd = kern_link_first(prog, cgroup_fd);
	if (fd < 0) {
		log_error("attaching %s: %s", link_names[id], strerror(-fd));
		return fd;
	}
	err = bpf_obj_pin(fd, path) ? -errno : 0;
	if (err)
		log_error("pinning %s: %s", path, strerror(-err));
	/* the pin holds the attachment; our descriptor is not needed */
	close(fd);
	return err;
}

static int open_cgroup(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		log_error("cgroup %s: %s", path, strerror(errno));
	return fd;
}

/* cgroup_mkdir, like the cgroup programs, stays attached while its pin is
 * there, following the agents' cgroup for them when no daemon runs. A
 * tracing link cannot take another program (no BPF_LINK_UPDATE): ours is
 * attached next to a previous daemon's, and our pin replaces its pin in
 * one rename, which detaches it. Failing here costs only the following at
 * mkdir (the daemon's look every beat remains). */
static void attach_trace(struct kern_state *st)
{
	struct bpf_link *link;
	char path[4200];
	int err;

	if (!st->agents.traced)
		return;
	link_path(st, L_CGROUP_MKDIR, path, sizeof(path));
	link = bpf_program__attach(st->skel->progs.mcpf_cgroup_mkdir);
	err = link ? pin_over(bpf_link__fd(link), path) : -errno;
	bpf_link__destroy(link);  /* the pin keeps it */
	if (err) {
		st->agents.traced = false;
		log_warn("attaching cgroup_mkdir: %s; a --cgroup made again is followed by the daemon within %d ms "
			 "instead of at mkdir", strerror(-err), MCPF_ALIVE_BEAT_MS);
	}
}

/* Every program is attached at the cgroup2 root: cgroup hooks run for the
 * cgroup a socket was created in, and an agent can connect() a socket
 * born elsewhere (inherited, or passed over a unix socket). connect4/6
 * pick the agents by the calling task's cgroup instead (settings). */
int kern_attach(struct kern_state *st, const struct kern_opts *o)
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
	st->adopted = true;  /* until a link has to be attached afresh */

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
	attach_trace(st);
	/* made again between write_settings and now: nothing followed it */
	kern_follow_cgroup(st);
	return 0;
}

void kern_follow_cgroup(struct kern_state *st)
{
	int err = kern_cgroup_check(&st->agents);

	if (err < 0)
		log_warn("looking at --cgroup %s again: %s", st->agents.dir, strerror(-err));
}

int kern_beat(struct kern_state *st, bool alive_now)
{
	struct mcpf_daemon_alive alive = { .tgid = (__u32)getpid() };
	__u32 zero = 0;

	if (alive_now)
		alive.until_ns = boot_time_ns() + MCPF_ALIVE_GRACE_NS;
	if (bpf_map_update_elem(bpf_map__fd(st->skel->maps.daemon_alive), &zero, &alive, BPF_ANY))
		return -errno;
	return 0;
}

void kern_detach(struct kern_state *st)
{
	/* a successor that took the pin dir beats for itself: leave it be */
	if (st->lock_fd >= 0) {
		if (st->skel)
			kern_beat(st, false);
		unpin_links(st);
	}
	if (st->sk_msg_attached)
		bpf_prog_detach2(bpf_program__fd(st->skel->progs.mcpf_sk_msg),
				 bpf_map__fd(st->skel->maps.sock_pairs), BPF_SK_MSG_VERDICT);
	st->sk_msg_attached = false;
}

void kern_unload(struct kern_state *st, bool detach, bool keep_maps)
{
	if (detach)
		kern_detach(st);
	else
		keep_maps = true;
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

struct kern_conns kern_conns_of(const struct kern_state *st)
{
	return (struct kern_conns){
		.conns_fd = bpf_map__fd(st->skel->maps.conns),
		.socks_fd = bpf_map__fd(st->skel->maps.daemon_socks),
	};
}

void kern_policy_maps(const struct mcpfence *skel, struct policy_maps *maps)
{
	*maps = (struct policy_maps){
		.active = bpf_map__fd(skel->maps.policy_active),
		.servers = bpf_map__fd(skel->maps.policy_servers),
		.tools = bpf_map__fd(skel->maps.policy_tools),
		.conds = bpf_map__fd(skel->maps.policy_conds),
		.rate = bpf_map__fd(skel->maps.rate_state),
		.targets = bpf_map__fd(skel->maps.targets),
		.target_ports = bpf_map__fd(skel->maps.target_ports),
		.inventory = bpf_map__fd(skel->maps.tool_inventory),
		.inventory_servers = bpf_map__fd(skel->maps.tool_inventory_servers),
	};
}

int kern_tool_stats_fd(const struct kern_state *st)
{
	return bpf_map__fd(st->skel->maps.tool_stats);
}

int kern_daemon_stats_fd(const struct kern_state *st)
{
	return bpf_map__fd(st->skel->maps.daemon_stats);
}

int kern_map_fd_of(const struct kern_state *st, enum kern_map_id id)
{
	const struct mcpfence *s = st->skel;

	switch (id) {
	case KERN_MAP_NETNS_LISTEN: return bpf_map__fd(s->maps.netns_listen);
	case KERN_MAP_DAEMON_SOCKS: return bpf_map__fd(s->maps.daemon_socks);
	case KERN_MAP_LOCAL_ADDRS: return bpf_map__fd(s->maps.local_addrs);
	case KERN_MAP_LOCAL_ADDR_OWNERS: return bpf_map__fd(s->maps.local_addr_owners);
	case KERN_MAP_TARGET_PORTS: return bpf_map__fd(s->maps.target_ports);
	case KERN_MAP_NETNS_EVENTS: return bpf_map__fd(s->maps.netns_events);
	case KERN_MAP_NETNS_REFUSED: return bpf_map__fd(s->maps.netns_refused);
	}
	return -EINVAL;
}
