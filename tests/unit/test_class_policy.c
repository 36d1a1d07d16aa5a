/* "classes" and "on_change" in a server entry: validated like tool
 * entries (the same parser), compiled as "class:NAME" entries. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "policy.h"

static struct policy *parse(const char *server_body, char *errors, size_t size)
{
	char text[2048];
	struct policy_errors errs = { 0 };
	struct policy *p = NULL;

	snprintf(text, sizeof(text), "{\"version\":\"1\",\"servers\":{\"fs\":{%s}}}", server_body);
	errors[0] = '\0';
	if (policy_parse("t.json", text, strlen(text), &p, &errs)) {
		for (size_t i = 0; i < errs.n; i++) {
			strncat(errors, errs.line[i], size - strlen(errors) - 2);
			strcat(errors, "\n");
		}
		policy_errors_free(&errs);
		return NULL;
	}
	return p;
}

static const struct policy_tool *entry(const struct policy *p, const char *name)
{
	for (size_t i = 0; i < p->servers[0].n_tools; i++)
		if (!strcmp(p->servers[0].tools[i].name, name))
			return &p->servers[0].tools[i];
	return NULL;
}

TEST(class_policy_entries_compile_under_the_class_prefix)
{
	char err[2048];
	struct policy *p = parse("\"default\":\"deny\",\"on_change\":\"deny\",\"tools\":{\"echo\":{}},"
				 "\"classes\":{\"read\":{},\"execute\":{\"limits\":[{\"counter\":\"ex\",\"window\":\"minute\","
				 "\"max\":10}],\"conditions\":[{\"path\":\"args.code\",\"op\":\"exists\",\"value\":false}]},"
				 "\"destructive\":{\"action\":\"deny\",\"reason\":\"no\"}}", err, sizeof(err));
	const struct policy_tool *t;

	CHECK_STR_EQ(err, "");
	CHECK(p != NULL);
	CHECK_INT_EQ(p->servers[0].n_tools, 5);
	CHECK((t = entry(p, "class:read")) && t->rule.action == MCPF_ACTION_NONE);
	CHECK((t = entry(p, "class:execute")) && t->rule.limits == 1 && t->rule.conditions == 1);
	CHECK((t = entry(p, "class:destructive")) && t->rule.action == MCPF_ACTION_DENY);
	CHECK_STR_EQ(t->rule.reason, "no");
	CHECK((t = entry(p, POLICY_ON_CHANGE_ENTRY)) && t->rule.action == MCPF_ACTION_DENY);
	CHECK(entry(p, "echo") != NULL);
	policy_free(p);
	/* "log" is the default and needs no entry */
	CHECK((p = parse("\"default\":\"allow\",\"on_change\":\"log\"", err, sizeof(err))) != NULL);
	CHECK_INT_EQ(p->servers[0].n_tools, 0);
	policy_free(p);
}

TEST(class_policy_rejects_unknown_classes_and_on_change_values)
{
	char err[2048];

	CHECK(!parse("\"default\":\"deny\",\"on_change\":\"block\",\"classes\":{\"admin\":{},\"read\":{\"action\":\"maybe\"},"
		     "\"unknown\":{},\"write\":{\"hide\":true}},\"tools\":{\"class:read\":{}}", err, sizeof(err)));
	CHECK_STR_EQ(err,
		     "t.json:servers.fs.on_change: must be \"log\" or \"deny\"\n"
		     "t.json:servers.fs.tools[\"class:read\"]: tool names cannot start with \"class:\" "
		     "(rules by class go in \"classes\")\n"
		     "t.json:servers.fs.classes.admin: unknown class \"admin\" (read, write, execute, financial, destructive)\n"
		     "t.json:servers.fs.classes.read.action: must be \"allow\", \"deny\" or \"approve\"\n"
		     "t.json:servers.fs.classes.unknown: unknown class \"unknown\" (read, write, execute, financial, "
		     "destructive)\n"
		     "t.json:servers.fs.classes.write.hide: unknown key\n");
	CHECK(!parse("\"default\":\"deny\",\"classes\":[]", err, sizeof(err)));
	CHECK_STR_EQ(err, "t.json:servers.fs.classes: must be an object\n");
}
