/* tool_class: a fixture table of tools as servers declare them, with the
 * category, risk and reasons each must get; json_canon and sha256 give
 * the digests the inventory compares. */
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "harness.h"
#include "json_canon.h"
#include "sha256.h"
#include "tool_class.h"

struct fixture {
	const char *name;
	const char *description;
	const char *schema;        /* JSON, NULL: none */
	const char *annotations;   /* JSON, NULL: none */
	enum mcpf_tool_category category;
	enum mcpf_tool_risk risk;
	unsigned int reasons;      /* exactly these */
	bool hints_only;
};

#define STR_ARG(n) "{\"type\":\"object\",\"properties\":{\"" n "\":{\"type\":\"string\"}}}"

static const struct fixture fixtures[] = {
	/* annotations alone */
	{ "echo", "Echoes back the input string", STR_ARG("message"),
	  "{\"readOnlyHint\":true,\"destructiveHint\":false,\"idempotentHint\":true,\"openWorldHint\":false}",
	  MCPF_CATEGORY_READ, MCPF_RISK_LOW, TOOL_WHY_HINT_READ_ONLY | TOOL_WHY_HINT_IDEMPOTENT, true },
	{ "zap", NULL, NULL, "{\"readOnlyHint\":false}",   /* destructiveHint defaults to true */
	  MCPF_CATEGORY_DESTRUCTIVE, MCPF_RISK_CRITICAL, TOOL_WHY_HINT_DESTRUCTIVE, true },
	{ "zap", NULL, NULL, "{\"destructiveHint\":true,\"openWorldHint\":true}",
	  MCPF_CATEGORY_DESTRUCTIVE, MCPF_RISK_CRITICAL, TOOL_WHY_HINT_DESTRUCTIVE | TOOL_WHY_HINT_OPEN_WORLD, true },
	{ "gzip-file-as-resource", "Compresses a file", NULL, "{\"readOnlyHint\":false,\"destructiveHint\":false}",
	  MCPF_CATEGORY_WRITE, MCPF_RISK_MEDIUM, TOOL_WHY_HINT_ADDITIVE, true },
	/* annotations and name agree: not hints alone */
	{ "get-sum", "Returns the sum of two numbers", NULL, "{\"readOnlyHint\":true}",
	  MCPF_CATEGORY_READ, MCPF_RISK_LOW, TOOL_WHY_HINT_READ_ONLY | TOOL_WHY_NAME_READ, false },
	/* a claim cannot make a tool look better than its name */
	{ "delete_file", NULL, NULL, "{\"readOnlyHint\":true}",
	  MCPF_CATEGORY_DESTRUCTIVE, MCPF_RISK_CRITICAL, TOOL_WHY_HINT_READ_ONLY | TOOL_WHY_NAME_DESTRUCTIVE, false },
	/* names, camelCase and separators */
	{ "listFiles", NULL, NULL, NULL, MCPF_CATEGORY_READ, MCPF_RISK_LOW, TOOL_WHY_NAME_READ, false },
	{ "createIssue", NULL, NULL, NULL, MCPF_CATEGORY_WRITE, MCPF_RISK_MEDIUM, TOOL_WHY_NAME_WRITE, false },
	{ "send.email", NULL, NULL, NULL, MCPF_CATEGORY_WRITE, MCPF_RISK_MEDIUM, TOOL_WHY_NAME_WRITE, false },
	{ "deploy_service", NULL, NULL, NULL, MCPF_CATEGORY_EXECUTE, MCPF_RISK_HIGH, TOOL_WHY_NAME_EXECUTE, false },
	{ "DROP_TABLE", NULL, NULL, NULL, MCPF_CATEGORY_DESTRUCTIVE, MCPF_RISK_CRITICAL, TOOL_WHY_NAME_DESTRUCTIVE, false },
	{ "create_refund", NULL, NULL, NULL, MCPF_CATEGORY_FINANCIAL, MCPF_RISK_HIGH,
	  TOOL_WHY_NAME_WRITE | TOOL_WHY_NAME_FINANCIAL, false },
	{ "get_and_remove", NULL, NULL, NULL, MCPF_CATEGORY_DESTRUCTIVE, MCPF_RISK_CRITICAL,
	  TOOL_WHY_NAME_READ | TOOL_WHY_NAME_DESTRUCTIVE, false },
	/* words inside other words are not tokens */
	{ "runner_status", NULL, NULL, NULL, MCPF_CATEGORY_READ, MCPF_RISK_LOW, TOOL_WHY_NAME_READ, false },
	{ "echo", NULL, NULL, NULL, MCPF_CATEGORY_UNKNOWN, MCPF_RISK_MEDIUM, 0, false },
	/* description: destructive, financial and execute words only */
	{ "files", "Removes the given file for good", NULL, NULL, MCPF_CATEGORY_DESTRUCTIVE, MCPF_RISK_CRITICAL,
	  TOOL_WHY_DESC_DESTRUCTIVE, false },
	{ "files", "Lists and reads and writes files", NULL, NULL, MCPF_CATEGORY_UNKNOWN, MCPF_RISK_MEDIUM, 0, false },
	{ "help", "Lists the shell commands and scripts", NULL, NULL, MCPF_CATEGORY_UNKNOWN, MCPF_RISK_MEDIUM, 0, false },
	{ "run_shell", NULL, NULL, NULL, MCPF_CATEGORY_EXECUTE, MCPF_RISK_HIGH, TOOL_WHY_NAME_EXECUTE, false },
	{ "jobs", "Deploys the service", NULL, NULL, MCPF_CATEGORY_EXECUTE, MCPF_RISK_HIGH, TOOL_WHY_DESC_EXECUTE, false },
	/* schema: free-form code makes it execute; a query is a risk signal */
	{ "sandbox", "A sandbox", STR_ARG("code"), NULL, MCPF_CATEGORY_EXECUTE, MCPF_RISK_CRITICAL,
	  TOOL_WHY_SCHEMA_CODE, false },
	{ "db", NULL, STR_ARG("sqlStatement"), "{\"readOnlyHint\":true}", MCPF_CATEGORY_EXECUTE, MCPF_RISK_CRITICAL,
	  TOOL_WHY_SCHEMA_CODE | TOOL_WHY_HINT_READ_ONLY, false },
	{ "search_docs", NULL, STR_ARG("query"), NULL, MCPF_CATEGORY_READ, MCPF_RISK_MEDIUM,
	  TOOL_WHY_NAME_READ | TOOL_WHY_SCHEMA_QUERY, false },
	{ "tool", NULL, "{\"properties\":{\"command\":{\"type\":\"string\",\"enum\":[\"start\",\"stop\"]}}}", NULL,
	  MCPF_CATEGORY_UNKNOWN, MCPF_RISK_MEDIUM, 0, false },
	{ "tool", NULL, "{\"properties\":{\"script\":{\"type\":\"integer\"}}}", NULL,
	  MCPF_CATEGORY_UNKNOWN, MCPF_RISK_MEDIUM, 0, false },
	{ "tool", NULL, "{\"properties\":{\"opts\":{\"type\":\"object\",\"properties\":{\"cmd\":{\"type\":[\"string\",\"null\"]}}}}}",
	  NULL, MCPF_CATEGORY_EXECUTE, MCPF_RISK_CRITICAL, TOOL_WHY_SCHEMA_CODE, false },
	{ "tool", NULL, "{\"properties\":{\"steps\":{\"type\":\"array\",\"items\":{\"anyOf\":[{\"properties\":{\"shell\":{}}}]}}}}",
	  NULL, MCPF_CATEGORY_EXECUTE, MCPF_RISK_CRITICAL, TOOL_WHY_SCHEMA_CODE, false },
	/* hints that are not booleans are not hints */
	{ "x", NULL, NULL, "{\"readOnlyHint\":\"yes\",\"destructiveHint\":1}", MCPF_CATEGORY_UNKNOWN, MCPF_RISK_MEDIUM,
	  0, false },
};

