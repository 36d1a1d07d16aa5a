/* Shared test fixtures: the real metrics maps and a private bpffs. */
#ifndef MCPF_UNIT_FIXTURE_H
#define MCPF_UNIT_FIXTURE_H

#include <stddef.h>

/* The maps of the real BPF object (via the skeleton, so the BTF and sizes
 * are exactly the daemon's), created without loading any program and
 * without pinning. Returns 0 and the fds, or -errno. */
struct mcpfence;
int fixture_maps_open(struct mcpfence **skel, int *tool_fd, int *daemon_fd);
void fixture_maps_close(struct mcpfence *skel);

/* A fresh bpffs mounted on a new temporary directory inside a private
 * mount namespace of this process, so it vanishes with the process even
 * if a test crashes. Returns 0 or -errno. */
int fixture_bpffs_mount(char *dir, size_t len);
void fixture_bpffs_unmount(const char *dir);

/* Run fn(arg) in a child with stdout and stderr captured; returns the
 * child's exit status (or -1), the malloc'd stdout in *out and, if err is
 * not NULL, the malloc'd stderr in *err. */
int fixture_capture(int (*fn)(void *), void *arg, char **out, char **err);

#endif /* MCPF_UNIT_FIXTURE_H */
