/* Work handed to a loop's thread; see mailbox.h. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "mailbox.h"

static void on_mail(struct watch *w, uint32_t revents)
{
	struct mailbox *mb = container_of(w, struct mailbox, w);
	uint64_t n;

	(void)revents;
	/* read first: a post after this wakes the loop again */
	if (read(w->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	mailbox_run(mb);
}

int mailbox_init(struct mailbox *mb)
{
	memset(mb, 0, sizeof(*mb));
	pthread_mutex_init(&mb->lock, NULL);
	mb->w.cb = on_mail;
	mb->w.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (mb->w.fd < 0) {
		int err = -errno;

		pthread_mutex_destroy(&mb->lock);
		return err;
	}
	return 0;
}

int mailbox_watch(struct mailbox *mb, struct loop *loop)
{
	mb->loop = loop;
	return loop_watch(loop, &mb->w, EPOLLIN);
}

void mailbox_post(struct mailbox *mb, struct mail *m, void (*fn)(struct mail *m))
{
	uint64_t one = 1;
	bool wake;

	m->fn = fn;
	m->next = NULL;
	pthread_mutex_lock(&mb->lock);
	wake = !mb->head;
	if (mb->tail)
		mb->tail->next = m;
	else
		mb->head = m;
	mb->tail = m;
	pthread_mutex_unlock(&mb->lock);
	/* a non-empty queue has its wake-up on the way already; the counter
	 * cannot overflow one write per empty-to-non-empty change */
	if (wake)
		(void)!write(mb->w.fd, &one, sizeof(one));
}

int mailbox_run(struct mailbox *mb)
{
	struct mail *m;
	int n = 0;

	pthread_mutex_lock(&mb->lock);
	m = mb->head;
	mb->head = mb->tail = NULL;
	pthread_mutex_unlock(&mb->lock);
	while (m) {
		struct mail *next = m->next;

		m->fn(m);  /* may free m */
		m = next;
		n++;
	}
	return n;
}

void mailbox_fini(struct mailbox *mb)
{
	if (mb->w.fd < 0)
		return;
	if (mb->loop)
		loop_close(mb->loop, &mb->w);
	else
		close(mb->w.fd);
	mb->w.fd = -1;
	pthread_mutex_destroy(&mb->lock);
}