TEST(tool_class_fixture_table)
{
	char got[256], want[256];

	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		const struct fixture *f = &fixtures[i];
		cJSON *schema = f->schema ? cJSON_Parse(f->schema) : NULL;
		cJSON *ann = f->annotations ? cJSON_Parse(f->annotations) : NULL;
		struct tool_hints h;
		struct tool_class c;

		CHECK(!f->schema || schema);
		CHECK(!f->annotations || ann);
		tool_hints_read(ann, &h);
		tool_classify(f->name, f->description, schema, &h, &c);
		tool_why_format(c.reasons, ",", got, sizeof(got));
		tool_why_format(f->reasons, ",", want, sizeof(want));
		if (c.category != f->category || c.risk != f->risk || c.reasons != f->reasons ||
		    c.hints_only != f->hints_only)
			printf("fixture %zu (%s): got %s/%s/[%s]/%d, want %s/%s/[%s]/%d\n", i, f->name,
			       tool_category_name(c.category), tool_risk_name(c.risk), got, c.hints_only,
			       tool_category_name(f->category), tool_risk_name(f->risk), want, f->hints_only);
		CHECK_STR_EQ(tool_category_name(c.category), tool_category_name(f->category));
		CHECK_STR_EQ(tool_risk_name(c.risk), tool_risk_name(f->risk));
		CHECK_STR_EQ(got, want);
		CHECK_INT_EQ(c.hints_only, f->hints_only);
		cJSON_Delete(schema);
		cJSON_Delete(ann);
	}
}

