/* json_sniff: a body streams on undecided only once no JSON reader,
 * lenient ones included, can be reading an object or array from it. */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "json_sniff.h"

static enum json_sniff_result whole(const char *text)
{
	struct json_sniff s;

	json_sniff_init(&s);
	return json_sniff_feed(&s, text, strlen(text), true);
}

/* Fed one more byte at a time, as a body arrives: the first verdict. */
static enum json_sniff_result growing(const char *text, size_t len)
{
	struct json_sniff s;
	enum json_sniff_result r = JSON_SNIFF_MORE;

	json_sniff_init(&s);
	for (size_t n = 1; n <= len && r == JSON_SNIFF_MORE; n++)
		r = json_sniff_feed(&s, text, n, n == len);
	return r;
}

TEST(json_sniff_lets_what_no_reader_takes_for_json_go)
{
	static const char *const harmless[] = {
		"\x89PNG\r\n\x1a\n", "hello world", "  42 {\"method\":\"x\"}", "\"a string\"", "true", "NaN",
		"{\x01", "{\xff\"method\"", "[1,2 <3]", "{\"a\":1;}", "{(}", "}", "]", "\x00{", "{ @ }",
		"// note\nplain text", "# title\nplain text", "/x", "\xc3\xa9t\xc3\xa9 {}",
		/* cut short: no reader completes these */
		"{\"never closed\":", "{x", "[", "/", "#", "\v", "/* {\"method\":1}", "{\"a\":\"}",
		/* grammar no reader accepts */
		"{]", "[}", "[a]", "{a}", "{\"a\" 1}", "{\"a\":xyz}", "[\xc3\xa9]", "{[]:1}", "[1:2]", "{\"a\"::1}",
	};
	for (size_t i = 0; i < sizeof(harmless) / sizeof(harmless[0]); i++) {
		size_t len = i == 13 ? 2 : strlen(harmless[i]);
		struct json_sniff s;

		json_sniff_init(&s);
		if (json_sniff_feed(&s, harmless[i], len, true) != JSON_SNIFF_NOT_JSON)
			unit_fail(__FILE__, __LINE__, "held: case %zu", i);
		if (growing(harmless[i], len) != JSON_SNIFF_NOT_JSON)
			unit_fail(__FILE__, __LINE__, "held when growing: case %zu", i);
	}
}

TEST(json_sniff_holds_what_a_lenient_reader_could_read)
{
	static const char *const held[] = {
		"{\"jsonrpc\":\"2.0\"}",
		"[{\"method\":\"tools/call\"}]",
		"{jsonrpc:'2.0', method:'tools/call', params:{name:'x',},}",   /* JSON5 */
		"// c\n{\"method\" /* c */ : \"x\"}",                               /* comments */
		"# yaml comment\n{\"method\":\"x\"}",                             /* Jackson ALLOW_YAML_COMMENTS */
		"\xc2\xa0{\"method\":\"x\"}",                                     /* NBSP: JSON5 whitespace */
		"\xef\xbb\xbf{}",                                                /* BOM */
		"\v\f{\"a\":NaN,\"b\":-Infinity,\"c\":0x1F,\"d\":.5,\"e\":+1}",
		"{\"a\":\"\xff\xfe raw bytes in a string, Go reads them\"}",
		"{\"a\":\"\\\"}\"}", "{\"a\":'}\"'}", "[1,,2]",
		"{\"a\":1} trailing garbage",                                     /* Go's Decoder stops at the value */
		"[true,false,null,NaN,-Infinity,INF,undefined,1e5,0x1f]",
		"{\xc3\xa9t\xc3\xa9:1, $k_2:'v', a/*c*/:1, b#c\n:2,}",
	};
	for (size_t i = 0; i < sizeof(held) / sizeof(held[0]); i++) {
		if (whole(held[i]) != JSON_SNIFF_VALUE)
			unit_fail(__FILE__, __LINE__, "let go: %s", held[i]);
		if (growing(held[i], strlen(held[i])) != JSON_SNIFF_VALUE)
			unit_fail(__FILE__, __LINE__, "let go when growing: %s", held[i]);
	}
}

