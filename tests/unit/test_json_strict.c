/* json_strict: the RFC 8259 grammar, every lenient extension refused, and
 * truncation told apart from invalid text. */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "json_limits.h"
#include "json_strict.h"

static enum json_strict check(const char *text)
{
	const char *why = NULL;
	enum json_strict r = json_strict_check(text, strlen(text), &why);

	if (r != JSON_STRICT_OK && !why)
		return (enum json_strict)-1; /* a refusal must say why */
	return r;
}

TEST(json_strict_accepts_rfc8259)
{
	static const char *const ok[] = {
		"{}", "[]", " {\"a\":[1,-0,0.5,1e9,1E+2,-3.25e-7,true,false,null,\"x\"]}\r\n\t",
		"\"caf\xc3\xa9 \xf0\x9f\x98\x80\"", "{\"k\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"}",
		"0", "-12", "[[[[{\"a\":{}}]]]]", "{\"a\":\"\\u0000\"}",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CHECK(check(ok[i]) == JSON_STRICT_OK);
}

TEST(json_strict_refuses_lenient_extensions)
{
	static const char *const bad[] = {
		"{\"a\":1,}",           /* trailing comma, object */
		"[1,]",                 /* trailing comma, array */
		"{\"a\":1 /* c */}",    /* comment */
		"// c\n{}",
		"{'a':1}",              /* single quotes */
		"{a:1}",                /* unquoted key */
		"[NaN]", "[Infinity]", "[-Infinity]",
		"[+1]", "[01]", "[1.]", "[.5]", "[0x10]", "[1e]", "[-]",
		"{\"a\":1} {\"b\":2}",  /* a second value (Go's Decoder reads only the first) */
		"{\"a\":1}x",
		"[\"a\tb\"]",           /* raw control character */
		"[\"a\nb\"]",
		"[\"\\x41\"]",          /* bad escape */
		"[\"\\u12G4\"]",
		"[\"\\ud800\"]",        /* lone high surrogate */
		"[\"\\ud800\\u0041\"]", /* high surrogate, no low one */
		"[\"\\udc00\"]",        /* lone low surrogate */
		"[\"\xff\"]",           /* invalid UTF-8 */
		"[\"\xc1\xa5\"]",       /* overlong 'e' */
		"[\"\xed\xa0\x80\"]",   /* UTF-8 encoded surrogate */
		"[\"\xf4\x90\x80\x80\"]", /* above U+10FFFF */
		"{\"a\" 1}", "{1:2}", "[1 2]", "[truth]", "[nul]x",
		"\xef\xbb\xbf{}",       /* byte-order mark */
		"\v{}",                 /* JSON5 whitespace */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (check(bad[i]) != JSON_STRICT_BAD)
			unit_fail(__FILE__, __LINE__, "accepted or truncated: %s", bad[i]);
	}
}

TEST(json_strict_tells_truncated_prefixes)
{
	static const char *const cut[] = {
		"", "  ", "{", "[", "{\"a\"", "{\"a\":", "{\"a\":1", "{\"a\":1,", "[1,2", "[\"abc",
		"[\"\\", "[\"\\u12", "[\"\\ud83d", "[\"\\ud83d\\u", "[tr", "[nul", "[-", "[1.", "[1e",
		"{\"not\": \"json-rpc\", \"method\": \"tools/call\"",
	};
	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		if (check(cut[i]) != JSON_STRICT_TRUNCATED)
			unit_fail(__FILE__, __LINE__, "not a truncated prefix: %s", cut[i]);
	}
	/* a number running to the end is complete only at the top level */
	CHECK(check("12") == JSON_STRICT_OK);
	CHECK(check("[12") == JSON_STRICT_TRUNCATED);
}

TEST(json_strict_bounds_nesting_without_recursion)
{
	char deep[2 * JSON_STRICT_MAX_DEPTH + 8];
	size_t n = 0;

	for (size_t i = 0; i < JSON_STRICT_MAX_DEPTH; i++)
		deep[n++] = '[';
	for (size_t i = 0; i < JSON_STRICT_MAX_DEPTH; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	CHECK(check(deep) == JSON_STRICT_OK);
	memmove(deep + 1, deep, n + 1);
	deep[0] = '[';
	deep[n + 1] = ']';
	deep[n + 2] = '\0';
	CHECK(check(deep) == JSON_STRICT_BAD);
	/* kinds alternate across the 64-bit words of the kind stack: each
	 * closer must match its opener */
	char mixed[8 * 130 + 8];
	n = 0;
	for (size_t i = 0; i < 130; i++)
		n += (size_t)snprintf(mixed + n, sizeof(mixed) - n, "%s", i % 2 ? "[" : "{\"k\":");
	n += (size_t)snprintf(mixed + n, sizeof(mixed) - n, "1");
	for (size_t i = 130; i-- > 0;)
		mixed[n++] = i % 2 ? ']' : '}';
	mixed[n] = '\0';
	CHECK(check(mixed) == JSON_STRICT_OK);
	mixed[n - 70] = mixed[n - 70] == ']' ? '}' : ']';
	CHECK(check(mixed) == JSON_STRICT_BAD);
}

/* A backslash then a NUL byte is no escape (strchr finds the terminator of
 * its set): refused, by the strict check and by the one-walk check the
 * quick path trusts to have ruled out NUL bytes. */
TEST(json_strict_refuses_a_backslash_before_a_nul)
{
	static const char text[] = "{\"a\":\"\\\0\"}";
	const char *why = NULL;
	struct json_limits lim = { 64, 1000, 100 };

	CHECK(json_strict_check(text, sizeof(text) - 1, &why) == JSON_STRICT_BAD);
	CHECK(!json_strict_within(text, sizeof(text) - 1, &lim));
}
