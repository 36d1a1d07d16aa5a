#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gzip_file.h"
#include "redact.h"
#include "utf8.h"

#define COMPRESS_NICE 10

struct audit_log {
	char *path;
	int fd;
	uint64_t size;          /* bytes in the current FILE */
	uint64_t max_bytes;
	unsigned int keep;
	bool log_args;
	/* fd, size and rotation; not held while a line is formatted (redacting
	 * arguments is the agent's to make long) */
	pthread_mutex_t write_mu;

	/* compression worker: one job at a time, FILE.1 -> FILE.1.gz */
	pthread_t worker;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool job_pending;
	bool stopping;
	int job_err;
};

static char *numbered(const char *path, unsigned int n, const char *suffix)
{
	char *s;

	return asprintf(&s, "%s.%u%s", path, n, suffix) < 0 ? NULL : s;
}

/* ---- formatting ---- */

static int add_string(cJSON *obj, const char *key, const char *s)
{
	char *clean;
	cJSON *v;

	if (!s)
		return cJSON_AddNullToObject(obj, key) ? 0 : -ENOMEM;
	clean = utf8_valid(s) ? NULL : utf8_sanitize_dup(s);
	if (!utf8_valid(s) && !clean)
		return -ENOMEM;
	v = cJSON_AddStringToObject(obj, key, clean ? clean : s);
	free(clean);
	return v ? 0 : -ENOMEM;
}

/* Make every key and string of a (copied) argument tree valid UTF-8. */
static int sanitize_tree(cJSON *node)
{
	char *clean;
	cJSON *c;

	if (node->string && !(node->type & cJSON_StringIsConst) && !utf8_valid(node->string)) {
		clean = utf8_sanitize_dup(node->string);
		if (!clean)
			return -ENOMEM;
		cJSON_free(node->string);
		node->string = clean;
	}
	if (cJSON_IsString(node) && node->valuestring && !utf8_valid(node->valuestring)) {
		clean = utf8_sanitize_dup(node->valuestring);
		if (!clean)
			return -ENOMEM;
		cJSON_free(node->valuestring);
		node->valuestring = clean;
	}
	for (c = node->child; c; c = c->next)
		if (sanitize_tree(c))
			return -ENOMEM;
	return 0;
}

static void format_time(const struct timespec *t, char *buf, size_t len)
{
	struct timespec now;
	struct tm tm;

	if (t->tv_sec == 0 && t->tv_nsec == 0) {
		clock_gettime(CLOCK_REALTIME, &now);
		t = &now;
	}
	gmtime_r(&t->tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(t->tv_nsec / 1000000));
}

int audit_format(const struct audit_record *r, bool log_args, struct bytebuf *out)
{
	cJSON *line = cJSON_CreateObject(), *agent, *args;
	char when[64];
	char *text;
	int err = -ENOMEM;

	if (!line)
		return -ENOMEM;
	format_time(&r->time, when, sizeof(when));
	if (!cJSON_AddStringToObject(line, "time", when))
		goto out;
	agent = cJSON_AddObjectToObject(line, "agent");
	if (!agent || !cJSON_AddNumberToObject(agent, "pid", r->pid) ||
	    !cJSON_AddNumberToObject(agent, "uid", r->uid) || add_string(agent, "comm", r->comm) ||
	    !cJSON_AddNumberToObject(agent, "cgroup", (double)r->cgroup_id))
		goto out;
	if (r->cgroup_path && add_string(agent, "cgroup_path", r->cgroup_path))
		goto out;
	if (add_string(line, "server", r->server) || add_string(line, "tool", r->tool ? r->tool : "") ||
	    add_string(line, "decision", stats_decision_name(r->decision)) ||
	    add_string(line, "rule", r->rule) || add_string(line, "reason", r->reason) ||
	    add_string(line, "session", r->session) ||
	    !cJSON_AddNumberToObject(line, "latency_ms", (double)((r->latency_ns + 500) / 1000) / 1000.0))
		goto out;
	if (r->args_hash && (add_string(line, "approved_by", r->approved_by ? r->approved_by : "") ||
			    add_string(line, "args_hash", r->args_hash ? r->args_hash : "")))
		goto out;
	if (log_args && r->arguments) {
		args = cJSON_Duplicate(r->arguments, true);
		if (!args)
			goto out;
		if (sanitize_tree(args) || redact_json(args) < 0) {
			cJSON_Delete(args);
			goto out;
		}
		cJSON_AddItemToObject(line, "arguments", args);
	}
	text = cJSON_PrintUnformatted(line);
	if (!text)
		goto out;
	bb_append_str(out, text);
	bb_putc(out, '\n');
	cJSON_free(text);
	err = out->failed ? -ENOMEM : 0;
out:
	cJSON_Delete(line);
	return err;
}

/* ---- compression worker ---- */

