/* bytebuf: the queue operations the proxy needs and the text operations
 * the renderers need, on one type. */
#include <errno.h>
#include <stdlib.h>
#include "bytebuf.h"
#include "harness.h"

TEST(bytebuf_appends_stay_nul_terminated)
{
	struct bytebuf b = BYTEBUF_INIT;

	CHECK(bb_append_str(&b, "ab") == 0);
	CHECK(bb_putc(&b, 'c') == 0);
	CHECK(bb_printf(&b, "%d%s", 12, "x") == 0);
	CHECK_STR_EQ(b.data, "abc12x");
	CHECK_INT_EQ(b.len, 6);
	bb_reset(&b);
	CHECK_STR_EQ(b.data, "");
	bb_free(&b);
}

TEST(bytebuf_long_printf_is_whole)
{
	struct bytebuf b = BYTEBUF_INIT;
	char big[1000];

	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(bb_printf(&b, "<%s>", big) == 0);
	CHECK_INT_EQ(b.len, 1001);
	CHECK(b.data[0] == '<' && b.data[1000] == '>' && b.data[1001] == '\0');
	bb_free(&b);
}

TEST(bytebuf_consume_keeps_the_rest_in_order)
{
	struct bytebuf b = BYTEBUF_INIT;

	CHECK(bb_append_str(&b, "hello world") == 0);
	bb_consume(&b, 6);
	CHECK_STR_EQ(b.data, "world");
	/* growing after a consume moves the rest to the front, not lose it */
	for (int i = 0; i < 100; i++)
		CHECK(bb_append_str(&b, "0123456789") == 0);
	CHECK_INT_EQ(b.len, 1005);
	CHECK(!memcmp(b.data, "world0123456789", 15));
	CHECK(b.data[b.len] == '\0');
	bb_consume(&b, b.len);
	CHECK_INT_EQ(b.len, 0);
	CHECK(bb_append_str(&b, "again") == 0);
	CHECK_STR_EQ(b.data, "again");
	bb_free(&b);
}

TEST(bytebuf_emptied_large_buffer_is_given_back)
{
	struct bytebuf b = BYTEBUF_INIT;
	static char chunk[100 * 1024];

	CHECK(bb_append(&b, chunk, sizeof(chunk)) == 0);
	bb_consume(&b, 1000);
	bb_consume(&b, b.len);
	CHECK(b.data == NULL && b.cap == 0 && b.len == 0);
	bb_free(&b);
}

TEST(bytebuf_reserve_then_commit)
{
	struct bytebuf b = BYTEBUF_INIT;

	CHECK(bb_append_str(&b, "ab") == 0);
	CHECK(bb_reserve(&b, 3) == 0);
	CHECK(b.cap - b.len >= 4);  /* 3 bytes and the NUL */
	memcpy(b.data + b.len, "cde", 3);
	bb_commit(&b, 3);
	CHECK_STR_EQ(b.data, "abcde");
	bb_free(&b);
}

TEST(bytebuf_allocation_failure_is_sticky_until_reset)
{
	struct bytebuf b = BYTEBUF_INIT;

	CHECK(bb_append_str(&b, "ok") == 0);
	CHECK(bb_reserve(&b, (size_t)-1 / 2) == -ENOMEM);
	CHECK(b.failed);
	CHECK(bb_append_str(&b, "lost") == -ENOMEM);
	CHECK(bb_printf(&b, "%d", 1) == -ENOMEM);
	CHECK_STR_EQ(b.data, "ok");
	bb_reset(&b);
	CHECK(!b.failed);
	CHECK(bb_append_str(&b, "back") == 0);
	CHECK_STR_EQ(b.data, "back");
	bb_free(&b);
}
