/*
 * bytebuf: the one growable byte buffer of mcpfence, for building text
 * (HTTP heads, JSON-RPC replies, Prometheus exposition, audit lines) and
 * for queueing bytes between sockets.
 *
 *   struct bytebuf b = BYTEBUF_INIT;
 *   bb_append(&b, data, len);      // 0, or -ENOMEM
 *   bb_printf(&b, "%zx\r\n", n);   // 0, or -ENOMEM
 *   b.data / b.len                 // contents; NUL-terminated after any bb_ write
 *   bb_consume(&b, n);             // drop n bytes from the front, O(1)
 *   bb_reset(&b);                  // len = 0, keeps the allocation
 *   bb_free(&b);
 *
 * Writing in place: bb_reserve(&b, n), write up to n bytes at
 * b.data + b.len (recv, inflate), then bb_commit(&b, written).
 *
 * Allocation failure is sticky: once an append fails, every later one
 * fails too (and b.failed stays set) until bb_reset, so text built from
 * many appends can be checked once at the end.
 *
 * Limits are the caller's business: check b.len before appending.
 */
#ifndef MCPF_BYTEBUF_H
#define MCPF_BYTEBUF_H

#include <stdbool.h>
#include <stddef.h>

struct bytebuf {
	char *data;     /* first byte of the contents */
	size_t len;
	size_t cap;     /* bytes usable from data on, the terminating NUL's included */
	size_t skip;    /* consumed bytes in the allocation before data */
	bool failed;    /* an allocation failed; see above */
};

#define BYTEBUF_INIT { 0 }

/* Room for extra more bytes at data + len (and a NUL after them). 0 or -ENOMEM. */
int bb_reserve(struct bytebuf *b, size_t extra);
/* n bytes were written at data + len after bb_reserve: count them. */
void bb_commit(struct bytebuf *b, size_t n);
int bb_append(struct bytebuf *b, const void *data, size_t len);
int bb_append_str(struct bytebuf *b, const char *s);
int bb_putc(struct bytebuf *b, char c);
int bb_printf(struct bytebuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes (n <= len). A buffer emptied this way gives a
 * large allocation back: an idle connection should not pin the memory of
 * its largest message. */
void bb_consume(struct bytebuf *b, size_t n);
/* Empty the buffer, keeping its memory, and clear failed. */
void bb_reset(struct bytebuf *b);
void bb_free(struct bytebuf *b);

#endif /* MCPF_BYTEBUF_H */
