/* answer_scan: the server's answers, read byte by byte for accounting.
 * Input: [split seed] body. The answers found, and the lists their results
 * name, must not depend on how the body was split. */
#include "answer_scan.h"
#include "fuzz.h"

static void scan(struct answer_scan *s, const uint8_t *in, size_t len, uint8_t seed, struct bytebuf *out)
{
	struct answer a;
	size_t pos = 0;

	answer_scan_reset(s);
	for (size_t off = 0; off < len;) {
		size_t n = fuzz_step(seed, len - off);
		answer_scan_feed(s, (const char *)in + off, n);
		off += n;
	}
	FUZZ_ASSERT(s->bytes == len);
	bb_reset(out);
	while (answer_scan_next(s, &pos, &a)) {
		FUZZ_ASSERT(!a.id || a.id_len <= ANSWER_SCAN_ID_MAX);
		bb_printf(out, "%d:%zu:", a.error, a.id ? a.id_len : 0);
		if (a.id)
			bb_append(out, a.id, a.id_len);
		bb_append(out, "\n", 1);
	}
	bb_printf(out, "lists %u\n", s->list_result);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct answer_scan s;
	static bool ready;
	struct bytebuf whole = BYTEBUF_INIT, split = BYTEBUF_INIT;

	if (size < 1)
		return 0;
	if (!ready) {
		answer_scan_init(&s);
		ready = true;
	}
	scan(&s, data + 1, size - 1, 0, &whole);
	scan(&s, data + 1, size - 1, data[0] ? data[0] : 1, &split);
	FUZZ_ASSERT(whole.len == split.len && (!whole.len || !memcmp(whole.data, split.data, whole.len)));
	bb_free(&whole);
	bb_free(&split);
	return 0;
}
