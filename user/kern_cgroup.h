/* The agents' cgroup (--cgroup) by what names it, not only by its id: a
 * directory removed and made again (a systemd unit restarted, a user slice
 * at the next login, kubepods.slice after a node restart) has another id.
 * The kernel follows it at mkdir (cgroup_mkdir in bpf/mcpfence.bpf.c) from
 * the parent and name written here; the daemon looks at the directory
 * again every beat, logs a recreation, and rewrites the maps itself when
 * the kernel could not follow (no cgroup_mkdir program on this kernel, or
 * the parent made again too). */
#ifndef MCPF_KERN_CGROUP_H
#define MCPF_KERN_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include "mcpfence_abi.h"

struct cgroup_identity {
	uint64_t id;
	uint64_t parent_id;      /* 0 for the cgroup2 root */
	unsigned level;          /* depth below the root */
	char name[MCPF_CGROUP_NAME_LEN];
};

struct kern_cgroup {
	const char *dir;         /* --cgroup, as given */
	int settings_fd;         /* the settings map */
	int watch_fd;            /* the agents_cgroup map */
	bool traced;             /* cgroup_mkdir is attached: the kernel follows */
	uint64_t id;             /* what the daemon last found at dir */
	bool gone;               /* dir missing at the last look (said once) */
};

/* What names the cgroup v2 directory dir: id, parent's id, depth, name.
 * 0 or -errno (-EXDEV: not below the cgroup2 mount). */
int cgroup_identity_of(const char *dir, struct cgroup_identity *out);

/* Point the maps at c: settings' cgroup_id and cgroup_level (the rest of
 * settings as it is), and agents_cgroup's parent and name. */
int kern_cgroup_publish(const struct kern_cgroup *ac, const struct cgroup_identity *c);

/* Look at ac->dir again. Made again since the last look: say so, and
 * rewrite the maps unless the kernel already did. 1 when it was made
 * again, 0 when not (or missing just now), -errno. */
int kern_cgroup_check(struct kern_cgroup *ac);

#endif
