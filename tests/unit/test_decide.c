/* Decisions from real pinned policy maps: actions, precedence, wildcard
 * rules, conditions, hidden tools, rate limits per scope and window, state
 * across reloads and restarts, and atomic generation flips. */
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "decide.h"
#include "json_number.h"
#include "policy_fixture.h"
#include "rate_limit.h"

#define SEC 1000000000ULL
#define T0 (1000 * SEC)   /* an arbitrary boottime instant */

#define EXAMPLE "{'version':'1','default':'deny','tools':{'execute_pipeline':{'limits':" \
	"[{'counter':'execute_pipeline_rate','window':'minute','max':10,'scope':'grant'}]}}}"

struct call {
	const char *server, *tool, *args;  /* args: JSON text or NULL */
	unsigned long long cgroup;
	unsigned int uid, pid;
	const char *session;
	unsigned long long now;
	bool unread;                       /* arguments_unread: a body read without a tree */
};

/* Agent A (cgroup 7, uid 1000, pid 100) in session s1 at T0, unless the
 * call says otherwise. */
static enum mcpf_decision run(struct policy_fixture *f, struct call c, struct decision *d)
{
	cJSON *args = c.args ? cJSON_Parse(c.args) : NULL;
	/* as the request parser does (jsonrpc.c) */
	int marked = args ? json_numbers_mark(args, c.args, (struct json_span){ 0, strlen(c.args) }) : 0;
	struct decide_request req = {
		.server = c.server ? c.server : "fs",
		.tool = c.tool,
		.arguments = args,
		.cgroup_id = c.cgroup ? c.cgroup : 7,
		.uid = c.uid ? c.uid : 1000,
		.pid = c.pid ? c.pid : 100,
		.session = c.session ? c.session : "s1",
		.now_ns = c.now ? c.now : T0,
		.arguments_unread = c.unread,
	};
	enum mcpf_decision v = marked < 0 ? MCPF_DECISION_INVALID : decide(&f->maps, &req, d);

	cJSON_Delete(args);
	return v;
}

static enum mcpf_decision verdict_of(struct policy_fixture *f, struct call c)
{
	struct decision d;

	return run(f, c, &d);
}

/* Entries of a generation-keyed map that belong to generation gen. */
static int entries_of_generation(int fd, size_t key_size, unsigned int gen)
{
	unsigned char cur[512], next[512];
	void *prev = NULL;
	int n = 0;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		unsigned int g;

		memcpy(cur, next, key_size);
		prev = cur;
		memcpy(&g, cur, sizeof(g));
		n += g == gen;
	}
	return n;
}

MAPS_TEST(decide_policylayer_example_behaves_as_written)
{
	struct decision d;

	CHECK(fixture_compile(f, "{'version':'1','servers':{'ci':" EXAMPLE "}}") == 0);
	for (int i = 0; i < 10; i++) {
		CHECK_INT_EQ(run(f, (struct call){ .server = "ci", .tool = "execute_pipeline",
						   .now = T0 + i * SEC }, &d), MCPF_DECISION_ALLOW);
		CHECK_STR_EQ(d.rule, "tools.execute_pipeline");
	}
	CHECK_INT_EQ(run(f, (struct call){ .server = "ci", .tool = "execute_pipeline",
					   .now = T0 + 10 * SEC }, &d), MCPF_DECISION_RATE_LIMITED);
	CHECK_STR_EQ(d.rule, "tools.execute_pipeline.limits[0]");
	CHECK_INT_EQ(d.retry_after, 50);
	CHECK_STR_EQ(d.reason, "rate limit of 10 calls per 60s reached (counter execute_pipeline_rate, "
		     "scope grant); retry in 50s");
	/* The window opened at T0 closes at T0+60s. */
	CHECK_INT_EQ(run(f, (struct call){ .server = "ci", .tool = "execute_pipeline",
					   .now = T0 + 60 * SEC - 1 }, &d), MCPF_DECISION_RATE_LIMITED);
	CHECK_INT_EQ(d.retry_after, 1);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .server = "ci", .tool = "execute_pipeline",
						  .now = T0 + 60 * SEC }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(run(f, (struct call){ .server = "ci", .tool = "other" }, &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "default");
	CHECK_STR_EQ(d.reason, "tool \"other\" is not allowed by policy");
}

MAPS_TEST(decide_actions_defaults_and_reasons)
{
	struct decision d;

	CHECK(fixture_compile(f, "{'version':'1','servers':{"
			      "'fs':{'default':'allow','tools':{'delete_file':{'action':'deny','reason':'no deletions'},"
			      "'chmod':{'action':'deny'}}},"
			      "'db':{'default':'deny','tools':{'query':{'action':'allow'}}}}}") == 0);
	CHECK_INT_EQ(run(f, (struct call){ .tool = "read_file" }, &d), MCPF_DECISION_ALLOW);
	CHECK_STR_EQ(d.rule, "default");
	CHECK_INT_EQ(run(f, (struct call){ .tool = "delete_file" }, &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "tools.delete_file.action");
	CHECK_STR_EQ(d.reason, "no deletions");
	CHECK_INT_EQ(run(f, (struct call){ .tool = "chmod" }, &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.reason, "tool \"chmod\" is denied by policy");
	CHECK_INT_EQ(run(f, (struct call){ .server = "db", .tool = "query" }, &d), MCPF_DECISION_ALLOW);
	CHECK_STR_EQ(d.rule, "tools.query.action");
	CHECK_INT_EQ(run(f, (struct call){ .server = "db", .tool = "drop" }, &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "default");
}

MAPS_TEST(decide_fails_closed_without_policy_or_server)
{
	struct decision d;

	CHECK_INT_EQ(run(f, (struct call){ .tool = "x" }, &d), MCPF_DECISION_INVALID);
	CHECK_STR_EQ(d.rule, "policy");
	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'allow'}}}") == 0);
	CHECK_INT_EQ(run(f, (struct call){ .server = "gone", .tool = "x" }, &d), MCPF_DECISION_INVALID);
	CHECK_STR_EQ(d.reason, "server \"gone\" is not in the active policy");
	CHECK_INT_EQ(run(f, (struct call){ .tool = "x", .args = "[1,2]" }, &d), MCPF_DECISION_INVALID);
	CHECK_STR_EQ(d.rule, "arguments");
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "x", .args = "{}" }), MCPF_DECISION_ALLOW);
}

