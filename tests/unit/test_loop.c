/* The event loop's deferrals: at a batch's end, and within a time. */
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "harness.h"
#include "../../user/common.h"
#include "../../user/loop.h"

struct later_case {
	struct loop loop;
	struct watch w;
	struct deferred now, later;
	int batches, ran_now, ran_later, later_in_batch;
	unsigned within_ms;  /* 0: 20 */
	unsigned long long queued_ns, ran_ns;
};

static void on_now(struct deferred *d)
{
	container_of(d, struct later_case, now)->ran_now++;
}

static void on_later(struct deferred *d)
{
	struct later_case *c = container_of(d, struct later_case, later);

	c->ran_later++;
	c->later_in_batch = c->batches;
	c->ran_ns = monotonic_ns();
	c->loop.stop = true;
}

static void on_event(struct watch *w, uint32_t revents)
{
	struct later_case *c = container_of(w, struct later_case, w);
	uint64_t v;

	(void)revents;
	(void)!read(w->fd, &v, sizeof(v));
	c->batches++;
	loop_defer(&c->loop, &c->now, on_now);
	if (c->batches == 1) {
		c->queued_ns = monotonic_ns();
		loop_defer_within(&c->loop, &c->later, on_later, c->within_ms ? c->within_ms : 20);
	}
}

/* A deferral within 20 ms runs neither at once nor at the next batch's
 * end before it is due: with no other event, the loop wakes for it. */
TEST(loop_defer_within_runs_when_due_without_another_event)
{
	struct later_case c = { 0 };
	uint64_t one = 1;

	CHECK_INT_EQ(loop_init(&c.loop), 0);
	c.w.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	c.w.cb = on_event;
	CHECK(c.w.fd >= 0);
	CHECK_INT_EQ(loop_watch(&c.loop, &c.w, EPOLLIN), 0);
	CHECK_INT_EQ(write(c.w.fd, &one, sizeof(one)), sizeof(one));
	CHECK_INT_EQ(loop_run(&c.loop), 0);
	CHECK_INT_EQ(c.ran_now, 1);      /* at the end of its batch */
	CHECK_INT_EQ(c.ran_later, 1);
	CHECK_INT_EQ(c.later_in_batch, 1);
	CHECK(c.ran_ns - c.queued_ns >= 20 * 1000000ULL);
	CHECK(c.ran_ns - c.queued_ns < 130 * 1000000ULL);  /* 30 ms, and room for a busy machine */
	loop_close(&c.loop, &c.w);
	loop_fini(&c.loop);
}

/* With events every 2 ms the deferral runs at the end of the first batch
 * due, and the timer that would wake an idle loop for it never fires. */
TEST(loop_defer_within_under_traffic_never_needs_its_timer)
{
	struct later_case c = { .within_ms = 100 };
	struct itimerspec every_2ms = { { 0, 2000000 }, { 0, 2000000 } };

	CHECK_INT_EQ(loop_init(&c.loop), 0);
	c.w.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	c.w.cb = on_event;
	CHECK(c.w.fd >= 0);
	CHECK_INT_EQ(timerfd_settime(c.w.fd, 0, &every_2ms, NULL), 0);
	CHECK_INT_EQ(loop_watch(&c.loop, &c.w, EPOLLIN), 0);
	CHECK_INT_EQ(loop_run(&c.loop), 0);
	CHECK_INT_EQ(c.ran_later, 1);
	CHECK(c.later_in_batch >= 2);
	CHECK(c.ran_ns - c.queued_ns >= 100 * 1000000ULL);
	CHECK(!c.loop.later_armed);
	CHECK(c.loop.later_timer.fd >= 0);
	CHECK_INT_EQ(c.loop.later_timer_fired, 0);
	loop_close(&c.loop, &c.w);
	loop_fini(&c.loop);
}

/* A loop that stops runs what was deferred within a time, due or not. */
TEST(loop_defer_within_runs_at_fini)
{
	struct later_case c = { 0 };

	CHECK_INT_EQ(loop_init(&c.loop), 0);
	loop_defer_within(&c.loop, &c.later, on_later, 60000);
	loop_fini(&c.loop);
	CHECK_INT_EQ(c.ran_later, 1);
}
