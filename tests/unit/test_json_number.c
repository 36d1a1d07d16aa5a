/* Exact numbers for decisions (json_number.h). */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "json_number.h"

static bool exact(const char *lit)
{
	return json_number_literal_exact(lit, strlen(lit), strtod(lit, NULL));
}

TEST(json_number_literals_exact_only_when_the_double_keeps_them)
{
	static const char *const yes[] = {
		"0", "-0", "0.0", "1", "-17", "100", "1e2", "100.0", "1.5E3", "0.1", "0.001",
		"123456789012345", "4503599627370496", "4503599627370497", "9007199254740991",
		"0.10000000000000002", "1.7976931348623157e-300", "2.5e-10",
	};
	static const char *const no[] = {
		"9007199254740992", "-9007199254740993", "1000000000000000100", "1e300",
		"0.10000000000000000001", "0.10000000000000001", "1e-400", "1e99999999999",
		"4503599627370496.0000000001",
	};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (!exact(yes[i])) {
			printf("  %s\n", yes[i]);
			CHECK(!"exact literal refused");
		}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (exact(no[i])) {
			printf("  %s\n", no[i]);
			CHECK(!"inexact literal taken as exact");
		}
}

static cJSON *marked(const char *text)
{
	cJSON *v = cJSON_Parse(text);

	if (v && json_numbers_mark(v, text, (struct json_span){ 0, strlen(text) }) < 0) {
		cJSON_Delete(v);
		return NULL;
	}
	return v;
}

TEST(json_number_marks_reach_nested_numbers_and_survive_duplication)
{
	cJSON *v = marked("{\"a\":[1, {\"b\": 0.10000000000000000001}], \"c\": 2}");
	cJSON *exact_one = marked("{\"a\":[1, {\"b\": 0.1}], \"c\": 2e0}");
	cJSON *copy = v ? cJSON_Duplicate(v, true) : NULL;

	CHECK(v && exact_one && copy);
	CHECK(json_holds_inexact(v));
	CHECK(json_holds_inexact(copy));
	CHECK(!json_holds_inexact(cJSON_GetObjectItem(v, "c")));
	CHECK(!json_holds_inexact(exact_one));
	CHECK(cJSON_IsNumber(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(copy, "a"), 1), "b")));
	cJSON_Delete(v);
	cJSON_Delete(exact_one);
	cJSON_Delete(copy);
}

/* cJSON_Compare takes doubles within max(|a|,|b|) * DBL_EPSILON as equal:
 * two request ids near 2^53, or 0.1 and the next double. */
TEST(json_equal_compares_numbers_exactly)
{
	static const char *const pairs[][3] = {
		{ "9007199254740991", "9007199254740990", "0" },
		{ "0.1", "0.10000000000000002", "0" },
		{ "4503599627370496", "4503599627370497", "0" },
		{ "[1, {\"a\": 0.1}]", "[1, {\"a\": 0.10000000000000002}]", "0" },
		{ "1", "1.0", "1" },
		{ "{\"a\":1,\"b\":[true,null,\"x\"]}", "{\"b\":[true,null,\"x\"],\"a\":1}", "1" },
		{ "{\"a\":1}", "{\"a\":1,\"b\":2}", "0" },
		{ "true", "false", "0" },
		{ "\"1\"", "1", "0" },
	};

	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		cJSON *a = cJSON_Parse(pairs[i][0]), *b = cJSON_Parse(pairs[i][1]);
		bool want = pairs[i][2][0] == '1';

		CHECK(a && b);
		if (json_equal(a, b) != want || json_equal(b, a) != want) {
			printf("  %s vs %s\n", pairs[i][0], pairs[i][1]);
			CHECK(!"json_equal");
		}
		cJSON_Delete(a);
		cJSON_Delete(b);
	}
}
