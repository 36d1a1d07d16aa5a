/*
 * timer_wheel: second-granularity timeouts for every connection on one
 * timerfd (a connection costs no descriptor of its own for its timers).
 *
 *   timer_wheel_init(&tw, loop);        // one timerfd, ticking once a second
 *   t->fn = on_timeout;                 // struct timer embedded in the owner
 *   timer_arm(&tw, t, seconds);         // (re)arm: fires once, seconds from now
 *   timer_cancel(t);                    // no-op when not armed (timer_armed)
 *   timer_wheel_fini(&tw);
 *
 * A hashed wheel of TIMER_WHEEL_SLOTS one-second slots: arm and cancel are
 * O(1); a tick looks only at the timers of the slots that elapsed (later
 * rounds stay in their slot). A timer fires between `seconds` and
 * `seconds + 2` after it was armed (whole seconds, ticks at any phase). fn may arm or cancel any timer,
 * itself included.
 */
#ifndef MCPF_TIMER_WHEEL_H
#define MCPF_TIMER_WHEEL_H

#include <stdbool.h>
#include "dlist.h"
#include "loop.h"

#define TIMER_WHEEL_SLOTS 64

struct timer {
	struct dlist link;          /* in its slot; unlinked (zeroed): not armed */
	long long deadline_s;
	void (*fn)(struct timer *t);
};

struct timer_wheel {
	struct watch w;
	struct loop *loop;
	long long now_s;            /* last second the wheel has run */
	struct dlist slots[TIMER_WHEEL_SLOTS];
};

int timer_wheel_init(struct timer_wheel *tw, struct loop *loop);
void timer_wheel_fini(struct timer_wheel *tw);
void timer_arm(struct timer_wheel *tw, struct timer *t, unsigned seconds);
void timer_cancel(struct timer *t);
static inline bool timer_armed(const struct timer *t) { return dlist_linked(&t->link); }
/* Run the timers due at now_s (the timerfd callback calls this). */
void timer_wheel_advance(struct timer_wheel *tw, long long now_s);
/* The wheel's clock is monotonic_s() (common.h). */

#endif
