/* Shared by the libFuzzer harnesses (tests/fuzz/fuzz_*.c): each harness is
 * one parser fed hostile bytes under ASan + UBSan. A broken invariant is a
 * crash (FUZZ_ASSERT aborts), so libFuzzer keeps the input as a reproducer. */
#ifndef MCPF_FUZZ_H
#define MCPF_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http1.h"

#define FUZZ_ASSERT(cond)                                                              \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                       \
		}                                                                      \
	} while (0)

/* Sizes of the pieces the input is fed in, drawn from one seed byte: the
 * parsers are incremental and must not care where reads split. */
static inline size_t fuzz_step(uint8_t seed, size_t left)
{
	static const size_t steps[8] = {0, 1, 2, 3, 7, 16, 64, 4096};
	size_t s = steps[seed & 7];

	return s == 0 || s > left ? left : s;
}

/* A request head carrying `headers` (lines "Name: value" separated by '\n')
 * and `body` as a buffered body, as http1 BUFFER mode hands it over. The
 * strings point into scratch, which must outlive msg. */
static inline void fuzz_msg(struct http1_msg *msg, char *scratch, const char *headers, size_t hlen,
			    const char *body, size_t blen)
{
	memset(msg, 0, sizeof(*msg));
	msg->method = HTTP_POST;
	msg->http_major = msg->http_minor = 1;
	msg->content_length = (int64_t)blen;
	msg->framing = HTTP1_FRAMING_LENGTH;
	msg->body = body;
	msg->body_len = blen;
	msg->raw_body = body;
	msg->raw_body_len = blen;
	memcpy(scratch, headers, hlen);
	for (size_t i = 0; i < hlen && msg->n_headers < HTTP1_MAX_HEADERS;) {
		char *line = scratch + i, *nl = memchr(line, '\n', hlen - i);
		size_t n = nl ? (size_t)(nl - line) : hlen - i;
		char *colon = memchr(line, ':', n);

		i += n + 1;
		if (!colon)
			continue;
		struct http1_header *h = &msg->headers[msg->n_headers++];
		h->name = line;
		h->name_len = (size_t)(colon - line);
		h->value = colon + 1;
		h->value_len = n - h->name_len - 1;
		while (h->value_len && *h->value == ' ')
			h->value++, h->value_len--;
	}
}

/* Text with control characters other than TAB, LF and CR outside strings:
 * cJSON reads them as whitespace, JSON.parse and json_span refuse them. */
static inline bool fuzz_cjson_only_space(const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] < 0x20 && !memchr("\t\n\r", t[i], 3))
			return true;
	return false;
}

#endif /* MCPF_FUZZ_H */
