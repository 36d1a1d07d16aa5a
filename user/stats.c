#include "stats.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kern_maps.h"

static const char *const decision_names[MCPF_DECISIONS] = {
	[MCPF_DECISION_ALLOW] = "allow",
	[MCPF_DECISION_DENY] = "deny",
	[MCPF_DECISION_RATE_LIMITED] = "rate_limited",
	[MCPF_DECISION_HIDDEN] = "hidden",
	[MCPF_DECISION_INVALID] = "invalid",
	[MCPF_DECISION_APPROVED] = "approved",
	[MCPF_DECISION_DECLINED] = "declined",
	[MCPF_DECISION_APPROVAL_TIMEOUT] = "approval_timeout",
};

const char *stats_decision_name(enum mcpf_decision d)
{
	return (unsigned int)d < MCPF_DECISIONS ? decision_names[d] : "unknown";
}

static unsigned long long *decision_counter(struct mcpf_tool_stats *v, enum mcpf_decision d)
{
	switch (d) {
	case MCPF_DECISION_ALLOW: return &v->allowed;
	case MCPF_DECISION_DENY: return &v->denied;
	case MCPF_DECISION_RATE_LIMITED: return &v->rate_limited;
	case MCPF_DECISION_HIDDEN: return &v->hidden;
	case MCPF_DECISION_INVALID: return &v->invalid;
	case MCPF_DECISION_APPROVED: return &v->approved;
	case MCPF_DECISION_DECLINED: return &v->declined;
	case MCPF_DECISION_APPROVAL_TIMEOUT: return &v->approval_timeout;
	default: return NULL;
	}
}

unsigned long long stats_decision_count(const struct mcpf_tool_stats *v, enum mcpf_decision d)
{
	unsigned long long *c = decision_counter((struct mcpf_tool_stats *)v, d);

	return c ? *c : 0;
}

unsigned int stats_latency_bucket(uint64_t latency_ns)
{
	uint64_t us = latency_ns / 1000 + (latency_ns % 1000 != 0);  /* ceil */
	unsigned int b;

	if (us <= 1)
		return 0;
	b = 64 - (unsigned int)__builtin_clzll(us - 1);  /* ceil(log2(us)) */
	return b < MCPF_LAT_BUCKETS - 1 ? b : MCPF_LAT_BUCKETS - 1;
}

uint64_t stats_bucket_upper_us(unsigned int bucket)
{
	return 1ULL << bucket;
}

uint64_t stats_percentile_ns(const unsigned long long hist[MCPF_LAT_BUCKETS], double q)
{
	unsigned long long total = 0, below = 0;
	double rank, lower, upper;
	unsigned int b;

	for (b = 0; b < MCPF_LAT_BUCKETS; b++)
		total += hist[b];
	if (total == 0 || !(q > 0))
		return 0;
	if (q > 1)
		q = 1;
	rank = q * (double)total;
	for (b = 0; b < MCPF_LAT_BUCKETS - 1; b++) {
		if ((double)(below + hist[b]) >= rank)
			break;
		below += hist[b];
	}
	lower = b == 0 ? 0 : (double)stats_bucket_upper_us(b - 1) * 1000.0;
	if (b == MCPF_LAT_BUCKETS - 1)
		return (uint64_t)lower;
	upper = (double)stats_bucket_upper_us(b) * 1000.0;
	return (uint64_t)(lower + (upper - lower) * (rank - (double)below) / (double)hist[b]);
}

/* Copy a name into a key field, truncating at a UTF-8 character boundary
 * so a long name never ends in half a character. */
static void copy_name(char *dst, size_t size, const char *src)
{
	size_t n = src ? strnlen(src, size) : 0;

	if (n == size) {  /* too long: cut, backing off continuation bytes */
		n = size - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src ? src : "", n);
}

static void make_key(struct mcpf_tool_key *k, const char *server, const char *tool)
{
	memset(k, 0, sizeof(*k));
	copy_name(k->server, sizeof(k->server), server);
	copy_name(k->tool, sizeof(k->tool), tool);
}

static void make_overflow_key(struct mcpf_tool_key *k)
{
	make_key(k, MCPF_OVERFLOW_NAME, MCPF_OVERFLOW_NAME);
}

/* BPF_F_LOCK makes each copy atomic, not a read-modify-write: every
 * writer of this process takes this lock around its lookup + update, so
 * event-loop threads never lose each other's increments. */
static pthread_mutex_t rmw_lock = PTHREAD_MUTEX_INITIALIZER;

/* Read a value under its lock; ENOENT leaves *v zeroed. */
static int read_locked(int fd, const void *key, void *v, size_t size)
{
	int err = kern_map_lookup_locked(fd, key, v);

	if (err == 0)
		return 0;
	memset(v, 0, size);
	return err == -ENOENT ? 0 : err;
}

static int write_locked(int fd, const void *key, const void *v)
{
	return kern_map_update(fd, key, v, BPF_F_LOCK);
}

int stats_prepare(int tool_fd, int daemon_fd, bool reset_active)
{
	struct mcpf_tool_stats zero = { 0 };
	struct mcpf_daemon_stats d;
	struct mcpf_tool_key k;
	__u32 idx = 0;
	int err;

	make_overflow_key(&k);
	if ((err = kern_map_update(tool_fd, &k, &zero, BPF_NOEXIST | BPF_F_LOCK)) && err != -EEXIST)
		return err;
	if (!reset_active)
		return 0;
	pthread_mutex_lock(&rmw_lock);
	err = read_locked(daemon_fd, &idx, &d, sizeof(d));
	if (!err) {
		d.connections_active = 0;
		err = write_locked(daemon_fd, &idx, &d);
	}
	pthread_mutex_unlock(&rmw_lock);
	return err;
}