MAPS_TEST(decide_wildcard_rules_combine_with_exact_ones)
{
	struct decision d;

	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'allow','tools':{"
			      "'*':{'action':'deny','reason':'read-only server',"
			      "'conditions':[{'path':'args.dry_run','op':'neq','value':false}],"
			      "'limits':[{'counter':'all','window':60,'max':4}]},"
			      "'read':{'action':'allow','limits':[{'counter':'reads','window':60,'max':2}]},"
			      "'stat':{}}}}}") == 0);
	/* "*" action beats the default; an exact entry beats "*". */
	CHECK_INT_EQ(run(f, (struct call){ .tool = "write", .args = "{\"dry_run\":true}" }, &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "tools.*.action");
	CHECK_STR_EQ(d.reason, "read-only server");
	CHECK_INT_EQ(run(f, (struct call){ .tool = "stat", .args = "{\"dry_run\":true}" }, &d), MCPF_DECISION_ALLOW);
	CHECK_STR_EQ(d.rule, "tools.stat");
	/* "*" conditions apply to exact tools too. */
	CHECK_INT_EQ(run(f, (struct call){ .tool = "read", .args = "{\"dry_run\":false}" }, &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "tools.*.conditions[0]");
	CHECK_STR_EQ(d.reason, "read-only server (condition not met: args.dry_run neq false)");
	/* "*" limits count every call in addition to the tool's own. */
	CHECK_INT_EQ(run(f, (struct call){ .tool = "read", .args = "{\"dry_run\":true}" }, &d), MCPF_DECISION_ALLOW);
	CHECK_STR_EQ(d.rule, "tools.read.action");
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "read", .args = "{\"dry_run\":true}" }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(run(f, (struct call){ .tool = "read", .args = "{\"dry_run\":true}" }, &d), MCPF_DECISION_RATE_LIMITED);
	CHECK_STR_EQ(d.rule, "tools.read.limits[0]");
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "stat", .args = "{\"dry_run\":true}" }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(run(f, (struct call){ .tool = "stat", .args = "{\"dry_run\":true}" }, &d), MCPF_DECISION_RATE_LIMITED);
	CHECK_STR_EQ(d.rule, "tools.*.limits[0]");
}

/* A call decided from a body read without a tree (jsonrpc_quick.h): any
 * condition that applies makes it invalid before a budget is looked at,
 * so the caller decides it again with its arguments and spends once. */
MAPS_TEST(decide_unread_arguments_never_pass_conditions)
{
	struct decision d;

	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'allow','tools':{"
			      "'guarded':{'conditions':[{'path':'args.x','op':'eq','value':1}],"
			      "'limits':[{'counter':'g','window':60,'max':1}]},"
			      "'plain':{'limits':[{'counter':'p','window':60,'max':1}]}}},"
			      "'db':{'default':'allow','tools':{'*':{'conditions':[{'path':'args.q','op':'exists'}]}}}}}") == 0);
	CHECK_INT_EQ(run(f, (struct call){ .tool = "guarded", .unread = true }, &d), MCPF_DECISION_INVALID);
	CHECK_STR_EQ(d.rule, "arguments");
	CHECK_INT_EQ(run(f, (struct call){ .tool = "guarded", .unread = true }, &d), MCPF_DECISION_INVALID);
	/* nothing was spent: the one call the budget holds still goes */
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "guarded", .args = "{\"x\":1}" }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "guarded", .args = "{\"x\":1}" }), MCPF_DECISION_RATE_LIMITED);
	/* no condition: decided as read, budget spent once */
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "plain", .unread = true }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "plain", .unread = true }), MCPF_DECISION_RATE_LIMITED);
	/* "*" conditions apply to every tool */
	CHECK_INT_EQ(run(f, (struct call){ .server = "db", .tool = "any", .unread = true }, &d), MCPF_DECISION_INVALID);
	CHECK_STR_EQ(d.rule, "arguments");
	CHECK_INT_EQ(verdict_of(f, (struct call){ .server = "db", .tool = "any", .args = "{\"q\":1}" }),
		     MCPF_DECISION_ALLOW);
}

MAPS_TEST(decide_hidden_tools_win_over_everything)
{
	struct decision d;

	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'allow','hide':['secret','debug'],"
			      "'tools':{'secret':{'action':'allow'}}},'db':{'default':'allow'}}}") == 0);
	CHECK_INT_EQ(run(f, (struct call){ .tool = "secret" }, &d), MCPF_DECISION_HIDDEN);
	CHECK_STR_EQ(d.rule, "hide");
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "debug" }), MCPF_DECISION_HIDDEN);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .server = "db", .tool = "debug" }), MCPF_DECISION_ALLOW);
	CHECK(policy_tool_hidden(&f->maps, "fs", "secret"));
	CHECK(policy_tool_hidden(&f->maps, "fs", "debug"));
	CHECK(!policy_tool_hidden(&f->maps, "fs", "read"));
	CHECK(!policy_tool_hidden(&f->maps, "db", "debug"));
	CHECK(!policy_tool_hidden(&f->maps, "nope", "debug"));
}

/* One condition on args.x per case (no "value" when NULL), and the
 * verdict on a call with args. */
struct cond_case {
	const char *op, *value, *args;
	enum mcpf_decision want;
};

static void run_condition_cases(struct policy_fixture *f, const struct cond_case *cases, size_t n)
{
	struct decision d;
	char policy[512];

	for (size_t i = 0; i < n; i++) {
		snprintf(policy, sizeof(policy), "{'version':'1','servers':{'fs':{'default':'allow','tools':"
			 "{'t':{'conditions':[{'path':'args.x','op':'%s'%s%s}]}}}}}",
			 cases[i].op, cases[i].value ? ",'value':" : "", cases[i].value ? cases[i].value : "");
		CHECK(fixture_compile(f, policy) == 0);
		if (run(f, (struct call){ .tool = "t", .args = cases[i].args }, &d) != cases[i].want) {
			printf("  case %zu: %s %s on %s: %s\n", i, cases[i].op, cases[i].value ? cases[i].value : "-",
			       cases[i].args ? cases[i].args : "-", d.reason);
			CHECK(!"condition verdict");
		}
	}
}

