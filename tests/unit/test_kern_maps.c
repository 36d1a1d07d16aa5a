/* kern_maps: the keys snapshot, prune and dump over real hash and array
 * maps, with more entries than one lookup batch holds. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "common.h"
#include "harness.h"
#include "kern_maps.h"

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

TEST(kern_maps_keys_of_an_empty_map)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, NULL, sizeof(__u32), sizeof(__u64), 4, NULL);
	struct tally t = { 0 };
	void *keys = NULL;

	CHECK(fd >= 0);
	CHECK_INT_EQ(kern_map_keys(fd, sizeof(__u32), &keys), 0);
	free(keys);
	CHECK_INT_EQ(kern_map_dump(fd, sizeof(__u32), sizeof(__u64), 0, count_entry, &t), 0);
	close(fd);
	CHECK_INT_EQ(t.n, 0);
}