TEST(tool_class_bounded_on_hostile_input)
{
	size_t big = 1 << 20;
	char *desc = malloc(big + 1);
	struct tool_hints h = { 0 };
	struct tool_class c;
	cJSON *schema = cJSON_CreateObject(), *node = schema;

	CHECK(desc && schema);
	/* "delete" only past the scanned part: not seen, but the cut is reported */
	memset(desc, 'a', big);
	memcpy(desc + big - 7, " delete", 7);
	desc[big] = '\0';
	tool_classify("t", desc, NULL, &h, &c);
	CHECK_INT_EQ(c.category, MCPF_CATEGORY_UNKNOWN);
	CHECK(c.reasons & TOOL_WHY_TRUNCATED);
	/* a schema nested deeper than the walk goes: cut, no "code" found down there */
	for (int i = 0; i < 100; i++) {
		cJSON *props = cJSON_AddObjectToObject(node, "properties");

		node = cJSON_AddObjectToObject(props, i == 99 ? "code" : "p");
		cJSON_AddStringToObject(node, "type", "string");
	}
	tool_classify("t", NULL, schema, &h, &c);
	CHECK(c.reasons & TOOL_WHY_TRUNCATED);
	CHECK(!(c.reasons & TOOL_WHY_SCHEMA_CODE));
	/* a schema wider than the walk reads: cut, the last property unread */
	cJSON_Delete(schema);
	schema = cJSON_CreateObject();
	node = cJSON_AddObjectToObject(schema, "properties");
	for (int i = 0; i <= TOOL_CLASS_SCHEMA_NODES; i++) {
		char name[16];

		snprintf(name, sizeof(name), i == TOOL_CLASS_SCHEMA_NODES ? "code" : "p%d", i);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(node, name), "type", "string");
	}
	tool_classify("t", NULL, schema, &h, &c);
	CHECK(c.reasons & TOOL_WHY_TRUNCATED);
	CHECK(!(c.reasons & TOOL_WHY_SCHEMA_CODE));
	/* a name token longer than any word is skipped, not cut into one */
	tool_classify("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxdelete", NULL, NULL, &h, &c);
	CHECK_INT_EQ(c.category, MCPF_CATEGORY_UNKNOWN);
	CHECK_INT_EQ(tool_category_parse("execute"), MCPF_CATEGORY_EXECUTE);
	CHECK_INT_EQ(tool_category_parse("unknown"), -1);
	free(desc);
	cJSON_Delete(schema);
}

static void digest_of(const char *json, char hex[2 * SHA256_LEN + 1])
{
	unsigned char d[SHA256_LEN];
	cJSON *v = cJSON_Parse(json);

	json_canon_digest(v, d);
	sha256_hex(d, hex);
	cJSON_Delete(v);
}

TEST(json_canon_one_digest_per_value)
{
	char a[65], b[65];
	unsigned char d[SHA256_LEN];
	struct sha256 s;

	/* FIPS 180-4 example "abc" */
	sha256_init(&s);
	sha256_update(&s, "abc", 3);
	sha256_final(&s, d);
	sha256_hex(d, a);
	CHECK_STR_EQ(a, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* canonical text of {"a":1,"b":[true,"x\n"]} is digested */
	sha256_init(&s);
	sha256_update(&s, "{\"a\":1,\"b\":[true,\"x\\n\"]}", 24);
	sha256_final(&s, d);
	sha256_hex(d, a);
	digest_of(" { \"b\" : [ true , \"x\\u000a\" ] , \"a\" : 1.0 } ", b);
	CHECK_STR_EQ(a, b);
	digest_of("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}", a);
	digest_of("{\"properties\":{\"a\":{\"type\":\"string\"}},\"type\":\"object\"}", b);
	CHECK_STR_EQ(a, b);
	digest_of("{\"properties\":{\"a\":{\"type\":\"number\"}},\"type\":\"object\"}", b);
	CHECK(strcmp(a, b) != 0);
	/* numbers are compared as doubles (json_canon.h says so) */
	digest_of("[12345678901234567890, 1e400, -0]", a);
	digest_of("[12345678901234567891, 2e400, 0]", b);
	CHECK_STR_EQ(a, b);
	digest_of("[1e400]", a);
	digest_of("[-1e400]", b);
	CHECK(strcmp(a, b) != 0);
	/* repeated names keep their order: [1,2] and [2,1] differ */
	digest_of("{\"a\":1,\"a\":2}", a);
	digest_of("{\"a\":2,\"a\":1}", b);
	CHECK(strcmp(a, b) != 0);
}