void stats_count(struct mcpf_tool_stats *v, enum mcpf_decision decision, uint64_t req_bytes,
		 uint64_t resp_bytes, uint64_t latency_ns, bool upstream_error)
{
	v->calls++;
	(*decision_counter(v, decision))++;
	v->upstream_errors += upstream_error;
	v->req_bytes += req_bytes;
	v->resp_bytes += resp_bytes;
	v->latency_ns_total += latency_ns;
	v->latency_hist[stats_latency_bucket(latency_ns)]++;
}

/* Every counter after the lock header is an unsigned long long that
 * adds up, whatever counters later layouts append. */
#define COUNTERS_OFFSET offsetof(struct mcpf_tool_stats, calls)
#define COUNTERS_N ((sizeof(struct mcpf_tool_stats) - COUNTERS_OFFSET) / sizeof(unsigned long long))

void stats_merge(struct mcpf_tool_stats *into, const struct mcpf_tool_stats *delta)
{
	unsigned long long *d = (unsigned long long *)((char *)into + COUNTERS_OFFSET);
	const unsigned long long *s = (const unsigned long long *)((const char *)delta + COUNTERS_OFFSET);

	for (size_t i = 0; i < COUNTERS_N; i++)
		d[i] += s[i];
}

void stats_key(struct mcpf_tool_key *k, const char *server, const char *tool)
{
	make_key(k, server, tool);
}

static int add_row_locked(int tool_fd, struct mcpf_tool_key *k, const struct mcpf_tool_stats *delta)
{
	struct mcpf_tool_stats v;
	int err = read_locked(tool_fd, k, &v, sizeof(v));

	if (err)
		return err;
	stats_merge(&v, delta);
	err = write_locked(tool_fd, k, &v);
	if (err != -E2BIG)
		return err;
	/* Map full and this is a new row: count it in the overflow row. */
	make_overflow_key(k);
	err = read_locked(tool_fd, k, &v, sizeof(v));
	if (err)
		return err;
	stats_merge(&v, delta);
	return write_locked(tool_fd, k, &v);
}

int stats_add(int tool_fd, const struct mcpf_tool_key *key, const struct mcpf_tool_stats *delta)
{
	struct mcpf_tool_key k = *key;
	int err;

	pthread_mutex_lock(&rmw_lock);
	err = add_row_locked(tool_fd, &k, delta);
	pthread_mutex_unlock(&rmw_lock);
	return err;
}

int stats_record(int tool_fd, const char *server, const char *tool,
		 enum mcpf_decision decision, uint64_t req_bytes, uint64_t resp_bytes,
		 uint64_t latency_ns, bool upstream_error)
{
	struct mcpf_tool_stats delta = { 0 };
	struct mcpf_tool_key k;

	if ((unsigned int)decision >= MCPF_DECISIONS)
		return -EINVAL;
	make_key(&k, server, tool);
	stats_count(&delta, decision, req_bytes, resp_bytes, latency_ns, upstream_error);
	return stats_add(tool_fd, &k, &delta);
}

static int update_daemon(int daemon_fd, void (*change)(struct mcpf_daemon_stats *, int), int arg)
{
	struct mcpf_daemon_stats d;
	__u32 idx = 0;
	int err;

	pthread_mutex_lock(&rmw_lock);
	err = read_locked(daemon_fd, &idx, &d, sizeof(d));
	if (!err) {
		change(&d, arg);
		err = write_locked(daemon_fd, &idx, &d);
	}
	pthread_mutex_unlock(&rmw_lock);
	return err;
}

static void conn_opened(struct mcpf_daemon_stats *d, int unused)
{
	(void)unused;
	d->connections_intercepted++;
	d->connections_active++;
}

static void conn_closed(struct mcpf_daemon_stats *d, int unused)
{
	(void)unused;
	if (d->connections_active)
		d->connections_active--;
}

static void reloaded(struct mcpf_daemon_stats *d, int ok)
{
	if (ok)
		d->policy_reloads_ok++;
	else
		d->policy_reloads_failed++;
}

int stats_connection_opened(int daemon_fd)
{
	return update_daemon(daemon_fd, conn_opened, 0);
}

int stats_connection_closed(int daemon_fd)
{
	return update_daemon(daemon_fd, conn_closed, 0);
}

int stats_policy_reloaded(int daemon_fd, bool ok)
{
	return update_daemon(daemon_fd, reloaded, ok);
}

int stats_read_daemon(int daemon_fd, struct mcpf_daemon_stats *out)
{
	__u32 idx = 0;

	return read_locked(daemon_fd, &idx, out, sizeof(*out));
}

static bool counted(const void *key, const void *value, void *ctx)
{
	(void)key;
	(void)ctx;
	return ((const struct mcpf_tool_stats *)value)->calls;  /* else the reserved overflow row, unused */
}

/* Batched lookups walk the hash bucket by bucket, so rows are neither
 * skipped nor repeated even while the daemon adds new ones. */
int stats_read_all(int tool_fd, struct stats_row **rows_out, size_t *n_out)
{
	ssize_t n = kern_map_rows(tool_fd, sizeof(struct mcpf_tool_key), sizeof(struct mcpf_tool_stats),
				  BPF_F_LOCK, counted, NULL, sizeof(**rows_out), offsetof(struct stats_row, v),
				  (void **)rows_out);

	if (n < 0)
		return n;
	*n_out = n;
	return 0;
}
