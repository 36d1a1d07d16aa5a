/* cgroup id -> path, on a cgroup of our own under the cgroup2 mount. */
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "../../user/cgroup_path.h"

static int cgroup2_mount(char *buf, size_t len)
{
	FILE *f = setmntent("/proc/mounts", "r");
	struct mntent *m;
	int found = -1;

	while (f && (m = getmntent(f))) {
		if (!strcmp(m->mnt_type, "cgroup2")) {
			snprintf(buf, len, "%s", m->mnt_dir);
			found = 0;
			break;
		}
	}
	if (f)
		endmntent(f);
	return found;
}

TEST(cgroup_path_from_id_resolves_own_cgroup)
{
	char mount[256], dir[512], sub[600], path[256];
	struct stat st;
	int mfd;

	if (cgroup2_mount(mount, sizeof(mount))) {
		CHECK(!"a cgroup2 mount in /proc/mounts");
		return;
	}
	snprintf(dir, sizeof(dir), "%s/mcpf-unit-%d", mount, (int)getpid());
	snprintf(sub, sizeof(sub), "%s/inner", dir);
	CHECK_EQ(mkdir(dir, 0755), 0);
	CHECK_EQ(mkdir(sub, 0755), 0);
	mfd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(mfd >= 0);
	/* a cgroup's id is its kernfs inode number */
	CHECK_EQ(stat(sub, &st), 0);
	CHECK_EQ(cgroup_path_from_id(mfd, st.st_ino, path, sizeof(path)), 0);
	snprintf(dir, sizeof(dir), "/mcpf-unit-%d/inner", (int)getpid());
	CHECK_STREQ(path, dir);
	CHECK_EQ(stat(mount, &st), 0);
	CHECK_EQ(cgroup_path_from_id(mfd, st.st_ino, path, sizeof(path)), 0);
	CHECK_STREQ(path, "/");
	CHECK_EQ(cgroup_path_from_id(mfd, 1ULL << 60, path, sizeof(path)), -ESTALE);
	CHECK_EQ(cgroup_path_from_id(mfd, st.st_ino, path, 1), -ENAMETOOLONG);
	if (mfd >= 0)
		close(mfd);
	rmdir(sub);
	snprintf(dir, sizeof(dir), "%s/mcpf-unit-%d", mount, (int)getpid());
	CHECK_EQ(rmdir(dir), 0);
}