static void *compress_worker(void *arg)
{
	struct audit_log *a = arg;
	char *raw, *gz;
	int err;

	setpriority(PRIO_PROCESS, (id_t)gettid(), COMPRESS_NICE);
	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (!a->job_pending && !a->stopping)
			pthread_cond_wait(&a->cv, &a->mu);
		if (!a->job_pending)
			break;
		pthread_mutex_unlock(&a->mu);
		raw = numbered(a->path, 1, "");
		gz = numbered(a->path, 1, ".gz");
		err = raw && gz ? gzip_file(raw, gz) : -ENOMEM;
		if (!err && unlink(raw))
			err = -errno;
		if (err)
			fprintf(stderr, "mcpfence: audit: compressing %s: %s\n", raw ? raw : a->path,
				strerror(-err));
		free(raw);
		free(gz);
		pthread_mutex_lock(&a->mu);
		a->job_err = err;
		a->job_pending = false;
		pthread_cond_broadcast(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

static void wait_idle(struct audit_log *a)
{
	pthread_mutex_lock(&a->mu);
	while (a->job_pending)
		pthread_cond_wait(&a->cv, &a->mu);
	pthread_mutex_unlock(&a->mu);
}

/* FILE.1 left uncompressed (a failed job or a daemon that died during
 * one): compress it now, unless its .gz was already complete. */
static int finish_leftover(struct audit_log *a)
{
	char *raw = numbered(a->path, 1, ""), *gz = numbered(a->path, 1, ".gz");
	int err = 0;

	if (!raw || !gz) {
		err = -ENOMEM;
	} else if (access(raw, F_OK) == 0) {
		if (access(gz, F_OK) != 0)
			err = gzip_file(raw, gz);
		if (!err && unlink(raw))
			err = -errno;
	}
	free(raw);
	free(gz);
	return err;
}

/* ---- rotation and writing ---- */

static int open_current(const char *path, uint64_t *size)
{
	struct stat st;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		int err = -errno;

		close(fd);
		return err;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

/* Shift FILE.i.gz up by one, dropping FILE.<keep>.gz. */
static int shift_rotated(struct audit_log *a)
{
	char *from, *to;
	unsigned int i;
	int err = 0;

	to = numbered(a->path, a->keep, ".gz");
	if (!to)
		return -ENOMEM;
	if (unlink(to) && errno != ENOENT)
		err = -errno;
	for (i = a->keep; !err && i > 1; i--) {
		from = numbered(a->path, i - 1, ".gz");
		if (!from) {
			err = -ENOMEM;
			break;
		}
		if (rename(from, to) && errno != ENOENT)
			err = -errno;
		free(to);
		to = from;
	}
	free(to);
	return err;
}

/* Start a new FILE. On failure the current file stays open and keeps
 * taking lines (over max_bytes rather than losing any). */
static int rotate(struct audit_log *a)
{
	char *raw;
	uint64_t size;
	int err, fd;

	if (a->keep == 0) {
		if (ftruncate(a->fd, 0))
			return -errno;
		a->size = 0;
		return 0;
	}
	wait_idle(a);
	err = finish_leftover(a);  /* never rename over an uncompressed FILE.1 */
	if (!err)
		err = shift_rotated(a);
	if (err)
		return err;
	raw = numbered(a->path, 1, "");
	if (!raw)
		return -ENOMEM;
	if (rename(a->path, raw)) {
		err = -errno;
		free(raw);
		return err;
	}
	fd = open_current(a->path, &size);
	if (fd < 0) {
		/* best effort: a->fd keeps writing the old file under either name */
		rename(raw, a->path);
		free(raw);
		return fd;
	}
	free(raw);
	close(a->fd);
	a->fd = fd;
	a->size = size;
	pthread_mutex_lock(&a->mu);
	a->job_pending = true;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return 0;
}

static int append_line(struct audit_log *a, const char *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;
	int err;

	if (a->max_bytes && a->size > 0 && a->size + len > a->max_bytes) {
		err = rotate(a);
		if (err)
			fprintf(stderr, "mcpfence: audit: rotating %s: %s (still writing to it)\n",
				a->path, strerror(-err));
	}
	while (done < len) {
		n = write(a->fd, buf + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			/* cut the partial line off so the file stays line-aligned */
			if (done && ftruncate(a->fd, (off_t)a->size) == 0)
				done = 0;
			a->size += done;
			return err;
		}
		done += (size_t)n;
	}
	a->size += len;
	return 0;
}

int audit_write(struct audit_log *a, const struct audit_record *r)
{
	struct bytebuf line = BYTEBUF_INIT;
	int err;

	err = audit_format(r, a->log_args, &line);
	if (!err) {
		pthread_mutex_lock(&a->write_mu);
		err = append_line(a, line.data, line.len);
		pthread_mutex_unlock(&a->write_mu);
	}
	bb_free(&line);
	return err;
}

bool audit_logs_args(const struct audit_log *a)
{
	return a->log_args;
}

struct audit_log *audit_open(const struct audit_options *opt)
{
	struct audit_log *a;
	sigset_t all, old;
	int err;

	if (!opt->path || !*opt->path) {
		errno = EINVAL;
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (!a || !(a->path = strdup(opt->path))) {
		free(a);
		errno = ENOMEM;
		return NULL;
	}
	a->max_bytes = opt->max_bytes;
	a->keep = opt->keep;
	a->log_args = opt->log_args;
	err = a->keep ? finish_leftover(a) : 0;
	if (!err) {
		a->fd = open_current(a->path, &a->size);
		err = a->fd < 0 ? a->fd : 0;
	}
	if (err)
		goto fail;
	pthread_mutex_init(&a->write_mu, NULL);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	/* the worker must never take the daemon's signals */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&a->worker, NULL, compress_worker, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		close(a->fd);
		goto fail;
	}
	return a;
fail:
	free(a->path);
	free(a);
	errno = -err;
	return NULL;
}

void audit_close(struct audit_log *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->stopping = true;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->worker, NULL);  /* finishes a pending job first */
	close(a->fd);
	pthread_mutex_destroy(&a->write_mu);
	free(a->path);
	free(a);
}
