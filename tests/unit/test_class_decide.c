/* decide() with class rules against a real inventory: a class that rests
 * on a server's annotations alone may only add restrictions to what the
 * tool would get without them (its evidence class, "*", default). */
#include <string.h>
#include <cjson/cJSON.h>

#include "decide.h"
#include "policy_fixture.h"
#include "tool_inventory.h"

/* The inventory records one tools/list answer of server fs: tool_json. */
static int listed(struct policy_fixture *f, const char *tool_json)
{
	struct tool_inventory inv;
	cJSON *t = cJSON_Parse(tool_json);
	int err;

	tool_inventory_init(&inv, f->maps.inventory, f->maps.inventory_servers);
	err = t ? tool_inventory_see(&inv, "fs", t, tool_inventory_answer(&inv)) : -1;
	cJSON_Delete(t);
	return err;
}

static enum mcpf_decision call(struct policy_fixture *f, const char *tool, struct decision *d)
{
	struct decide_request req = {
		.server = "fs", .tool = tool, .cgroup_id = 7, .uid = 1000, .pid = 100,
		.session = "s1", .now_ns = 1000ULL * 1000000000ULL,
	};

	return decide(&f->maps, &req, d);
}

/* run_code is execute by its name; destructiveHint: true alone makes it
 * destructive. The policy denies execute and says nothing of destructive:
 * the claim must not move the tool out from under classes.execute. */
