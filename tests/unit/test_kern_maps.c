/* kern_maps: the keys snapshot, prune and dump over real hash and array
 * maps, with more entries than one lookup batch holds; opening pinned maps
 * and cloning one, on the real tool_stats map. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "common.h"
#include "fixture.h"
#include "harness.h"
#include "kern_maps.h"
#include "stats.h"

#define ENTRIES 1000  /* several DUMP_BATCHes */

static int filled_map(enum bpf_map_type type)
{
	int fd = bpf_map_create(type, NULL, sizeof(__u32), sizeof(__u64), ENTRIES, NULL);

	for (__u32 k = 0; fd >= 0 && k < ENTRIES; k++) {
		__u64 v = 3ULL * k;

		if (kern_map_update(fd, &k, &v, BPF_ANY)) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

struct tally {
	unsigned n;
	unsigned long long keys, values;
	int stop_after;
};

static int count_entry(const void *key, const void *value, void *ctx)
{
	struct tally *t = ctx;

	t->n++;
	t->keys += *(const __u32 *)key;
	t->values += *(const __u64 *)value;
	return t->stop_after && t->n == (unsigned)t->stop_after ? 7 : 0;
}

static bool odd_key(const void *key, void *ctx)
{
	(void)ctx;
	return *(const __u32 *)key & 1;
}

TEST(kern_maps_dump_reads_every_entry_once)
{
	const enum bpf_map_type types[] = { BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY };
	const unsigned long long key_sum = ENTRIES * (ENTRIES - 1ULL) / 2;

	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		struct tally t = { 0 };
		int fd = filled_map(types[i]);

		CHECK(fd >= 0);
		CHECK_INT_EQ(kern_map_dump(fd, sizeof(__u32), sizeof(__u64), 0, count_entry, &t), 0);
		close(fd);
		CHECK_INT_EQ(t.n, ENTRIES);
		CHECK_INT_EQ(t.keys, key_sum);
		CHECK_INT_EQ(t.values, 3 * key_sum);
	}
}

TEST(kern_maps_dump_stops_at_the_callbacks_word)
{
	struct tally t = { .stop_after = 5 };
	int fd = filled_map(BPF_MAP_TYPE_HASH);

	CHECK(fd >= 0);
	CHECK_INT_EQ(kern_map_dump(fd, sizeof(__u32), sizeof(__u64), 0, count_entry, &t), 7);
	close(fd);
	CHECK_INT_EQ(t.n, 5);
}

TEST(kern_maps_prune_deletes_what_drop_picks)
{
	int fd = filled_map(BPF_MAP_TYPE_HASH);
	__u32 *keys = NULL;
	ssize_t n;
	__u64 v;

	CHECK(fd >= 0);
	CHECK_INT_EQ(kern_map_prune(fd, sizeof(__u32), odd_key, NULL), 0);
	n = kern_map_keys(fd, sizeof(__u32), (void **)&keys);
	CHECK_INT_EQ(n, ENTRIES / 2);
	for (ssize_t i = 0; i < n; i++)
		CHECK(!(keys[i] & 1));
	free(keys);
	__u32 gone = 1, kept = 2;
	CHECK_INT_EQ(kern_map_lookup(fd, &gone, &v), -ENOENT);
	CHECK_INT_EQ(kern_map_lookup(fd, &kept, &v), 0);
	CHECK_INT_EQ(v, 6);
	CHECK_INT_EQ(kern_map_delete(fd, &gone), -ENOENT);
	close(fd);
}

struct row {
	__u32 key;
	__u64 value;  /* at offset 8 */
};

static bool odd_entry(const void *key, const void *value, void *ctx)
{
	(void)value;
	return odd_key(key, ctx);
}

TEST(kern_maps_rows_copies_what_keep_picks)
{
	int fd = filled_map(BPF_MAP_TYPE_HASH);
	struct row *rows = NULL;
	ssize_t n;

	CHECK(fd >= 0);
	n = kern_map_rows(fd, sizeof(__u32), sizeof(__u64), 0, odd_entry, NULL, sizeof(*rows),
			  offsetof(struct row, value), (void **)&rows);
	close(fd);
	CHECK_INT_EQ(n, ENTRIES / 2);
	for (ssize_t i = 0; i < n; i++) {
		CHECK(rows[i].key & 1);
		CHECK_INT_EQ(rows[i].value, 3ULL * rows[i].key);
	}
	free(rows);
}

TEST(kern_maps_keys_of_an_empty_map)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, NULL, sizeof(__u32), sizeof(__u64), 4, NULL);
	struct tally t = { 0 };
	void *keys = NULL;

	CHECK(fd >= 0);
	CHECK_INT_EQ(kern_map_keys(fd, sizeof(__u32), &keys), 0);
	free(keys);
	CHECK_INT_EQ(kern_map_dump(fd, sizeof(__u32), sizeof(__u64), 0, count_entry, &t), 0);
	CHECK_INT_EQ(kern_map_rows(fd, sizeof(__u32), sizeof(__u64), 0, odd_entry, NULL, sizeof(struct row),
				   offsetof(struct row, value), &keys), 0);
	CHECK(keys == NULL);
	close(fd);
	CHECK_INT_EQ(t.n, 0);
}

