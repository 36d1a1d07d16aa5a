/* tool_stats / daemon_stats: histogram math, counting, overflow row,
 * one writer + concurrent readers, pinned-map opening. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "fixture.h"
#include "stats.h"

#define US 1000ULL

TEST(stats_latency_bucket_edges)
{
	CHECK_INT_EQ(stats_latency_bucket(0), 0);
	CHECK_INT_EQ(stats_latency_bucket(1 * US), 0);
	CHECK_INT_EQ(stats_latency_bucket(1 * US + 1), 1);
	CHECK_INT_EQ(stats_latency_bucket(2 * US), 1);
	CHECK_INT_EQ(stats_latency_bucket(2 * US + 1), 2);
	CHECK_INT_EQ(stats_latency_bucket(4 * US), 2);
	CHECK_INT_EQ(stats_latency_bucket(1000 * US), 10);        /* (512, 1024] us */
	CHECK_INT_EQ(stats_latency_bucket((1ULL << 30) * US), 30);
	CHECK_INT_EQ(stats_latency_bucket((1ULL << 30) * US + 1), 31);
	CHECK_INT_EQ(stats_latency_bucket(~0ULL), 31);
}

TEST(stats_percentile_interpolates_like_prometheus)
{
	unsigned long long h[MCPF_LAT_BUCKETS] = { 0 };

	CHECK_INT_EQ(stats_percentile_ns(h, 0.5), 0);
	h[10] = 100;  /* all in (512, 1024] us */
	CHECK_INT_EQ(stats_percentile_ns(h, 0.5), 768 * US);
	CHECK_INT_EQ(stats_percentile_ns(h, 1.0), 1024 * US);
	h[10] = 0;
	h[1] = 90;    /* (1, 2] us */
	h[20] = 10;   /* (2^19, 2^20] us */
	CHECK_INT_EQ(stats_percentile_ns(h, 0.5), 1000 + 1000 * 50 / 90);  /* rank 50 of 90 */
	CHECK_INT_EQ(stats_percentile_ns(h, 0.99), (1ULL << 19) * US * 19 / 10);  /* rank 99: 9 of 10 */
	h[31] = 1000; /* overflow bucket: its lower bound */
	CHECK_INT_EQ(stats_percentile_ns(h, 0.99), (1ULL << 30) * US);
}

/* The estimate must fall inside the bucket that holds the true quantile. */
TEST(stats_percentile_within_true_bucket)
{
	unsigned long long h[MCPF_LAT_BUCKETS] = { 0 };
	uint64_t lat[1000], p50, p99;
	unsigned int i;

	for (i = 0; i < 1000; i++) {
		lat[i] = (uint64_t)(i + 1) * 37 * US;  /* 37 us .. 37 ms, ascending */
		h[stats_latency_bucket(lat[i])]++;
	}
	p50 = stats_percentile_ns(h, 0.5);
	p99 = stats_percentile_ns(h, 0.99);
	CHECK_INT_EQ(stats_latency_bucket(p50), stats_latency_bucket(lat[499]));
	CHECK_INT_EQ(stats_latency_bucket(p99), stats_latency_bucket(lat[989]));
	CHECK(p50 < p99);
}

static const struct stats_row *find_row(const struct stats_row *rows, size_t n,
					const char *server, const char *tool)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(rows[i].key.server, server) && !strcmp(rows[i].key.tool, tool))
			return &rows[i];
	return NULL;
}