MAPS_TEST(class_decide_annotation_cannot_escape_the_evidence_class)
{
	struct decision d;

	CHECK_INT_EQ(fixture_compile(f, "{'version':'1','servers':{'fs':{'endpoints':['127.0.0.1:1'],"
				     "'default':'allow','classes':{'execute':{'action':'deny','reason':'no exec'}}}}}"), 0);
	CHECK_INT_EQ(listed(f, "{\"name\":\"run_code\",\"description\":\"x\",\"inputSchema\":{\"type\":\"object\"},"
			       "\"annotations\":{\"destructiveHint\":true}}"), 0);
	CHECK_INT_EQ(call(f, "run_code", &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "classes.execute.action");
}

/* The evidence class limits a tool; a claimed class that allows without
 * limits must not drop them. */
MAPS_TEST(class_decide_annotation_class_adds_to_the_evidence_class)
{
	struct decision d;

	CHECK_INT_EQ(fixture_compile(f, "{'version':'1','servers':{'fs':{'endpoints':['127.0.0.1:1'],"
				     "'default':'allow','classes':{'execute':{'limits':[{'counter':'ex','window':'minute','max':1}]},"
				     "'destructive':{'conditions':[{'path':'args.force','op':'exists','value':false}]}}}}}"), 0);
	CHECK_INT_EQ(listed(f, "{\"name\":\"run_code\",\"inputSchema\":{\"type\":\"object\"},"
			       "\"annotations\":{\"readOnlyHint\":false}}"), 0);
	CHECK_INT_EQ(call(f, "run_code", &d), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(call(f, "run_code", &d), MCPF_DECISION_RATE_LIMITED);
	CHECK_STR_EQ(d.rule, "classes.execute.limits[0]");
}

/* Under default deny a claimed class never opens a tool (as before), and
 * a claimed class that denies still denies. */
MAPS_TEST(class_decide_annotation_class_only_tightens)
{
	struct decision d;

	CHECK_INT_EQ(fixture_compile(f, "{'version':'1','servers':{'fs':{'endpoints':['127.0.0.1:1'],"
				     "'default':'deny','classes':{'read':{},'execute':{},"
				     "'destructive':{'action':'deny','reason':'claimed destructive'}}}}}"), 0);
	CHECK_INT_EQ(listed(f, "{\"name\":\"frob\",\"annotations\":{\"readOnlyHint\":true}}"), 0);
	CHECK_INT_EQ(call(f, "frob", &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "default");
	CHECK_INT_EQ(listed(f, "{\"name\":\"run_job\",\"annotations\":{\"destructiveHint\":true}}"), 0);
	CHECK_INT_EQ(call(f, "run_job", &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "classes.destructive.action");
	CHECK_STR_EQ(d.reason, "claimed destructive");
}

/* Names no policy entry can take ("*", "class:...", "method:...") are
 * still held by on_change: deny when they appear after the baseline or
 * were never listed; a server cannot slip a new tool past the hold by
 * naming it so. */
MAPS_TEST(class_decide_on_change_holds_names_a_policy_cannot_take)
{
	struct decision d;

	CHECK_INT_EQ(fixture_compile(f, "{'version':'1','servers':{'fs':{'endpoints':['127.0.0.1:1'],"
				     "'default':'allow','on_change':'deny'}}}"), 0);
	CHECK_INT_EQ(listed(f, "{\"name\":\"echo\"}"), 0);
	CHECK_INT_EQ(call(f, "echo", &d), MCPF_DECISION_ALLOW);
	CHECK_INT_EQ(listed(f, "{\"name\":\"class:evil\"}"), 0);
	CHECK_INT_EQ(listed(f, "{\"name\":\"*\"}"), 0);
	CHECK_INT_EQ(call(f, "class:evil", &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "on_change");
	CHECK_INT_EQ(call(f, "*", &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "on_change");
	CHECK_INT_EQ(call(f, "method:never_listed", &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "on_change");
}

/* A claimed class that asks for approval tightens too: the call is held
 * for a human, and once approved it is decided as its evidence class says. */
MAPS_TEST(class_decide_annotation_class_asking_approval_holds)
{
	struct decision d;
	struct decide_request req = {
		.server = "fs", .tool = "run_job", .cgroup_id = 7, .uid = 1000, .pid = 100,
		.session = "s1", .now_ns = 1000ULL * 1000000000ULL,
	};

	CHECK_INT_EQ(fixture_compile(f, "{'version':'1','servers':{'fs':{'endpoints':['127.0.0.1:1'],"
				     "'default':'allow','classes':{'destructive':{'action':'approve'}}}}}"), 0);
	CHECK_INT_EQ(listed(f, "{\"name\":\"run_job\",\"annotations\":{\"destructiveHint\":true}}"), 0);
	CHECK_INT_EQ(call(f, "run_job", &d), MCPF_DECISION_APPROVE);
	CHECK_STR_EQ(d.rule, "classes.destructive.action");
	req.approved = true;
	CHECK_INT_EQ(decide(&f->maps, &req, &d), MCPF_DECISION_ALLOW);
}

/* A server that pads its listing past what the inventory records (here a
 * name too long to record) cannot lift a class rule off a tool it lists:
 * a tool without a row is denied on such a server, not left to "*". */
MAPS_TEST(class_decide_unrecorded_tools_are_denied_once_a_server_overflows)
{
	struct decision d;
	char long_tool[256];

	CHECK_INT_EQ(fixture_compile(f, "{'version':'1','servers':{'fs':{'endpoints':['127.0.0.1:1'],"
				     "'default':'allow','classes':{'execute':{'action':'deny'}}}}}"), 0);
	CHECK_INT_EQ(listed(f, "{\"name\":\"read_file\",\"annotations\":{\"readOnlyHint\":true}}"), 0);
	CHECK_INT_EQ(call(f, "never_listed", &d), MCPF_DECISION_ALLOW);  /* nothing dropped yet */
	snprintf(long_tool, sizeof(long_tool), "{\"name\":\"run_shell_%070d\"}", 0);
	CHECK_INT_EQ(listed(f, long_tool), 0);
	CHECK_INT_EQ(call(f, "never_listed", &d), MCPF_DECISION_DENY);
	CHECK_STR_EQ(d.rule, "classes");
	CHECK_INT_EQ(call(f, "read_file", &d), MCPF_DECISION_ALLOW);  /* recorded tools keep their class */
}
