#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include "log.h"
#include "sysfs.h"

#define DEFAULT_BPFFS_ROOT "/sys/fs/bpf"

int cgroup2_mount(char *out, size_t len)
{
	char dev[256], dir[4096], type[64];
	FILE *f = fopen("/proc/mounts", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
		if (strcmp(type, "cgroup2") == 0) {
			snprintf(out, len, "%s", dir);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

int cgroup2_self(char *out, size_t len)
{
	char mnt[4096], line[4096];
	FILE *f;
	int err = -ENOENT;

	if ((err = cgroup2_mount(mnt, sizeof(mnt))))
		return err;
	err = -ENOENT;
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	/* the v2 entry is the one with hierarchy id 0: "0::/path" */
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(out, len, "%s%s", mnt, strcmp(line + 3, "/") ? line + 3 : "");
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

bool path_within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool on_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

int bpffs_prepare(const char *dir)
{
	char parent[4096];
	char *slash;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent) {
		log_error("--bpffs %s: must be a directory below a bpf filesystem mount", dir);
		return -EINVAL;
	}
	*slash = '\0';
	if (!on_bpffs(parent)) {
		if (strcmp(parent, DEFAULT_BPFFS_ROOT) != 0) {
			log_error("--bpffs %s: %s is not a bpf filesystem (mount -t bpf bpf %s)",
				  dir, parent, parent);
			return -ENOTDIR;
		}
		if (mount("bpf", parent, "bpf", 0, "mode=0700")) {
			log_error("mounting bpffs on %s: %s", parent, strerror(errno));
			return -errno;
		}
		log_info("mounted bpffs on %s", parent);
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		log_error("creating %s: %s", dir, strerror(errno));
		return -errno;
	}
	return 0;
}

/* A cgroup v2 directory's id (its kernfs inode, what
 * bpf_get_current_ancestor_cgroup_id returns) and depth below the root. */
int cgroup2_id_level(const char *dir, uint64_t *id, unsigned *level)
{
	struct { struct file_handle fh; uint64_t id; } h = { .fh.handle_bytes = sizeof(uint64_t) };
	char mnt[4096], real[PATH_MAX];
	const char *rel;
	int mount_id, err;

	if ((err = cgroup2_mount(mnt, sizeof(mnt))))
		return err;
	if (!realpath(dir, real))
		return -errno;
	if (!path_within(real, mnt))
		return -EXDEV;
	if (name_to_handle_at(AT_FDCWD, real, &h.fh, &mount_id, 0))
		return -errno;
	*id = h.id;
	*level = 0;
	for (rel = real + strlen(mnt); *rel; rel++)
		*level += *rel == '/' && rel[1] && rel[1] != '/';
	return 0;
}
