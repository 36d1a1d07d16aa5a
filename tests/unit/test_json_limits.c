/* json_limits: the pre-pass refuses costly documents exactly at each limit,
 * and jsonrpc_parse refuses them before building a tree. */
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "json_limits.h"
#include "json_span.h"
#include "json_strict.h"
#include "jsonrpc.h"
#include "jsonrpc_reply.h"
#include "mcp_filter.h"

static char *repeat(const char *open, const char *unit, const char *sep, size_t n, const char *close)
{
	size_t ul = strlen(unit), sl = strlen(sep);
	char *s = malloc(strlen(open) + n * (ul + sl) + strlen(close) + 1), *p = s;

	p = stpcpy(p, open);
	for (size_t i = 0; i < n; i++) {
		p = stpcpy(p, unit);
		if (i + 1 < n)
			p = stpcpy(p, sep);
	}
	strcpy(p, close);
	return s;
}

static char *nested(size_t depth)
{
	char *s = malloc(2 * depth + 2);

	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[2 * depth] = '\0';
	return s;
}

TEST(json_limits_depth_exactly_at_the_limit)
{
	struct json_limits lim = { .max_depth = 5, .max_nodes = 100, .max_batch = 100 };
	char *ok = nested(5), *deep = nested(6);

	CHECK_INT_EQ(json_limits_check(ok, strlen(ok), &lim), JSON_WITHIN);
	CHECK_INT_EQ(json_limits_check(deep, strlen(deep), &lim), JSON_TOO_DEEP);
	/* brackets inside strings are not nesting */
	CHECK_INT_EQ(json_limits_check("[\"[[[[[[[[\"]", 12, &lim), JSON_WITHIN);
	free(ok);
	free(deep);
}

TEST(json_limits_counts_values_and_names)
{
	struct json_limits lim = { .max_depth = 10, .max_nodes = 7, .max_batch = 100 };
	/* object, 3 names, 3 values = 7 */
	static const char seven[] = "{\"a\":1,\"b\":\"x,y\",\"c\":true}";
	static const char eight[] = "{\"a\":1,\"b\":\"x,y\",\"c\":[null]}";

	CHECK_INT_EQ(json_limits_check(seven, sizeof(seven) - 1, &lim), JSON_WITHIN);
	CHECK_INT_EQ(json_limits_check(eight, sizeof(eight) - 1, &lim), JSON_TOO_MANY_NODES);
	/* escaped quotes do not end a string */
	CHECK_INT_EQ(json_limits_check("[\"a\\\",1,2,3,4,5,6,7\"]", 21, &lim), JSON_WITHIN);
	/* a NUL byte (refused later) cannot stall the pass */
	CHECK_INT_EQ(json_limits_check("[1\0\0\0]", 7, &lim), JSON_WITHIN);
}

TEST(json_limits_batch_counts_top_level_elements_only)
{
	struct json_limits lim = { .max_depth = 10, .max_nodes = 1000, .max_batch = 3 };

	CHECK_INT_EQ(json_limits_check("[{},{},{}]", 10, &lim), JSON_WITHIN);
	CHECK_INT_EQ(json_limits_check("[{},{},{},1]", 12, &lim), JSON_BATCH_TOO_LONG);
	/* inner arrays are not batches; a top-level object is not one */
	CHECK_INT_EQ(json_limits_check("[[1,2,3,4,5]]", 13, &lim), JSON_WITHIN);
	CHECK_INT_EQ(json_limits_check("{\"a\":[1,2,3,4,5]}", 17, &lim), JSON_WITHIN);
}

/* The adversarial bodies of the limits tests: refused by jsonrpc_parse with the
 * limit's status, without a tree. */