static void record_counts_every_field(int tfd, int dfd)
{
	struct stats_row *rows = NULL;
	const struct stats_row *r;
	size_t n = 0;
	char longname[200];

	CHECK_INT_EQ(stats_prepare(tfd, dfd, true), 0);
	CHECK_INT_EQ(stats_prepare(tfd, dfd, true), 0);  /* idempotent */
	CHECK_INT_EQ(stats_record(tfd, "fs", "read", MCPF_DECISION_ALLOW, 100, 1000, 3 * US, false), 0);
	CHECK_INT_EQ(stats_record(tfd, "fs", "read", MCPF_DECISION_ALLOW, 100, 5000, 900 * US, true), 0);
	CHECK_INT_EQ(stats_record(tfd, "fs", "read", MCPF_DECISION_DENY, 50, 200, 10 * US, false), 0);
	CHECK_INT_EQ(stats_record(tfd, "fs", "read", MCPF_DECISION_RATE_LIMITED, 50, 200, 10 * US, false), 0);
	CHECK_INT_EQ(stats_record(tfd, "fs", "read", MCPF_DECISION_HIDDEN, 50, 200, 10 * US, false), 0);
	CHECK_INT_EQ(stats_record(tfd, "fs", NULL, MCPF_DECISION_INVALID, 7, 90, 1 * US, false), 0);
	CHECK_INT_EQ(stats_record(tfd, "fs", "read", MCPF_DECISIONS, 1, 1, 1, false), -EINVAL);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_INT_EQ(stats_record(tfd, "fs", longname, MCPF_DECISION_ALLOW, 1, 1, 1, false), 0);

	CHECK_INT_EQ(stats_read_all(tfd, &rows, &n), 0);
	CHECK_INT_EQ(n, 3);  /* read, "", truncated long name; the unused overflow row is not shown */
	r = find_row(rows, n, "fs", "read");
	CHECK(r != NULL);
	CHECK_INT_EQ(r->v.calls, 5);
	CHECK_INT_EQ(r->v.allowed, 2);
	CHECK_INT_EQ(r->v.denied, 1);
	CHECK_INT_EQ(r->v.rate_limited, 1);
	CHECK_INT_EQ(r->v.hidden, 1);
	CHECK_INT_EQ(r->v.invalid, 0);
	CHECK_INT_EQ(r->v.upstream_errors, 1);
	CHECK_INT_EQ(r->v.req_bytes, 350);
	CHECK_INT_EQ(r->v.resp_bytes, 6600);
	CHECK_INT_EQ(r->v.latency_ns_total, 933 * US);
	CHECK_INT_EQ(r->v.latency_hist[2], 1);   /* 3 us */
	CHECK_INT_EQ(r->v.latency_hist[4], 3);   /* 10 us */
	CHECK_INT_EQ(r->v.latency_hist[10], 1);  /* 900 us */
	r = find_row(rows, n, "fs", "");
	CHECK(r && r->v.invalid == 1 && r->v.calls == 1);
	longname[MCPF_NAME_LEN - 1] = '\0';
	CHECK(find_row(rows, n, "fs", longname) != NULL);
	free(rows);

	/* a 2-byte character straddling the cut is dropped whole */
	memset(longname, 'a', MCPF_NAME_LEN - 2);
	strcpy(longname + MCPF_NAME_LEN - 2, "\xc3\xa9tail");
	CHECK_INT_EQ(stats_record(tfd, "utf8", longname, MCPF_DECISION_ALLOW, 1, 1, 1, false), 0);
	CHECK_INT_EQ(stats_read_all(tfd, &rows, &n), 0);
	longname[MCPF_NAME_LEN - 2] = '\0';
	CHECK(find_row(rows, n, "utf8", longname) != NULL);
	free(rows);
}

TEST(stats_record_counts_every_field)
{
	CHECK_INT_EQ(fixture_with_maps(record_counts_every_field), 0);
}

static void full_map_overflow(int tfd, int dfd)
{
	struct stats_row *rows = NULL;
	const struct stats_row *r;
	unsigned long long total = 0;
	int i, fails = 0;
	size_t n = 0, j;
	char tool[32];

	CHECK_INT_EQ(stats_prepare(tfd, dfd, true), 0);
	for (i = 0; i < MCPF_MAX_TOOL_STATS + 5; i++) {
		snprintf(tool, sizeof(tool), "t%d", i);
		fails += stats_record(tfd, "spray", tool, MCPF_DECISION_DENY, 1, 1, 1, false) != 0;
	}
	CHECK_INT_EQ(fails, 0);
	CHECK_INT_EQ(stats_record(tfd, "spray", "t0", MCPF_DECISION_DENY, 1, 1, 1, false), 0);
	CHECK_INT_EQ(stats_read_all(tfd, &rows, &n), 0);
	CHECK_INT_EQ(n, MCPF_MAX_TOOL_STATS + 1);
	for (j = 0; j < n; j++)
		total += rows[j].v.calls;
	r = find_row(rows, n, MCPF_OVERFLOW_NAME, MCPF_OVERFLOW_NAME);
	j = r && r->v.calls == 5 && r->v.denied == 5;
	r = find_row(rows, n, "spray", "t0");
	j = j && r && r->v.calls == 2;
	free(rows);
	CHECK_INT_EQ(total, MCPF_MAX_TOOL_STATS + 6);
	CHECK(j);  /* 5 calls in the overflow row, t0 kept its own */
}

