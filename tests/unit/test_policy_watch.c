/* policy_watch: reloads replace the policy, invalid files keep the old one,
 * and editors that rename a new file over the old one are noticed. */
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "mcpfence.skel.h"
#include "policy_fixture.h"
#include "policy_watch.h"
#include "stats.h"

#define GOOD "{\"version\":\"1\",\"servers\":{\"a\":{\"endpoints\":[\"127.0.0.1:3002\"],\"default\":\"allow\"}}}"
#define BAD  "{\"version\":\"1\",\"servers\":{\"a\":{\"default\":\"maybe\"}}}"

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* Writes text to a temporary name and renames it over path, as editors do. */
static int replace_file(const char *path, const char *text)
{
	char tmp[4200];

	snprintf(tmp, sizeof(tmp), "%s.swp", path);
	return write_file(tmp, text) || rename(tmp, path) ? -1 : 0;
}

/* Dispatch the inotify watch once, as the event loop would. */
static bool dispatch(struct policy_watch *pw)
{
	struct pollfd p = { .fd = pw->inotify.fd, .events = POLLIN };

	if (poll(&p, 1, 1000) != 1)
		return false;
	pw->inotify.cb(&pw->inotify, EPOLLIN);
	return true;
}

static unsigned long long reloads(int fd, bool ok)
{
	struct mcpf_daemon_stats d;

	if (stats_read_daemon(fd, &d))
		return ~0ULL;
	return ok ? d.policy_reloads_ok : d.policy_reloads_failed;
}

/* The checks; the caller cleans up whatever a failed CHECK leaves. */
static void reload_sequence(struct policy_fixture *f, const char *dir, struct policy_watch *pw,
			    struct loop *loop)
{
	char file[4200];
	struct policy *p;
	int stats_fd = bpf_map__fd(f->skel->maps.daemon_stats);
	struct mcpf_endpoint ep = { .addr.b = { [10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1 }, .port = 3002 };
	struct mcpf_target target;

	snprintf(file, sizeof(file), "%s/policy.json", dir);
	CHECK(write_file(file, GOOD) == 0);
	CHECK(policy_watch_init(pw, file) == 0);
	pw->maps = &f->maps;
	pw->daemon_stats_fd = stats_fd;
	CHECK((p = policy_watch_read(pw)) != NULL);
	CHECK(policy_watch_install(pw, p) == 0);
	CHECK_INT_EQ(policy_active_generation(&f->maps), 1);
	CHECK(bpf_map_lookup_elem(f->maps.targets, &ep, &target) == 0);
	CHECK_STR_EQ(target.server, "a");
	CHECK(policy_watch_start(pw, loop) == 0);

	CHECK(replace_file(file, BAD) == 0);
	CHECK(dispatch(pw));
	CHECK_INT_EQ(policy_active_generation(&f->maps), 1);
	CHECK_INT_EQ(reloads(stats_fd, false), 1);
	CHECK(bpf_map_lookup_elem(f->maps.targets, &ep, &target) == 0);

	CHECK(replace_file(file, GOOD) == 0);
	CHECK(dispatch(pw));
	CHECK_INT_EQ(policy_active_generation(&f->maps), 2);
	CHECK_INT_EQ(reloads(stats_fd, true), 1);

	/* written in place: one reload when the writer closes the file */
	CHECK(write_file(file, GOOD) == 0);
	CHECK(dispatch(pw));
	CHECK_INT_EQ(policy_active_generation(&f->maps), 3);
	CHECK_INT_EQ(reloads(stats_fd, true), 2);

	/* another file in the same directory is not ours */
	snprintf(file, sizeof(file), "%s/other.json", dir);
	CHECK(write_file(file, BAD) == 0);
	CHECK(dispatch(pw));
	CHECK_INT_EQ(policy_active_generation(&f->maps), 3);
	CHECK_INT_EQ(reloads(stats_fd, false), 1);
}

/* dir/policy.json -> ..data/policy.json, ..data -> v1 or v2: the way a
 * Kubernetes ConfigMap volume updates, by renaming a new ..data link. */
static void symlink_sequence(struct policy_fixture *f, const char *dir, struct policy_watch *pw,
			     struct loop *loop)
{
	char path[4200], link_tmp[4200], data[4200];
	struct policy *p;

	for (int v = 1; v <= 2; v++) {
		snprintf(path, sizeof(path), "%s/v%d", dir, v);
		CHECK(mkdir(path, 0700) == 0);
		snprintf(path, sizeof(path), "%s/v%d/policy.json", dir, v);
		CHECK(write_file(path, GOOD) == 0);
	}
	snprintf(data, sizeof(data), "%s/..data", dir);
	CHECK(symlink("v1", data) == 0);
	snprintf(path, sizeof(path), "%s/policy.json", dir);
	CHECK(symlink("..data/policy.json", path) == 0);
	CHECK(policy_watch_init(pw, path) == 0);
	CHECK(pw->via_symlink);
	pw->maps = &f->maps;
	pw->daemon_stats_fd = bpf_map__fd(f->skel->maps.daemon_stats);
	CHECK((p = policy_watch_read(pw)) != NULL);
	CHECK(policy_watch_install(pw, p) == 0);
	CHECK(policy_watch_start(pw, loop) == 0);

