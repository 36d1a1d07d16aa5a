/* UTF-8 validation. Names and arguments come from agents and may hold any
 * bytes; every text format mcpfence writes (Prometheus exposition, JSON,
 * terminal) must stay valid, so invalid sequences are replaced, never
 * copied. */
#ifndef MCPF_UTF8_H
#define MCPF_UTF8_H

#include <stddef.h>

#define UTF8_REPLACEMENT "\xef\xbf\xbd"  /* U+FFFD */

/* Length (1-4) of the well-formed UTF-8 sequence at s[0..n), or 0 if it is
 * not one (overlong, surrogate, above U+10FFFF, truncated, stray byte).
 * *cp receives the code point when the result is non-zero. */
size_t utf8_sequence(const unsigned char *s, size_t n, unsigned int *cp);

/* 1 if the NUL-terminated s is entirely valid UTF-8. */
int utf8_valid(const char *s);

/* malloc'd copy of s with every invalid byte replaced by U+FFFD, or NULL
 * when out of memory. */
char *utf8_sanitize_dup(const char *s);

/* s made safe to show (a terminal, a log line, an environment value):
 * each control character (C0, DEL, C1: U+009B is a CSI to many terminals)
 * and each byte that is not UTF-8 becomes '?'. Copied into out (size
 * bytes, cut at a character); out may be s itself. Returns out. */
char *utf8_display(const char *s, char *out, size_t size);

#endif /* MCPF_UTF8_H */