/* cJSON skips every byte up to 0x20 between tokens, NUL included: a call
 * padded with them is a call to a server that reads with it. */
TEST(json_sniff_holds_json_padded_with_control_bytes)
{
	static const char nul_padded[] = "[{\"jsonrpc\"\0\0\0:\"2.0\",\x01\"method\"\x1f:\"tools/call\"}]";
	const size_t len = sizeof(nul_padded) - 1;
	struct json_sniff s;

	json_sniff_init(&s);
	CHECK_INT_EQ(json_sniff_feed(&s, nul_padded, len, true), JSON_SNIFF_VALUE);
	CHECK_INT_EQ(growing(nul_padded, len), JSON_SNIFF_VALUE);
}

TEST(json_sniff_waits_for_more_while_undecided)
{
	struct json_sniff s;

	json_sniff_init(&s);
	CHECK(json_sniff_feed(&s, "{\"a\"", 4, false) == JSON_SNIFF_MORE);
	CHECK(json_sniff_feed(&s, "{\"a\":/", 6, false) == JSON_SNIFF_MORE); /* a comment or not? */
	CHECK(json_sniff_feed(&s, "{\"a\":/!", 7, false) == JSON_SNIFF_NOT_JSON);
	json_sniff_init(&s);
	CHECK(json_sniff_feed(&s, "\xc2", 1, false) == JSON_SNIFF_MORE);    /* half a character */
	CHECK(json_sniff_feed(&s, "\xc2\xa0", 2, false) == JSON_SNIFF_MORE); /* NBSP */
	CHECK(json_sniff_feed(&s, "\xc2\xa0{}", 4, false) == JSON_SNIFF_VALUE);
	json_sniff_init(&s);
	CHECK(json_sniff_feed(&s, "{\"a\"", 4, false) == JSON_SNIFF_MORE);
	CHECK(json_sniff_feed(&s, "{\"a\"", 4, true) == JSON_SNIFF_NOT_JSON);
}

/* A body Python or Jackson reads as UTF-16/32 is sniffed transcoded: JSON
 * in it is held, random bytes with a NUL up front still go. */
static enum json_sniff_result wide_verdict(const char *bytes, size_t len)
{
	struct json_sniff s;
	struct bytebuf text = BYTEBUF_INIT;
	size_t pos = 0;
	enum json_wide w = json_wide_detect(bytes, len);
	enum json_sniff_result r;

	json_sniff_init(&s);
	if (w == JSON_WIDE_NONE)
		return (enum json_sniff_result)-1;
	if (json_wide_to_utf8(w, bytes, len, &pos, &text) < 0)
		return (enum json_sniff_result)-2;
	r = json_sniff_feed(&s, text.data ? text.data : "", text.len, true);
	bb_free(&text);
	return r;
}