MAPS_TEST(decide_conditions_for_every_op)
{
	static const struct cond_case cases[] = {
		{ "eq", "'a'", "{\"x\":\"a\"}", MCPF_DECISION_ALLOW },
		{ "eq", "'a'", "{\"x\":\"b\"}", MCPF_DECISION_DENY },
		{ "eq", "{'k':[1,2]}", "{\"x\":{\"k\":[1,2]}}", MCPF_DECISION_ALLOW },
		{ "eq", "1", "{\"x\":\"1\"}", MCPF_DECISION_DENY },
		{ "neq", "'a'", "{\"x\":\"b\"}", MCPF_DECISION_ALLOW },
		{ "neq", "'a'", "{\"x\":\"a\"}", MCPF_DECISION_DENY },
		{ "neq", "'a'", "{}", MCPF_DECISION_DENY },            /* absent fails */
		{ "in", "['a','b']", "{\"x\":\"b\"}", MCPF_DECISION_ALLOW },
		{ "in", "['a','b']", "{\"x\":\"c\"}", MCPF_DECISION_DENY },
		{ "not_in", "['a','b']", "{\"x\":\"c\"}", MCPF_DECISION_ALLOW },
		{ "not_in", "['a','b']", "{\"x\":\"a\"}", MCPF_DECISION_DENY },
		{ "lt", "10", "{\"x\":9.5}", MCPF_DECISION_ALLOW },
		{ "lt", "10", "{\"x\":10}", MCPF_DECISION_DENY },
		{ "lt", "10", "{\"x\":\"5\"}", MCPF_DECISION_DENY },   /* wrong type fails */
		{ "lte", "10", "{\"x\":10}", MCPF_DECISION_ALLOW },
		{ "lte", "10", "{\"x\":11}", MCPF_DECISION_DENY },
		{ "gt", "10", "{\"x\":11}", MCPF_DECISION_ALLOW },
		{ "gt", "10", "{\"x\":10}", MCPF_DECISION_DENY },
		{ "gte", "10", "{\"x\":10}", MCPF_DECISION_ALLOW },
		{ "gte", "10", "{\"x\":-3}", MCPF_DECISION_DENY },
		{ "regex", "'^/srv/[a-z]+$'", "{\"x\":\"/srv/data\"}", MCPF_DECISION_ALLOW },
		{ "regex", "'^/srv/[a-z]+$'", "{\"x\":\"/srv/../etc\"}", MCPF_DECISION_DENY },
		{ "regex", "'srv'", "{\"x\":7}", MCPF_DECISION_DENY },
		{ "contains", "'etc'", "{\"x\":\"/etc/passwd\"}", MCPF_DECISION_ALLOW },
		{ "contains", "'etc'", "{\"x\":\"/srv\"}", MCPF_DECISION_DENY },
		{ "contains", "3", "{\"x\":[1,2,3]}", MCPF_DECISION_ALLOW },
		{ "contains", "4", "{\"x\":[1,2,3]}", MCPF_DECISION_DENY },
		{ "exists", NULL, "{\"x\":null}", MCPF_DECISION_ALLOW },
		{ "exists", NULL, "{}", MCPF_DECISION_DENY },
		{ "exists", "true", "{\"x\":0}", MCPF_DECISION_ALLOW },
		{ "exists", "false", "{}", MCPF_DECISION_ALLOW },
		{ "exists", "false", "{\"x\":0}", MCPF_DECISION_DENY },
		{ "exists", "false", NULL, MCPF_DECISION_ALLOW },     /* no arguments at all */
	};

	run_condition_cases(f, cases, sizeof(cases) / sizeof(cases[0]));
}

/* Numbers are compared exactly, and an argument a double does not hold
 * as written is not compared at all: the server reads its digits. */
MAPS_TEST(decide_conditions_compare_numbers_exactly)
{
	static const struct cond_case cases[] = {
		{ "eq", "4503599627370496", "{\"x\":4503599627370496}", MCPF_DECISION_ALLOW },
		{ "eq", "4503599627370496", "{\"x\":4503599627370497}", MCPF_DECISION_DENY },
		{ "eq", "0.1", "{\"x\":0.1}", MCPF_DECISION_ALLOW },
		{ "eq", "0.1", "{\"x\":1e-1}", MCPF_DECISION_ALLOW },
		{ "eq", "0.1", "{\"x\":0.10000000000000002}", MCPF_DECISION_DENY },
		{ "eq", "0.1", "{\"x\":0.10000000000000000001}", MCPF_DECISION_INVALID },
		{ "eq", "{'k':[0.1]}", "{\"x\":{\"k\":[0.10000000000000000001]}}", MCPF_DECISION_INVALID },
		{ "in", "[1000000]", "{\"x\":1000000000000000100}", MCPF_DECISION_INVALID },
		{ "in", "[1, 2]", "{\"x\":9007199254740993}", MCPF_DECISION_INVALID },
		{ "neq", "0.1", "{\"x\":0.10000000000000002}", MCPF_DECISION_ALLOW },
		{ "neq", "5", "{\"x\":5.00000000000000000001}", MCPF_DECISION_INVALID },
		{ "not_in", "[5]", "{\"x\":-9007199254740992}", MCPF_DECISION_INVALID },
		{ "lt", "100", "{\"x\":1e300}", MCPF_DECISION_INVALID },
		{ "gte", "9007199254740991", "{\"x\":9007199254740993}", MCPF_DECISION_INVALID },
		{ "contains", "1", "{\"x\":[1, 18446744073709551616]}", MCPF_DECISION_INVALID },
		{ "exists", "true", "{\"x\":1e300}", MCPF_DECISION_ALLOW },  /* nothing compared */
	};
	struct decision d;

	run_condition_cases(f, cases, sizeof(cases) / sizeof(cases[0]));
	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'allow','tools':"
			      "{'t':{'conditions':[{'path':'args.x','op':'neq','value':[1]}]}}}}}") == 0);
	CHECK(run(f, (struct call){ .tool = "t", .args = "{\"x\":[2e300]}" }, &d) == MCPF_DECISION_INVALID);
	CHECK_STR_EQ(d.rule, "tools.t.conditions[0]");
	CHECK_STR_EQ(d.reason, "args.x holds a number that cannot be compared exactly "
		     "(2^53 or more, or more digits than a double keeps)");
}

/* neq and not_in let any value of another type through, which lax servers
 * read as the value named ("yes", 1 for true): such a value fails them. */
MAPS_TEST(decide_neq_and_not_in_refuse_another_type)
{
	static const struct cond_case cases[] = {
		{ "neq", "true", "{\"x\":false}", MCPF_DECISION_ALLOW },
		{ "neq", "true", "{\"x\":\"yes\"}", MCPF_DECISION_DENY },
		{ "neq", "true", "{\"x\":\"true\"}", MCPF_DECISION_DENY },  /* a string: FastMCP keeps it, pydantic reads true */
		{ "neq", "true", "{\"x\":1}", MCPF_DECISION_DENY },
		{ "neq", "true", "{\"x\":null}", MCPF_DECISION_DENY },
		{ "neq", "'rm'", "{\"x\":[\"rm\"]}", MCPF_DECISION_DENY },
		{ "neq", "1", "{\"x\":2}", MCPF_DECISION_ALLOW },
		{ "not_in", "['rm','dd']", "{\"x\":\"ls\"}", MCPF_DECISION_ALLOW },
		{ "not_in", "['rm','dd']", "{\"x\":[\"rm\"]}", MCPF_DECISION_DENY },
		{ "not_in", "[0, 'off']", "{\"x\":false}", MCPF_DECISION_DENY },
		{ "not_in", "[0, 'off']", "{\"x\":1}", MCPF_DECISION_ALLOW },
		{ "not_in", "[0, 'off']", "{\"x\":\"on\"}", MCPF_DECISION_ALLOW },
	};
	struct decision d;

	run_condition_cases(f, cases, sizeof(cases) / sizeof(cases[0]));
	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'allow','tools':"
			      "{'t':{'conditions':[{'path':'args.force','op':'neq','value':true}]}}}}}") == 0);
	CHECK(run(f, (struct call){ .tool = "t", .args = "{\"force\":\"yes\"}" }, &d) == MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.reason, "condition not met: args.force neq true: the argument is of another JSON type");
}

