/* Loading, attaching and pinning the kernel side; the one place that knows
 * the skeleton's layout. */
#ifndef MCPF_KERN_LOADER_H
#define MCPF_KERN_LOADER_H

#include <stdbool.h>
#include <stdint.h>
#include "kern_cgroup.h"
#include "kern_maps.h"

struct mcpfence;
struct bpf_program;
struct policy_maps;

struct kern_opts {
	const char *bpffs;       /* pin directory */
	const char *cgroup;      /* cgroup v2 directory the agents are in */
	bool sockmap;
	bool fail_closed;
	uint16_t listen_port;    /* preferred listener port, host byte order */
	int lock_wait_ms;        /* a daemon handing over may hold the pin dir this long */
};

struct kern_state {
	struct mcpfence *skel;
	int lock_fd;             /* flock on the pin dir: one daemon per dir */
	int cgroup_fd;           /* the cgroup2 root, where the programs are attached */
	bool sk_msg_attached;
	bool adopted;            /* every link was a previous daemon's, updated in place */
	struct kern_cgroup agents; /* --cgroup; agents.traced: cgroup_mkdir loaded */
	char bpffs[4096];
};

/* Open, load (reusing pinned maps), write settings. Nothing is attached.
 * The targets map is the policy's to fill (policy_compile). */
int kern_load(struct kern_state *st, const struct kern_opts *o);
/* Attach every program and pin the links; links a previous daemon pinned
 * on the same cgroup get our programs swapped in instead (no gap), its
 * cgroup_mkdir link is replaced by ours. */
int kern_attach(struct kern_state *st, const struct kern_opts *o);
/* A cgroup link of prog on cgroup_fd, placed before the programs already
 * there where the kernel can order them; the link's fd, or -errno. */
int kern_link_first(struct bpf_program *prog, int cgroup_fd);
/* The link pinned at path (name: for the log), a previous daemon's: prog
 * swapped in atomically (no moment without a program), or, if that link
 * does not run first on the cgroup, a new first one in its place under
 * the same pin. 1 when adopted, 0 when there is nothing to adopt (a pin
 * on another cgroup is dropped), -errno. */
int kern_adopt_link(struct bpf_program *prog, int cgroup_fd, const char *path, const char *name);
/* Unpin the links and clear daemon_alive: the programs go, new
 * connections pass straight through. */
void kern_detach(struct kern_state *st);
/* Look at --cgroup again: made again since, say so, and point settings at
 * it unless cgroup_mkdir did (every MCPF_ALIVE_BEAT_MS). */
void kern_follow_cgroup(struct kern_state *st);
/* Tell the programs a daemon runs, for the next MCPF_ALIVE_GRACE_NS
 * (every MCPF_ALIVE_BEAT_MS), or (!alive_now) that none does. */
int kern_beat(struct kern_state *st, bool alive_now);
/* detach: unpin the links (the programs go), and the maps unless keep_maps.
 * !detach: leave links and maps pinned, programs attached, for the next
 * daemon. Safe on a partial set-up. */
void kern_unload(struct kern_state *st, bool detach, bool keep_maps);
/* Handover: let a successor lock the pin dir; take it back if it left. */
void kern_release_lock(struct kern_state *st);
int kern_relock(struct kern_state *st);

struct kern_conns kern_conns_of(const struct kern_state *st);
/* The policy maps' fds (policy_compile.h), from a skeleton. */
void kern_policy_maps(const struct mcpfence *skel, struct policy_maps *maps);
int kern_tool_stats_fd(const struct kern_state *st);
int kern_daemon_stats_fd(const struct kern_state *st);

/* The maps of the namespace machinery (netns.c). */
enum kern_map_id { KERN_MAP_NETNS_LISTEN, KERN_MAP_DAEMON_SOCKS, KERN_MAP_LOCAL_ADDRS, KERN_MAP_LOCAL_ADDR_OWNERS,
		   KERN_MAP_TARGET_PORTS, KERN_MAP_NETNS_EVENTS, KERN_MAP_NETNS_REFUSED };
int kern_map_fd_of(const struct kern_state *st, enum kern_map_id id);

#endif
