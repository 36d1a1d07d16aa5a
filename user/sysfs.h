/* Where the kernel filesystems we depend on are: cgroup v2 and bpffs. */
#ifndef MCPF_SYSFS_H
#define MCPF_SYSFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the daemon pins, and where the CLI looks, unless --bpffs says. */
#define MCPF_DEFAULT_BPFFS "/sys/fs/bpf/mcpfence"

/* Mount point of the cgroup v2 hierarchy, from /proc/mounts. */
int cgroup2_mount(char *out, size_t len);

/* Absolute path of the calling process's cgroup v2 directory. */
int cgroup2_self(char *out, size_t len);

/* Is path equal to dir, or below it? (Both absolute, no trailing slash.) */
bool path_within(const char *path, const char *dir);

/* The id and depth of a cgroup v2 directory (-EXDEV outside the mount). */
int cgroup2_id_level(const char *dir, uint64_t *id, unsigned *level);

/* Make sure dir exists on a bpf filesystem: mounts bpffs on its parent when
 * that parent is /sys/fs/bpf and nothing is mounted there yet. */
int bpffs_prepare(const char *dir);

#endif