MAPS_TEST(decide_condition_paths_reach_into_objects_and_arrays)
{
	struct decision d;

	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'deny','tools':{'t':{"
			      "'reason':'only /srv',"
			      "'conditions':[{'path':'args.opts.files.1','op':'regex','value':'^/srv/'}]}}}}}") == 0);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t",
		.args = "{\"opts\":{\"files\":[\"/etc\",\"/srv/a\"]}}" }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(run(f, (struct call){ .tool = "t", .args = "{\"opts\":{\"files\":[\"/srv/a\",\"/etc\"]}}" },
			 &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "tools.t.conditions[0]");
	CHECK_STR_EQ(d.reason, "only /srv (condition not met: args.opts.files.1 regex \"^/srv/\")");
	/* A repeated key could be read either way by the server: refused. */
	CHECK_INT_EQ(run(f, (struct call){ .tool = "t",
		.args = "{\"opts\":{\"files\":[\"/x\",\"/srv/a\"]},\"opts\":{\"files\":[\"/x\",\"/etc\"]}}" },
			 &d), MCPF_DECISION_INVALID);
	CHECK_STR_EQ(d.reason, "arguments repeat a key on args.opts.files.1");
}

/* Python FastMCP parses a top-level string argument as JSON first
 * (pre_parse_json) and hands the tool the object, array or null it holds
 * (a parsed bool is an int to Python: kept as the string): a condition
 * that would read the string otherwise is refused as INVALID. */
MAPS_TEST(decide_conditions_refuse_strings_a_server_parses_as_json)
{
	static const struct cond_case cases[] = {
		/* the container FastMCP hands the tool does not contain "safe" */
		{ "contains", "'safe'", "{\"x\":\"[\\\"unsafe\\\"]\"}", MCPF_DECISION_INVALID },
		{ "contains", "'safe'", "{\"x\":\" {\\\"k\\\":\\\"safe\\\"}\\n\"}", MCPF_DECISION_INVALID },
		{ "contains", "'safe'", "{\"x\":\"unsafe\"}", MCPF_DECISION_ALLOW },
		{ "contains", "'safe'", "{\"x\":[\"safe\"]}", MCPF_DECISION_ALLOW },
		{ "contains", "'safe'", "{\"x\":\"[safe] and [more]\"}", MCPF_DECISION_INVALID }, /* brackets: refused */
		{ "contains", "'safe'", "{\"x\":\"[safe] note\"}", MCPF_DECISION_ALLOW },
		{ "regex", "'^[^/]'", "{\"x\":\"[\\\"/etc\\\"]\"}", MCPF_DECISION_INVALID },
		{ "eq", "'[1]'", "{\"x\":\"[1]\"}", MCPF_DECISION_INVALID },
		{ "in", "['null']", "{\"x\":\"null\"}", MCPF_DECISION_INVALID },
		/* negative ops: the value the tool gets is not the one compared */
		{ "neq", "'x'", "{\"x\":\"true\"}", MCPF_DECISION_ALLOW },  /* a bool is an int to Python: kept */
		{ "neq", "'x'", "{\"x\":\"\\tfalse \"}", MCPF_DECISION_ALLOW },
		{ "neq", "'x'", "{\"x\":\"null\"}", MCPF_DECISION_INVALID },
		{ "neq", "'x'", "{\"x\":\"{}\"}", MCPF_DECISION_INVALID },
		{ "not_in", "['x']", "{\"x\":\"[NaN]\"}", MCPF_DECISION_INVALID },  /* json.loads reads NaN */
		{ "neq", "'x'", "{\"x\":\"True\"}", MCPF_DECISION_ALLOW },   /* not JSON */
		{ "neq", "'x'", "{\"x\":\"1\"}", MCPF_DECISION_ALLOW },      /* a number: FastMCP keeps the string */
		{ "neq", "'x'", "{\"x\":\"\\\"y\\\"\"}", MCPF_DECISION_ALLOW }, /* a string: kept too */
		/* present either way; neither a string nor a container is a number */
		{ "exists", "true", "{\"x\":\"[1]\"}", MCPF_DECISION_ALLOW },
		{ "exists", "false", "{\"x\":\"[1]\"}", MCPF_DECISION_DENY },
		{ "lt", "5", "{\"x\":\"[1]\"}", MCPF_DECISION_DENY },
		{ "eq", "true", "{\"x\":true}", MCPF_DECISION_ALLOW },
	};
	struct decision d;

	run_condition_cases(f, cases, sizeof(cases) / sizeof(cases[0]));
	/* a path below such a string: the daemon finds nothing, the tool gets recursive=true */
	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'allow','tools':{'rm':{"
			      "'conditions':[{'path':'args.opts.recursive','op':'exists','value':false}]}}}}}") == 0);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "rm", .args = "{\"opts\":{}}" }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "rm", .args = "{\"opts\":\"plain\"}" }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "rm", .args = "{\"opts\":{\"recursive\":true}}" }),
		     MCPF_DECISION_DENY);
	CHECK_INT_EQ(run(f, (struct call){ .tool = "rm", .args = "{\"opts\":\"{\\\"recursive\\\":true}\"}" }, &d),
		     MCPF_DECISION_INVALID);
	CHECK_STR_EQ(d.rule, "tools.rm.conditions[0]");
	CHECK_STR_EQ(d.reason, "args.opts.recursive reads an argument that is a string holding JSON (an object, "
			       "array or null), which a server may parse before the tool sees it");
	/* only the top-level argument is parsed: a JSON string deeper is a string */
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "rm", .args = "{\"opts\":{\"x\":\"{\\\"recursive\\\":1}\"}}" }),
		     MCPF_DECISION_ALLOW);
}

MAPS_TEST(decide_grant_scope_is_per_identity_and_server)
{
	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'allow','tools':{'*':{"
			      "'limits':[{'counter':'c','window':60,'max':1,'scope':'grant'}]}}},"
			      "'db':{'default':'allow','tools':{'*':{"
			      "'limits':[{'counter':'c','window':60,'max':1,'scope':'grant'}]}}}}}") == 0);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t" }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t" }), MCPF_DECISION_RATE_LIMITED);
	/* Another cgroup, uid or pid is another grant; so is another server. */
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .cgroup = 8 }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .uid = 1001 }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .pid = 101 }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .server = "db", .tool = "t" }), MCPF_DECISION_ALLOW);
	/* Sessions do not matter for a grant. */
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .session = "s2" }), MCPF_DECISION_RATE_LIMITED);
}

MAPS_TEST(decide_agent_scope_spans_servers)
{
	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'allow','tools':{'*':{"
			      "'limits':[{'counter':'c','window':60,'max':1,'scope':'agent'}]}}},"
			      "'db':{'default':'allow','tools':{'q':{"
			      "'limits':[{'counter':'c','window':60,'max':1,'scope':'agent'}]}}}}}") == 0);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t" }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .server = "db", .tool = "q" }), MCPF_DECISION_RATE_LIMITED);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .server = "db", .tool = "q", .pid = 5 }), MCPF_DECISION_ALLOW);
}

