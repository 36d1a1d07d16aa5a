/* Accounting (user/acct.c): calls counted inside an event loop reach the
 * map after the loop's batch (within a millisecond, or when it stops), exactly; many threads counting and
 * flushing at once lose no increment; audit lines from many threads stay
 * whole. Real tool_stats/daemon_stats maps. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "harness.h"
#include "fixture.h"
#include "../../user/acct.h"
#include "../../user/loop.h"

static unsigned long long calls_of(int tfd, const char *server, const char *tool)
{
	struct stats_row *rows = NULL;
	unsigned long long calls = 0;
	size_t n = 0;

	if (stats_read_all(tfd, &rows, &n))
		return ~0ULL;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(rows[i].key.server, server) && !strcmp(rows[i].key.tool, tool))
			calls = rows[i].v.calls;
	free(rows);
	return calls;
}

/* One batch of a real loop: an eventfd that is readable once. */
struct batch_case {
	struct loop loop;
	struct watch w;
	struct acct *acct;
	int tfd;
	unsigned long long seen_during;  /* map's count inside the batch */
	int calls, failed;
};

static void count_in_batch(struct watch *w, uint32_t revents)
{
	struct batch_case *b = container_of(w, struct batch_case, w);
	uint64_t v;

	(void)revents;
	if (read(w->fd, &v, sizeof(v)) != sizeof(v))
		b->failed++;
	for (int i = 0; i < b->calls; i++)
		b->failed += acct_call(b->acct, "fs", "read", MCPF_DECISION_ALLOW, 10, 20, 5000, false) != 0;
	b->failed += acct_call(b->acct, "fs", "rm", MCPF_DECISION_DENY, 1, 2, 1000, false) != 0;
	b->seen_during = calls_of(b->tfd, "fs", "read");
	b->loop.stop = true;
}

static void batch_then_flush(int tfd, int dfd)
{
	struct batch_case b = { .tfd = tfd, .calls = 7 };
	uint64_t one = 1;

	b.acct = acct_new(tfd, dfd, NULL, -1);
	CHECK(b.acct != NULL);
	CHECK_INT_EQ(acct_prepare(b.acct, true), 0);
	CHECK_INT_EQ(loop_init(&b.loop), 0);
	b.w.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	b.w.cb = count_in_batch;
	CHECK(b.w.fd >= 0);
	CHECK_INT_EQ(loop_watch(&b.loop, &b.w, EPOLLIN), 0);
	CHECK_INT_EQ(write(b.w.fd, &one, sizeof(one)), sizeof(one));
	CHECK_INT_EQ(loop_run(&b.loop), 0);
	CHECK_INT_EQ(b.failed, 0);
	CHECK_INT_EQ(b.seen_during, 0);  /* one map update per row, after the batch */
	CHECK_INT_EQ(calls_of(tfd, "fs", "read"), 7);
	CHECK_INT_EQ(calls_of(tfd, "fs", "rm"), 1);
	/* outside a loop: counted at once */
	CHECK_INT_EQ(acct_call(b.acct, "fs", "read", MCPF_DECISION_ALLOW, 1, 1, 1, false), 0);
	CHECK_INT_EQ(calls_of(tfd, "fs", "read"), 8);
	CHECK_INT_EQ(acct_call(b.acct, "fs", "read", MCPF_DECISIONS, 1, 1, 1, false), -EINVAL);
	loop_close(&b.loop, &b.w);
	loop_fini(&b.loop);
	acct_free(b.acct);
}

TEST(acct_counts_a_batch_once_at_its_end)
{
	CHECK_INT_EQ(fixture_with_maps(batch_then_flush), 0);
}

/* Event-loop threads counting calls on shared rows (each batch more rows
 * than a thread's table holds, so tables also fill and flush mid-batch),
 * connections opening, and a reader flushing everyone's tables meanwhile. */
#define RACE_THREADS 4
#define RACE_BATCHES 300
#define RACE_TOOLS 40  /* > the 32 rows a thread holds */

struct racer {
	struct loop loop;
	struct watch w;
	struct acct *acct;
	int batches, failed;
};

