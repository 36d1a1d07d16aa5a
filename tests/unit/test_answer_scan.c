/* answer_scan: ids and error flags of JSON-RPC answers, and the list
 * arrays their results hold, however the body is split. */
#include <stdlib.h>
#include <string.h>

#include "answer_scan.h"
#include "harness.h"
#include "mcp_method.h"

/* The answers found, as "ID:ok|err" joined by commas ("-" for no id). */
static void describe(struct answer_scan *s, char *out, size_t cap)
{
	struct answer a;
	size_t pos = 0, n = 0;

	out[0] = '\0';
	while (answer_scan_next(s, &pos, &a) && n < cap)
		n += (size_t)snprintf(out + n, cap - n, "%s%.*s:%s", n ? "," : "", a.id ? (int)a.id_len : 1,
				      a.id ? a.id : "-", a.error ? "err" : "ok");
}

/* Scans text whole, byte by byte, and split at every point: all must agree. */
static void scan_all_ways(const char *text, char *out, size_t cap)
{
	struct answer_scan s;
	size_t len = strlen(text);
	char other[512];

	answer_scan_init(&s);
	answer_scan_feed(&s, text, len);
	describe(&s, out, cap);
	CHECK_INT_EQ(s.bytes, len);
	answer_scan_reset(&s);
	for (size_t i = 0; i < len; i++)
		answer_scan_feed(&s, text + i, 1);
	describe(&s, other, sizeof(other));
	CHECK_STR_EQ(other, out);
	for (size_t cut = 1; cut < len; cut++) {
		answer_scan_reset(&s);
		answer_scan_feed(&s, text, cut);
		answer_scan_feed(&s, text + cut, len - cut);
		describe(&s, other, sizeof(other));
		if (strcmp(other, out)) {
			CHECK_STR_EQ(other, out);
			break;
		}
	}
	answer_scan_free(&s);
}

static void expect(const char *text, const char *want)
{
	char got[512];

	scan_all_ways(text, got, sizeof(got));
	CHECK_STR_EQ(got, want);
}

TEST(answer_scan_finds_id_and_outcome_of_one_answer)
{
	expect("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"} ] \\\" {\"}]}}",
	       "1:ok");
	expect(" {\"result\":{\"isError\":true,\"content\":[]},\"id\":\"a\"}\n", "\"a\":err");
	expect("{\"result\":{\"isError\" : false},\"id\":-2.5e3}", "-2.5e3:ok");
	expect("{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32601,\"message\":\"no\"}}", "7:err");
	expect("{\"id\":null,\"error\":{\"code\":-32700}}", "null:err");
	expect("{\"id\":\"a\\\"b\\u0041\",\"result\":{}}", "\"a\\\"b\\u0041\":ok");
}

TEST(answer_scan_reads_is_error_only_at_the_top_of_result)
{
	expect("{\"id\":2,\"result\":{\"content\":[{\"isError\":true}]}}", "2:ok");
	expect("{\"id\":3,\"result\":{\"structuredContent\":{\"isError\":true}},\"isError\":true}", "3:ok");
	expect("{\"id\":4,\"result\":{\"isError\":\"true\"}}", "4:ok");
	expect("{\"result\":{\"id\":9,\"error\":1},\"id\":1}", "1:ok");
	expect("{\"id\":5,\"result\":[{\"isError\":true}]}", "5:ok");
}

TEST(answer_scan_reads_batches_element_by_element)
{
	expect("[{\"id\":1,\"result\":{}},{\"id\":2,\"error\":{}},{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"},"
	       "{\"id\":3,\"result\":{\"isError\":true}}]",
	       "1:ok,2:err,3:err");
	expect("[]", "");
	expect("[1,[{\"id\":1}],{\"id\":4,\"result\":{}}]", "4:ok");
}

/* The server's own requests and notifications carry ids too (a server's
 * request ids start at 0 in each session): never answers. */
TEST(answer_scan_records_only_responses)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"ping\"}", "" },
		{ "{\"method\":\"sampling/createMessage\",\"id\":7,\"params\":{\"result\":{}}}", "" },
		{ "{\"id\":7,\"result\":{},\"method\":\"x\"}", "" },
		{ "{\"id\":7,\"error\":{},\"m\\u0065thod\":\"x\"}", "" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":7}", "" },
		{ "[{\"id\":1,\"method\":\"ping\"},{\"id\":1,\"result\":{}},{\"method\":\"notifications/progress\"}]", "1:ok" },
		{ "{\"id\":7,\"result\":{\"method\":\"x\"}}", "7:ok" },
		{ "{\"id\":7,\"error\":{\"method\":\"x\"}}", "7:err" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect(cases[i].text, cases[i].want);
}

/* list_result after the whole text, and after every split of it. */
static void expect_lists(const char *text, unsigned want)
{
	struct answer_scan s;
	size_t len = strlen(text);

	answer_scan_init(&s);
	for (size_t cut = 0; cut <= len; cut++) {
		answer_scan_reset(&s);
		answer_scan_feed(&s, text, cut);
		answer_scan_feed(&s, text + cut, len - cut);
		if (s.list_result != want) {
			CHECK_INT_EQ(s.list_result, want);
			break;
		}
	}
	answer_scan_free(&s);
}