MAPS_TEST(decide_session_scope_is_per_session)
{
	char long_a[200], long_b[200];

	memset(long_a, 'x', sizeof(long_a) - 1);
	long_a[sizeof(long_a) - 1] = '\0';
	strcpy(long_b, long_a);
	long_b[150] = 'y';  /* differs after the part that fits the key */
	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'allow','tools':{'*':{"
			      "'limits':[{'counter':'c','window':60,'max':1,'scope':'session'}]}}}}}") == 0);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .session = "s1" }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .session = "s1", .pid = 9 }), MCPF_DECISION_RATE_LIMITED);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .session = "s2" }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .session = long_a }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .session = long_b }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .session = long_a }), MCPF_DECISION_RATE_LIMITED);
}

MAPS_TEST(decide_global_scope_is_shared_by_everyone)
{
	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'allow','tools':{'*':{"
			      "'limits':[{'counter':'c','window':60,'max':2,'scope':'global'}]}}}}}") == 0);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .cgroup = 1 }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .cgroup = 2, .session = "x" }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .cgroup = 3, .uid = 5, .pid = 6 }),
		     MCPF_DECISION_RATE_LIMITED);
}

MAPS_TEST(decide_only_calls_that_pass_everything_consume_budget)
{
	struct mcpf_rate_key key = { .counter = "c", .scope = MCPF_SCOPE_GRANT, .cgroup_id = 7,
				     .uid = 1000, .pid = 100, .server = "fs" };
	struct mcpf_rate_state state;
	struct decision d;

	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'allow','tools':{'t':{"
			      "'conditions':[{'path':'args.ok','op':'eq','value':true}],"
			      "'limits':[{'counter':'c','window':60,'max':2},"
			      "{'counter':'d','window':10,'max':100}]},"
			      "'u':{'limits':[{'counter':'d','window':10,'max':100}]}}}}}") == 0);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .args = "{\"ok\":false}" }), MCPF_DECISION_DENY);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .args = "{\"ok\":true}" }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .args = "{\"ok\":true}", .now = T0 + SEC }),
		     MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(run(f, (struct call){ .tool = "t", .args = "{\"ok\":true}", .now = T0 + 2 * SEC }, &d),
		     MCPF_DECISION_RATE_LIMITED);
	CHECK_INT_EQ(d.retry_after, 58);
	/* Concurrent readers use BPF_F_LOCK too and see whole entries. */
	CHECK(bpf_map_lookup_elem_flags(f->maps.rate, &key, &state, BPF_F_LOCK) == 0);
	CHECK_INT_EQ(state.count, 2);
	CHECK(state.window_start_ns == T0);
	CHECK(state.window_ns == 60 * SEC);
	/* The rate-limited call did not spend "d" either: 2 of 100 used, by t. */
	strcpy(key.counter, "d");
	CHECK(bpf_map_lookup_elem_flags(f->maps.rate, &key, &state, BPF_F_LOCK) == 0);
	CHECK_INT_EQ(state.count, 2);
	/* "d" is shared by t and u (same counter name). */
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "u", .now = T0 + 3 * SEC }), MCPF_DECISION_ALLOW);
	CHECK(bpf_map_lookup_elem_flags(f->maps.rate, &key, &state, BPF_F_LOCK) == 0);
	CHECK_INT_EQ(state.count, 3);
}

MAPS_TEST(decide_rate_limit_shorthand_and_expiry)
{
	struct decision d;

	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'allow','tools':{"
			      "'t':{'rate_limit':{'max':2,'window':10}}}}}}") == 0);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .now = T0 }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .now = T0 + 9 * SEC }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(run(f, (struct call){ .tool = "t", .now = T0 + 9 * SEC + 1 }, &d), MCPF_DECISION_RATE_LIMITED);
	CHECK_STR_EQ(d.rule, "tools.t.rate_limit");
	CHECK_INT_EQ(d.retry_after, 1);
	/* A new window opens at the first call after the old one ended. */
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .now = T0 + 25 * SEC }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .now = T0 + 34 * SEC }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(run(f, (struct call){ .tool = "t", .now = T0 + 34 * SEC }, &d), MCPF_DECISION_RATE_LIMITED);
	CHECK_INT_EQ(d.retry_after, 1);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .now = T0 + 35 * SEC }), MCPF_DECISION_ALLOW);
	/* Expired budgets can be pruned; live ones stay. */
	CHECK_INT_EQ(rate_prune(f->maps.rate, T0 + 44 * SEC), 0);
	CHECK_INT_EQ(rate_prune(f->maps.rate, T0 + 45 * SEC), 1);
}

MAPS_TEST(decide_rate_state_survives_reload_and_restart)
{
	const char *policy = "{'version':'1','servers':{'fs':{'default':'allow','tools':{'t':{"
			     "'limits':[{'counter':'c','window':60,'max':3}]}}}}}";

	CHECK(fixture_compile(f, policy) == 0);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t" }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t" }), MCPF_DECISION_ALLOW);
	CHECK(fixture_compile(f, policy) == 0);             /* reload */
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t" }), MCPF_DECISION_ALLOW);
	CHECK(fixture_reopen(f) == 0);                      /* daemon restart */
	CHECK(policy_active_generation(&f->maps) == 2);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t" }), MCPF_DECISION_RATE_LIMITED);
	CHECK(fixture_compile(f, policy) == 0);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t" }), MCPF_DECISION_RATE_LIMITED);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .now = T0 + 60 * SEC }), MCPF_DECISION_ALLOW);
}

