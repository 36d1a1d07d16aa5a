/* policy_generation_now: policy_active is read at most once a millisecond;
 * another daemon's flip shows within that, this daemon's own flip at once.
 * Real policy maps. */
#include <time.h>
#include <bpf/bpf.h>

#include "policy_fixture.h"
#include "../../user/common.h"
#include "../../user/policy_cache.h"

/* What a successor daemon does to policy_active (no entries needed). */
static int foreign_flip(struct policy_maps *maps, unsigned int generation)
{
	struct mcpf_policy_active active = { .generation = generation };
	unsigned int zero = 0;

	return bpf_map_update_elem(maps->active, &zero, &active, BPF_F_LOCK);
}

MAPS_TEST(policy_generation_now_rereads_within_a_millisecond)
{
	struct timespec ms2 = { .tv_nsec = 2000000 };

	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'allow'}}}") == 0);
	CHECK_INT_EQ(policy_generation_now(&f->maps), 1);
	CHECK_INT_EQ(foreign_flip(&f->maps, 7), 0);
	/* read a moment ago: as before the flip (decisions that came just before it) */
	if (monotonic_ns() - f->maps.gen_read_ns < 500000)
		CHECK_INT_EQ(policy_generation_now(&f->maps), 1);
	nanosleep(&ms2, NULL);
	CHECK_INT_EQ(policy_generation_now(&f->maps), 7);    /* a millisecond on: the flip */
	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'deny'}}}") == 0);
	CHECK_INT_EQ(policy_generation_now(&f->maps), 8);    /* own flip: at once */
}

/* A snapshot read while another daemon flips (its sweep may already have
 * taken entries of the generation being read) refuses every call of it:
 * an empty snapshot, never one missing a deny. */
MAPS_TEST(policy_cache_read_across_a_foreign_flip_is_empty)
{
	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'allow','tools':{'rm':{'action':'deny'}}}}}") == 0);
	CHECK(policy_cache_server(policy_cache_for(&f->maps, 1), "fs") != NULL);
	policy_cache_free(f->maps.cache);
	f->maps.cache = NULL;
	CHECK_INT_EQ(foreign_flip(&f->maps, 7), 0);
	CHECK(policy_cache_server(policy_cache_for(&f->maps, 1), "fs") == NULL);
	CHECK_INT_EQ(f->maps.gen_read_ns, 0);  /* the next decision reads anew */
}