TEST(stats_full_map_counts_new_tools_in_overflow_row)
{
	CHECK_INT_EQ(fixture_with_maps(full_map_overflow), 0);
}

/* One writer (the daemon's model) and several readers at once: every
 * snapshot a reader gets is internally consistent, and the final counts
 * equal exactly what was written. */
#define HAMMER_CALLS 20000
#define HAMMER_READERS 3
#define HAMMER_TOOLS 4

static const enum mcpf_decision hammer_mix[] = {
	MCPF_DECISION_ALLOW, MCPF_DECISION_DENY, MCPF_DECISION_ALLOW,
	MCPF_DECISION_RATE_LIMITED, MCPF_DECISION_HIDDEN, MCPF_DECISION_INVALID,
};

/* The writer gives the c-th call of each tool decision hammer_mix[c % 6],
 * an upstream error when c is odd, 100/300 bytes and 5 us: every field of
 * a snapshot is a function of `calls`, so a torn read cannot hide. */
static int snapshot_consistent(const struct mcpf_tool_stats *v)
{
	unsigned long long want[MCPF_DECISIONS] = { 0 }, c;
	int d;

	for (c = 0; c < v->calls; c++)
		want[hammer_mix[c % 6]]++;
	for (d = 0; d < MCPF_DECISIONS; d++)
		if (stats_decision_count(v, d) != want[d])
			return 0;
	return v->latency_hist[stats_latency_bucket(5 * US)] == v->calls &&
	       v->req_bytes == 100 * v->calls && v->resp_bytes == 300 * v->calls &&
	       v->latency_ns_total == 5 * US * v->calls && v->upstream_errors == v->calls / 2;
}

/* The writer opens a connection per call and closes one after every odd
 * call: closed = (intercepted - 1) / 2, or intercepted / 2 right after a
 * close. Both fields of a torn snapshot would not fit. */
static int daemon_consistent(const struct mcpf_daemon_stats *d)
{
	unsigned long long i = d->connections_intercepted, closed;

	if (d->connections_active > i)
		return 0;
	closed = i - d->connections_active;
	return closed == (i ? (i - 1) / 2 : 0) || (i % 2 == 0 && closed == i / 2);
}

/* Exit status: 0 all snapshots consistent, 1 an inconsistent one, 2 a
 * read failed, 3 fewer than two reads (no overlap with the writer). */
static int reader(int tfd, int dfd, int stop_fd)
{
	struct mcpf_daemon_stats d;
	struct stats_row *rows;
	int bad = 0, reads = 0;
	char c;
	size_t n, i;

	for (;;) {
		if (stats_read_all(tfd, &rows, &n))
			return 2;
		for (i = 0; i < n; i++)
			bad += !snapshot_consistent(&rows[i].v);
		free(rows);
		if (stats_read_daemon(dfd, &d))
			return 2;
		bad += !daemon_consistent(&d);
		reads++;
		if (read(stop_fd, &c, 1) == 0)
			break;
	}
	return bad ? 1 : (reads > 1 ? 0 : 3);
}

static int writer(int tfd, int dfd)
{
	char tool[16];
	int k, err = 0;

	for (k = 0; k < HAMMER_CALLS && !err; k++) {
		snprintf(tool, sizeof(tool), "tool%d", k % HAMMER_TOOLS);
		err = stats_record(tfd, "hammer", tool, hammer_mix[(k / HAMMER_TOOLS) % 6],
				   100, 300, 5 * US, (k / HAMMER_TOOLS) % 2);
		if (!err)
			err = stats_connection_opened(dfd);
		if (!err && k % 2)
			err = stats_connection_closed(dfd);
	}
	return err ? 1 : 0;
}