MAPS_TEST(decide_generation_flip_is_atomic)
{
	struct policy *next = policy_from("{'version':'1','servers':{'db':{'endpoints':[':5432'],"
					  "'default':'deny','tools':{'q':{'conditions':"
					  "[{'path':'args.x','op':'eq','value':1}]}}}}}");
	struct mcpf_endpoint fs_ep = { .addr.b = { [10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1 },
				       .port = 3002 };
	struct mcpf_endpoint db_ep = { .port = 5432 };
	struct mcpf_target target;
	unsigned int gen = 0;
	char err[256];
	int staged, activated;

	CHECK(next != NULL);
	if (fixture_compile(f, "{'version':'1','servers':{'fs':{'endpoints':['127.0.0.1:3002'],"
			    "'default':'allow','tools':{'rm':{'action':'deny','conditions':"
			    "[{'path':'args.x','op':'eq','value':1}]}}}}}")) {
		policy_free(next);
		CHECK(!"compile");
	}
	staged = policy_stage(&f->maps, next, &gen, err, sizeof(err));
	/* Staged but not active: every decision still sees generation 1 whole. */
	if (!staged) {
		CHECK_INT_EQ(gen, 2);
		CHECK_INT_EQ(policy_active_generation(&f->maps), 1);
		CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "rm" }), MCPF_DECISION_DENY);
		CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "ls" }), MCPF_DECISION_ALLOW);
		CHECK_INT_EQ(verdict_of(f, (struct call){ .server = "db", .tool = "q" }), MCPF_DECISION_INVALID);
		CHECK_INT_EQ(entries_of_generation(f->maps.servers, sizeof(struct mcpf_policy_server_key), 1), 1);
		CHECK_INT_EQ(entries_of_generation(f->maps.tools, sizeof(struct mcpf_policy_tool_key), 1), 1);
		CHECK_INT_EQ(entries_of_generation(f->maps.conds, sizeof(struct mcpf_policy_cond_key), 1), 1);
		CHECK(bpf_map_lookup_elem(f->maps.targets, &fs_ep, &target) == 0);
		CHECK(bpf_map_lookup_elem(f->maps.targets, &db_ep, &target) != 0);
	}
	activated = staged ? -1 : policy_activate(&f->maps, next, gen, err, sizeof(err));
	policy_free(next);
	CHECK_INT_EQ(staged, 0);
	CHECK_INT_EQ(activated, 0);
	CHECK_INT_EQ(policy_active_generation(&f->maps), 2);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "rm" }), MCPF_DECISION_INVALID);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .server = "db", .tool = "q", .args = "{\"x\":1}" }),
		     MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .server = "db", .tool = "q", .args = "{\"x\":2}" }),
		     MCPF_DECISION_DENY);
	/* Generation 1 is gone from every map; targets follow the new policy. */
	CHECK_INT_EQ(entries_of_generation(f->maps.servers, sizeof(struct mcpf_policy_server_key), 1), 0);
	CHECK_INT_EQ(entries_of_generation(f->maps.tools, sizeof(struct mcpf_policy_tool_key), 1), 0);
	CHECK_INT_EQ(entries_of_generation(f->maps.conds, sizeof(struct mcpf_policy_cond_key), 1), 0);
	CHECK(bpf_map_lookup_elem(f->maps.targets, &fs_ep, &target) != 0);
	CHECK(bpf_map_lookup_elem(f->maps.targets, &db_ep, &target) == 0);
	CHECK_STR_EQ(target.server, "db");
}

MAPS_TEST(decide_interrupted_stage_is_cleaned_up)
{
	struct policy *p = policy_from("{'version':'1','servers':{'fs':{'default':'deny'}}}");
	unsigned int gen;
	char err[256];
	int first, second, activated;

	CHECK(p != NULL);
	first = policy_stage(&f->maps, p, &gen, err, sizeof(err));     /* never activated */
	second = policy_stage(&f->maps, p, &gen, err, sizeof(err));
	activated = policy_activate(&f->maps, p, gen, err, sizeof(err));
	policy_free(p);
	CHECK_INT_EQ(first, 0);
	CHECK_INT_EQ(second, 0);
	CHECK_INT_EQ(activated, 0);
	CHECK_INT_EQ(gen, 1);
	CHECK_INT_EQ(entries_of_generation(f->maps.servers, sizeof(struct mcpf_policy_server_key), 1), 1);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "x" }), MCPF_DECISION_DENY);
}

