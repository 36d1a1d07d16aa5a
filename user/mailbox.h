/*
 * mailbox: work handed to the thread that owns an event loop (a proxy
 * worker, proxy.h), from any thread.
 *
 *   mailbox_init(&mb);  mailbox_watch(&mb, &loop);    // on the owner's loop
 *   struct my_mail { struct mail m; ... } *x = calloc(...);
 *   mailbox_post(&mb, &x->m, on_my_mail);             // any thread
 *   ... the owner's loop runs on_my_mail(&x->m), in posting order;
 *       the handler owns (frees) the mail
 *   mailbox_run(&mb);   // after the owner's loop ended: what is left
 *   mailbox_fini(&mb);
 *
 * A mutex-protected queue and an eventfd the owner's loop watches: a post
 * is one lock and, when the queue was empty, one write.
 */
#ifndef MCPF_MAILBOX_H
#define MCPF_MAILBOX_H

#include <pthread.h>
#include <stdbool.h>

#include "loop.h"

struct mail {
	struct mail *next;
	void (*fn)(struct mail *m);
};

struct mailbox {
	pthread_mutex_t lock;
	struct mail *head, *tail;
	struct loop *loop;
	struct watch w;          /* the eventfd */
};

int mailbox_init(struct mailbox *mb);
/* Run the mail on loop from now on. 0 or -errno. */
int mailbox_watch(struct mailbox *mb, struct loop *loop);
void mailbox_post(struct mailbox *mb, struct mail *m, void (*fn)(struct mail *m));
/* Run what is queued, oldest first; how many. */
int mailbox_run(struct mailbox *mb);
/* Closes the eventfd; mail still queued is the caller's to run first. */
void mailbox_fini(struct mailbox *mb);

#endif
