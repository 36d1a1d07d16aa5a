/*
 * content_decode: undo an HTTP Content-Encoding (gzip, x-gzip, deflate,
 * identity, in any listed order) with zlib, never producing more than
 * `limit` bytes, so a compression bomb is refused rather than expanded.
 *
 *   struct bytebuf out = BYTEBUF_INIT;
 *   switch (content_decode(msg, msg->body, msg->body_len, limit, &out)) {
 *   case CODING_IDENTITY:    use msg->body as is (out untouched)
 *   case CODING_DECODED:     use out.data/out.len
 *   case CODING_UNSUPPORTED: refuse, 415
 *   case CODING_TOO_LARGE:   refuse, 413
 *   case CODING_CORRUPT:     refuse, 400 (bad or truncated stream, trailing bytes)
 *   case CODING_NOMEM:       refuse, 500
 *   }
 *
 * The codings are the comma-separated values of every Content-Encoding
 * header, in order; decoding runs them in reverse. "deflate" accepts the
 * zlib format (RFC 9110) and, as browsers do, raw deflate. Concatenated
 * gzip members are decoded as one stream.
 */
#ifndef MCPF_CONTENT_DECODE_H
#define MCPF_CONTENT_DECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "bytebuf.h"
#include "http1.h"

enum content_coding_status {
	CODING_IDENTITY,
	CODING_DECODED,
	CODING_UNSUPPORTED,
	CODING_TOO_LARGE,
	CODING_CORRUPT,
	CODING_NOMEM,
};

enum content_coding_status content_decode(const struct http1_msg *m, const char *body, size_t len,
					  size_t limit, struct bytebuf *out);
/* content_decode, and where the readable body is: *text and *text_len are set
 * to body (CODING_IDENTITY) or to out (CODING_DECODED), left alone on any
 * other status. Free out in every case. */
enum content_coding_status content_decode_text(const struct http1_msg *m, const char *body, size_t len,
					       size_t limit, struct bytebuf *out, const char **text,
					       size_t *text_len);
const char *content_coding_status_text(enum content_coding_status st);
/* The message names a coding other than identity (supported or not). */
bool content_is_encoded(const struct http1_msg *m);

#endif /* MCPF_CONTENT_DECODE_H */