MAPS_TEST(decide_refuses_a_condition_missing_from_the_maps)
{
	struct mcpf_policy_cond_key key = { .generation = 1, .index = 1, .server = "fs", .tool = "t" };
	struct decision d;

	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'allow','tools':{'t':{'conditions':["
			      "{'path':'args.a','op':'exists'},{'path':'args.b','op':'exists'}]}}}}}") == 0);
	CHECK(bpf_map_delete_elem(f->maps.conds, &key) == 0);
	CHECK_INT_EQ(run(f, (struct call){ .tool = "t", .args = "{\"a\":1,\"b\":2}" }, &d), MCPF_DECISION_INVALID);
	CHECK_STR_EQ(d.rule, "tools.t.conditions[1]");
	CHECK_STR_EQ(d.reason, "condition cannot be evaluated");
}

/* ---- every other method (decide_method) ---- */

/* Agent A of run() at T0; args: JSON text or NULL. */
static enum mcpf_decision run_method(struct policy_fixture *f, const char *method, enum mcp_object kind,
			       const char *name, const char *args_json, struct decision *d)
{
	cJSON *args = args_json ? cJSON_Parse(args_json) : NULL;
	struct decide_request req = {
		.server = "fs", .method = method, .arguments = args,
		.target = { .kind = kind, .name = name, .match = name },
		.cgroup_id = 7, .uid = 1000, .pid = 100, .session = "s1", .now_ns = T0,
	};
	enum mcpf_decision v = decide_method(&f->maps, &req, d);

	cJSON_Delete(args);
	return v;
}

#define METHODS_POLICY(body) "{'version':'1','servers':{'fs':{'default':'deny'," body "}}}"

MAPS_TEST(decide_method_default_deny_covers_every_method_but_lists)
{
	struct decision d;

	CHECK(fixture_compile(f, METHODS_POLICY("'tools':{}")) == 0);
	CHECK_INT_EQ(run_method(f, "resources/read", MCP_OBJECT_RESOURCE, "demo://x", NULL, &d),
		     MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "default");
	CHECK_STR_EQ(d.reason, "resources/read of resource \"demo://x\" is not allowed by policy");
	CHECK_INT_EQ(run_method(f, "prompts/get", MCP_OBJECT_PROMPT, "p", NULL, &d), MCPF_DECISION_DENY);
	CHECK_INT_EQ(run_method(f, "tasks/result", MCP_OBJECT_NONE, NULL, NULL, &d), MCPF_DECISION_DENY);
	CHECK_INT_EQ(run_method(f, "logging/setLevel", MCP_OBJECT_NONE, NULL, NULL, &d), MCPF_DECISION_DENY);
	CHECK_INT_EQ(run_method(f, "some/future_method", MCP_OBJECT_NONE, NULL, NULL, &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.reason, "method some/future_method is not allowed by policy");
	/* lists are allowed (and filtered) unless their own entry denies them */
	CHECK_INT_EQ(run_method(f, "prompts/list", MCP_OBJECT_NONE, NULL, NULL, &d), MCPF_DECISION_ALLOW);
	CHECK_STR_EQ(d.rule, "methods");
	CHECK_INT_EQ(run_method(f, "tools/list", MCP_OBJECT_NONE, NULL, NULL, &d), MCPF_DECISION_ALLOW);
}

MAPS_TEST(decide_method_chain_named_family_method_any)
{
	struct decision d;

	CHECK(fixture_compile(f, METHODS_POLICY(
		"'methods':{'resources/read':{},'completion/complete':{'action':'deny','reason':'no completion'},"
		"'resources/list':{'action':'deny'},'*':{'action':'allow'}},"
		"'prompts':{'ok':{},'bad':{'action':'deny','reason':'not this one'},'*':{'action':'deny'}},"
		"'resources':{'demo://static/*':{'action':'deny','reason':'static is off'},"
		"'demo://static/doc/1':{},'demo://static/doc/*':{'action':'allow'},'demo://s*':{'action':'allow'}}")) == 0);
	/* methods entry without action allows what no resource rule names */
	CHECK_INT_EQ(run_method(f, "resources/read", MCP_OBJECT_RESOURCE, "demo://other", NULL, &d),
		     MCPF_DECISION_ALLOW);
	CHECK_STR_EQ(d.rule, "methods[\"resources/read\"]");
	/* the most literal pattern wins; the URI itself beats every glob */
	CHECK_INT_EQ(run_method(f, "resources/read", MCP_OBJECT_RESOURCE, "demo://static/x", NULL, &d),
		     MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "resources[\"demo://static/*\"].action");
	CHECK_STR_EQ(d.reason, "static is off");
	CHECK_INT_EQ(run_method(f, "resources/read", MCP_OBJECT_RESOURCE, "demo://static/doc/2", NULL, &d),
		     MCPF_DECISION_ALLOW);
	CHECK_STR_EQ(d.rule, "resources[\"demo://static/doc/*\"].action");
	CHECK_INT_EQ(run_method(f, "resources/read", MCP_OBJECT_RESOURCE, "demo://static/doc/1", NULL, &d),
		     MCPF_DECISION_ALLOW);
	CHECK_STR_EQ(d.rule, "resources[\"demo://static/doc/1\"]");
	/* subscribe is governed by the same resource rules */
	CHECK_INT_EQ(run_method(f, "resources/subscribe", MCP_OBJECT_RESOURCE, "demo://static/x", NULL, &d),
		     MCPF_DECISION_DENY);
	/* prompts: named, then "*" with an action */
	CHECK_INT_EQ(run_method(f, "prompts/get", MCP_OBJECT_PROMPT, "ok", NULL, &d), MCPF_DECISION_ALLOW);
	CHECK_STR_EQ(d.rule, "prompts.ok");
	CHECK_INT_EQ(run_method(f, "prompts/get", MCP_OBJECT_PROMPT, "bad", NULL, &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.reason, "not this one");
	CHECK_INT_EQ(run_method(f, "prompts/get", MCP_OBJECT_PROMPT, "other", NULL, &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "prompts.*.action");
	/* completion of an allowed prompt: the prompt entry decides first */
	CHECK_INT_EQ(run_method(f, "completion/complete", MCP_OBJECT_PROMPT, "ok", NULL, &d),
		     MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(run_method(f, "completion/complete", MCP_OBJECT_PROMPT, "bad", NULL, &d),
		     MCPF_DECISION_DENY);
	/* methods "*" with an action covers the rest; its own entry denies a list */
	CHECK_INT_EQ(run_method(f, "tasks/get", MCP_OBJECT_NONE, NULL, NULL, &d), MCPF_DECISION_ALLOW);
	CHECK_STR_EQ(d.rule, "methods.*.action");
	CHECK_INT_EQ(run_method(f, "resources/list", MCP_OBJECT_NONE, NULL, NULL, &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "methods[\"resources/list\"].action");
	CHECK_INT_EQ(run_method(f, "prompts/list", MCP_OBJECT_NONE, NULL, NULL, &d), MCPF_DECISION_ALLOW);
	CHECK_STR_EQ(d.rule, "methods");
	/* lists leave out what fetching would deny */
	CHECK(!policy_list_hidden(&f->maps, "fs", MCP_LIST_PROMPTS, "ok"));
	CHECK(policy_list_hidden(&f->maps, "fs", MCP_LIST_PROMPTS, "bad"));
	CHECK(policy_list_hidden(&f->maps, "fs", MCP_LIST_PROMPTS, "other"));
	CHECK(policy_list_hidden(&f->maps, "fs", MCP_LIST_RESOURCES, "demo://static/x"));
	CHECK(!policy_list_hidden(&f->maps, "fs", MCP_LIST_RESOURCES, "demo://static/doc/2"));
	CHECK(!policy_list_hidden(&f->maps, "fs", MCP_LIST_RESOURCES, "demo://other"));
	CHECK(policy_list_hidden(&f->maps, "fs", MCP_LIST_TEMPLATES, "demo://static/{id}"));
	CHECK(!policy_list_hidden(&f->maps, "nope", MCP_LIST_PROMPTS, "bad"));
}

MAPS_TEST(decide_method_hidden_conditions_and_limits)
{
	struct decision d;

	CHECK(fixture_compile(f, METHODS_POLICY(
		"'methods':{'*':{'limits':[{'counter':'all_methods','window':'minute','max':3}]}},"
		"'prompts':{'args':{'conditions':[{'path':'args.city','op':'eq','value':'Paris'}]}},"
		"'resources':{'*':{'action':'allow'}},"
		"'hide_prompts':['secret'],'hide_resources':['demo://private/*']")) == 0);
	CHECK_INT_EQ(run_method(f, "prompts/get", MCP_OBJECT_PROMPT, "secret", NULL, &d), MCPF_DECISION_HIDDEN);
	CHECK_STR_EQ(d.rule, "hide");
	CHECK_INT_EQ(run_method(f, "resources/read", MCP_OBJECT_RESOURCE, "demo://private/a", NULL, &d),
		     MCPF_DECISION_HIDDEN);
	CHECK_INT_EQ(run_method(f, "prompts/get", MCP_OBJECT_PROMPT, "args", "{\"city\":\"Rome\"}", &d),
		     MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "prompts.args.conditions[0]");
	CHECK_INT_EQ(run_method(f, "prompts/get", MCP_OBJECT_PROMPT, "args", "[1]", &d),
		     MCPF_DECISION_INVALID);
	/* methods."*" limits count every decided method, whichever entry allowed it */
	CHECK_INT_EQ(run_method(f, "prompts/get", MCP_OBJECT_PROMPT, "args", "{\"city\":\"Paris\"}", &d),
		     MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(run_method(f, "resources/read", MCP_OBJECT_RESOURCE, "demo://a", NULL, &d),
		     MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(run_method(f, "resources/read", MCP_OBJECT_RESOURCE, "demo://b", NULL, &d),
		     MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(run_method(f, "resources/read", MCP_OBJECT_RESOURCE, "demo://c", NULL, &d),
		     MCPF_DECISION_RATE_LIMITED);
	CHECK_STR_EQ(d.rule, "methods.*.limits[0]");
	/* list filtering asks the same rules */
	CHECK(policy_list_hidden(&f->maps, "fs", MCP_LIST_PROMPTS, "secret"));
	CHECK(!policy_list_hidden(&f->maps, "fs", MCP_LIST_PROMPTS, "args"));
	CHECK(policy_list_hidden(&f->maps, "fs", MCP_LIST_RESOURCES, "demo://private/x"));
	CHECK(policy_list_hidden(&f->maps, "fs", MCP_LIST_TEMPLATES, "demo://private/{id}"));
	CHECK(!policy_list_hidden(&f->maps, "fs", MCP_LIST_RESOURCES, "demo://public/x"));
}

/* A tool named like a method, prompt or resource entry never gets that
 * entry's rule: the prefixed names belong to other families. */
MAPS_TEST(decide_tool_names_with_entry_prefixes_get_no_entry)
{
	struct decision d;

	CHECK(fixture_compile(f, METHODS_POLICY("'methods':{'x':{'action':'allow'}},'hide_prompts':['p']")) == 0);
	CHECK_INT_EQ(run(f, (struct call){ .tool = "method:x" }, &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "default");
	CHECK(!policy_tool_hidden(&f->maps, "fs", "prompt:p"));
}

/* Resource globs come from the policy, URIs from the agent: a hostile URI
 * against a many-star pattern is decided at once. */
MAPS_TEST(decide_method_resource_match_is_bounded)
{
	struct decision d;
	char *uri = malloc(MCP_TARGET_NAME_MAX + 1);

	CHECK(fixture_compile(f, METHODS_POLICY("'resources':{'*a*a*a*a*a*a*b':{'action':'allow'}}")) == 0);
	memset(uri, 'a', MCP_TARGET_NAME_MAX);
	uri[MCP_TARGET_NAME_MAX] = '\0';
	CHECK_INT_EQ(run_method(f, "resources/read", MCP_OBJECT_RESOURCE, uri, NULL, &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "default");
	free(uri);
}

/* One agent spraying session ids fills its share of rate_state, not the
 * map: past RATE_OWNER_MAX budgets its new sessions are refused (invalid),
 * while another agent's, and its own existing budgets, keep working. */
MAPS_TEST(decide_one_agent_cannot_fill_rate_state)
{
	char session[32];
	struct decision d;

	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'allow','tools':{'t':{"
			      "'limits':[{'counter':'c','window':60,'max':5,'scope':'session'}]}}}}}") == 0);
	for (unsigned int i = 0; i < RATE_OWNER_MAX; i++) {
		snprintf(session, sizeof(session), "spray-%u", i);
		CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .session = session }), MCPF_DECISION_ALLOW);
	}
	CHECK_INT_EQ(run(f, (struct call){ .tool = "t", .session = "one-more" }, &d), MCPF_DECISION_INVALID);
	CHECK(strstr(d.reason, "rate-limit budgets already") != NULL);
	/* its existing sessions still count */
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .session = "spray-0" }), MCPF_DECISION_ALLOW);
	/* another agent (another cgroup), even naming the same session id, has its own */
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .cgroup = 8, .session = "spray-0" }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .cgroup = 8, .session = "new" }), MCPF_DECISION_ALLOW);
	/* windows over and pruned: the agent's share is free again */
	CHECK(rate_prune(f->maps.rate, T0 + 61 * SEC) > 0);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .session = "one-more", .now = T0 + 62 * SEC }),
		     MCPF_DECISION_ALLOW);
}

