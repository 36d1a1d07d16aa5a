#include "acct.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup_path.h"
#include "log.h"
#include "loop.h"

/* Distinct rows one thread holds before it writes them: a batch of events
 * rarely touches more than a few tools. */
#define PENDING_ROWS 32
/* How long counted calls may wait to be written: the map write is two
 * syscalls per row, so at one connection a flush per batch cost four per
 * call. /metrics and stops write every thread's rows first. */
#define ACCT_FLUSH_MS 1

/* One thread's counted calls not yet in the map. */
struct pending {
	pthread_mutex_t lock;          /* the owner adds, any flusher empties */
	unsigned int n;
	struct mcpf_tool_key keys[PENDING_ROWS];
	struct mcpf_tool_stats rows[PENDING_ROWS];
	struct deferred flush;         /* queued on the owner's loop */
	bool queued;                   /* owner thread only */
	struct acct *acct;
	struct pending *next;          /* in acct->threads */
};

struct acct {
	int tool_fd, daemon_fd, cgroup2_fd;
	struct audit_log *audit;
	pthread_mutex_t threads_lock;
	struct pending *threads;
	unsigned long long id;
};

/* Which acct this thread's table belongs to (by id, so a freed acct and
 * a new one at the same address are never confused). */
static _Thread_local struct pending *mine;
static _Thread_local unsigned long long mine_id;
static unsigned long long next_id;

struct acct *acct_new(int tool_stats_fd, int daemon_stats_fd, struct audit_log *audit, int cgroup2_fd)
{
	struct acct *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->tool_fd = tool_stats_fd;
	a->daemon_fd = daemon_stats_fd;
	a->audit = audit;
	a->cgroup2_fd = cgroup2_fd;
	pthread_mutex_init(&a->threads_lock, NULL);
	a->id = __atomic_add_fetch(&next_id, 1, __ATOMIC_RELAXED);
	return a;
}

/* Takes the rows out under the table's lock, writes them outside it. */
static int flush_pending(struct acct *a, struct pending *p)
{
	struct mcpf_tool_key keys[PENDING_ROWS];
	struct mcpf_tool_stats rows[PENDING_ROWS];
	unsigned int n;
	int err = 0;

	pthread_mutex_lock(&p->lock);
	n = p->n;
	memcpy(keys, p->keys, n * sizeof(keys[0]));
	memcpy(rows, p->rows, n * sizeof(rows[0]));
	p->n = 0;
	pthread_mutex_unlock(&p->lock);
	for (unsigned int i = 0; i < n; i++) {
		int e = stats_add(a->tool_fd, &keys[i], &rows[i]);

		if (e && !err) {
			err = e;
			log_warn("recording stats for %s/%s failed: %s", keys[i].server, keys[i].tool, strerror(-e));
		}
	}
	return err;
}

int acct_flush(struct acct *a)
{
	int err = 0;

	pthread_mutex_lock(&a->threads_lock);
	for (struct pending *p = a->threads; p; p = p->next) {
		int e = flush_pending(a, p);

		if (!err)
			err = e;
	}
	pthread_mutex_unlock(&a->threads_lock);
	return err;
}

void acct_free(struct acct *a)
{
	struct pending *p, *next;

	if (!a)
		return;
	acct_flush(a);
	for (p = a->threads; p; p = next) {
		next = p->next;
		pthread_mutex_destroy(&p->lock);
		free(p);
	}
	audit_close(a->audit);
	if (a->cgroup2_fd >= 0)
		close(a->cgroup2_fd);
	pthread_mutex_destroy(&a->threads_lock);
	free(a);
}

int acct_prepare(struct acct *a, bool reset_active)
{
	return stats_prepare(a->tool_fd, a->daemon_fd, reset_active);
}

static void on_batch_end(struct deferred *d)
{
	struct pending *p = container_of(d, struct pending, flush);

	p->queued = false;
	flush_pending(p->acct, p);
}

/* This thread's table, made (and listed for flushers) on its first call. */
static struct pending *my_pending(struct acct *a)
{
	struct pending *p;

	if (mine && mine_id == a->id)
		return mine;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	p->acct = a;
	pthread_mutex_lock(&a->threads_lock);
	p->next = a->threads;
	a->threads = p;
	pthread_mutex_unlock(&a->threads_lock);
	mine = p;
	mine_id = a->id;
	return p;
}

static int find_row(struct pending *p, const struct mcpf_tool_key *k)
{
	for (unsigned int i = 0; i < p->n; i++)
		if (!memcmp(&p->keys[i], k, sizeof(*k)))
			return (int)i;
	return -1;
}

int acct_call(struct acct *a, const char *server, const char *tool, enum mcpf_decision decision,
	      uint64_t req_bytes, uint64_t resp_bytes, uint64_t latency_ns, bool upstream_error)
{
	struct loop *loop = loop_current();
	struct mcpf_tool_stats delta = { 0 };
	struct mcpf_tool_key k;
	struct pending *p;
	int i;

	if ((unsigned int)decision >= MCPF_DECISIONS)
		return -EINVAL;
	stats_key(&k, server, tool);
	stats_count(&delta, decision, req_bytes, resp_bytes, latency_ns, upstream_error);
	/* outside an event loop there is no batch end to wait for */
	if (!loop || !(p = my_pending(a)))
		return stats_add(a->tool_fd, &k, &delta);
	pthread_mutex_lock(&p->lock);
	i = find_row(p, &k);
	if (i < 0 && p->n == PENDING_ROWS) {
		pthread_mutex_unlock(&p->lock);
		flush_pending(a, p);
		pthread_mutex_lock(&p->lock);
		i = find_row(p, &k);  /* a flusher may have emptied it meanwhile */
	}
	if (i < 0) {
		i = (int)p->n++;
		p->keys[i] = k;
		memset(&p->rows[i], 0, sizeof(p->rows[i]));
	}
	stats_merge(&p->rows[i], &delta);
	pthread_mutex_unlock(&p->lock);
	if (!p->queued) {
		p->queued = true;
		loop_defer_within(loop, &p->flush, on_batch_end, ACCT_FLUSH_MS);
	}
	return 0;
}

void acct_connection_opened(struct acct *a)
{
	stats_connection_opened(a->daemon_fd);
}

void acct_connection_closed(struct acct *a)
{
	stats_connection_closed(a->daemon_fd);
}

bool acct_audits(const struct acct *a)
{
	return a->audit != NULL;
}

bool acct_audits_args(const struct acct *a)
{
	return a->audit && audit_logs_args(a->audit);
}

int acct_audit(struct acct *a, const struct audit_record *r)
{
	return a->audit ? audit_write(a->audit, r) : 0;
}

int acct_cgroup_path(const struct acct *a, uint64_t id, char *buf, size_t len)
{
	if (a->cgroup2_fd < 0)
		return -ENOENT;
	return cgroup_path_from_id(a->cgroup2_fd, id, buf, len);
}

int acct_tool_stats_fd(const struct acct *a)
{
	return a->tool_fd;
}

int acct_daemon_stats_fd(const struct acct *a)
{
	return a->daemon_fd;
}