TEST(json_sniff_reads_utf16_and_utf32_transcoded)
{
	static const char u16be[] = "\0{\0\"\0m\0\"\0:\0\"\xd8\x3d\xde\x00\0\"\0}";
	static const char u16le[] = "\xff\xfe{\0\"\0a\0\"\0:\0" "1\0}\0";
	static const char u32le[] = "{\0\0\0}\0\0\0";
	static const char u32be[] = "\0\0\xfe\xff\0\0\0[\0\0\0]";
	static const char noise[] = "\0\x17\x9c\x03\xaa\xff\x10";

	CHECK_INT_EQ(json_wide_detect(u16be, sizeof(u16be) - 1), JSON_WIDE_16BE);
	CHECK_INT_EQ(wide_verdict(u16be, sizeof(u16be) - 1), JSON_SNIFF_VALUE);
	CHECK_INT_EQ(json_wide_detect(u16le, sizeof(u16le) - 1), JSON_WIDE_16LE);
	CHECK_INT_EQ(wide_verdict(u16le, sizeof(u16le) - 1), JSON_SNIFF_VALUE);
	CHECK_INT_EQ(json_wide_detect(u32le, sizeof(u32le) - 1), JSON_WIDE_32LE);
	CHECK_INT_EQ(wide_verdict(u32le, sizeof(u32le) - 1), JSON_SNIFF_VALUE);
	CHECK_INT_EQ(json_wide_detect(u32be, sizeof(u32be) - 1), JSON_WIDE_32BE);
	CHECK_INT_EQ(wide_verdict(u32be, sizeof(u32be) - 1), JSON_SNIFF_VALUE);
	CHECK_INT_EQ(json_wide_detect(noise, sizeof(noise) - 1), JSON_WIDE_16BE);
	CHECK_INT_EQ(wide_verdict(noise, sizeof(noise) - 1), JSON_SNIFF_NOT_JSON);
	CHECK_INT_EQ(json_wide_detect("{\"a\":1}", 7), JSON_WIDE_NONE);
	CHECK_INT_EQ(json_wide_detect("\x89PNG", 4), JSON_WIDE_NONE);
}

TEST(json_wide_to_utf8_waits_for_whole_units_and_pairs)
{
	struct bytebuf out = BYTEBUF_INIT;
	size_t pos = 0;

	CHECK(json_wide_to_utf8(JSON_WIDE_16BE, "\xd8\x3d\xde", 3, &pos, &out) == 0);
	CHECK_INT_EQ(pos, 0); /* a high surrogate waits for its pair */
	CHECK(json_wide_to_utf8(JSON_WIDE_16BE, "\xd8\x3d\xde\x00\0A\0", 7, &pos, &out) == 0);
	CHECK_INT_EQ(pos, 6);
	CHECK_INT_EQ(out.len, 5);
	CHECK(!memcmp(out.data, "\xf0\x9f\x98\x80" "A", 5));
	bb_reset(&out);
	pos = 0;
	CHECK(json_wide_to_utf8(JSON_WIDE_16LE, "\x00\xdc" "A\0", 4, &pos, &out) == 0); /* lone low surrogate */
	CHECK_INT_EQ(out.len, 4);
	CHECK(!memcmp(out.data, "\xef\xbf\xbd" "A", 4));
	bb_free(&out);
}

/* What the sniffer cannot follow is held, not let go: nesting deeper than
 * the kinds it tracks (Go and Node read 10,000 levels), and a line comment
 * holding U+2028/2029, where JSON5 ends it and Jackson does not. */
TEST(json_sniff_holds_what_it_cannot_follow)
{
	static char deep[2 * JSON_SNIFF_KINDS + 64];
	static const char *const comments[] = {
		"{// c\xe2\x80\xa8\"method\":\"tools/call\"}", "{// c\xe2\x80\xa9\"method\":\"x\"}",
	};
	size_t n = 0;

	n += (size_t)snprintf(deep, sizeof(deep), "{\"method\":\"tools/call\",\"p\":");
	for (int i = 0; i <= JSON_SNIFF_KINDS; i++)
		deep[n++] = '[';
	memcpy(deep + n, "{\"a\":1,\"b\":2}", 14);
	CHECK_INT_EQ(whole(deep), JSON_SNIFF_UNSURE);
	for (size_t i = 0; i < sizeof(comments) / sizeof(comments[0]); i++) {
		CHECK_INT_EQ(whole(comments[i]), JSON_SNIFF_UNSURE);
		CHECK_INT_EQ(growing(comments[i], strlen(comments[i])), JSON_SNIFF_UNSURE);
	}
	CHECK_INT_EQ(whole("// a note\xe2\x80\x94 not a separator\nplain"), JSON_SNIFF_NOT_JSON);
}