static void race_batch(struct watch *w, uint32_t revents)
{
	struct racer *r = container_of(w, struct racer, w);
	char tool[16];
	uint64_t v;

	(void)revents;
	if (read(w->fd, &v, sizeof(v)) != sizeof(v))
		r->failed++;
	for (int t = 0; t < RACE_TOOLS; t++) {
		snprintf(tool, sizeof(tool), "t%d", t);
		r->failed += acct_call(r->acct, "race", tool, MCPF_DECISION_ALLOW, 1, 1, 1000, false) != 0;
	}
	acct_connection_opened(r->acct);
	if (++r->batches == RACE_BATCHES)
		r->loop.stop = true;
	else if (write(w->fd, &(uint64_t){ 1 }, sizeof(v)) != sizeof(v))  /* the next batch */
		r->failed++;
}

static void *racer_run(void *arg)
{
	struct racer *r = arg;

	if (loop_run(&r->loop))
		r->failed++;
	return NULL;
}

static int flushing;  /* atomic: the flusher runs until the racers are done */

static void *flusher_run(void *arg)
{
	while (__atomic_load_n(&flushing, __ATOMIC_RELAXED))
		acct_flush(arg);
	return NULL;
}

static void threads_race(int tfd, int dfd)
{
	static struct racer r[RACE_THREADS];
	pthread_t th[RACE_THREADS], fl;
	struct stats_row *rows = NULL;
	struct mcpf_daemon_stats d;
	unsigned long long total = 0;
	struct acct *a = acct_new(tfd, dfd, NULL, -1);
	int failed = 0, uneven = 0;
	size_t n = 0;

	CHECK(a != NULL);
	CHECK_INT_EQ(acct_prepare(a, true), 0);
	for (int i = 0; i < RACE_THREADS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].acct = a;
		CHECK_INT_EQ(loop_init(&r[i].loop), 0);
		r[i].w.fd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
		r[i].w.cb = race_batch;
		CHECK_INT_EQ(loop_watch(&r[i].loop, &r[i].w, EPOLLIN), 0);
	}
	__atomic_store_n(&flushing, 1, __ATOMIC_RELAXED);
	CHECK_INT_EQ(pthread_create(&fl, NULL, flusher_run, a), 0);
	for (int i = 0; i < RACE_THREADS; i++)
		CHECK_INT_EQ(pthread_create(&th[i], NULL, racer_run, &r[i]), 0);
	for (int i = 0; i < RACE_THREADS; i++) {
		pthread_join(th[i], NULL);
		failed += r[i].failed;
		loop_close(&r[i].loop, &r[i].w);
		loop_fini(&r[i].loop);
	}
	__atomic_store_n(&flushing, 0, __ATOMIC_RELAXED);
	pthread_join(fl, NULL);
	acct_free(a);
	CHECK_INT_EQ(failed, 0);
	CHECK_INT_EQ(stats_read_all(tfd, &rows, &n), 0);
	for (size_t j = 0; j < n; j++) {
		total += rows[j].v.calls;
		uneven += rows[j].v.calls != RACE_THREADS * RACE_BATCHES || rows[j].v.allowed != rows[j].v.calls ||
			  rows[j].v.latency_hist[stats_latency_bucket(1000)] != rows[j].v.calls;
	}
	free(rows);
	CHECK_INT_EQ(n, RACE_TOOLS);
	CHECK_INT_EQ(uneven, 0);
	CHECK_INT_EQ(total, (unsigned long long)RACE_THREADS * RACE_BATCHES * RACE_TOOLS);
	CHECK_INT_EQ(stats_read_daemon(dfd, &d), 0);
	CHECK_INT_EQ(d.connections_intercepted, RACE_THREADS * RACE_BATCHES);
}

TEST(acct_threads_lose_no_increment)
{
	CHECK_INT_EQ(fixture_with_maps(threads_race), 0);
}

/* Audit lines written from several threads at once: each one whole. */
#define AUDIT_THREADS 4
#define AUDIT_LINES 500

static void *audit_run(void *arg)
{
	struct acct *a = arg;
	struct audit_record rec = { .pid = 1, .uid = 2, .comm = "agent", .server = "fs", .tool = "read",
				    .decision = MCPF_DECISION_ALLOW, .reason = "a reason long enough to span "
				    "more than one short write if a line were ever written in pieces" };
	long failed = 0;

	for (int i = 0; i < AUDIT_LINES; i++)
		failed += acct_audit(a, &rec) != 0;
	return (void *)failed;
}

