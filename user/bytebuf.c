/* Growable byte buffer; see bytebuf.h. */
#include "bytebuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bb_reserve(struct bytebuf *b, size_t extra)
{
	/* +1 keeps room for the terminating NUL that makes data usable as a C string. */
	if (extra > (size_t)-1 / 2 - b->len - 1)
		return -1;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (!p)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int bb_append(struct bytebuf *b, const void *data, size_t len)
{
	if (bb_reserve(b, len) < 0)
		return -1;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int bb_append_str(struct bytebuf *b, const char *s)
{
	return bb_append(b, s, strlen(s));
}

int bb_printf(struct bytebuf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(small))
		return bb_append(b, small, (size_t)n);
	if (bb_reserve(b, (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void bb_reset(struct bytebuf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void bb_free(struct bytebuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