TEST(jsonrpc_parse_refuses_costly_bodies_before_parsing)
{
	struct json_limits saved = *json_limits_for_requests();
	struct json_limits lim = { .max_depth = 64, .max_nodes = 50000, .max_batch = 100 };
	char *zeros = repeat("[", "0", ",", 500000, "]");
	char *deep = nested(200000);
	char *batch = repeat("[", "{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}", ",", 101, "]");
	char *objs = repeat("{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":{\"a\":[", "{}", ",", 200000, "]}}");
	struct jsonrpc_body b;
	struct jsonrpc_refusal why;

	json_limits_configure(&lim);
	/* a bare array is a batch, far over its limit */
	CHECK_INT_EQ(jsonrpc_parse(zeros, strlen(zeros), &b, &why), -1);
	CHECK_INT_EQ(why.http_status, 413);
	CHECK_STR_EQ(why.reason, json_limit_text(JSON_BATCH_TOO_LONG));
	CHECK_INT_EQ(jsonrpc_parse(deep, strlen(deep), &b, &why), -1);
	CHECK_INT_EQ(why.http_status, 400);
	CHECK_STR_EQ(why.reason, json_limit_text(JSON_TOO_DEEP));
	CHECK_INT_EQ(jsonrpc_parse(batch, strlen(batch), &b, &why), -1);
	CHECK_INT_EQ(why.http_status, 413);
	CHECK_STR_EQ(why.reason, json_limit_text(JSON_BATCH_TOO_LONG));
	CHECK_INT_EQ(jsonrpc_parse(objs, strlen(objs), &b, &why), -1);
	CHECK_INT_EQ(why.http_status, 413);
	CHECK_STR_EQ(why.reason, json_limit_text(JSON_TOO_MANY_NODES));
	/* one element fewer is a batch */
	free(batch);
	batch = repeat("[", "{\"jsonrpc\":\"2.0\",\"method\":\"ping\",\"id\":1}", ",", 100, "]");
	CHECK_INT_EQ(jsonrpc_parse(batch, strlen(batch), &b, &why), 0);
	CHECK_INT_EQ(b.count, 100);
	jsonrpc_body_free(&b);
	json_limits_configure(&saved);
	free(zeros);
	free(deep);
	free(batch);
	free(objs);
}

static bool hide_nothing(enum mcp_list list, const char *name, const cJSON *entry, bool asked, void *ctx)
{
	(void)asked;
	(void)list;
	(void)name;
	(void)entry;
	(void)ctx;
	return false;
}

/* Answers the daemon holds and parses have limits too: a tools/list answer
 * it cannot afford to read is not relayed unfiltered (-1: the reply
 * fails), and neither is a batch answer it would merge into. */
TEST(held_answers_over_the_limits_are_not_relayed)
{
	struct json_limits saved = *json_limits_for_requests();
	struct json_limits lim = { .max_depth = 8, .max_nodes = 100, .max_batch = 10 };
	static const char deep[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"a\","
				   "\"inputSchema\":{\"x\":[[[[[[[1]]]]]]]}}]}}";
	static const char fine[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"a\"}]}}";
	struct mcp_idset pending;
	struct bytebuf out = BYTEBUF_INIT;
	cJSON *id = cJSON_CreateNumber(1), *replies = cJSON_CreateArray();

	json_limits_configure(&lim);
	CHECK(json_limits_for_answers()->max_nodes >= JSON_ANSWER_MAX_NODES);
	mcp_idset_init(&pending);
	CHECK_INT_EQ(mcp_idset_add(&pending, id, MCP_LIST_TOOLS), 0);
	CHECK_INT_EQ(mcp_filter_lists(deep, sizeof(deep) - 1, &pending, hide_nothing, NULL, &out), -1);
	CHECK_INT_EQ(mcp_filter_lists(fine, sizeof(fine) - 1, &pending, hide_nothing, NULL, &out), 0);
	CHECK_INT_EQ(jsonrpc_merge_json(deep, sizeof(deep) - 1, replies, &out), -1);
	json_limits_configure(&saved);
	mcp_idset_free(&pending);
	bb_free(&out);
	cJSON_Delete(id);
	cJSON_Delete(replies);
}

/* The one-pass check says yes exactly when json_strict_check, this file's
 * json_limits_check and json_has_nul_escape all say yes, at each limit. */
static bool three_checks(const char *t, size_t n, const struct json_limits *lim)
{
	const char *why;

	return json_strict_check(t, n, &why) == JSON_STRICT_OK && json_limits_check(t, n, lim) == JSON_WITHIN &&
	       !json_has_nul_escape(t, n);
}

TEST(json_strict_within_is_the_three_checks_in_one)
{
	struct json_limits lim = { .max_depth = 4, .max_nodes = 9, .max_batch = 3 };
	const char *cases[] = {
		"{}", "[]", "1", "\"s\"", "[[[[]]]]", "[[[[[]]]]]", "{\"a\":{\"b\":{\"c\":{}}}}",
		"{\"a\":{\"b\":{\"c\":{\"d\":[]}}}}", "[1,2,3]", "[1,2,3,4]", "[[1,2,3,4]]", "[{},{},{}]",
		"[{},{},{},{}]", "{\"a\":1,\"b\":2,\"c\":3,\"d\":4}", "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5}",
		"[1,2,[3,4,5,6,7]]", "[\"\\u0000\"]", "[\"\\\\u0000\"]", "{\"\\u0000\":1}", "[\"\\u00000\"]",
		"[\"\\ud800\\udc00\"]", "{\"a\":1,}", "[1,]", "[01]", "\xef\xbb\xbf{}", "[\"a\x01\"]", "{\"a\" 1}",
		" [ 1 , 2 , 3 ] ", "[1,2,3] x", "[[[[\"]]]]]]]]\"]]]]", "[\"[[[[[[[[[[[[\"]", "[1", "",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i]);

		if (json_strict_within(cases[i], n, &lim) != three_checks(cases[i], n, &lim)) {
			fprintf(stderr, "    case %zu: %s\n", i, cases[i]);
			CHECK(false);
		}
	}
	/* a NUL byte: the walk refuses it as the checks do */
	CHECK(!json_strict_within("[\"a\0b\"]", 7, &lim));
	CHECK(!json_strict_within("[1]\0", 4, &lim));
}
