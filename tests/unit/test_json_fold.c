/* json_fold: names as case-insensitive stacks (Go's encoding/json) read
 * them; collisions and near misses of protocol members. */
#include <string.h>

#include "harness.h"
#include "policy_conditions.h"
#include "json_fold.h"

static bool eq(const char *a, const char *b)
{
	return json_fold_equal(a, strlen(a), b, strlen(b));
}

/* "ok", or why json_fold_check refuses the JSON text. */
static const char *verdict(const char *text)
{
	static char out[128];
	cJSON *root = cJSON_Parse(text);
	const char *why = "unset";

	if (!root)
		return "unparsable";
	int r = json_fold_check(root, &why);
	snprintf(out, sizeof(out), "%s", r == 0 ? "ok" : r < 0 ? "nomem" : why);
	cJSON_Delete(root);
	return out;
}

#define COLLIDES "object keys that differ only in case (or Unicode case folding)"
#define NEAR "a member name that is a case variant of a JSON-RPC or MCP member"

TEST(json_fold_equal_follows_go_folding)
{
	CHECK(eq("method", "METHOD"));
	CHECK(eq("Method", "mEtHoD"));
	CHECK(eq("param\xc5\xbf", "params"));        /* U+017F long s */
	CHECK(eq("\xe2\x84\xaa" "ey", "key"));        /* U+212A Kelvin sign */
	CHECK(eq("\xc4\xb1" "d", "id"));              /* U+0131 dotless i (ToUpper is I) */
	CHECK(eq("\xc4\xb0" "D", "id"));              /* U+0130 */
	CHECK(eq("\xc3\x89t\xc3\xa9", "\xc3\xa9T\xc3\x89")); /* non-ASCII letters fold too */
	CHECK(!eq("method", "methods"));
	CHECK(!eq("method", "meth0d"));
	CHECK(!eq("a\xff", "a"));
	CHECK(!eq("\xff", "\xc3\xbf"));               /* a stray byte is not U+00FF */
	CHECK(eq("", ""));
}

TEST(json_fold_refuses_keys_that_fold_equal_at_any_depth)
{
	static const char *const bodies[] = {
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"Method\":\"tools/call\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"NAME\":\"execute\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"e\","
		"\"arguments\":{\"path\":\"/tmp\",\"PATH\":\"/etc\"}}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"e\","
		"\"arguments\":{\"a\":[{\"x\":{\"key\":1,\"\xe2\x84\xaa" "EY\":2}}]}}}",
		"[{\"jsonrpc\":\"2.0\",\"method\":\"x\"},{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"y\",\"ID\":3}]",
		"{\"x\":{\"Ab\":1,\"aB\":2}}",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		CHECK_STR_EQ(verdict(bodies[i]), COLLIDES);
}

TEST(json_fold_refuses_case_variants_of_protocol_members)
{
	static const char *const bodies[] = {
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"Method\":\"tools/call\",\"params\":{\"name\":\"x\"}}",
		"{\"JSONRPC\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
		"{\"jsonrpc\":\"2.0\",\"\xc4\xb1\x64\":1,\"method\":\"ping\"}",  /* dotless i, then d */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"param\xc5\xbf\":{\"name\":\"x\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"Result\":{}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"NAME\":\"execute\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"e\",\"Arguments\":{}}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/read\",\"params\":{\"URI\":\"file:///etc\"}}",
		"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},{\"jsonrpc\":\"2.0\",\"id\":2,\"meth\xc3\xb6\":1,\"METHOD\":\"x\"}]",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		CHECK_STR_EQ(verdict(bodies[i]), NEAR);
}

TEST(json_fold_leaves_ordinary_names_alone)
{
	/* camelCase members, case variants that collide with nothing, and
	 * protocol names deeper than the protocol levels are fine */
	CHECK_STR_EQ(verdict("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
			     "\"2025-03-26\",\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"},\"capabilities\":{}}}"),
		     "ok");
	CHECK_STR_EQ(verdict("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"e\","
			     "\"arguments\":{\"Method\":\"GET\",\"URL\":\"x\",\"\xc3\xa9t\xc3\xa9\":1},\"_meta\":{\"progressToken\":1}}}"),
		     "ok");
	CHECK_STR_EQ(verdict("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1}}"),
		     "ok");
	CHECK_STR_EQ(verdict("[1,\"x\",{\"a\":1}]"), "ok");
}

/* A condition on args.path: a case variant of "path" in the arguments is
 * what a Go server's struct field would read, so the condition cannot be
 * decided on "path" alone. */
static enum cond_result eval_path_eq(const char *args_json)
{
	struct compiled_cond c = { .cond = { .op = MCPF_OP_EQ } };
	cJSON *args = cJSON_Parse(args_json);
	enum cond_result r;

	snprintf(c.cond.path, sizeof(c.cond.path), "args.opts.path");
	snprintf(c.cond.value, sizeof(c.cond.value), "\"/tmp\"");
	condition_compile(&c);
	r = condition_eval(&c, args);
	condition_release(&c);
	cJSON_Delete(args);
	return r;
}

TEST(json_fold_condition_keys_match_case_variants_as_ambiguous)
{
	CHECK_INT_EQ(eval_path_eq("{\"opts\":{\"path\":\"/tmp\"}}"), COND_HOLDS);
	CHECK_INT_EQ(eval_path_eq("{\"opts\":{\"path\":\"/etc\"}}"), COND_FAILS);
	CHECK_INT_EQ(eval_path_eq("{\"opts\":{\"PATH\":\"/etc\"}}"), COND_AMBIGUOUS);
	CHECK_INT_EQ(eval_path_eq("{\"Opts\":{\"path\":\"/tmp\"}}"), COND_AMBIGUOUS);
	CHECK_INT_EQ(eval_path_eq("{\"opts\":{\"pat\xe2\x84\x8f\":1,\"path\":\"/tmp\"}}"), COND_HOLDS); /* U+210F is no h */
	CHECK_INT_EQ(eval_path_eq("{\"opts\":{\"pa\xc5\xbf\" \"th\":1}}"), COND_FAILS); /* "paſth" is not path */
	CHECK_INT_EQ(eval_path_eq("{\"opts\":{\"\xc5\xbf\":1,\"pat\xc5\xbf\":1}}"), COND_FAILS);
	CHECK_INT_EQ(eval_path_eq("{\"opts\":{\"pat\xe1\xb8\xa5\":2}}"), COND_FAILS); /* ḥ */
}
