/* content_decode: Content-Encoding lists and gzip/deflate streams from the
 * agent (request bodies) and the server (answers to filter), never more
 * than the limit out. Input: Content-Encoding header lines, a NUL, body. */
#include "content_decode.h"
#include "fuzz.h"

#define LIMIT (256u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *nul = memchr(in, '\0', size);
	size_t hlen = nul ? (size_t)(nul - in) : 0;
	const char *body = nul ? nul + 1 : in;
	size_t blen = size - (size_t)(body - in);
	char *scratch = malloc(hlen + 1), *copy = malloc(blen ? blen : 1);
	struct bytebuf out = BYTEBUF_INIT;
	struct http1_msg msg;
	const char *text = NULL;
	size_t text_len = 0;

	memcpy(copy, body, blen);
	fuzz_msg(&msg, scratch, in, hlen, copy, blen);
	bool encoded = content_is_encoded(&msg);
	enum content_coding_status st = content_decode_text(&msg, copy, blen, LIMIT, &out, &text, &text_len);
	FUZZ_ASSERT(content_coding_status_text(st));
	switch (st) {
	case CODING_IDENTITY:
		FUZZ_ASSERT(text == copy && text_len == blen);
		break;
	case CODING_DECODED:
		FUZZ_ASSERT(encoded && text == out.data && text_len == out.len && out.len <= LIMIT);
		break;
	default:
		FUZZ_ASSERT(text == NULL);
		break;
	}
	bb_free(&out);
	free(scratch);
	free(copy);
	return 0;
}