#define L_T (1u << MCP_LIST_TOOLS)
#define L_P (1u << MCP_LIST_PROMPTS)
#define L_R (1u << MCP_LIST_RESOURCES)
#define L_RT (1u << MCP_LIST_TEMPLATES)

/* What a list answer looks like, whatever its id: its result holds a
 * list's array at its top level. */
TEST(answer_scan_notes_list_shaped_results)
{
	static const struct {
		const char *text;
		unsigned want;
	} cases[] = {
		{ "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":[{\"name\":\"secret\"}]}}", L_T },
		{ "{\"result\":{\"nextCursor\":\"x\",\"prompts\":[]},\"id\":7}", L_P },
		{ "{\"id\":7,\"result\":{\"resources\":{}}}", L_R },
		{ "{\"id\":7,\"result\":{\"resourceTemplates\":null,\"tools\":1}}", L_RT | L_T },
		{ "[{\"id\":1,\"result\":{\"content\":[]}},{\"id\":2,\"result\":{\"prompts\":[]}}]", L_P },
		/* the name decoded, as clients read it */
		{ "{\"id\":7,\"result\":{\"t\\u006fols\":[]}}", L_T },
		{ "{\"id\":7,\"result\":{\"\\u0072esource\\u0054emplates\":[]}}", L_RT },
		/* whoever sends it: a result is read as one */
		{ "{\"id\":7,\"method\":\"x\",\"result\":{\"tools\":[]}}", L_T },
		/* not at the top of a result */
		{ "{\"id\":7,\"result\":{\"content\":[{\"tools\":[]}],\"structuredContent\":{\"tools\":[]}}}", 0 },
		{ "{\"id\":7,\"result\":{\"x\":{\"prompts\":[]}}}", 0 },
		{ "{\"id\":7,\"result\":[{\"tools\":[]}]}", 0 },
		{ "{\"id\":7,\"tools\":[],\"error\":{\"tools\":[]}}", 0 },
		{ "{\"id\":7,\"method\":\"x\",\"params\":{\"tools\":[]}}", 0 },
		{ "{\"id\":7,\"result\":{\"toolsx\":[],\"Tools\":[],\"tool\\u0073s\":[],\"resource\":[]}}", 0 },
		{ "[[{\"result\":{\"tools\":[]}}]]", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_lists(cases[i].text, cases[i].want);
}

/* Noted as soon as the name is read: a caller relaying a body as it comes
 * can stop before the piece holding it goes out. */
TEST(answer_scan_notes_a_list_before_its_value)
{
	static const struct {
		const char *text;
		unsigned want;
	} cases[] = {
		{ "{\"id\":7,\"result\":{\"content\":[],\"tools\"", L_T },
		{ "{\"id\":7,\"result\":{\"content\":[],\"tools", 0 },
		{ "[{\"id\":7,\"result\":{\"resources\":[", L_R },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_lists(cases[i].text, cases[i].want);
}

TEST(answer_scan_matches_member_names_after_decoding_escapes)
{
	expect("{\"\\u0069d\":5,\"\\u0065rror\":{}}", "5:err");
	expect("{\"id\":6,\"result\":{\"is\\u0045rror\":true}}", "6:err");
	expect("{\"i\\nd\":6,\"id\":8,\"\\u0000error\":1,\"result\":{}}", "8:ok");
	expect("{\"id\":{\"a\":1},\"result\":{}}", "-:ok");
}

TEST(answer_scan_stops_at_text_that_is_not_json)
{
	struct answer_scan s;
	char got[64];

	expect("<html>busy</html>", "");
	expect("{\"id\":1,\"result\":{", "");
	expect("\"just a string\"", "");
	expect("{\"id\":1 \"result\":{}}", "");
	expect("{\"id\":1,\"result\":{]}", "");
	/* answers before the damage still count */
	expect("[{\"id\":1,\"result\":{}},{\"id\":2,\"result\":}]", "1:ok");

	answer_scan_init(&s);
	for (int i = 0; i < 5000; i++)
		answer_scan_feed(&s, "[", 1);
	CHECK(s.failed);
	describe(&s, got, sizeof(got));
	CHECK_STR_EQ(got, "");
	answer_scan_free(&s);
}

TEST(answer_scan_passes_large_results_keeping_only_the_id)
{
	static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":\"big\",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"";
	static const char tail[] = "\"}],\"isError\":true}}";
	size_t n = 4u << 20;
	char *text = malloc(n), got[64];
	struct answer_scan s;

	CHECK(text != NULL);
	if (!text)
		return;
	memset(text, 'x', n);
	for (size_t i = 0; i < n; i += 4099)
		memcpy(text + i, "\\\"{[", i + 4 <= n ? 4 : n - i);
	answer_scan_init(&s);
	answer_scan_feed(&s, head, strlen(head));
	for (size_t off = 0; off < n; off += 65536)
		answer_scan_feed(&s, text + off, n - off < 65536 ? n - off : 65536);
	answer_scan_feed(&s, tail, strlen(tail));
	describe(&s, got, sizeof(got));
	CHECK_STR_EQ(got, "\"big\":err");
	CHECK_INT_EQ(s.bytes, strlen(head) + n + strlen(tail));
	CHECK(s.answers.len < 64);
	answer_scan_free(&s);
	free(text);
}
