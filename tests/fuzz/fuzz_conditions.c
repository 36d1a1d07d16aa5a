/* conditions: the agent's tools/call arguments evaluated against every op
 * of the policy format, on paths into objects and arrays. Input: the
 * arguments JSON (only objects reach condition_eval in the daemon, but any
 * value must be safe). */
#include <string.h>

#include "json_number.h"
#include "policy_conditions.h"
#include "fuzz.h"

static const struct mcpf_policy_cond conds[] = {
	{MCPF_OP_EQ, "args.path", "\"/srv/a\""},
	{MCPF_OP_NEQ, "args.a.b.c", "{\"x\":[1,2]}"},
	{MCPF_OP_IN, "args.mode", "[\"r\",\"w\",1,null]"},
	{MCPF_OP_NOT_IN, "args.list.0", "[true,false]"},
	{MCPF_OP_LT, "args.n", "10"},
	{MCPF_OP_LTE, "args.items.3.size", "1e3"},
	{MCPF_OP_GT, "args.n", "-1.5"},
	{MCPF_OP_GTE, "args.deep.0.1.2", "0"},
	{MCPF_OP_REGEX, "args.path", "\"^/(srv|tmp)/[a-z]+$\""},
	{MCPF_OP_REGEX, "args.q", "\"(a|b)*c\""},
	{MCPF_OP_CONTAINS, "args.path", "\"..\""},
	{MCPF_OP_CONTAINS, "args.tags", "\"admin\""},
	{MCPF_OP_EXISTS, "args.force", "true"},
	{MCPF_OP_EXISTS, "args.x.y", "false"},
	{MCPF_OP_EXISTS, "args.z", ""},
	{MCPF_OP_EQ, "args", "{}"},
	{MCPF_OP_EQ, "args.999999999", "1"},
	{MCPF_OP_EQ, "args.9999999999", "1"},
	{MCPF_OP_REGEX, "args.path", "1"},
	{MCPF_OP_EQ, "args.path", "not json"},
	{MCPF_OP_EQ, "args.n", "4503599627370496"},
	{MCPF_OP_IN, "args.n", "[0.1, 0.10000000000000002, -0, 1e2]"},
	{MCPF_OP_NOT_IN, "args.n", "[1, \"1\"]"},
	{MCPF_OP_EQ, "args.n", "9007199254740992"},     /* not exact: unusable */
	{MCPF_OP_EQ, "args.n", "0.10000000000000000001"},
};
#define N (sizeof(conds) / sizeof(conds[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct compiled_cond cc[N];
	static bool ready;

	if (!ready) {
		for (size_t i = 0; i < N; i++) {
			cc[i].cond = conds[i];
			condition_compile(&cc[i]);
		}
		ready = true;
	}
	cJSON *args = cJSON_ParseWithLength((const char *)data, size);
	/* as the request parser does; text the strict reader refuses may not
	 * be walked, and then only the 2^53 test applies */
	if (args)
		(void)json_numbers_mark(args, (const char *)data, (struct json_span){ 0, size });
	FUZZ_ASSERT(!cc[N - 1].usable && !cc[N - 2].usable && cc[N - 3].usable);
	for (size_t i = 0; i < N; i++) {
		enum cond_result r = condition_eval(&cc[i], args);
		FUZZ_ASSERT(r == COND_HOLDS || r == COND_FAILS || r == COND_AMBIGUOUS || r == COND_BROKEN ||
			    r == COND_INEXACT || r == COND_WRONG_TYPE || r == COND_JSON_STRING);
		if (!cc[i].usable)
			FUZZ_ASSERT(r == COND_BROKEN);
		if (r == COND_INEXACT)
			FUZZ_ASSERT(args && json_holds_inexact(args));
		if (r == COND_WRONG_TYPE)
			FUZZ_ASSERT(cc[i].cond.op == MCPF_OP_NEQ || cc[i].cond.op == MCPF_OP_NOT_IN);
		/* on the string argument itself, exists and the number ops mean
		 * the same whatever a server parses it to: only a path below it */
		if (r == COND_JSON_STRING && (cc[i].cond.op == MCPF_OP_EXISTS || cc[i].cond.op == MCPF_OP_LT ||
					      cc[i].cond.op == MCPF_OP_LTE || cc[i].cond.op == MCPF_OP_GT ||
					      cc[i].cond.op == MCPF_OP_GTE))
			FUZZ_ASSERT(strchr(cc[i].cond.path + strlen("args."), '.'));
	}
	cJSON_Delete(args);
	return 0;
}