static void open_pinned_checks_layout(int tfd, int dfd, const char *dir)
{
	const size_t key = sizeof(struct mcpf_tool_key), value = sizeof(struct mcpf_tool_stats);
	char long_name[PATH_MAX];
	int fd;

	(void)tfd;
	(void)dfd;
	fd = kern_map_open_pinned(dir, "tool_stats", key, value);
	CHECK(fd >= 0);
	CHECK(kern_map_id(fd) != 0);
	CHECK_INT_EQ(kern_map_id(fd), kern_map_id(tfd));  /* the same map */
	close(fd);
	CHECK_INT_EQ(kern_map_open_pinned(dir, "tool_stats", key, sizeof(struct mcpf_daemon_stats)), -EPROTO);
	CHECK_INT_EQ(kern_map_open_pinned(dir, "tool_stats", sizeof(__u32), value), -EPROTO);
	CHECK_INT_EQ(kern_map_open_pinned(dir, "no_such_map", key, value), -ENOENT);
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	CHECK_INT_EQ(kern_map_open_pinned(dir, long_name, key, value), -ENAMETOOLONG);
}

TEST(kern_maps_open_pinned_checks_layout)
{
	CHECK_INT_EQ(fixture_with_pinned_maps(open_pinned_checks_layout), 0);
}

/* tool_stats values hold a bpf_spin_lock: BPF_F_LOCK works on the clone
 * only if it got the map's BTF. */
static void clone_is_empty_and_locks(int tfd, int dfd)
{
	struct mcpf_tool_stats v = { .calls = 5 }, got;
	struct mcpf_tool_key k;
	void *keys = NULL;
	int clone;

	(void)dfd;
	stats_key(&k, "srv", "tool");
	CHECK_INT_EQ(kern_map_update(tfd, &k, &v, BPF_F_LOCK), 0);
	clone = kern_map_clone_empty(tfd, "unit_clone");
	CHECK(clone >= 0);
	CHECK(kern_map_id(clone) != 0 && kern_map_id(clone) != kern_map_id(tfd));
	CHECK_INT_EQ(kern_map_keys(clone, sizeof(k), &keys), 0);
	free(keys);
	CHECK_INT_EQ(kern_map_lookup_locked(clone, &k, &got), -ENOENT);
	v.calls = 9;
	CHECK_INT_EQ(kern_map_update(clone, &k, &v, BPF_F_LOCK), 0);
	CHECK_INT_EQ(kern_map_lookup_locked(clone, &k, &got), 0);
	CHECK_INT_EQ(got.calls, 9);
	CHECK_INT_EQ(kern_map_lookup_locked(tfd, &k, &got), 0);
	CHECK_INT_EQ(got.calls, 5);  /* the original untouched */
	close(clone);
}

TEST(kern_maps_clone_empty_keeps_btf)
{
	CHECK_INT_EQ(fixture_with_maps(clone_is_empty_and_locks), 0);
}

TEST(kern_maps_clone_and_id_without_btf)
{
	int fd = filled_map(BPF_MAP_TYPE_HASH), clone, pipefd[2];
	__u32 k = 1;
	__u64 v = 4;

	CHECK(fd >= 0);
	clone = kern_map_clone_empty(fd, NULL);
	CHECK(clone >= 0);
	CHECK_INT_EQ(kern_map_lookup(clone, &k, &v), -ENOENT);
	CHECK_INT_EQ(kern_map_update(clone, &k, &v, BPF_F_LOCK), -EINVAL);  /* no spin lock in a plain value */
	close(clone);
	close(fd);
	CHECK_INT_EQ(pipe(pipefd), 0);
	CHECK_INT_EQ(kern_map_id(pipefd[0]), 0);  /* not a map */
	CHECK_INT_EQ(kern_map_clone_empty(pipefd[0], NULL), -EINVAL);
	close(pipefd[0]);
	close(pipefd[1]);
}

static int no_record(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	++*(int *)ctx;
	return 0;
}

/* Records from a real program: test_kern_netns. Here: what is no ring. */
TEST(kern_maps_ring_of_an_empty_and_a_wrong_map)
{
	int ring_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, NULL, 0, 0, 4096, NULL);
	int hash_fd = filled_map(BPF_MAP_TYPE_HASH), calls = 0;
	struct kern_ring *r = NULL;

	CHECK(ring_fd >= 0 && hash_fd >= 0);
	CHECK_INT_EQ(kern_ring_open(hash_fd, no_record, &calls, &r), -EINVAL);
	CHECK_INT_EQ(kern_ring_open(ring_fd, no_record, &calls, &r), 0);
	CHECK(kern_ring_fd(r) >= 0);
	CHECK_INT_EQ(kern_ring_consume(r), 0);
	CHECK_INT_EQ(calls, 0);
	kern_ring_close(r);
	kern_ring_close(NULL);
	close(ring_fd);
	close(hash_fd);
}
