/* sse: event streams from the server, split anywhere. Input: [split seed]
 * stream. The raw blocks must put the stream back together byte for byte,
 * and an event re-serialized by sse_format_event must read back the same. */
#include "fuzz.h"
#include "sse.h"

#define LIMIT (16u << 10)

static bool same(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && (!alen || !memcmp(a, b, alen));
}

static void roundtrip(const struct sse_event *ev)
{
	struct bytebuf out = BYTEBUF_INIT;
	struct sse_splitter s;
	struct sse_event back;

	if (sse_format_event(&out, ev->type, ev->type_len, ev->id, ev->id_len, ev->has_id, ev->data,
			     ev->data_len) < 0) {
		bb_free(&out);
		return;
	}
	sse_init(&s, 4 * LIMIT);
	FUZZ_ASSERT(sse_push(&s, out.data, out.len) == 0);
	FUZZ_ASSERT(sse_next(&s, &back) == 1 && back.complete);
	FUZZ_ASSERT(same(back.data, back.data_len, ev->data, ev->data_len));
	FUZZ_ASSERT(same(back.type, back.type_len, ev->type, ev->type_len));
	FUZZ_ASSERT(back.has_id == ev->has_id);
	if (ev->has_id)
		FUZZ_ASSERT(same(back.id, back.id_len, ev->id, ev->id_len));
	sse_free(&s);
	bb_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bytebuf raw = BYTEBUF_INIT;
	struct sse_splitter s;
	struct sse_event ev;
	bool over = false;
	int r;

	if (size < 1)
		return 0;
	sse_init(&s, LIMIT);
	for (size_t off = 1; off < size && !over;) {
		size_t n = fuzz_step(data[0], size - off);
		FUZZ_ASSERT(sse_push(&s, (const char *)data + off, n) == 0);
		off += n;
		while ((r = sse_next(&s, &ev)) > 0) {
			FUZZ_ASSERT(ev.complete);
			bb_append(&raw, ev.raw, ev.raw_len);
			if (ev.has_data)
				roundtrip(&ev);
		}
		over = r < 0;
	}
	if (!over) {
		if (sse_flush(&s, &ev) == 1) {
			FUZZ_ASSERT(!ev.complete);
			bb_append(&raw, ev.raw, ev.raw_len);
		}
		FUZZ_ASSERT(same(raw.data, raw.len, (const char *)data + 1, size - 1));
	}
	sse_free(&s);
	bb_free(&raw);
	return 0;
}
