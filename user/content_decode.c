/* Content-Encoding decoding with a hard output limit; see content_decode.h. */
#include "content_decode.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define MAX_CODINGS 4

enum coding { GZIP, DEFLATE };

static bool token_is(const char *t, size_t len, const char *want)
{
	return len == strlen(want) && strncasecmp(t, want, len) == 0;
}

/* Collect the non-identity codings of every Content-Encoding header, in order. */
static enum content_coding_status list_codings(const struct http1_msg *m, enum coding *codings, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < m->n_headers; i++) {
		const struct http1_header *h = &m->headers[i];
		if (!token_is(h->name, h->name_len, "content-encoding"))
			continue;
		const char *v = h->value, *end = h->value + h->value_len;
		while (v < end) {
			const char *comma = memchr(v, ',', (size_t)(end - v));
			const char *tok_end = comma ? comma : end;
			while (v < tok_end && (*v == ' ' || *v == '\t'))
				v++;
			size_t len = (size_t)(tok_end - v);
			while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
				len--;
			if (len && !token_is(v, len, "identity")) {
				if (*n == MAX_CODINGS)
					return CODING_UNSUPPORTED;
				if (token_is(v, len, "gzip") || token_is(v, len, "x-gzip"))
					codings[(*n)++] = GZIP;
				else if (token_is(v, len, "deflate"))
					codings[(*n)++] = DEFLATE;
				else
					return CODING_UNSUPPORTED;
			}
			v = comma ? comma + 1 : end;
		}
	}
	return CODING_IDENTITY;
}

bool content_is_encoded(const struct http1_msg *m)
{
	enum coding codings[MAX_CODINGS];
	size_t n;

	return list_codings(m, codings, &n) != CODING_IDENTITY || n;
}

static bool has_zlib_header(const unsigned char *p, size_t len)
{
	return len >= 2 && (p[0] & 0x0f) == 8 && (p[0] >> 4) <= 7 && ((p[0] << 8) | p[1]) % 31 == 0;
}

static enum content_coding_status inflate_one(enum coding c, const char *in, size_t len, size_t limit,
					      struct bytebuf *out)
{
	z_stream z;
	int window = c == GZIP ? 16 + MAX_WBITS : has_zlib_header((const unsigned char *)in, len) ? MAX_WBITS : -MAX_WBITS;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, window) != Z_OK)
		return CODING_NOMEM;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	enum content_coding_status st = CODING_DECODED;
	for (;;) {
		/* Room for one byte past the limit: producing it proves the body too large. */
		size_t room = limit + 1 - out->len;
		if (room > 64 * 1024)
			room = 64 * 1024;
		if (bb_reserve(out, room) < 0) {
			st = CODING_NOMEM;
			break;
		}
		z.next_out = (Bytef *)out->data + out->len;
		z.avail_out = (uInt)room;
		int r = inflate(&z, Z_NO_FLUSH);
		bb_commit(out, room - z.avail_out);
		if (out->len > limit) {
			st = CODING_TOO_LARGE;
			break;
		}
		if (r == Z_STREAM_END) {
			if (z.avail_in == 0)
				break;
			/* Another gzip member may follow; anything else is trailing garbage. */
			if (c == GZIP && z.avail_in >= 2 && z.next_in[0] == 0x1f && z.next_in[1] == 0x8b &&
			    inflateReset(&z) == Z_OK)
				continue;
			st = CODING_CORRUPT;
			break;
		}
		if (r != Z_OK || (z.avail_in == 0 && z.avail_out != 0)) {
			st = r == Z_MEM_ERROR ? CODING_NOMEM : CODING_CORRUPT; /* bad data, or truncated */
			break;
		}
	}
	inflateEnd(&z);
	return st;
}

enum content_coding_status content_decode(const struct http1_msg *m, const char *body, size_t len,
					  size_t limit, struct bytebuf *out)
{
	enum coding codings[MAX_CODINGS];
	size_t n;
	enum content_coding_status st = list_codings(m, codings, &n);

	if (st != CODING_IDENTITY || n == 0)
		return st;
	if (len > (uInt)-1)
		return CODING_TOO_LARGE;
	struct bytebuf tmp = BYTEBUF_INIT;
	const char *in = body;
	size_t in_len = len;
	/* Codings were applied in the order listed: undo the last first. */
	for (size_t i = n; i-- > 0;) {
		bb_reset(out);
		st = inflate_one(codings[i], in, in_len, limit, out);
		if (st != CODING_DECODED)
			break;
		if (i > 0) {
			struct bytebuf swap = tmp;
			tmp = *out;
			*out = swap;
			in = tmp.data;
			in_len = tmp.len;
		}
	}
	bb_free(&tmp);
	return st;
}

enum content_coding_status content_decode_text(const struct http1_msg *m, const char *body, size_t len,
					       size_t limit, struct bytebuf *out, const char **text,
					       size_t *text_len)
{
	enum content_coding_status st = content_decode(m, body, len, limit, out);

	if (st == CODING_IDENTITY) {
		*text = body;
		*text_len = len;
	} else if (st == CODING_DECODED) {
		*text = out->data;
		*text_len = out->len;
	}
	return st;
}

const char *content_coding_status_text(enum content_coding_status st)
{
	switch (st) {
	case CODING_IDENTITY:
	case CODING_DECODED:
		return "ok";
	case CODING_UNSUPPORTED:
		return "unsupported Content-Encoding";
	case CODING_TOO_LARGE:
		return "decoded body larger than the limit";
	case CODING_CORRUPT:
		return "corrupt or truncated compressed body";
	case CODING_NOMEM:
		return "out of memory";
	}
	return "unknown";
}
