#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log.h"
#include "policy_watch.h"
#include "stats.h"

int policy_watch_init(struct policy_watch *pw, const char *file)
{
	struct stat st;
	char *slash;

	memset(pw, 0, sizeof(*pw));
	pw->inotify.fd = -1;
	pw->daemon_stats_fd = -1;
	if (file[0] == '/') {
		snprintf(pw->file, sizeof(pw->file), "%s", file);
	} else {
		char cwd[PATH_MAX];

		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		if (snprintf(pw->file, sizeof(pw->file), "%s/%s", cwd, file) >= (int)sizeof(pw->file))
			return -ENAMETOOLONG;
	}
	slash = strrchr(pw->file, '/');
	pw->base = slash + 1;
	pw->via_symlink = lstat(pw->file, &st) == 0 && S_ISLNK(st.st_mode);
	return 0;
}

/* Which file the path leads to now; false if none. */
static bool current_file(const struct policy_watch *pw, dev_t *dev, ino_t *ino)
{
	struct stat st;

	if (stat(pw->file, &st))
		return false;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return true;
}

struct policy *policy_watch_read(struct policy_watch *pw)
{
	struct policy_errors errs = { 0 };
	struct policy *policy;

	/* before reading: a change after this point gets an event of its own */
	if (!current_file(pw, &pw->read_dev, &pw->read_ino))
		pw->read_dev = pw->read_ino = 0;
	if ((pw->read_err = policy_load(pw->file, &policy, &errs)) == 0)
		return policy;
	for (size_t i = 0; i < errs.n; i++)
		log_error("%s", errs.line[i]);
	policy_errors_free(&errs);
	return NULL;
}

int policy_watch_install(struct policy_watch *pw, struct policy *policy)
{
	char err[512];
	int rc = policy_compile(pw->maps, policy, err, sizeof(err));

	if (rc)
		log_error("%s: cannot install the policy: %s", pw->file, err);
	else
		log_info("policy %s: %zu servers, %zu endpoints, %zu rules (generation %u)", pw->file,
			 policy->n_servers, policy->n_endpoints, policy->n_tools,
			 policy_active_generation(pw->maps));
	policy_free(policy);
	return rc ? -1 : 0;
}

static void on_retry(struct timer *t)
{
	policy_watch_reload(container_of(t, struct policy_watch, retry), "retrying");
}

void policy_watch_reload(struct policy_watch *pw, const char *why)
{
	struct policy *policy;
	bool ok;

	log_info("reloading policy %s (%s)", pw->file, why);
	timer_cancel(&pw->retry);
	policy = policy_watch_read(pw);
	ok = policy && policy_watch_install(pw, policy) == 0;
	stats_policy_reloaded(pw->daemon_stats_fd, ok);
	if (ok || pw->read_err == -EINVAL || !pw->wheel) {
		if (!ok)
			log_warn("policy %s not reloaded; generation %u stays in force", pw->file,
				 policy_active_generation(pw->maps));
		pw->retry_s = 0;
		return;
	}
	pw->retry_s = pw->retry_s ? (pw->retry_s * 2 > 30 ? 30 : pw->retry_s * 2) : 1;
	log_warn("policy %s not reloaded; generation %u stays in force; trying again in %u s", pw->file,
		 policy_active_generation(pw->maps), pw->retry_s);
	pw->retry.fn = on_retry;
	timer_arm(pw->wheel, &pw->retry, pw->retry_s);
}

static bool symlink_moved(const struct policy_watch *pw)
{
	dev_t dev;
	ino_t ino;

	return current_file(pw, &dev, &ino) && (dev != pw->read_dev || ino != pw->read_ino);
}

/* One reload per batch of events, however many of them name the file. */
static void on_inotify(struct watch *w, uint32_t revents)
{
	struct policy_watch *pw = container_of(w, struct policy_watch, inotify);
	char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;
	ssize_t n;

	(void)revents;
	while ((n = read(w->fd, events, sizeof(events))) > 0) {
		for (char *p = events; p < events + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			if (ev->len && !strcmp(ev->name, pw->base))
				changed = true;
			else if (pw->via_symlink && (ev->mask & IN_MOVED_TO))
				changed |= symlink_moved(pw);
			p += sizeof(*ev) + ev->len;
		}
	}
	if (changed)
		policy_watch_reload(pw, "file changed");
}

int policy_watch_start(struct policy_watch *pw, struct loop *loop)
{
	char dir[PATH_MAX];
	size_t dir_len = pw->base - 1 - pw->file;

	if (dir_len == 0)
		dir_len = 1;  /* a file in / */
	memcpy(dir, pw->file, dir_len);
	dir[dir_len] = '\0';
	pw->loop = loop;
	pw->inotify.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (pw->inotify.fd < 0)
		return -errno;
	if (inotify_add_watch(pw->inotify.fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
		int err = -errno;

		log_error("watching %s for policy changes: %s", dir, strerror(-err));
		return err;
	}
	pw->inotify.cb = on_inotify;
	return loop_watch(loop, &pw->inotify, EPOLLIN);
}

void policy_watch_stop(struct policy_watch *pw)
{
	timer_cancel(&pw->retry);
	loop_close(pw->loop, &pw->inotify);
}
