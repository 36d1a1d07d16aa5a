/* A growable byte queue: append at the tail, consume from the head. */
#ifndef MCPF_BUF_H
#define MCPF_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t off;  /* first unconsumed byte */
	size_t len;  /* end of valid bytes */
	size_t cap;
};

static inline size_t buf_used(const struct buf *b) { return b->len - b->off; }
static inline const char *buf_head(const struct buf *b) { return b->data + b->off; }

/* Make room for at least n more bytes at the tail; returns the tail. */
char *buf_reserve(struct buf *b, size_t n);
int buf_append(struct buf *b, const void *p, size_t n);
void buf_consume(struct buf *b, size_t n);
void buf_free(struct buf *b);

#endif