/* A call refused by a later budget of its own (here: the agent holds its
 * share of budgets, so a new session's cannot be made) spends none of the
 * earlier ones: a refused call never drains a budget shared with others. */
MAPS_TEST(decide_refused_by_a_later_budget_spends_no_earlier_one)
{
	char session[32];
	struct decision d;

	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'allow','tools':{'t':{"
			      "'limits':[{'counter':'g','window':60,'max':1026,'scope':'global'},"
			      "{'counter':'s','window':60,'max':5,'scope':'session'}]}}}}}") == 0);
	for (unsigned int i = 0; i < RATE_OWNER_MAX; i++) {
		snprintf(session, sizeof(session), "spray-%u", i);
		CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .session = session }), MCPF_DECISION_ALLOW);
	}
	for (int i = 0; i < 5; i++) {  /* each refused, each giving g's count back */
		CHECK_INT_EQ(run(f, (struct call){ .tool = "t", .session = "one-more" }, &d), MCPF_DECISION_INVALID);
		CHECK_STR_EQ(d.rule, "tools.t.limits[1]");
	}
	/* g holds RATE_OWNER_MAX (1024) of 1026: two more calls fit, the third does not */
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .session = "spray-0" }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "t", .session = "spray-1" }), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(run(f, (struct call){ .tool = "t", .session = "spray-2" }, &d), MCPF_DECISION_RATE_LIMITED);
	CHECK_STR_EQ(d.rule, "tools.t.limits[0]");
}

/* "approve" asks after conditions and limits, spending nothing;
 * decided again as approved, it spends like an allowed call. */
MAPS_TEST(decide_approve_checks_first_and_spends_only_when_approved)
{
	struct decision d;
	cJSON *args = cJSON_Parse("{\"path\":\"/srv/a\"}");
	struct decide_request req = { .server = "fs", .tool = "rm", .arguments = args, .cgroup_id = 7,
				      .uid = 1000, .pid = 100, .session = "s1", .now_ns = T0 };

	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'deny','tools':{"
				 "'rm':{'action':'approve','approval':{'timeout':'30s','remember':'5m'},"
				 "'conditions':[{'path':'args.path','op':'regex','value':'^/srv/'}],"
				 "'rate_limit':{'max':1,'window':60}}}}}}") == 0);
	for (int i = 0; i < 3; i++) {  /* asking spends nothing */
		CHECK_INT_EQ(decide(&f->maps, &req, &d), MCPF_DECISION_APPROVE);
		CHECK_STR_EQ(d.rule, "tools.rm.action");
		CHECK_INT_EQ(d.approval.timeout_s, 30);
		CHECK_INT_EQ(d.approval.remember_s, 300);
		CHECK_INT_EQ(d.approval.via, MCPF_VIA_ELICITATION | MCPF_VIA_OPERATOR);
	}
	req.approved = true;
	CHECK_INT_EQ(decide(&f->maps, &req, &d), MCPF_DECISION_ALLOW);
	/* the budget is spent now: nobody is asked for a call that cannot run */
	req.approved = false;
	CHECK_INT_EQ(decide(&f->maps, &req, &d), MCPF_DECISION_RATE_LIMITED);
	CHECK_INT_EQ(verdict_of(f, (struct call){ .tool = "rm", .args = "{\"path\":\"/etc\"}" }), MCPF_DECISION_DENY);
	cJSON_Delete(args);
}

/* look_only: the verdict of a call not made now (an elicitation answer
 * checked against the policy of the moment) spends no budget. */
MAPS_TEST(decide_look_only_spends_nothing)
{
	struct decision d;
	struct decide_request req = { .server = "fs", .tool = "ls", .cgroup_id = 7, .uid = 1000, .pid = 100,
				      .session = "s1", .now_ns = T0, .look_only = true };

	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'deny','tools':{"
				 "'ls':{'rate_limit':{'max':1,'window':60}}}}}}") == 0);
	for (int i = 0; i < 3; i++)
		CHECK_INT_EQ(decide(&f->maps, &req, &d), MCPF_DECISION_ALLOW);
	req.look_only = false;
	CHECK_INT_EQ(decide(&f->maps, &req, &d), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(decide(&f->maps, &req, &d), MCPF_DECISION_RATE_LIMITED);
	req.look_only = true;
	CHECK_INT_EQ(decide(&f->maps, &req, &d), MCPF_DECISION_RATE_LIMITED);
}
