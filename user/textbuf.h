/* A growable, always NUL-terminated byte buffer for building text output
 * (Prometheus exposition, CLI tables, audit lines). Allocation failure is
 * sticky: appends after it do nothing and `failed` stays set, so a caller
 * builds the whole text and checks once at the end. */
#ifndef MCPF_TEXTBUF_H
#define MCPF_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>

struct textbuf {
	char *data;   /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
	bool failed;  /* an allocation failed; contents are incomplete */
};

#define TEXTBUF_INIT { 0 }

void textbuf_append(struct textbuf *b, const void *bytes, size_t n);
void textbuf_puts(struct textbuf *b, const char *s);
void textbuf_putc(struct textbuf *b, char c);
void textbuf_printf(struct textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Empty the buffer, keeping its memory. */
void textbuf_reset(struct textbuf *b);
void textbuf_free(struct textbuf *b);

#endif /* MCPF_TEXTBUF_H */
