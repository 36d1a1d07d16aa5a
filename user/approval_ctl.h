/*
 * approval_ctl: the operator's side of approvals (approval.h).
 *
 * A unix stream socket (run --control, default /run/mcpfence/control.sock)
 * speaking one JSON object per line:
 *   {"op":"list"}                                  -> {"ok":true,"pending":[CALL...]}
 *   {"op":"watch"}                                 -> the list, then {"event":"new","call":CALL}
 *                                                     and {"event":"decided","id":..,"outcome":..,"by":..}
 *   {"op":"approve","id":ID[,"remember":SECONDS]}  -> {"ok":true} | {"ok":false,"error":..}
 *   {"op":"deny","id":ID[,"reason":TEXT]}
 *
 * Who may speak on it (an agent must not approve its own call): a peer
 * (SO_PEERCRED, checked on connect and again on every request) is refused
 * when its cgroup (/proc/PID/cgroup) is inside the daemon's intercepted
 * cgroup (run --cgroup, unless that is the cgroup2 root) or covered by
 * any server's "agents" in the active policy, and unless it is uid 0 or a
 * member of --control-group. The socket itself is mode 0660 (group: the
 * control group, if any).
 *
 * --approval-hook CMD runs `/bin/sh -c CMD` for every new pending call
 * with the call in MCPFENCE_APPROVAL_* environment variables (the agent's
 * data never reaches the shell's parser), at most APPROVAL_HOOKS_MAX at
 * once (more are skipped with a warning); each is reaped through a pidfd
 * on the loop and killed if it runs past APPROVAL_HOOK_TIMEOUT_S.
 */
#ifndef MCPF_APPROVAL_CTL_H
#define MCPF_APPROVAL_CTL_H

#include <stdbool.h>
#include <sys/types.h>

#include "approval.h"
#include "bytebuf.h"
#include "loop.h"

#define APPROVAL_CTL_DEFAULT_PATH "/run/mcpfence/control.sock"
#define APPROVAL_HOOKS_MAX 8
#define APPROVAL_HOOK_TIMEOUT_S 30

struct enforce;

struct approval_ctl_opts {
	const char *path;
	const char *group;           /* NULL: only uid 0 */
	const char *hook;            /* NULL: none */
	const char *cgroup_dir;      /* run --cgroup (absolute path on the cgroup2 mount) */
	unsigned int max_pending;
	unsigned int max_per_agent;  /* 0: max_pending */
};

struct approval_ctl;

int approval_ctl_start(struct approval_ctl **out, struct loop *loop, struct timer_wheel *wheel,
		       const struct enforce *enf, const struct approval_ctl_opts *o);
struct approval_store *approval_ctl_store(struct approval_ctl *c);
/* Pending calls denied with reason (restart, handover); the socket stays. */
void approval_ctl_deny_all(struct approval_ctl *c, const char *reason);
void approval_ctl_stop(struct approval_ctl *c);
/* Gauge, counters and latency histogram for /metrics. */
void approval_ctl_render(const struct approval_ctl *c, struct bytebuf *out);

/* May the control socket be made in dir? A directory (not a symlink),
 * owned by this user or root, that nobody else can write: the socket is
 * chmod-ed, chown-ed and renamed there by path. 0, -ENOTDIR, -EPERM or
 * -errno. Exposed for tests. */
int approval_ctl_dir_safe(const char *dir);

/* Is this peer allowed to decide approvals? 0, or -EPERM with why set.
 * pidfd is the peer's own (SO_PEERPIDFD): what /proc says of pid counts
 * only while that process is still alive, so pid reuse cannot lend a
 * dead agent's socket another process's cgroup. Exposed for tests. */
int approval_peer_allowed(const struct enforce *enf, const char *intercepted_rel, gid_t group, bool have_group,
			  pid_t pid, int pidfd, uid_t uid, gid_t gid, const char **why);

#endif
