/* A small epoll event loop: level-triggered watches with a callback each,
 * and deferred frees so a callback may close objects that other events of
 * the same epoll_wait batch still point at. */
#ifndef MCPF_LOOP_H
#define MCPF_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "common.h"  /* container_of: callbacks get the watch, not its owner */

struct watch;
typedef void (*watch_cb)(struct watch *w, uint32_t revents);

struct watch {
	int fd;
	uint32_t events;  /* current interest; 0 = registered but idle */
	bool added;
	watch_cb cb;
};

struct deferred {
	struct deferred *next;
	void (*fn)(struct deferred *);
};

struct loop {
	int epfd;
	bool stop;
	struct deferred *pending;
	struct deferred *later;    /* loop_defer_within: due at later_ns */
	unsigned long long later_ns;  /* CLOCK_MONOTONIC */
	struct watch later_timer;  /* wakes an idle loop for the later list (fd -1: none yet) */
	bool later_armed;
	unsigned long later_timer_fired;
	void (*lock)(void);        /* taken while a batch is dispatched, not while waiting; NULL: none */
	void (*unlock)(void);
};

int loop_init(struct loop *l);
void loop_fini(struct loop *l);

/* Register w->fd (first call) or change its interest; a no-op when the
 * interest is unchanged, so callers can recompute it freely. */
int loop_watch(struct loop *l, struct watch *w, uint32_t events);
void loop_unwatch(struct loop *l, struct watch *w);
/* Unwatch and close w->fd, leaving fd -1; nothing when fd is already -1. */
void loop_close(struct loop *l, struct watch *w);

/* w fires cb every ms on clock (CLOCK_MONOTONIC, or CLOCK_BOOTTIME to
 * count a suspend too), from ms from now. 0, or -errno (w->fd then -1 or
 * for loop_close). */
int loop_every(struct loop *l, struct watch *w, int clock, long ms, void (*cb)(struct watch *, uint32_t));
/* In a timerfd watch's callback: takes its expirations; false when it had
 * none (a spurious wake-up). */
bool loop_timer_fired(struct watch *w);

/* Run fn(d) after the current batch of events has been dispatched. */
void loop_defer(struct loop *l, struct deferred *d, void (*fn)(struct deferred *));

/* Run fn(d) at the end of the first batch that ends at least ms after the
 * first deferral still waiting, or, when none ends by then, one and a
 * half times ms after it, or when the loop stops: work that may wait a
 * little, batched across events. */
void loop_defer_within(struct loop *l, struct deferred *d, void (*fn)(struct deferred *), unsigned ms);

/* Dispatch until l->stop is set. */
int loop_run(struct loop *l);
/* The loop this thread is dispatching in loop_run; NULL outside one. */
struct loop *loop_current(void);

#endif
