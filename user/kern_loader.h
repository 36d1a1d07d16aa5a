/* Loading, attaching and pinning the kernel side; the one place that knows
 * the skeleton's layout. */
#ifndef MCPF_BPF_LOADER_H
#define MCPF_BPF_LOADER_H

#include <stdbool.h>
#include <stdint.h>
#include "mcpfence_abi.h"

struct mcpfence;

struct bpf_opts {
	const char *bpffs;       /* pin directory */
	const char *cgroup;      /* cgroup v2 directory the agents are in */
	bool sockmap;
	bool fail_closed;
	uint16_t listen_port;    /* preferred listener port, host byte order */
	int lock_wait_ms;        /* a daemon handing over may hold the pin dir this long */
};

struct bpf_state {
	struct mcpfence *skel;
	int lock_fd;             /* flock on the pin dir: one daemon per dir */
	int cgroup_fd;           /* the cgroup2 root, where the programs are attached */
	bool sk_msg_attached;
	bool adopted;            /* every link was a previous daemon's, updated in place */
	char bpffs[4096];
};

/* Open, load (reusing pinned maps), write settings. Nothing is attached.
 * The targets map is the policy's to fill (policy_compile). */
int bpf_load(struct bpf_state *st, const struct bpf_opts *o);
/* Attach every program and pin the links; links a previous daemon pinned
 * on the same cgroup get our programs swapped in instead (no gap). */
int bpf_attach(struct bpf_state *st, const struct bpf_opts *o);
/* Unpin the links: the programs go, new connections pass straight through. */
void bpf_detach(struct bpf_state *st);
/* detach: unpin the links (the programs go), and the maps unless keep_maps.
 * !detach: leave links and maps pinned, programs attached, for the next
 * daemon. Safe on a partial set-up. */
void bpf_unload(struct bpf_state *st, bool detach, bool keep_maps);
/* Handover: let a successor lock the pin dir; take it back if it left. */
void bpf_release_lock(struct bpf_state *st);
int bpf_relock(struct bpf_state *st);

int bpf_conns_fd(const struct bpf_state *st);
int bpf_tool_stats_fd(const struct bpf_state *st);
int bpf_daemon_stats_fd(const struct bpf_state *st);

/* The maps of the namespace machinery (kern_netns). */
enum bpf_map_id { MAP_NETNS_LISTEN, MAP_DAEMON_SOCKS, MAP_LOCAL_ADDRS, MAP_TARGET_PORTS, MAP_NETNS_EVENTS };
int bpf_map_fd_of(const struct bpf_state *st, enum bpf_map_id id);

#endif
