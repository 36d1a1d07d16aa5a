/* cgroup id -> path, on a cgroup of our own under the cgroup2 mount. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include "harness.h"
#include "../../user/cgroup_path.h"
#include "../../user/sysfs.h"

/* The mount the daemon picks as its default --cgroup really is cgroup v2. */
TEST(cgroup2_mount_is_a_cgroup2_filesystem)
{
	char mount[4096];
	struct statfs fs;

	CHECK_INT_EQ(cgroup2_mount(mount, sizeof(mount)), 0);
	CHECK_INT_EQ(statfs(mount, &fs), 0);
	CHECK(fs.f_type == CGROUP2_SUPER_MAGIC);
}

static void resolve(const char *mount, const char *leaf, int mfd)
{
	char want[300], path[256];
	struct stat st;

	/* a cgroup's id is its kernfs inode number */
	CHECK_INT_EQ(stat(leaf, &st), 0);
	CHECK_INT_EQ(cgroup_path_from_id(mfd, st.st_ino, path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s", leaf + strlen(mount));
	CHECK_STR_EQ(path, want);
	CHECK_INT_EQ(stat(mount, &st), 0);
	CHECK_INT_EQ(cgroup_path_from_id(mfd, st.st_ino, path, sizeof(path)), 0);
	CHECK_STR_EQ(path, "/");
	CHECK_INT_EQ(cgroup_path_from_id(mfd, 1ULL << 60, path, sizeof(path)), -ESTALE);
	CHECK_INT_EQ(cgroup_path_from_id(mfd, st.st_ino, path, 1), -ENAMETOOLONG);
}

TEST(cgroup_path_from_id_resolves_own_cgroup)
{
	char mount[256], dir[300], leaf[320];
	int mfd, made;

	CHECK_INT_EQ(cgroup2_mount(mount, sizeof(mount)), 0);
	snprintf(dir, sizeof(dir), "%s/mcpf-unit-%d", mount, (int)getpid());
	snprintf(leaf, sizeof(leaf), "%s/inner", dir);
	made = mkdir(dir, 0755) == 0 && mkdir(leaf, 0755) == 0;
	mfd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (made && mfd >= 0)
		resolve(mount, leaf, mfd);
	if (mfd >= 0)
		close(mfd);
	rmdir(leaf);
	rmdir(dir);
	CHECK(made);
	CHECK(mfd >= 0);
}
