/* cgroup v2 id (what bpf_get_current_cgroup_id() returns) -> path, for
 * logs that a person reads. */
#ifndef MCPF_CGROUP_PATH_H
#define MCPF_CGROUP_PATH_H

#include <stddef.h>
#include <stdint.h>

/* The path of cgroup `id` relative to the cgroup2 mount (e.g.
 * "/system.slice/foo.service", "/" for the root) into buf. Needs
 * CAP_DAC_READ_SEARCH (open_by_handle_at); three syscalls, so resolve
 * once per connection, not per call. 0 or -errno (-ESTALE: no such
 * cgroup any more). */
int cgroup_path_from_id(int cgroup2_mount_fd, uint64_t id, char *buf, size_t len);

#endif /* MCPF_CGROUP_PATH_H */
