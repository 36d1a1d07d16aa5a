#include "fixture.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "mcpfence.skel.h"
#include "stats.h"

static int fixture_maps_open(struct mcpfence **skel_out, int *tool_fd, int *daemon_fd)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	struct mcpfence *skel;
	int err;

	skel = mcpfence__open();
	if (!skel)
		return -errno;
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, false);
	bpf_object__for_each_map(map, skel->obj)
		bpf_map__set_pin_path(map, NULL);
	err = mcpfence__load(skel);
	if (err) {
		mcpfence__destroy(skel);
		return err;
	}
	*skel_out = skel;
	*tool_fd = bpf_map__fd(skel->maps.tool_stats);
	*daemon_fd = bpf_map__fd(skel->maps.daemon_stats);
	return 0;
}

static void fixture_maps_close(struct mcpfence *skel)
{
	mcpfence__destroy(skel);
}

static int fixture_bpffs_mount(char *dir, size_t len)
{
	static bool private_ns;

	if (!private_ns) {
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			return -errno;
		private_ns = true;
	}
	if (snprintf(dir, len, "/tmp/mcpf-unit-bpffs.XXXXXX") >= (int)len)
		return -ENAMETOOLONG;
	if (!mkdtemp(dir))
		return -errno;
	if (mount("bpf", dir, "bpf", 0, NULL)) {
		int err = -errno;

		rmdir(dir);
		return err;
	}
	return 0;
}

static void fixture_bpffs_unmount(const char *dir)
{
	umount2(dir, MNT_DETACH);
	rmdir(dir);
}

int fixture_with_maps(void (*body)(int tool_fd, int daemon_fd))
{
	struct mcpfence *skel;
	int tfd, dfd;

	if (fixture_maps_open(&skel, &tfd, &dfd))
		return -1;
	body(tfd, dfd);
	fixture_maps_close(skel);
	return 0;
}

int fixture_with_pinned_maps(void (*body)(int tool_fd, int daemon_fd, const char *bpffs))
{
	struct mcpfence *skel;
	char dir[64], path[128];
	int tfd, dfd, err = -1;

	if (fixture_maps_open(&skel, &tfd, &dfd))
		return -1;
	if (fixture_bpffs_mount(dir, sizeof(dir))) {
		fixture_maps_close(skel);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/tool_stats", dir);
	if (bpf_obj_pin(tfd, path) == 0) {
		snprintf(path, sizeof(path), "%s/daemon_stats", dir);
		if (bpf_obj_pin(dfd, path) == 0 && stats_prepare(tfd, dfd, true) == 0) {
			body(tfd, dfd, dir);
			err = 0;
		}
	}
	fixture_bpffs_unmount(dir);
	fixture_maps_close(skel);
	return err;
}

int fixture_with_tmpdir(void (*body)(const char *dir))
{
	char dir[] = "/tmp/mcpf-unit.XXXXXX", path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	if (!mkdtemp(dir))
		return -1;
	body(dir);
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	return 0;
}

/* Everything readable from fd until EOF, malloc'd and NUL-terminated. */
static char *slurp(int fd)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;

	for (;;) {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb)
				break;
			buf = nb;
			cap += 65536;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (buf)
		buf[len] = '\0';
	return buf;
}

int fixture_capture(int (*fn)(void *), void *arg, char **out, char **err)
{
	int pipefd[2], errfd, status;
	pid_t pid;

	*out = NULL;
	if (err)
		*err = NULL;
	/* stderr to an unlinked file: read after exit, so neither stream can
	 * block the child while the parent drains the other */
	errfd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	if (errfd < 0)
		return -1;
	if (pipe(pipefd)) {
		close(errfd);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		close(errfd);
		return -1;
	}
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(errfd, STDERR_FILENO);
		close(pipefd[0]);
		close(pipefd[1]);
		close(errfd);
		status = fn(arg);
		fflush(stdout);
		fflush(stderr);
		_exit(status);
	}
	close(pipefd[1]);
	*out = slurp(pipefd[0]);
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) != pid) {
		close(errfd);
		return -1;
	}
	if (err) {
		lseek(errfd, 0, SEEK_SET);
		*err = slurp(errfd);
	}
	close(errfd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void fixture_compress(const char *in, size_t len, int window, struct bytebuf *out)
{
	z_stream z;

	memset(&z, 0, sizeof(z));
	deflateInit2(&z, 9, Z_DEFLATED, window, 9, Z_DEFAULT_STRATEGY);
	bb_reserve(out, deflateBound(&z, len) + 16);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)out->data + out->len;
	z.avail_out = (uInt)(out->cap - out->len - 1);
	deflate(&z, Z_FINISH);
	bb_commit(out, z.total_out);
	deflateEnd(&z);
}
