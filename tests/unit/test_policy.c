/* Policy files: loading, endpoints and host names, agent scopes, method,
 * prompt and resource rules, and every validation error with its exact
 * "file:field: reason" text. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_policy.h"
#include "policy_fixture.h"

#define EXAMPLE "{'version':'1','default':'deny','tools':{'execute_pipeline':{'limits':" \
	"[{'counter':'execute_pipeline_rate','window':'minute','max':10,'scope':'grant'}]}}}"

/* A file around one server "fs" whose body ends with BODY. */
#define FS(body) "{'version':'1','servers':{'fs':{'endpoints':['127.0.0.1:3002'],'default':'allow'," \
	body "}}}"

/* Every error of a policy (written with ' for "), one per line; "" if it
 * loads. */
static const char *errors_of(const char *squoted)
{
	static char out[8192];
	struct policy_errors errs = {0};
	struct policy *policy;
	char *text = strdup(squoted);
	size_t len = 0;

	for (char *p = text; *p; p++)
		if (*p == '\'')
			*p = '"';
	out[0] = '\0';
	if (!policy_parse("t.json", text, strlen(text), &policy, &errs))
		policy_free(policy);
	for (size_t i = 0; i < errs.n; i++)
		len += snprintf(out + len, sizeof(out) - len, "%s\n", errs.line[i]);
	policy_errors_free(&errs);
	free(text);
	return out;
}

static const struct policy_tool *tool_of(const struct policy_server *s, const char *name)
{
	for (size_t i = 0; i < s->n_tools; i++)
		if (!strcmp(s->tools[i].name, name))
			return &s->tools[i];
	return NULL;
}

TEST(policy_policylayer_example_is_a_server_body)
{
	struct policy *p = policy_from("{'version':'1','servers':{'ci':" EXAMPLE "}}");
	const struct policy_tool *t;

	CHECK(p != NULL);
	CHECK_INT_EQ(p->n_servers, 1);
	CHECK_STR_EQ(p->servers[0].name, "ci");
	CHECK_INT_EQ(p->servers[0].default_action, MCPF_ACTION_DENY);
	CHECK_INT_EQ(p->servers[0].n_endpoints, 0);
	CHECK((t = tool_of(&p->servers[0], "execute_pipeline")) != NULL);
	CHECK_INT_EQ(t->rule.action, MCPF_ACTION_NONE);
	CHECK_INT_EQ(t->rule.limits, 1);
	CHECK_STR_EQ(t->rule.limit[0].counter, "execute_pipeline_rate");
	CHECK(t->rule.limit[0].window_ns == 60ULL * 1000000000ULL);
	CHECK_INT_EQ(t->rule.limit[0].max, 10);
	CHECK_INT_EQ(t->rule.limit[0].scope, MCPF_SCOPE_GRANT);
	policy_free(p);
}

/* Every window name, and a number of seconds, become the window's length. */
TEST(policy_windows_by_name_and_seconds)
{
	static const struct { const char *window; unsigned long long seconds; } cases[] = {
		{ "'second'", 1 }, { "'minute'", 60 }, { "'hour'", 3600 }, { "'day'", 86400 }, { "90", 90 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512];
		struct policy *p;
		const struct policy_tool *t;

		snprintf(text, sizeof(text),
			 FS("'tools':{'rm':{'limits':[{'counter':'c','window':%s,'max':1}]}}"), cases[i].window);
		CHECK((p = policy_from(text)) != NULL);
		if (!p)
			continue;
		CHECK((t = tool_of(&p->servers[0], "rm")) != NULL);
		if (t)
			CHECK(t->rule.limit[0].window_ns == cases[i].seconds * 1000000000ULL);
		policy_free(p);
	}
}

