/* Growable byte buffer; see bytebuf.h. */
#include <errno.h>
#include "bytebuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An emptied buffer bigger than this is given back by bb_consume. */
#define BB_KEEP (64 * 1024)

/* Make the consumed prefix usable again. */
static void rewind_skip(struct bytebuf *b)
{
	if (!b->skip)
		return;
	memmove(b->data - b->skip, b->data, b->len);
	b->data -= b->skip;
	b->cap += b->skip;
	b->skip = 0;
	b->data[b->len] = '\0';  /* cap - len >= 1 whenever data is allocated */
}

static void empty(struct bytebuf *b)
{
	b->len = 0;
	if (b->skip)
		rewind_skip(b);
	else if (b->data)
		b->data[0] = '\0';
}

int bb_reserve(struct bytebuf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->failed)
		return -ENOMEM;
	if (extra > SIZE_MAX / 2 - b->len - 1)
		goto fail;
	/* +1 keeps room for the NUL that makes data usable as a C string. */
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	rewind_skip(b);
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		goto fail;
	b->data = p;
	b->cap = cap;
	return 0;
fail:
	b->failed = true;
	return -ENOMEM;
}

void bb_commit(struct bytebuf *b, size_t n)
{
	b->len += n;
	b->data[b->len] = '\0';
}

int bb_append(struct bytebuf *b, const void *data, size_t len)
{
	if (bb_reserve(b, len) < 0)
		return -ENOMEM;
	if (len)
		memcpy(b->data + b->len, data, len);
	bb_commit(b, len);
	return 0;
}

int bb_append_str(struct bytebuf *b, const char *s)
{
	return bb_append(b, s, strlen(s));
}

int bb_putc(struct bytebuf *b, char c)
{
	return bb_append(b, &c, 1);
}

int bb_printf(struct bytebuf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	int n;

	if (b->failed)
		return -ENOMEM;
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return -ENOMEM;
	}
	if ((size_t)n < sizeof(small))
		return bb_append(b, small, (size_t)n);
	if (bb_reserve(b, (size_t)n) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void bb_consume(struct bytebuf *b, size_t n)
{
	if (n < b->len) {
		b->data += n;
		b->len -= n;
		b->cap -= n;
		b->skip += n;
		return;
	}
	if (b->skip + b->cap > BB_KEEP) {
		bool failed = b->failed;

		bb_free(b);
		b->failed = failed;
		return;
	}
	empty(b);
}

void bb_reset(struct bytebuf *b)
{
	b->failed = false;
	empty(b);
}

void bb_free(struct bytebuf *b)
{
	if (b->data)
		free(b->data - b->skip);
	*b = (struct bytebuf)BYTEBUF_INIT;
}
