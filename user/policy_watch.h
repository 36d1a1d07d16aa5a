/* The daemon's policy: loaded from the file into the pinned policy maps
 * at start-up, and again on SIGHUP or when the file changes.
 *
 * Each load is policy_load + policy_compile, so a new policy replaces the
 * old one atomically (policy_compile.h) and an invalid file leaves the old
 * one in force; either way the attempt is counted in daemon_stats.
 *
 * File changes are seen with inotify on the file's directory, not on the
 * file: editors that save by writing a new file and renaming it over the
 * old one (vim, sed -i, most config tools) replace the inode a watch on
 * the file would hold. A reload happens once the new content is complete:
 * on IN_CLOSE_WRITE (written in place) or IN_MOVED_TO (renamed into place),
 * never on IN_CREATE or IN_MODIFY, which can see half a file.
 *
 * A file behind a symlink can change without any event naming it: in a
 * Kubernetes ConfigMap volume policy.json -> ..data/policy.json, and an
 * update renames a new ..data symlink into place. So when FILE is a
 * symlink, any rename in its directory counts if the file it resolves to
 * is no longer the one last read (device and inode differ).
 *
 * A reload that fails for want of a resource (the file could not be read:
 * out of descriptors or memory; the maps refused the compile) is tried
 * again, after 1 s doubling to 30 s, until one succeeds or the file
 * changes: a stricter policy is never left waiting for another edit. An
 * invalid file is not retried; it waits for its fix.
 */
#ifndef MCPF_POLICY_WATCH_H
#define MCPF_POLICY_WATCH_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include "loop.h"
#include "timer_wheel.h"
#include "policy_compile.h"

struct policy_watch {
	struct watch inotify;       /* fd -1 until policy_watch_start */
	struct loop *loop;
	struct policy_maps *maps;
	int daemon_stats_fd;
	char file[PATH_MAX];        /* absolute, so a later chdir cannot move it */
	const char *base;           /* file name inside its directory */
	bool via_symlink;           /* FILE itself is a symlink */
	dev_t read_dev;             /* identity of the file last read */
	ino_t read_ino;
	int read_err;               /* the last policy_watch_read: 0, -EINVAL (invalid) or -errno */
	struct timer_wheel *wheel;  /* for retries; NULL: none */
	struct timer retry;
	unsigned retry_s;           /* the next retry's delay; 0: none pending */
};

/* Remember FILE (made absolute). maps and daemon_stats_fd are the
 * caller's to set before install or reload. 0 or -errno. */
int policy_watch_init(struct policy_watch *pw, const char *file);

/* Read and validate the file. NULL after logging every
 * "FILE:FIELD: REASON" when it is invalid or unreadable (read_err says which). */
struct policy *policy_watch_read(struct policy_watch *pw);

/* Compile policy into the maps (and free it). 0, or -1 after logging why;
 * the active policy is then unchanged. */
int policy_watch_install(struct policy_watch *pw, struct policy *policy);

/* Watch the file's directory on loop for changes. 0 or -errno. */
int policy_watch_start(struct policy_watch *pw, struct loop *loop);

/* read + install now, logging why; counted in daemon_stats. A failure for
 * want of a resource arms a retry on wheel. */
void policy_watch_reload(struct policy_watch *pw, const char *why);

void policy_watch_stop(struct policy_watch *pw);

#endif /* MCPF_POLICY_WATCH_H */
