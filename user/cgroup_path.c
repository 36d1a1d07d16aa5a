#include "cgroup_path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* kernfs exports a cgroup's 64-bit id as its file handle. */
#define FILEID_KERNFS 0xfe

static int fd_path(int fd, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len);
	if (n < 0)
		return -errno;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

int cgroup_path_from_id(int cgroup2_mount_fd, uint64_t id, char *buf, size_t len)
{
	union {
		struct file_handle fh;
		char space[sizeof(struct file_handle) + sizeof(uint64_t)];
	} h;
	char mount[PATH_MAX], full[PATH_MAX];
	size_t mlen;
	int fd, err;

	h.fh.handle_bytes = sizeof(uint64_t);
	h.fh.handle_type = FILEID_KERNFS;
	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(cgroup2_mount_fd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = fd_path(fd, full, sizeof(full));
	close(fd);
	if (!err)
		err = fd_path(cgroup2_mount_fd, mount, sizeof(mount));
	if (err)
		return err;
	mlen = strlen(mount);
	if (strncmp(full, mount, mlen) || (full[mlen] != '/' && full[mlen] != '\0'))
		return -EXDEV;  /* outside this mount (another cgroup namespace) */
	if (snprintf(buf, len, "%s", full[mlen] ? full + mlen : "/") >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}