/* Exit status of a child, or -1. */
static int reap(pid_t pid)
{
	int status;

	if (pid <= 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Runs the writer and the readers to completion (no CHECK in between, so
 * every child is reaped); their exit statuses in *w and r[]. */
static void hammer(int tfd, int dfd, int *w, int r[HAMMER_READERS])
{
	pid_t readers[HAMMER_READERS], wpid;
	int i, stop[2];

	*w = -1;
	/* readers poll the pipe without blocking; EOF means the writer is done */
	if (pipe2(stop, O_NONBLOCK))
		return;
	for (i = 0; i < HAMMER_READERS; i++) {
		readers[i] = fork();
		if (readers[i] == 0) {
			close(stop[1]);
			_exit(reader(tfd, dfd, stop[0]));
		}
	}
	wpid = fork();
	if (wpid == 0)
		_exit(writer(tfd, dfd));
	*w = reap(wpid);
	close(stop[1]);
	for (i = 0; i < HAMMER_READERS; i++)
		r[i] = reap(readers[i]);
	close(stop[0]);
}

static void one_writer_many_readers(int tfd, int dfd)
{
	int w, r[HAMMER_READERS], i, inconsistent = 0;
	struct stats_row *rows = NULL;
	struct mcpf_daemon_stats d;
	unsigned long long total = 0;
	size_t n = 0, j;

	hammer(tfd, dfd, &w, r);
	CHECK_INT_EQ(w, 0);
	for (i = 0; i < HAMMER_READERS; i++)
		CHECK_INT_EQ(r[i], 0);

	CHECK_INT_EQ(stats_read_all(tfd, &rows, &n), 0);
	for (j = 0; j < n; j++) {
		inconsistent += !snapshot_consistent(&rows[j].v) ||
				rows[j].v.calls != HAMMER_CALLS / HAMMER_TOOLS;
		total += rows[j].v.calls;
	}
	free(rows);
	CHECK_INT_EQ(n, HAMMER_TOOLS);
	CHECK_INT_EQ(inconsistent, 0);
	CHECK_INT_EQ(total, HAMMER_CALLS);
	CHECK_INT_EQ(stats_read_daemon(dfd, &d), 0);
	CHECK(daemon_consistent(&d));
	CHECK_INT_EQ(d.connections_intercepted, HAMMER_CALLS);
	CHECK_INT_EQ(d.connections_active, HAMMER_CALLS / 2);
}

TEST(stats_one_writer_many_readers_consistent_and_lossless)
{
	CHECK_INT_EQ(fixture_with_maps(one_writer_many_readers), 0);
}

static void daemon_counters(int tfd, int dfd)
{
	struct mcpf_daemon_stats d;

	CHECK_INT_EQ(stats_connection_opened(dfd), 0);
	CHECK_INT_EQ(stats_connection_opened(dfd), 0);
	CHECK_INT_EQ(stats_connection_opened(dfd), 0);
	CHECK_INT_EQ(stats_connection_closed(dfd), 0);
	CHECK_INT_EQ(stats_policy_reloaded(dfd, true), 0);
	CHECK_INT_EQ(stats_policy_reloaded(dfd, false), 0);
	CHECK_INT_EQ(stats_policy_reloaded(dfd, false), 0);
	CHECK_INT_EQ(stats_read_daemon(dfd, &d), 0);
	CHECK_INT_EQ(d.connections_intercepted, 3);
	CHECK_INT_EQ(d.connections_active, 2);
	CHECK_INT_EQ(d.policy_reloads_ok, 1);
	CHECK_INT_EQ(d.policy_reloads_failed, 2);
	/* a new daemon taking over from one that drains: its connections still count */
	CHECK_INT_EQ(stats_prepare(tfd, dfd, false), 0);
	CHECK_INT_EQ(stats_read_daemon(dfd, &d), 0);
	CHECK_INT_EQ(d.connections_active, 2);
	/* a new daemon: the previous one's connections are gone, totals stay */
	CHECK_INT_EQ(stats_prepare(tfd, dfd, true), 0);
	CHECK_INT_EQ(stats_read_daemon(dfd, &d), 0);
	CHECK_INT_EQ(d.connections_active, 0);
	CHECK_INT_EQ(d.connections_intercepted, 3);
	CHECK_INT_EQ(stats_connection_closed(dfd), 0);  /* never below zero */
	CHECK_INT_EQ(stats_read_daemon(dfd, &d), 0);
	CHECK_INT_EQ(d.connections_active, 0);
}

TEST(stats_daemon_counters)
{
	CHECK_INT_EQ(fixture_with_maps(daemon_counters), 0);
}

