/*
 * bytebuf: one growable byte buffer, the only owning container of the HTTP
 * and JSON-RPC modules.
 *
 *   struct bytebuf b = BYTEBUF_INIT;
 *   bb_append(&b, data, len);      // 0, or -1 when out of memory
 *   bb_printf(&b, "%zx\r\n", n);   // 0, or -1
 *   b.data / b.len                 // contents; data is always NUL-terminated
 *   bb_reset(&b);                  // len = 0, keeps the allocation
 *   bb_free(&b);
 *
 * Limits are the caller's business: check b.len before appending.
 */
#ifndef MCPF_BYTEBUF_H
#define MCPF_BYTEBUF_H

#include <stddef.h>

struct bytebuf {
	char *data;
	size_t len;
	size_t cap;
};

#define BYTEBUF_INIT { NULL, 0, 0 }

int bb_reserve(struct bytebuf *b, size_t extra);
int bb_append(struct bytebuf *b, const void *data, size_t len);
int bb_append_str(struct bytebuf *b, const char *s);
int bb_printf(struct bytebuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bb_reset(struct bytebuf *b);
void bb_free(struct bytebuf *b);

#endif /* MCPF_BYTEBUF_H */