	snprintf(link_tmp, sizeof(link_tmp), "%s/..data_tmp", dir);
	CHECK(symlink("v2", link_tmp) == 0);
	CHECK(rename(link_tmp, data) == 0);
	CHECK(dispatch(pw));
	CHECK_INT_EQ(policy_active_generation(&f->maps), 2);

	/* a rename that leaves the target as it was is not a change */
	snprintf(path, sizeof(path), "%s/unrelated", dir);
	CHECK(write_file(link_tmp, "x") == 0 && rename(link_tmp, path) == 0);
	CHECK(dispatch(pw));
	CHECK_INT_EQ(policy_active_generation(&f->maps), 2);
}

/* Out of descriptors while reloading: the reload is tried again, and the
 * new policy is in force once one is free; an invalid file is not retried. */
static void retry_sequence(struct policy_fixture *f, const char *dir, struct policy_watch *pw, struct loop *loop)
{
	char file[4200];
	struct policy *p;
	struct timer_wheel tw = { 0 };
	struct rlimit saved, low;
	int probe, err;

	snprintf(file, sizeof(file), "%s/policy.json", dir);
	CHECK(write_file(file, GOOD) == 0);
	CHECK(policy_watch_init(pw, file) == 0);
	pw->maps = &f->maps;
	pw->daemon_stats_fd = bpf_map__fd(f->skel->maps.daemon_stats);
	CHECK((p = policy_watch_read(pw)) != NULL);
	CHECK(policy_watch_install(pw, p) == 0);
	CHECK(timer_wheel_init(&tw, loop) == 0);
	pw->wheel = &tw;
	CHECK_INT_EQ(policy_active_generation(&f->maps), 1);

	/* the lowest free descriptor is the limit: nothing more can open */
	CHECK((probe = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0);
	close(probe);
	CHECK(getrlimit(RLIMIT_NOFILE, &saved) == 0);
	low = saved;
	low.rlim_cur = (rlim_t)probe;
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
	policy_watch_reload(pw, "test");
	err = pw->read_err;
	CHECK(setrlimit(RLIMIT_NOFILE, &saved) == 0);
	CHECK_INT_EQ(err, -EMFILE);
	CHECK_INT_EQ(policy_active_generation(&f->maps), 1);
	CHECK(timer_armed(&pw->retry));
	CHECK_INT_EQ(pw->retry_s, 1);

	/* the retry finds a descriptor: the policy is installed */
	timer_wheel_advance(&tw, tw.now_s + 3);
	CHECK_INT_EQ(policy_active_generation(&f->maps), 2);
	CHECK(!timer_armed(&pw->retry));

	/* an invalid file waits for its fix */
	CHECK(write_file(file, BAD) == 0);
	policy_watch_reload(pw, "test");
	CHECK_INT_EQ(pw->read_err, -EINVAL);
	CHECK(!timer_armed(&pw->retry));
	timer_wheel_fini(&tw);
}

typedef void (*watch_sequence)(struct policy_fixture *f, const char *dir, struct policy_watch *pw,
			       struct loop *loop);

/* Runs seq in a fresh directory, then removes what it may have left
 * (names relative to the directory, deepest first), also after a failed CHECK. */
static void in_temp_dir(struct policy_fixture *f, watch_sequence seq, const char *const *names)
{
	char dir[] = "/tmp/mcpf-watch-XXXXXX", path[4200];
	struct policy_watch pw = { .inotify.fd = -1 };
	struct loop loop;

	CHECK(mkdtemp(dir));
	if (loop_init(&loop) == 0) {
		seq(f, dir, &pw, &loop);
		policy_watch_stop(&pw);
		loop_fini(&loop);
	}
	for (; *names; names++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *names);
		if (unlink(path))
			rmdir(path);
	}
	CHECK(rmdir(dir) == 0);
}

MAPS_TEST(policy_watch_reloads_on_rename_and_keeps_old_on_error)
{
	static const char *const names[] = { "policy.json", "policy.json.swp", "other.json", NULL };

	in_temp_dir(f, reload_sequence, names);
}

MAPS_TEST(policy_watch_retries_a_reload_that_ran_out_of_descriptors)
{
	static const char *const names[] = { "policy.json", NULL };

	in_temp_dir(f, retry_sequence, names);
}

MAPS_TEST(policy_watch_follows_configmap_style_symlink_swaps)
{
	static const char *const names[] = { "policy.json", "..data", "..data_tmp", "unrelated",
					     "v1/policy.json", "v2/policy.json", "v1", "v2", NULL };

	in_temp_dir(f, symlink_sequence, names);
}
