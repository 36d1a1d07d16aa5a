/* json_span: value spans, the vectorised scan for a string's plain bytes,
 * and \u0000 detection, at the 16-byte block edges where a vector scan
 * goes wrong if it does. */
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "json_span.h"

/* A run of n plain bytes, then `stop`, then more plain bytes. */
static size_t run_before(size_t n, char stop)
{
	char buf[128];

	memset(buf, 'x', sizeof(buf));
	buf[n] = stop;
	return json_plain_run(buf, sizeof(buf));
}

TEST(json_plain_run_stops_at_every_position)
{
	for (size_t n = 0; n < 100; n++) {
		CHECK_INT_EQ(run_before(n, '"'), n);
		CHECK_INT_EQ(run_before(n, '\\'), n);
	}
	CHECK_INT_EQ(json_plain_run("xxxxxxxxxxxxxxxxxxxxx", 21), 21);
	CHECK_INT_EQ(json_plain_run("\"", 1), 0);
	CHECK_INT_EQ(json_plain_run("", 0), 0);
	/* bytes >= 0x80 (UTF-8) are plain */
	CHECK_INT_EQ(json_plain_run("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"", 19), 18);
}

TEST(json_value_span_skips_long_strings_and_escapes)
{
	static const char text[] = "  {\"a\":\"0123456789abcdef0123456789\\\"}\\\\\",\"b\":[1,\"]\"]} tail";
	struct json_span s;

	CHECK_INT_EQ(json_value_span(text, sizeof(text) - 1, 0, &s), 0);
	CHECK_INT_EQ(s.off, 2);
	CHECK(s.len == sizeof(text) - 1 - 2 - 5);
	CHECK(text[s.off + s.len - 1] == '}');
	CHECK_INT_EQ(json_value_span("\"unterminated 0123456789abcdef", 30, 0, &s), -1);
}

TEST(json_has_nul_escape_counts_the_backslashes)
{
	static const struct { const char *text; bool nul; } cases[] = {
		{ "{\"a\":\"\\u0000\"}", true },
		{ "{\"a\":\"\\\\u0000\"}", false },	/* escaped backslash, then text u0000 */
		{ "{\"a\":\"\\\\\\u0000\"}", true },	/* \\ then \u0000 */
		{ "{\"a\":\"\\u00000\"}", true },
		{ "{\"a\":\"\\u0001\"}", false },
		{ "{\"a\":\"u0000\"}", false },
		{ "\\u0000", true },			/* at the very start */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(json_has_nul_escape(cases[i].text, strlen(cases[i].text)) == cases[i].nul);
}

/* Collects "key=value|" (objects) or "value|" (arrays); "ERR" on -1. */
static const char *members_of(const char *text)
{
	static char out[256];
	struct json_members it;
	struct json_span c;
	size_t n = 0;
	int r;

	out[0] = '\0';
	if (json_value_span(text, strlen(text), 0, &c) < 0)
		return "NOSPAN";
	json_members_begin(&it, text, c);
	while ((r = json_members_next(&it)) == 1) {
		if (it.object)
			n += snprintf(out + n, sizeof(out) - n, "%.*s=", (int)it.key.len, text + it.key.off);
		n += snprintf(out + n, sizeof(out) - n, "%.*s|", (int)it.value.len, text + it.value.off);
	}
	if (r < 0)
		snprintf(out + n, sizeof(out) - n, "ERR");
	return out;
}

TEST(json_members_walks_objects_and_arrays)
{
	CHECK_STR_EQ(members_of("{}"), "");
	CHECK_STR_EQ(members_of("[ ]"), "");
	CHECK_STR_EQ(members_of("{ \"a\" : 1 , \"m\\u0065thod\":{\"x\":[2]} }"), "\"a\"=1|\"m\\u0065thod\"={\"x\":[2]}|");
	CHECK_STR_EQ(members_of("[1, \"two\", {\"3\":true}]"), "1|\"two\"|{\"3\":true}|");
	/* malformed text is reported, after the members that were well formed */
	CHECK_STR_EQ(members_of("{\"a\":1 \"b\":2}"), "\"a\"=1|ERR");
	CHECK_STR_EQ(members_of("{\"a\" 1}"), "ERR");
	CHECK_STR_EQ(members_of("[1,,2]"), "1|ERR");
	CHECK_STR_EQ(members_of("{1:2}"), "ERR");
}
