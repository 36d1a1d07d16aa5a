/*
 * dlist: an intrusive doubly-linked list, circular around a head node. The
 * one list shape of the daemon: timer wheel slots, each thread's
 * connections, connections waiting for their first line, the admin and
 * approval-control clients, pending approvals.
 *
 *   struct dlist head;          zeroed (or dlist_init): empty
 *   struct x { struct dlist link; ... };   zeroed: on no list
 *   dlist_add_tail(&head, &x->link);  dlist_del(&x->link);
 *   dlist_for_each_safe(n, next, &head) { struct x *x = container_of(n, struct x, link); ... }
 *
 * Zeroed memory is valid both ways, so structs from calloc or memset need
 * no set-up: a head whose next is NULL is an empty list, a node whose next
 * is NULL is on no list. dlist_del puts a node back there, so deleting
 * twice is harmless. Add, delete and "is it linked" are O(1) and need no
 * pointer to the head.
 */
#ifndef MCPF_DLIST_H
#define MCPF_DLIST_H

#include <stdbool.h>
#include <stddef.h>

struct dlist {
	struct dlist *prev, *next;
};

static inline void dlist_init(struct dlist *head)
{
	head->prev = head->next = head;
}

static inline bool dlist_empty(const struct dlist *head)
{
	return !head->next || head->next == head;
}

static inline bool dlist_linked(const struct dlist *n)
{
	return n->next != NULL;
}

/* n goes between prev and next (neighbours on one list). */
static inline void dlist_insert(struct dlist *n, struct dlist *prev, struct dlist *next)
{
	n->prev = prev;
	n->next = next;
	prev->next = n;
	next->prev = n;
}

static inline void dlist_add_head(struct dlist *head, struct dlist *n)
{
	if (!head->next)
		dlist_init(head);
	dlist_insert(n, head, head->next);
}

static inline void dlist_add_tail(struct dlist *head, struct dlist *n)
{
	if (!head->next)
		dlist_init(head);
	dlist_insert(n, head->prev, head);
}

static inline void dlist_del(struct dlist *n)
{
	if (!n->next)
		return;
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = NULL;
}

/* The first node, or NULL when the list is empty. */
static inline struct dlist *dlist_first(const struct dlist *head)
{
	return dlist_empty(head) ? NULL : head->next;
}

/* The node after n, or NULL at the end of head's list. */
static inline struct dlist *dlist_next(const struct dlist *head, const struct dlist *n)
{
	return n->next == head ? NULL : n->next;
}

/* Safe against deleting n (and only n) in the body. */
#define dlist_for_each_safe(n, next_, head) \
	for ((n) = dlist_first(head), (next_) = (n) ? dlist_next(head, n) : NULL; (n); \
	     (n) = (next_), (next_) = (n) ? dlist_next(head, n) : NULL)

#endif /* MCPF_DLIST_H */
