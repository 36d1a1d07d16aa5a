/* One timerfd for every connection timeout; see timer_wheel.h. */
#include "common.h"
#include "timer_wheel.h"

#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/timerfd.h>

static void on_tick(struct watch *w, uint32_t revents)
{
	struct timer_wheel *tw = container_of(w, struct timer_wheel, w);
	uint64_t n;

	(void)revents;
	if (read(w->fd, &n, sizeof(n)) != sizeof(n))
		return;
	timer_wheel_advance(tw, monotonic_s());
}

int timer_wheel_init(struct timer_wheel *tw, struct loop *loop)
{
	struct itimerspec every = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };

	tw->loop = loop;
	tw->now_s = monotonic_s();
	for (int i = 0; i < TIMER_WHEEL_SLOTS; i++)
		dlist_init(&tw->slots[i]);
	tw->w.cb = on_tick;
	tw->w.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (tw->w.fd < 0)
		return -errno;
	if (timerfd_settime(tw->w.fd, 0, &every, NULL))
		return -errno;
	return loop_watch(loop, &tw->w, EPOLLIN);
}

void timer_wheel_fini(struct timer_wheel *tw)
{
	if (tw->loop)
		loop_close(tw->loop, &tw->w);
}

void timer_cancel(struct timer *t)
{
	dlist_del(&t->link);
}

void timer_arm(struct timer_wheel *tw, struct timer *t, unsigned seconds)
{
	long long now = monotonic_s();

	timer_cancel(t);
	/* whole seconds, ticks at any phase of a second: one more, so that a
	 * timer never fires before `seconds` (the wheel may also not have run
	 * this second yet: never behind it) */
	t->deadline_s = (now > tw->now_s ? now : tw->now_s) + (seconds ? seconds : 1) + 1;
	dlist_add_tail(&tw->slots[t->deadline_s % TIMER_WHEEL_SLOTS], &t->link);
}

void timer_wheel_advance(struct timer_wheel *tw, long long now_s)
{
	/* a long stall (or a first tick after a suspend) visits each slot once */
	long long from = now_s - tw->now_s > TIMER_WHEEL_SLOTS ? now_s - TIMER_WHEEL_SLOTS : tw->now_s;
	struct dlist due, *n, *next;

	dlist_init(&due);

	for (long long s = from + 1; s <= now_s; s++) {
		dlist_for_each_safe(n, next, &tw->slots[s % TIMER_WHEEL_SLOTS]) {
			struct timer *t = container_of(n, struct timer, link);

			if (t->deadline_s <= now_s) {
				dlist_del(n);
				dlist_add_tail(&due, n);
			}
		}
	}
	if (now_s > tw->now_s)
		tw->now_s = now_s;
	/* collected first: a callback may cancel a timer that is also due */
	while (!dlist_empty(&due)) {
		struct timer *t = container_of(due.next, struct timer, link);

		timer_cancel(t);
		t->fn(t);
	}
}
