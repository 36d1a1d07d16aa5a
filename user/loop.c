#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "loop.h"

#define LOOP_BATCH 256

int loop_init(struct loop *l)
{
	memset(l, 0, sizeof(*l));
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

static void run_deferred(struct loop *l)
{
	while (l->pending) {
		struct deferred *d = l->pending;

		l->pending = d->next;
		d->fn(d);
	}
}

void loop_fini(struct loop *l)
{
	run_deferred(l);
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
		int n = epoll_wait(l->epfd, evs, LOOP_BATCH, -1);

		l->batch++;

		if (n < 0) {
			int err = errno;

			if (err == EINTR)
				continue;
			log_error("epoll_wait: %s", strerror(err));
			running = outer;
			return -err;
		}
		if (l->held)
			pthread_mutex_lock(l->held);
		for (int i = 0; i < n; i++) {
			struct watch *w = evs[i].data.ptr;

			/* a watch unregistered earlier in this batch gets nothing */
			if (w->added)
				w->cb(w, evs[i].events);
		}
		run_deferred(l);
		if (l->held)
			pthread_mutex_unlock(l->held);
	}
	running = outer;
	return 0;
}
