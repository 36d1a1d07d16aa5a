#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "common.h"
#include "log.h"
#include "loop.h"

#define LOOP_BATCH 256

static void on_later_timer(struct watch *w, uint32_t revents);

/* Made with the loop, so that its descriptors stay what they were at the
 * start; without one (none could be made) the later list falls back on
 * epoll_wait's timeout. */
static void later_timer_open(struct loop *l)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd < 0)
		return;
	l->later_timer = (struct watch){ .fd = fd, .cb = on_later_timer };
	if (loop_watch(l, &l->later_timer, EPOLLIN | EPOLLET)) {
		close(fd);
		l->later_timer.fd = -1;
	}
}

int loop_every(struct loop *l, struct watch *w, int clock, long ms, void (*cb)(struct watch *, uint32_t))
{
	struct timespec period = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L };
	struct itimerspec every = { .it_interval = period, .it_value = period };

	w->cb = cb;
	w->fd = timerfd_create(clock, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->fd < 0 || timerfd_settime(w->fd, 0, &every, NULL))
		return -errno;
	return loop_watch(l, w, EPOLLIN) ? -errno : 0;
}

bool loop_timer_fired(struct watch *w)
{
	uint64_t expirations;

	return read(w->fd, &expirations, sizeof(expirations)) == sizeof(expirations);
}

int loop_init(struct loop *l)
{
	memset(l, 0, sizeof(*l));
	l->later_timer.fd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return -errno;
	later_timer_open(l);
	return 0;
}

static void run_deferred(struct loop *l)
{
	while (l->pending) {
		struct deferred *d = l->pending;

		l->pending = d->next;
		d->fn(d);
	}
}

/* The later list's timer, at ns (0 disarms it). */
static void later_timer_set(struct loop *l, unsigned long long ns)
{
	struct itimerspec it = { .it_value = { (time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL) } };

	if (timerfd_settime(l->later_timer.fd, TFD_TIMER_ABSTIME, &it, NULL) == 0)
		l->later_armed = ns != 0;
}

/* The later list joins the pending one once due (or at the end). */
static void run_later(struct loop *l, bool all)
{
	if (!l->later || (!all && monotonic_ns() < l->later_ns))
		return;
	if (l->later_armed)
		later_timer_set(l, 0);
	while (l->later) {
		struct deferred *d = l->later;

		l->later = d->next;
		d->next = l->pending;
		l->pending = d;
	}
	run_deferred(l);
}

/* It fired: the batch it is in ends with the later list. */
static void on_later_timer(struct watch *w, uint32_t revents)
{
	struct loop *l = container_of(w, struct loop, later_timer);

	(void)revents;
	l->later_armed = false;
	l->later_timer_fired++;
}

/* An idle loop is woken for the later list by a timerfd armed once per
 * deferral, half the delay past it so that under traffic a batch end runs
 * the list first and disarms it. An epoll_wait timeout instead starts and
 * cancels a high-resolution timer on every sleep, one that is the CPU's
 * earliest, which reprograms the timer hardware each time (at one
 * connection 1.7 TSC-deadline writes per call against nginx's 0.5, each
 * a VM exit on this project's machines). Edge-triggered: never read. */
static void later_timer_arm(struct loop *l, unsigned ms)
{
	if (l->later_timer.fd >= 0)
		later_timer_set(l, l->later_ns + (unsigned long long)ms * 500000);
}

/* epoll_wait's timeout: none while the timer stands for the later list;
 * without one (it could not be made), until the list is due. */
static int wait_ms(const struct loop *l)
{
	unsigned long long now;

	if (!l->later || l->later_armed)
		return -1;
	now = monotonic_ns();
	return now >= l->later_ns ? 0 : (int)((l->later_ns - now + 999999) / 1000000);
}

void loop_defer_within(struct loop *l, struct deferred *d, void (*fn)(struct deferred *), unsigned ms)
{
	if (!l->later) {
		l->later_ns = monotonic_ns() + (unsigned long long)ms * 1000000;
		later_timer_arm(l, ms);
	}
	d->fn = fn;
	d->next = l->later;
	l->later = d;
}

void loop_fini(struct loop *l)
{
	run_later(l, true);
	run_deferred(l);
	loop_close(l, &l->later_timer);
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

int loop_watch(struct loop *l, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (w->added && w->events == events)
		return 0;
	if (epoll_ctl(l->epfd, w->added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w->fd, &ev))
		return -errno;
	w->added = true;
	w->events = events;
	return 0;
}

void loop_unwatch(struct loop *l, struct watch *w)
{
	if (w->added)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->added = false;
	w->events = 0;
}

void loop_close(struct loop *l, struct watch *w)
{
	if (w->fd < 0)
		return;
	loop_unwatch(l, w);
	close(w->fd);
	w->fd = -1;
}

void loop_defer(struct loop *l, struct deferred *d, void (*fn)(struct deferred *))
{
	d->fn = fn;
	d->next = l->pending;
	l->pending = d;
}

static _Thread_local struct loop *running;

struct loop *loop_current(void)
{
	return running;
}

int loop_run(struct loop *l)
{
	struct epoll_event evs[LOOP_BATCH];
	struct loop *outer = running;

	running = l;
	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, LOOP_BATCH, wait_ms(l));


		if (n < 0) {
			int err = errno;

			if (err == EINTR)
				continue;
			log_error("epoll_wait: %s", strerror(err));
			run_later(l, true);
			running = outer;
			return -err;
		}
		if (l->lock)
			l->lock();
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;

			/* a watch unregistered earlier in this batch gets nothing */
			if (w->added)
				w->cb(w, evs[i].events);
		}
		run_deferred(l);
		run_later(l, false);
		if (l->unlock)
			l->unlock();
	}
	run_later(l, true);  /* stopped: what could wait does not wait for a next batch */
	running = outer;
	return 0;
}