TEST(policy_endpoints_v4_v6_names_and_wildcard)
{
	struct policy *p = policy_from("{'version':'1','servers':{'a':{'default':'allow','endpoints':"
				       "['127.0.0.1:3002','[::1]:3002',':9000','localhost:8080','127.0.0.1:3002',"
				       "'LOCALHOST:8080','mcp.tools.svc.cluster.local:3001']}}}");
	const struct mcpf_endpoint *ep;
	unsigned char v4[16] = { [10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1 };
	unsigned char v6[16] = { [15] = 1 }, any[16] = {0};

	CHECK(p != NULL);
	if (!p)
		return;
	ep = p->servers[0].endpoints;
	CHECK_INT_EQ(p->servers[0].n_endpoints, 3);  /* duplicate merged */
	CHECK(!memcmp(ep[0].addr.b, v4, 16) && ep[0].port == 3002);
	CHECK(!memcmp(ep[1].addr.b, v6, 16) && ep[1].port == 3002);
	CHECK(!memcmp(ep[2].addr.b, any, 16) && ep[2].port == 9000);
	/* names are kept for the daemon to resolve, not resolved here */
	CHECK_INT_EQ(p->servers[0].n_hostnames, 2);
	CHECK_STR_EQ(p->servers[0].hostnames[0].host, "localhost");
	CHECK_INT_EQ(p->servers[0].hostnames[0].port, 8080);
	CHECK_STR_EQ(p->servers[0].hostnames[1].host, "mcp.tools.svc.cluster.local");
	CHECK_INT_EQ(p->servers[0].hostnames[1].port, 3001);
	CHECK_INT_EQ(p->n_endpoints, p->servers[0].n_endpoints);
	policy_free(p);
}

TEST(policy_hide_adds_hidden_entries)
{
	struct policy *p = policy_from(FS("'tools':{'a':{'action':'allow'}},'hide':['a','b']"));

	CHECK(p != NULL);
	CHECK_INT_EQ(p->n_tools, 2);
	CHECK(tool_of(&p->servers[0], "a")->rule.hidden);
	CHECK_INT_EQ(tool_of(&p->servers[0], "a")->rule.action, MCPF_ACTION_ALLOW);
	CHECK(tool_of(&p->servers[0], "b")->rule.hidden);
	policy_free(p);
}

TEST(policy_rejects_bad_json_and_shapes)
{
	CHECK_STR_EQ(errors_of("{'version':'1',\n 'servers': {,}}"),
		     "t.json: invalid JSON near line 2, column 15\n");
	CHECK_STR_EQ(errors_of("{} {}"), "t.json: unexpected data after the JSON document at line 1, column 4\n");
	CHECK_STR_EQ(errors_of("[1]"), "t.json: the policy must be a JSON object\n");
	CHECK_STR_EQ(errors_of(EXAMPLE),
		     "t.json:servers: missing: wrap a PolicyLayer document as "
		     "{\"version\":\"1\",\"servers\":{\"NAME\":{\"endpoints\":[...], ...}}}\n");
	CHECK_STR_EQ(errors_of("{'servers':{},'extra':1,'version':2}"),
		     "t.json:extra: unknown key\n"
		     "t.json:version: must be \"1\"\n"
		     "t.json:servers: no servers\n");
	CHECK_STR_EQ(errors_of("{'version':'1','servers':[]}"), "t.json:servers: must be an object\n");
}

TEST(policy_rejects_bad_server_fields)
{
	CHECK_STR_EQ(errors_of("{'version':'1','servers':{'fs':{'version':'2','default':'maybe',"
			       "'endpoints':'x','tools':[],'hide':'a','colour':'red'},'fs':{'default':'allow'}}}"),
		     "t.json:servers.fs: duplicate key\n"
		     "t.json:servers.fs.colour: unknown key\n"
		     "t.json:servers.fs.version: must be \"1\"\n"
		     "t.json:servers.fs.default: must be \"allow\" or \"deny\"\n"
		     "t.json:servers.fs.endpoints: must be an array of \"HOST:PORT\" strings\n"
		     "t.json:servers.fs.tools: must be an object\n"
		     "t.json:servers.fs.hide: must be an array of tool names\n");
	CHECK_STR_EQ(errors_of("{'version':'1','servers':{'fs':{}}}"),
		     "t.json:servers.fs.default: missing\n");
	CHECK_STR_EQ(errors_of(FS("'hide':['*',3]")),
		     "t.json:servers.fs.hide[0]: \"*\" is not a tool name: list the tools to hide\n"
		     "t.json:servers.fs.hide[1]: must be a string\n");
}

TEST(policy_rejects_bad_endpoints)
{
	CHECK_STR_EQ(errors_of("{'version':'1','servers':{'a':{'default':'allow','endpoints':"
			       "['127.0.0.1','::1:80','[::1:80','[127.0.0.1]:80','1.2.3.4:0','1.2.3.4:99999',"
			       "'1.2.3.4:8x','[]:80',7]}}}"),
		     "t.json:servers.a.endpoints[0]: \"127.0.0.1\": expected HOST:PORT, [IPV6]:PORT or :PORT\n"
		     "t.json:servers.a.endpoints[1]: \"::1:80\": IPv6 addresses need brackets, as in [::1]:PORT\n"
		     "t.json:servers.a.endpoints[2]: \"[::1:80\": expected [IPV6]:PORT\n"
		     "t.json:servers.a.endpoints[3]: \"[127.0.0.1]:80\": \"127.0.0.1\" is not an IPv6 address\n"
		     "t.json:servers.a.endpoints[4]: \"1.2.3.4:0\": port must be 1-65535\n"
		     "t.json:servers.a.endpoints[5]: \"1.2.3.4:99999\": port must be 1-65535\n"
		     "t.json:servers.a.endpoints[6]: \"1.2.3.4:8x\": port must be 1-65535\n"
		     "t.json:servers.a.endpoints[7]: \"[]:80\": bad host\n"
		     "t.json:servers.a.endpoints[8]: must be a string\n");
}

/* DNS may not be up when the policy is read (a pod starting before
 * cluster DNS): a name that does not resolve is not an error. */
TEST(policy_accepts_names_that_do_not_resolve_yet)
{
	CHECK_STR_EQ(errors_of("{'version':'1','servers':{'a':{'default':'allow','endpoints':"
			       "['nonexistent.invalid:80']}}}"), "");
	CHECK_STR_EQ(errors_of("{'version':'1','servers':{'a':{'default':'allow','endpoints':"
			       "['bad/name:80']}}}"),
		     "t.json:servers.a.endpoints[0]: \"bad/name:80\": \"bad/name\" is not a host name\n");
}

TEST(policy_rejects_duplicate_endpoints_across_servers)
{
	CHECK_STR_EQ(errors_of("{'version':'1','servers':{"
			       "'a':{'default':'allow','endpoints':['127.0.0.1:3002',':9000']},"
			       "'b':{'default':'allow','endpoints':['[::ffff:127.0.0.1]:3002',':9000']}}}"),
		     "t.json:servers.b.endpoints[0]: 127.0.0.1:3002 is also an endpoint of server \"a\": "
		     "neither has \"agents\"\n"
		     "t.json:servers.b.endpoints[1]: *:9000 is also an endpoint of server \"a\": "
		     "neither has \"agents\"\n");
	CHECK_STR_EQ(errors_of("{'version':'1','servers':{"
			       "'a':{'default':'allow','endpoints':['mcp.svc:3001']},"
			       "'b':{'default':'allow','endpoints':['MCP.svc:3001']}}}"),
		     "t.json:servers.b.endpoints[0]: MCP.svc:3001 is also an endpoint of server \"a\": "
		     "neither has \"agents\"\n");
}

TEST(policy_rejects_names_longer_than_map_keys)
{
	char text[1024];
	const char *n64 = "a123456789012345678901234567890123456789012345678901234567890123";
	char want[1024];

	snprintf(text, sizeof(text), "{'version':'1','servers':{'%s':{'default':'allow'},"
		 "'fs':{'default':'allow','tools':{'%s':{},'t':{'limits':[{'counter':'%s%s',"
		 "'window':1,'max':1}]}}}}}", n64, n64, n64, n64);
	snprintf(want, sizeof(want),
		 "t.json:servers.%s: name longer than 63 bytes\n"
		 "t.json:servers.fs.tools.%s: name longer than 63 bytes\n"
		 "t.json:servers.fs.tools.t.limits[0].counter: name longer than 79 bytes\n",
		 n64, n64);
	CHECK_STR_EQ(errors_of(text), want);
	CHECK_STR_EQ(errors_of("{'version':'1','servers':{'':{'default':'allow'}}}"),
		     "t.json:servers[\"\"]: empty name\n");
}

TEST(policy_rejects_bad_tool_entries)
{
	CHECK_STR_EQ(errors_of(FS("'tools':{'rm':{'action':'nuke','reason':5,'colour':1},"
				  "'a.b':{'rate_limit':{'max':-1,'window':0,'burst':2}},"
				  "'c':[],'c2':{'limits':{},'conditions':'x'},'c3':{'rate_limit':{}}}")),
		     "t.json:servers.fs.tools.rm.colour: unknown key\n"
		     "t.json:servers.fs.tools.rm.action: must be \"allow\", \"deny\" or \"approve\"\n"
		     "t.json:servers.fs.tools.rm.reason: must be a string\n"
		     "t.json:servers.fs.tools[\"a.b\"].rate_limit.burst: unknown key\n"
		     "t.json:servers.fs.tools[\"a.b\"].rate_limit.max: must be a positive integer (at most 4294967295)\n"
		     "t.json:servers.fs.tools[\"a.b\"].rate_limit.window: must be a positive integer (at most 4294967295)\n"
		     "t.json:servers.fs.tools.c: must be an object\n"
		     "t.json:servers.fs.tools.c2.limits: must be an array\n"
		     "t.json:servers.fs.tools.c2.conditions: must be an array\n"
		     "t.json:servers.fs.tools.c3.rate_limit.max: missing\n"
		     "t.json:servers.fs.tools.c3.rate_limit.window: missing\n");
}

TEST(policy_rejects_bad_limits)
{
	CHECK_STR_EQ(errors_of(FS("'tools':{'rm':{'limits':["
				  "{'counter':'a','window':'fortnight','max':0,'scope':'team'},"
				  "{'counter':'b c','window':-5,'max':1.5,'scope':3},"
				  "{'what':1},"
				  "{'counter':'ok','window':'hour','max':5,'scope':'agent'}]},"
				  "'mv':{'limits':[{'counter':'ok','window':3600,'max':9,'scope':'global'}]}}")),
		     "t.json:servers.fs.tools.rm.limits[0].window: unknown window \"fortnight\" (second, minute, hour, day or a number of seconds)\n"
		     "t.json:servers.fs.tools.rm.limits[0].max: must be a positive integer (at most 4294967295)\n"
		     "t.json:servers.fs.tools.rm.limits[0].scope: unknown scope \"team\" (grant, agent, session, global)\n"
		     "t.json:servers.fs.tools.rm.limits[1].counter: counter names are letters, digits, '_', '.' and '-'\n"
		     "t.json:servers.fs.tools.rm.limits[1].window: must be a positive integer (at most 4294967295)\n"
		     "t.json:servers.fs.tools.rm.limits[1].max: must be a positive integer (at most 4294967295)\n"
		     "t.json:servers.fs.tools.rm.limits[1].scope: unknown scope (not a string) (grant, agent, session, global)\n"
		     "t.json:servers.fs.tools.rm.limits[2].what: unknown key\n"
		     "t.json:servers.fs.tools.rm.limits[2].counter: missing\n"
		     "t.json:servers.fs.tools.rm.limits[2].window: missing\n"
		     "t.json:servers.fs.tools.rm.limits[2].max: missing\n"
		     "t.json:servers.fs.tools.mv.limits[0]: counter \"ok\" is defined with another window or scope at servers.fs.tools.rm.limits[3]\n");
}

/* A value the daemon would compare as another number (a double holds it
 * rounded) is refused; an exact one is stored as written, not in cJSON's
 * 15-digit print (0.10000000000000002 would become 0.1). */
TEST(policy_condition_numbers_must_be_exact)
{
	struct policy *p;

	CHECK_STR_EQ(errors_of(FS("'tools':{'t':{'conditions':["
				  "{'path':'args.a','op':'eq','value':9007199254740992},"
				  "{'path':'args.a','op':'in','value':[1,1000000000000000000]},"
				  "{'path':'args.a','op':'lt','value':0.10000000000000000001},"
				  "{'path':'args.a','op':'eq','value':{'k':[1e400]}}]}}")),
		     "t.json:servers.fs.tools.t.conditions[0].value: holds a number that cannot be compared exactly (2^53 or more, or more digits than a double keeps): servers read the digits, the daemon a double\n"
		     "t.json:servers.fs.tools.t.conditions[1].value: holds a number that cannot be compared exactly (2^53 or more, or more digits than a double keeps): servers read the digits, the daemon a double\n"
		     "t.json:servers.fs.tools.t.conditions[2].value: holds a number that cannot be compared exactly (2^53 or more, or more digits than a double keeps): servers read the digits, the daemon a double\n"
		     "t.json:servers.fs.tools.t.conditions[3].value: holds a number that cannot be compared exactly (2^53 or more, or more digits than a double keeps): servers read the digits, the daemon a double\n");
	p = policy_from(FS("'tools':{'t':{'conditions':[{'path':'args.a','op':'in',"
			   "'value':[0.10000000000000002,{'k':4503599627370497},1e2]}]}}"));
	CHECK(p != NULL);
	CHECK_STR_EQ(tool_of(&p->servers[0], "t")->cond[0].value, "[0.10000000000000002,{\"k\":4503599627370497},100]");
	policy_free(p);
}

/* neq / not_in fail for an argument of another type than their value(s),
 * so against null alone they could never hold. */
TEST(policy_neq_null_is_refused)
{
	CHECK_STR_EQ(errors_of(FS("'tools':{'t':{'conditions':["
				  "{'path':'args.a','op':'neq','value':null},"
				  "{'path':'args.a','op':'not_in','value':[null]},"
				  "{'path':'args.a','op':'not_in','value':[]},"
				  "{'path':'args.a','op':'not_in','value':[null,'x']},"
				  "{'path':'args.a','op':'eq','value':null}]}}")),
		     "t.json:servers.fs.tools.t.conditions[0].value: neq null never holds: an argument of another type fails it (use exists, or a value of the argument's type)\n"
		     "t.json:servers.fs.tools.t.conditions[1].value: not_in a list of nulls never holds: an argument of another type fails it (use exists, or values of the argument's type)\n"
		     "t.json:servers.fs.tools.t.conditions[2].value: not_in a list of nulls never holds: an argument of another type fails it (use exists, or values of the argument's type)\n");
}

TEST(policy_rejects_bad_conditions)
{
	CHECK_STR_EQ(errors_of(FS("'tools':{'rm':{'conditions':["
				  "{'path':'args.p','op':'like','value':1},"
				  "{'path':'args.p','op':'regex','value':'(unclosed'},"
				  "{'path':'p','op':'eq','value':1},"
				  "{'path':'args..p','op':'in','value':'x'},"
				  "{'path':'args.p','op':'lt','value':'5'},"
				  "{'path':'args.p','op':'exists','value':'yes'},"
				  "{'path':'args.p','op':'eq'},"
				  "{'op':'regex','value':5,'extra':true}]}}")),
		     "t.json:servers.fs.tools.rm.conditions[0].op: unknown op \"like\" (eq, neq, in, not_in, lt, lte, gt, gte, regex, contains, exists)\n"
		     "t.json:servers.fs.tools.rm.conditions[1].value: invalid regex: Unmatched ( or \\(\n"
		     "t.json:servers.fs.tools.rm.conditions[2].path: must be \"args.\" followed by dot-separated keys\n"
		     "t.json:servers.fs.tools.rm.conditions[3].path: must be \"args.\" followed by dot-separated keys\n"
		     "t.json:servers.fs.tools.rm.conditions[3].value: must be an array\n"
		     "t.json:servers.fs.tools.rm.conditions[4].value: must be a number\n"
		     "t.json:servers.fs.tools.rm.conditions[5].value: must be true or false\n"
		     "t.json:servers.fs.tools.rm.conditions[6].value: missing\n"
		     "t.json:servers.fs.tools.rm.conditions[7].extra: unknown key\n"
		     "t.json:servers.fs.tools.rm.conditions[7].path: missing\n"
		     "t.json:servers.fs.tools.rm.conditions[7].value: must be a string\n");
}

/* glibc's regcomp copies what + and {m,n} repeat: stacked or nested repeats
 * multiply, and a 100-byte pattern took over a gigabyte (fuzz_policy). */
TEST(policy_rejects_regexes_too_costly_to_compile)
{
	CHECK_STR_EQ(errors_of(FS("'tools':{'rm':{'conditions':["
				  "{'path':'args.p','op':'regex','value':'^/srv++++++++++++++++++++++++++++++/'},"
				  "{'path':'args.p','op':'regex','value':'((a{200}){200})'},"
				  "{'path':'args.p','op':'regex','value':'x{99999}'},"
				  "{'path':'args.p','op':'regex','value':'^/srv/[a-z0-9]{1,64}(/[a-z0-9._-]{1,255})*$'},"
				  "{'path':'args.p','op':'regex','value':'^(ab|c\\\\+)+[]x]{3}$'},"
				  "{'path':'args.p','op':'regex','value':'^[[:print:]]**{1,200}$'},"
				  "{'path':'args.p','op':'regex','value':'^[[:print:][:space:]]{1,200}$'}]}}")),
		     "t.json:servers.fs.tools.rm.conditions[0].value: regex too costly to compile (a repeat of a repeat, or repeats multiplying to over 1024 nodes)\n"
		     "t.json:servers.fs.tools.rm.conditions[1].value: regex too costly to compile (a repeat of a repeat, or repeats multiplying to over 1024 nodes)\n"
		     "t.json:servers.fs.tools.rm.conditions[2].value: regex too costly to compile (a repeat of a repeat, or repeats multiplying to over 1024 nodes)\n"
		     "t.json:servers.fs.tools.rm.conditions[5].value: regex too costly to compile (a repeat of a repeat, or repeats multiplying to over 1024 nodes)\n");
}

/* The daemon matches with linregex (linear in the argument): what it would
 * read otherwise than glibc, or match only by backtracking, is refused. */
TEST(policy_rejects_regexes_not_matched_in_linear_time)
{
	CHECK_STR_EQ(errors_of(FS("'tools':{'rm':{'conditions':["
				  "{'path':'args.p','op':'regex','value':'^(a+)\\\\1$'},"
				  "{'path':'args.p','op':'regex','value':'^\\\\d+$'},"
				  "{'path':'args.p','op':'regex','value':'\\\\<rm\\\\>'},"
				  "{'path':'args.p','op':'regex','value':'^x{,3}$'},"
				  "{'path':'args.p','op':'regex','value':'^x{256}$'},"
				  "{'path':'args.p','op':'regex','value':'^/srv/[\\\\d]+\\\\.txt$'},"
				  "{'path':'args.p','op':'regex','value':'((a?){0,31}){0,31}b'}]}}")),
		     "t.json:servers.fs.tools.rm.conditions[0].value: regex not supported: '\\' before a letter or digit (a back-reference, or an escape that is not POSIX ERE: write [0-9], [[:alnum:]_], [[:space:]] ...)\n"
		     "t.json:servers.fs.tools.rm.conditions[1].value: regex not supported: '\\' before a letter or digit (a back-reference, or an escape that is not POSIX ERE: write [0-9], [[:alnum:]_], [[:space:]] ...)\n"
		     "t.json:servers.fs.tools.rm.conditions[2].value: regex not supported: '\\' before < > ` or ' (GNU anchors, not POSIX ERE)\n"
		     "t.json:servers.fs.tools.rm.conditions[3].value: regex not supported: \"{,\" (write {0,n})\n"
		     "t.json:servers.fs.tools.rm.conditions[4].value: regex not supported: Invalid contents of {}\n"
		     "t.json:servers.fs.tools.rm.conditions[6].value: regex not supported: too costly to match (over 16384 automaton transitions)\n");
}

TEST(policy_rejects_what_does_not_fit_the_maps)
{
	char body[4096], text[8192], reason[300];
	size_t len;

	memset(reason, 'r', 256);
	reason[256] = '\0';
	len = snprintf(body, sizeof(body), "'tools':{'r':{'reason':'%s'},"
		       "'l':{'rate_limit':{'max':1,'window':1},'limits':[", reason);
	for (int i = 0; i < MCPF_TOOL_MAX_LIMITS; i++)
		len += snprintf(body + len, sizeof(body) - len, "%s{'counter':'c%d','window':1,'max':1}",
				i ? "," : "", i);
	len += snprintf(body + len, sizeof(body) - len, "]},'c':{'conditions':[");
	for (int i = 0; i <= MCPF_TOOL_MAX_CONDS; i++)
		len += snprintf(body + len, sizeof(body) - len, "%s{'path':'args.x','op':'exists'}",
				i ? "," : "");
	snprintf(body + len, sizeof(body) - len,
		 "]},'v':{'conditions':[{'path':'args.x','op':'eq','value':'%s'}]}}", reason);
	snprintf(text, sizeof(text), FS("%s"), body);
	CHECK_STR_EQ(errors_of(text),
		     "t.json:servers.fs.tools.r.reason: longer than 255 bytes\n"
		     "t.json:servers.fs.tools.l.limits: at most 8 limits per tool, rate_limit included (MCPF_TOOL_MAX_LIMITS)\n"
		     "t.json:servers.fs.tools.c.conditions: at most 16 conditions per tool (MCPF_TOOL_MAX_CONDS)\n"
		     "t.json:servers.fs.tools.v.conditions[0].value: longer than 255 bytes as JSON\n");
}

TEST(policy_rejects_more_tools_than_the_maps_hold)
{
	size_t cap = 32 * (MCPF_POLICY_MAX_TOOLS + 1) + 200, len;
	char *text = malloc(cap);
	const char *e;

	CHECK(text != NULL);
	len = snprintf(text, cap, "{'version':'1','servers':{'fs':{'default':'allow','tools':{");
	for (int i = 0; i <= MCPF_POLICY_MAX_TOOLS; i++)
		len += snprintf(text + len, cap - len, "%s't%d':{}", i ? "," : "", i);
	snprintf(text + len, cap - len, "}}}}");
	e = errors_of(text);
	free(text);
	char want[128];

	snprintf(want, sizeof(want), "t.json:servers: %d tool entries, the policy maps hold %d (MCPF_POLICY_MAX_TOOLS)\n",
		 MCPF_POLICY_MAX_TOOLS + 1, MCPF_POLICY_MAX_TOOLS);
	CHECK_STR_EQ(e, want);
}

TEST(policy_load_reads_files_and_reports_unreadable_ones)
{
	struct policy_errors errs = {0};
	struct policy *p;

	CHECK(policy_load("/nonexistent/p.json", &p, &errs) == -ENOENT);
	CHECK_INT_EQ(errs.n, 1);
	CHECK_STR_EQ(errs.line[0], "/nonexistent/p.json: cannot open: No such file or directory");
	policy_errors_free(&errs);
	CHECK(policy_load("policies/default.json", &p, &errs) == 0);
	CHECK_STR_EQ(p->servers[0].name, "everything");
	CHECK_INT_EQ(p->servers[0].n_endpoints, 2);
	policy_free(p);
	CHECK(policy_load("policies/example-strict.json", &p, &errs) == 0);
	policy_free(p);
}

/* Runs cmd_policy with stdout and stderr captured into out. */
static int run_captured(int argc, char **argv, char *out, size_t size)
{
	FILE *tmp = tmpfile();
	int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO), rc;
	size_t n;

	if (!tmp)
		return -1;
	fflush(stdout);
	fflush(stderr);
	dup2(fileno(tmp), STDOUT_FILENO);
	dup2(fileno(tmp), STDERR_FILENO);
	rc = cmd_policy(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	rewind(tmp);
	n = fread(out, 1, size - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	return rc;
}

TEST(policy_check_command_output_and_exit_codes)
{
	char good[] = "/tmp/mcpf-unit-policy-XXXXXX", bad[] = "/tmp/mcpf-unit-policy-XXXXXX";
	int good_fd = mkstemp(good), bad_fd = mkstemp(bad);
	const char *good_body = "{\"version\":\"1\",\"servers\":{\"x\":{\"default\":\"deny\","
				"\"endpoints\":[\"127.0.0.1:1\",\":2\"],\"tools\":{\"a\":{},\"*\":{}}}}}";
	const char *bad_body = "{\"version\":\"1\",\"servers\":{\"x\":{\"default\":1,\"more\":2}}}";
	char *ok_argv[] = { "policy", "check", good, NULL };
	char *bad_argv[] = { "policy", "check", good, bad, NULL };
	char *usage_argv[] = { "policy", "lint", good, NULL };
	char ok_out[512] = "", bad_out[1024] = "", usage_out[256] = "", want[1024];
	int wrote, ok = -1, failed = -1, usage = -1;

	wrote = good_fd >= 0 && bad_fd >= 0 &&
		write(good_fd, good_body, strlen(good_body)) == (ssize_t)strlen(good_body) &&
		write(bad_fd, bad_body, strlen(bad_body)) == (ssize_t)strlen(bad_body);
	close(good_fd);
	close(bad_fd);
	if (wrote) {
		ok = run_captured(3, ok_argv, ok_out, sizeof(ok_out));
		failed = run_captured(4, bad_argv, bad_out, sizeof(bad_out));
		usage = run_captured(3, usage_argv, usage_out, sizeof(usage_out));
	}
	unlink(good);
	unlink(bad);
	CHECK(wrote);
	CHECK_INT_EQ(ok, 0);
	snprintf(want, sizeof(want), "%s: ok (1 servers, 2 endpoints, 2 rules)\n", good);
	CHECK_STR_EQ(ok_out, want);
	CHECK_INT_EQ(failed, 1);
	snprintf(want, sizeof(want), "%s: ok (1 servers, 2 endpoints, 2 rules)\n"
		 "%s:servers.x.more: unknown key\n"
		 "%s:servers.x.default: must be \"allow\" or \"deny\"\n", good, bad, bad);
	CHECK_STR_EQ(bad_out, want);
	CHECK_INT_EQ(usage, 2);
	CHECK_STR_EQ(usage_out, "usage: mcpfence policy check FILE...\n");
}

/* Servers sharing an endpoint: allowed when at most one is unscoped and
 * no cgroup can be covered by two scopes (globs with FNM_PATHNAME,
 * covering descendants too, intersected exactly; a [...] class counted as
 * any byte but '/'). */
TEST(policy_agent_scopes_share_endpoints_only_when_disjoint)
{
	struct policy *p = policy_from("{'version':'1','servers':{"
		"'pod-a':{'default':'deny','endpoints':['127.0.0.1:3001'],'agents':['kubepods.slice/*-poda.slice/*']},"
		"'pod-b':{'default':'allow','endpoints':['127.0.0.1:3001'],'agents':['/kubepods.slice/*-podb.slice/*']},"
		"'user':{'default':'allow','endpoints':['127.0.0.1:3001'],'agents':['user.slice/user-1000.slice/*']},"
		"'rest':{'default':'deny','endpoints':['127.0.0.1:3001']}}}");

	CHECK(p != NULL);
	if (p) {
		CHECK_INT_EQ(p->servers[1].n_agents, 1);
		CHECK_STR_EQ(p->servers[1].agents[0], "kubepods.slice/*-podb.slice/*");  /* leading / dropped */
		CHECK_INT_EQ(p->servers[3].n_agents, 0);
		policy_free(p);
	}
	CHECK_STR_EQ(errors_of("{'version':'1','servers':{"
		"'a':{'default':'deny','endpoints':['127.0.0.1:3001'],'agents':['kubepods.slice/*']},"
		"'b':{'default':'allow','endpoints':['127.0.0.1:3001'],'agents':['*/pod1*']},"
		"'c':{'default':'allow','endpoints':['127.0.0.1:3001'],'agents':['user.slice/x','kubepods.slice/p']},"
		"'d':{'default':'allow','endpoints':['127.0.0.1:3001'],'agents':['k?bepods.slice/*-pod[ab].slice/*']},"
		"'e':{'default':'allow','endpoints':['127.0.0.1:3001'],'agents':['user.slice/*','user.slice/y']},"
		"'f':{'default':'allow','endpoints':['127.0.0.1:3001'],'agents':['user.slice']}}}"),
		"t.json:servers.b.endpoints[0]: 127.0.0.1:3001 is also an endpoint of server \"a\": "
		"agents \"kubepods.slice/*\" and \"*/pod1*\" may match the same cgroup\n"
		"t.json:servers.c.endpoints[0]: 127.0.0.1:3001 is also an endpoint of server \"a\": "
		"agents \"kubepods.slice/*\" and \"kubepods.slice/p\" may match the same cgroup\n"
		"t.json:servers.d.endpoints[0]: 127.0.0.1:3001 is also an endpoint of server \"a\": "
		"agents \"kubepods.slice/*\" and \"k?bepods.slice/*-pod[ab].slice/*\" may match the same cgroup\n"
		"t.json:servers.d.endpoints[0]: 127.0.0.1:3001 is also an endpoint of server \"b\": "
		"agents \"*/pod1*\" and \"k?bepods.slice/*-pod[ab].slice/*\" may match the same cgroup\n"
		"t.json:servers.e.endpoints[0]: 127.0.0.1:3001 is also an endpoint of server \"b\": "
		"agents \"*/pod1*\" and \"user.slice/*\" may match the same cgroup\n"
		"t.json:servers.e.endpoints[0]: 127.0.0.1:3001 is also an endpoint of server \"c\": "
		"agents \"user.slice/x\" and \"user.slice/*\" may match the same cgroup\n"
		"t.json:servers.f.endpoints[0]: 127.0.0.1:3001 is also an endpoint of server \"b\": "
		"agents \"*/pod1*\" and \"user.slice\" may match the same cgroup\n"
		"t.json:servers.f.endpoints[0]: 127.0.0.1:3001 is also an endpoint of server \"c\": "
		"agents \"user.slice/x\" and \"user.slice\" may match the same cgroup\n"
		"t.json:servers.f.endpoints[0]: 127.0.0.1:3001 is also an endpoint of server \"e\": "
		"agents \"user.slice/*\" and \"user.slice\" may match the same cgroup\n");
	/* a '[' at the end of a pattern is a literal, not a class */
	CHECK_STR_EQ(errors_of("{'version':'1','servers':{"
		"'a':{'default':'deny','endpoints':['127.0.0.1:3001'],'agents':['x/[']},"
		"'b':{'default':'allow','endpoints':['127.0.0.1:3001'],'agents':['x/?']}}}"),
		"t.json:servers.b.endpoints[0]: 127.0.0.1:3001 is also an endpoint of server \"a\": "
		"agents \"x/[\" and \"x/?\" may match the same cgroup\n");
	CHECK_STR_EQ(errors_of(FS("'agents':[]")),
		     "t.json:servers.fs.agents: must be a non-empty array of cgroup path patterns "
		     "(leave it out for every agent)\n");
	CHECK_STR_EQ(errors_of(FS("'agents':['/',3]")),
		     "t.json:servers.fs.agents[0]: must be a cgroup path pattern such as \"kubepods.slice/*pod1234*\"\n"
		     "t.json:servers.fs.agents[1]: must be a string\n");
}

TEST(policy_methods_prompts_and_resources_become_prefixed_entries)
{
	struct policy *p = policy_from(FS("'methods':{'resources/read':{'action':'deny','reason':'no'},"
					  "'*':{'limits':[{'counter':'m','window':'minute','max':5}]}},"
					  "'prompts':{'simple':{'conditions':[{'path':'args.x','op':'exists'}]}},"
					  "'resources':{'demo://x/*':{'action':'allow'}},"
					  "'hide_prompts':['simple','secret'],'hide_resources':['*']"));
	const struct policy_tool *t;

	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_INT_EQ(p->servers[0].n_tools, 6);
	CHECK((t = tool_of(&p->servers[0], "method:resources/read")) && t->rule.action == MCPF_ACTION_DENY);
	CHECK((t = tool_of(&p->servers[0], "method:*")) && t->rule.limits == 1);
	CHECK((t = tool_of(&p->servers[0], "prompt:simple")) && t->rule.conditions == 1 && t->rule.hidden);
	CHECK((t = tool_of(&p->servers[0], "prompt:secret")) && t->rule.hidden);
	CHECK((t = tool_of(&p->servers[0], "uri:demo://x/*")) && t->rule.action == MCPF_ACTION_ALLOW);
	CHECK((t = tool_of(&p->servers[0], "uri:*")) && t->rule.hidden);
	policy_free(p);
}

TEST(policy_rejects_bad_method_prompt_and_resource_rules)
{
	CHECK_STR_EQ(errors_of(FS("'methods':{'tools/call':{},'initialize':{},'ping':{},"
				  "'notifications/initialized':{},'x':{'conditions':[]}},"
				  "'resources':{'a':{'conditions':[]},"
				  "'a123456789012345678901234567890123456789012345678901234567890':{}},"
				  "'tools':{'method:x':{},'uri:y':{}},'prompts':{'p':{'action':'hide'}},"
				  "'hide_prompts':['*'],'hide_resources':'x'")),
		     "t.json:servers.fs.tools[\"method:x\"]: tool names cannot start with \"method:\", "
		     "\"prompt:\" or \"uri:\"\n"
		     "t.json:servers.fs.tools[\"uri:y\"]: tool names cannot start with \"method:\", "
		     "\"prompt:\" or \"uri:\"\n"
		     "t.json:servers.fs.methods[\"tools/call\"]: tools/call is governed by \"tools\"\n"
		     "t.json:servers.fs.methods.initialize: initialize is always forwarded (lifecycle): "
		     "it cannot have a rule\n"
		     "t.json:servers.fs.methods.ping: ping is always forwarded (lifecycle): it cannot have a rule\n"
		     "t.json:servers.fs.methods[\"notifications/initialized\"]: notifications/initialized is always "
		     "forwarded (lifecycle): it cannot have a rule\n"
		     "t.json:servers.fs.methods.x.conditions: unknown key\n"
		     "t.json:servers.fs.prompts.p.action: must be \"allow\" or \"deny\"\n"
		     "t.json:servers.fs.resources.a.conditions: unknown key\n"
		     "t.json:servers.fs.resources.a123456789012345678901234567890123456789012345678901234567890: "
		     "name longer than 59 bytes\n"
		     "t.json:servers.fs.hide_prompts[0]: \"*\" is not a prompt name: list the prompts to hide\n"
		     "t.json:servers.fs.hide_resources: must be an array of resource URI pattern names\n");
}

TEST(policy_approve_action_and_its_parameters)
{
	struct policy *p = policy_from("{'version':'1','servers':{'fs':{'default':'deny','tools':{"
				       "'rm':{'action':'approve','approval':{'timeout':'90s','remember':'1h',"
				       "'via':['operator']}},'*':{'action':'approve'}}}}}");
	const struct policy_tool *t;

	CHECK(p != NULL);
	CHECK((t = tool_of(&p->servers[0], "rm")) && t->rule.action == MCPF_ACTION_APPROVE);
	CHECK_INT_EQ(t->rule.approval.timeout_s, 90);
	CHECK_INT_EQ(t->rule.approval.remember_s, 3600);
	CHECK_INT_EQ(t->rule.approval.via, MCPF_VIA_OPERATOR);
	CHECK((t = tool_of(&p->servers[0], "*")) && t->rule.action == MCPF_ACTION_APPROVE);
	CHECK_INT_EQ(t->rule.approval.timeout_s, 120);  /* defaults */
	CHECK_INT_EQ(t->rule.approval.remember_s, 0);
	policy_free(p);
	CHECK_STR_EQ(errors_of(FS("'tools':{'a':{'action':'approve','approval':{'timeout':0,'remember':'2d',"
				  "'via':[],'x':1}},'b':{'approval':{}}},'prompts':{'p':{'action':'approve'}}")),
		     "t.json:servers.fs.tools.a.approval.x: unknown key\n"
		     "t.json:servers.fs.tools.a.approval.timeout: must be a duration like \"90s\", \"2m\" or \"1h\" "
		     "(at least 1s, at most 24h)\n"
		     "t.json:servers.fs.tools.a.approval.remember: must be a duration like \"90s\", \"2m\" or \"1h\" "
		     "(0 for none, at most 24h)\n"
		     "t.json:servers.fs.tools.a.approval.via: must be a non-empty array of \"elicitation\" and "
		     "\"operator\"\n"
		     "t.json:servers.fs.tools.b.approval: only with \"action\": \"approve\"\n"
		     "t.json:servers.fs.prompts.p.action: \"approve\" applies to tools only: must be \"allow\" or "
		     "\"deny\"\n");
}
