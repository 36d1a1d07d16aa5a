#include <stdlib.h>
#include <string.h>
#include "buf.h"

/* An emptied buffer bigger than this is given back: idle connections
 * should not pin the memory of their largest message. */
#define BUF_KEEP (64 * 1024)

char *buf_reserve(struct buf *b, size_t n)
{
	if (b->cap - b->len >= n)
		return b->data + b->len;
	if (b->off) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->cap - b->len >= n)
			return b->data + b->len;
	}
	size_t cap = b->cap ? b->cap : 4096;

	while (cap - b->len < n)
		cap *= 2;
	char *p = realloc(b->data, cap);

	if (!p)
		return NULL;
	b->data = p;
	b->cap = cap;
	return b->data + b->len;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	char *tail = buf_reserve(b, n);

	if (!tail)
		return -1;
	memcpy(tail, p, n);
	b->len += n;
	return 0;
}

void buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off < b->len)
		return;
	b->off = b->len = 0;
	if (b->cap > BUF_KEEP) {
		free(b->data);
		b->data = NULL;
		b->cap = 0;
	}
}

void buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