static void audit_threads(const char *dir)
{
	struct audit_options o = { .max_bytes = 0, .keep = 0 };
	pthread_t th[AUDIT_THREADS];
	char path[512], line[4096];
	int lines = 0, bad = 0;
	long failed = 0;
	struct acct *a;
	FILE *f;

	snprintf(path, sizeof(path), "%s/audit.log", dir);
	o.path = path;
	a = acct_new(-1, -1, audit_open(&o), -1);
	CHECK(a && acct_audits(a));
	for (int i = 0; i < AUDIT_THREADS; i++)
		CHECK_INT_EQ(pthread_create(&th[i], NULL, audit_run, a), 0);
	for (int i = 0; i < AUDIT_THREADS; i++) {
		void *rv;

		pthread_join(th[i], &rv);
		failed += (long)rv;
	}
	acct_free(a);
	CHECK_INT_EQ(failed, 0);
	f = fopen(path, "r");
	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		cJSON *j = cJSON_Parse(line);

		bad += !j || !cJSON_GetObjectItem(j, "reason");
		cJSON_Delete(j);
		lines++;
	}
	fclose(f);
	CHECK_INT_EQ(bad, 0);
	CHECK_INT_EQ(lines, AUDIT_THREADS * AUDIT_LINES);
}

TEST(acct_audit_lines_from_threads_stay_whole)
{
	CHECK_INT_EQ(fixture_with_tmpdir(audit_threads), 0);
}

/* A line with --audit-args is formatted and redacted outside the log's
 * lock: one agent's large arguments (slow to redact and print) must not
 * hold up other agents' lines for that long. Before, acct.c held its lock
 * around the formatting: another line waited as long as the big one took. */
#define BIG_ARGS 2048
#define BIG_ARG_LEN 4096

struct big_line {
	struct acct *acct;
	cJSON *args;
	volatile int started, done;
	unsigned long long took_ns;
	int err;
};

static void *big_line_run(void *arg)
{
	struct big_line *b = arg;
	struct audit_record rec = { .pid = 1, .comm = "agent", .server = "fs", .tool = "write",
				    .decision = MCPF_DECISION_DENY, .arguments = b->args };
	unsigned long long t0 = monotonic_ns();

	__atomic_store_n(&b->started, 1, __ATOMIC_RELEASE);
	b->err = acct_audit(b->acct, &rec);
	b->took_ns = monotonic_ns() - t0;
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void audit_big_line(const char *dir)
{
	struct audit_options o = { .max_bytes = 0, .keep = 0, .log_args = true };
	struct audit_record small = { .pid = 2, .comm = "other", .server = "fs", .tool = "read",
				      .decision = MCPF_DECISION_ALLOW };
	struct big_line b = { 0 };
	unsigned long long worst = 0, t;
	char path[512], *value = malloc(BIG_ARG_LEN + 1);
	int small_lines = 0, err = 0;
	pthread_t th;

	CHECK(value);
	memset(value, 'x', BIG_ARG_LEN);
	value[BIG_ARG_LEN] = '\0';
	b.args = cJSON_CreateArray();
	for (int i = 0; b.args && i < BIG_ARGS; i++)
		cJSON_AddItemToArray(b.args, cJSON_CreateString(value));
	free(value);
	CHECK(b.args && cJSON_GetArraySize(b.args) == BIG_ARGS);
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	o.path = path;
	b.acct = acct_new(-1, -1, audit_open(&o), -1);
	CHECK(b.acct && acct_audits_args(b.acct));
	CHECK_INT_EQ(pthread_create(&th, NULL, big_line_run, &b), 0);
	while (!__atomic_load_n(&b.started, __ATOMIC_ACQUIRE))
		;
	while (!__atomic_load_n(&b.done, __ATOMIC_ACQUIRE)) {
		t = monotonic_ns();
		err |= acct_audit(b.acct, &small);
		t = monotonic_ns() - t;
		worst = t > worst ? t : worst;
		small_lines++;
	}
	pthread_join(th, NULL);
	acct_free(b.acct);
	cJSON_Delete(b.args);
	CHECK_INT_EQ(err | b.err, 0);
	CHECK(small_lines > 1);
	/* writing the big line still takes the lock, for a memcpy's time */
	if (worst * 4 > b.took_ns)
		printf("  a small line waited %.1f ms; the big one took %.1f ms\n", worst / 1e6, b.took_ns / 1e6);
	CHECK(worst * 4 <= b.took_ns);
}

TEST(acct_audit_formats_outside_the_lock)
{
	CHECK_INT_EQ(fixture_with_tmpdir(audit_big_line), 0);
}
