/* Transitional: user/proxy.c's old names for struct bytebuf (bytebuf.h),
 * kept only until proxy.c is renamed to the bb_* API. Nothing else may
 * include this file. */
#ifndef MCPF_BUF_H
#define MCPF_BUF_H

#include "bytebuf.h"

#define buf bytebuf

static inline size_t buf_used(const struct bytebuf *b) { return b->len; }
static inline const char *buf_head(const struct bytebuf *b) { return b->data; }
static inline char *buf_reserve(struct bytebuf *b, size_t n) { return bb_reserve(b, n) ? NULL : b->data + b->len; }
static inline void buf_consume(struct bytebuf *b, size_t n) { bb_consume(b, n); }
static inline void buf_free(struct bytebuf *b) { bb_free(b); }

#endif
