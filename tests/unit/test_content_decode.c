/* Content-Encoding decoding: member concatenation, stacking, corruption, limit. */
#include <string.h>
#include <zlib.h>

#include "content_decode.h"
#include "fixture.h"
#include "harness.h"


/* Decodes body as a request with header lines `headers` would have it decoded. */
static enum content_coding_status decode(const char *headers, const struct bytebuf *body, size_t limit,
					 struct bytebuf *out)
{
	struct http1_parser p;
	struct bytebuf head = BYTEBUF_INIT;
	size_t used;

	bb_printf(&head, "POST / HTTP/1.1\r\n%s\r\n\r\n", headers);
	http1_init(&p, HTTP1_REQUEST, limit);
	enum content_coding_status st = CODING_NOMEM;
	if (http1_feed(&p, head.data, head.len, &used) == HTTP1_HEAD)
		st = content_decode(http1_msg(&p), body->data, body->len, limit, out);
	http1_free(&p);
	bb_free(&head);
	return st;
}

TEST(decode_gzip_members_stacked_codings_and_corruption)
{
	struct bytebuf body = BYTEBUF_INIT, inner = BYTEBUF_INIT, out = BYTEBUF_INIT;

	/* Two gzip members are one body. */
	fixture_compress("hello ", 6, 16 + MAX_WBITS, &body);
	fixture_compress("world", 5, 16 + MAX_WBITS, &body);
	struct http1_parser p;
	size_t used;
	static const char head[] = "POST / HTTP/1.1\r\nContent-Encoding: gzip\r\n\r\n";
	http1_init(&p, HTTP1_REQUEST, 100);
	CHECK(http1_feed(&p, head, sizeof(head) - 1, &used) == HTTP1_HEAD);
	CHECK(content_decode(http1_msg(&p), body.data, body.len, 100, &out) == CODING_DECODED);
	CHECK_STR_EQ(out.data, "hello world");
	/* Exactly at the limit is fine, one byte less is not. */
	CHECK(content_decode(http1_msg(&p), body.data, body.len, 11, &out) == CODING_DECODED);
	CHECK(content_decode(http1_msg(&p), body.data, body.len, 10, &out) == CODING_TOO_LARGE);
	http1_free(&p);

	/* Bytes after the stream that are not another member. */
	bb_append(&body, "junk", 4);
	CHECK(decode("Content-Encoding: gzip", &body, 100, &out) == CODING_CORRUPT);

	/* deflate applied first, then gzip: both listed, in order, over two headers. */
	bb_reset(&body);
	fixture_compress("stacked", 7, MAX_WBITS, &inner);
	fixture_compress(inner.data, inner.len, 16 + MAX_WBITS, &body);
	CHECK(decode("Content-Encoding: deflate\r\nContent-Encoding: gzip", &body, 100, &out) == CODING_DECODED);
	CHECK(decode("Content-Encoding: gzip", &body, 100, &out) == CODING_DECODED);
	CHECK(decode("Content-Encoding: gzip, br", &body, 100, &out) == CODING_UNSUPPORTED);
	CHECK(decode("Content-Encoding: compress", &body, 100, &out) == CODING_UNSUPPORTED);
	CHECK(decode("Content-Encoding: identity", &body, 100, &out) == CODING_IDENTITY);
	CHECK(decode("X-Other: gzip", &body, 100, &out) == CODING_IDENTITY);
	bb_free(&body);
	bb_free(&inner);
	bb_free(&out);
}
