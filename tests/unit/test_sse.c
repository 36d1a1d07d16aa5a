/* SSE splitter edge cases and event re-emission. */
#include <string.h>

#include "harness.h"
#include "sse.h"

TEST(sse_format_event_splits_data_lines)
{
	struct bytebuf out = BYTEBUF_INIT;

	CHECK(sse_format_event(&out, "message", 7, "42", 2, true, "a\nb\r\nc", 6) == 0);
	CHECK_STR_EQ(out.data, "event: message\nid: 42\ndata: a\ndata: b\ndata: c\n\n");
	bb_reset(&out);
	CHECK(sse_format_event(&out, "", 0, NULL, 0, false, "", 0) == 0);
	CHECK_STR_EQ(out.data, "data: \n\n");
	CHECK(sse_format_event(&out, "x\ny", 3, NULL, 0, false, "", 0) == -1);
	bb_free(&out);
}

TEST(sse_reformatted_event_parses_back_to_the_same_fields)
{
	struct bytebuf out = BYTEBUF_INIT;
	struct sse_splitter s;
	struct sse_event ev;

	CHECK(sse_format_event(&out, "message", 7, "7", 1, true, "{\"a\":\n1}\n", 9) == 0);
	sse_init(&s, 1024);
	CHECK(sse_push(&s, "\xEF\xBB\xBF", 3) == 0);
	CHECK(sse_push(&s, out.data, out.len) == 0);
	CHECK(sse_next(&s, &ev) == 1);
	CHECK(ev.has_data && ev.data_len == 9 && memcmp(ev.data, "{\"a\":\n1}\n", 9) == 0);
	CHECK(ev.type_len == 7 && memcmp(ev.type, "message", 7) == 0);
	CHECK(ev.has_id && ev.id_len == 1 && ev.id[0] == '7');
	CHECK_INT_EQ(ev.raw_len, out.len + 3);
	CHECK(sse_next(&s, &ev) == 0);
	CHECK(sse_flush(&s, &ev) == 0);
	sse_free(&s);
	bb_free(&out);
}
