/* policy_generation_now: inside an event loop, policy_active is read once
 * per batch of events; another daemon's flip shows from the next batch, this
 * daemon's own flip at once. Real policy maps. */
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "policy_fixture.h"
#include "../../user/loop.h"

struct gen_case {
	struct loop loop;
	struct watch w;
	struct policy_fixture *f;
	int batch;
	unsigned int seen[4];
	int failed;
};

/* What a successor daemon does to policy_active (no entries needed). */
static int foreign_flip(struct policy_maps *maps, unsigned int generation)
{
	struct mcpf_policy_active active = { .generation = generation };
	unsigned int zero = 0;

	return bpf_map_update_elem(maps->active, &zero, &active, BPF_F_LOCK);
}

static void on_batch(struct watch *w, uint32_t revents)
{
	struct gen_case *g = container_of(w, struct gen_case, w);
	uint64_t v;

	(void)revents;
	g->failed += read(w->fd, &v, sizeof(v)) != sizeof(v);
	if (g->batch++ == 0) {
		g->seen[0] = policy_generation_now(&g->f->maps);
		g->failed += foreign_flip(&g->f->maps, 7) != 0;
		g->seen[1] = policy_generation_now(&g->f->maps);  /* same batch: as before the flip */
		g->failed += write(w->fd, &(uint64_t){ 1 }, sizeof(v)) != sizeof(v);
		return;
	}
	g->seen[2] = policy_generation_now(&g->f->maps);      /* next batch: the flip */
	g->failed += fixture_compile(g->f, "{'version':'1','servers':{'fs':{'default':'deny'}}}") != 0;
	g->seen[3] = policy_generation_now(&g->f->maps);      /* own flip: at once */
	g->loop.stop = true;
}

MAPS_TEST(policy_generation_now_once_per_batch)
{
	struct gen_case g = { .f = f };

	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'allow'}}}") == 0);
	CHECK_INT_EQ(policy_generation_now(&f->maps), 1);  /* outside a loop: the map */
	CHECK_INT_EQ(loop_init(&g.loop), 0);
	g.w.fd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
	g.w.cb = on_batch;
	CHECK(g.w.fd >= 0);
	CHECK_INT_EQ(loop_watch(&g.loop, &g.w, EPOLLIN), 0);
	CHECK_INT_EQ(loop_run(&g.loop), 0);
	loop_close(&g.loop, &g.w);
	loop_fini(&g.loop);
	CHECK_INT_EQ(g.failed, 0);
	CHECK_INT_EQ(g.seen[0], 1);
	CHECK_INT_EQ(g.seen[1], 1);
	CHECK_INT_EQ(g.seen[2], 7);
	CHECK_INT_EQ(g.seen[3], 8);
	CHECK_INT_EQ(policy_generation_now(&f->maps), 8);
}
