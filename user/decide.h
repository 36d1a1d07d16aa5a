/* The verdict on one tools/call, from the active policy generation in
 * the pinned maps (never from a parsed file), read through a snapshot
 * taken once per generation (policy_cache.h). Per call: one lookup of
 * policy_active, plus rate_state lookups and updates for the limits that
 * apply.
 *
 * Order, first match wins:
 *   1. no policy loaded / server not in the active policy: invalid
 *      (rule "policy" / "servers"), fail closed.
 *   2. tool named in the server's "hide": hidden (rule "hide").
 *   3. arguments present but not an object: invalid (rule "arguments").
 *   4. the action: the exact tool entry's "action"; an exact entry without
 *      "action" allows (listing a tool grants it, as in PolicyLayer); else,
 *      for a tool without an entry, an "on_change" hold (deny, rule
 *      on_change) or its class's entry, which then stands for the exact
 *      entry in steps 4-6 (rule classes.C...; class_rule.h); else
 *      the "*" entry's "action"; else the server's "default". A deny stops
 *      here with rule tools.T.action, tools.*.action or default.
 *   5. conditions of the "*" entry, then of the exact entry; all must
 *      hold. The first that fails denies the call with rule
 *      tools.T.conditions[i]. A path that is absent fails every op except
 *      exists; an op applied to the wrong type (lt on a string, regex on a
 *      number) fails; neq and not_in fail, saying so, for an argument of
 *      another JSON type than their value(s). A duplicated key on the path
 *      makes the call invalid: the server might read the other copy; so
 *      does an argument value holding a number a double does not hold as
 *      written (json_number.h): numbers are compared exactly or not at all.
 *   6. rate limits of the exact entry and of the "*" entry, all of them
 *      (a "*" limit applies to every call in addition to the tool's own).
 *      If any budget is spent the call is rate_limited (rule
 *      tools.T.limits[i] or tools.T.rate_limit of the first spent one) and
 *      retry_after is the longest wait among the spent ones. Only when all
 *      fit is one call counted in each distinct budget, so denied and
 *      rate-limited calls consume nothing.
 *   7. allow, with the rule of step 4.
 *
 * Action "approve" (tools and "*" only): steps 5 and 6 run, but step 6
 * only looks (nothing is spent), and the verdict is approve: the caller
 * holds the call for a human. Once approved, the caller decides it again
 * with req->approved set: "approve" then acts as allow and the budgets
 * are spent at that moment. A declined or unanswered call spends nothing;
 * an approved one is checked against the policy and budgets of the moment
 * it goes out (rate_limited if another call took the last slot meanwhile).
 *
 * Scopes: grant = one agent identity on one server, agent = one identity
 * on every server, session = one session key on one server, global = all
 * callers. Identity = (cgroup id, uid, pid): a restarted agent process is
 * a new grant; two agents in different cgroups never share one. The
 * caller passes pid 0 to count per cgroup (run --agent-identity cgroup),
 * so that spawning processes cannot buy fresh budgets. Budgets
 * are named by counter, so limits naming the same counter share it.
 *
 * Map errors and a full rate_state map give invalid: fail closed.
 */
#ifndef MCPF_DECIDE_H
#define MCPF_DECIDE_H

#include <stdbool.h>
#include <cjson/cJSON.h>
#include "mcp_method.h"
#include "policy_compile.h"
#include "stats_abi.h"   /* enum mcpf_decision: what decide() returns */

struct decide_request {
	const char *server;           /* from the connection record */
	const char *tool;             /* params.name, escapes decoded */
	const cJSON *arguments;       /* params.arguments, NULL if absent */
	bool arguments_unread;        /* the caller has not read them (jsonrpc_quick.h): a call
				       * whose entries have conditions is invalid, rule
				       * "arguments", before any budget is looked at; decide
				       * it again with its arguments */
	unsigned long long cgroup_id; /* agent identity */
	unsigned int uid;
	unsigned int pid;             /* 0: identity per cgroup */
	const char *session;          /* Mcp-Session-Id or a per-connection id */
	unsigned long long now_ns;    /* CLOCK_BOOTTIME, see boot_time_ns() */
	bool approved;                /* a human approved it: "approve" acts as allow */
	bool look_only;               /* the verdict only, for a call not made now: nothing is spent */
	/* decide_method() only: */
	const char *method;
	struct mcp_method_target target;  /* arguments: use .arguments above */
};

struct decision {
	enum mcpf_decision verdict;
	char rule[256];               /* "tools.delete_file.action", "default", ... */
	char reason[1024];            /* for the agent */
	unsigned int retry_after;     /* seconds, rate_limited only */
	unsigned int generation;      /* policy generation that decided */
	struct mcpf_approval approval; /* MCPF_DECISION_APPROVE: timeout, remember, via */
};

enum mcpf_decision decide(struct policy_maps *maps, const struct decide_request *req,
		    struct decision *out);

/*
 * Any other request (mcp_method.h: LIST or GOVERNED), by the same steps as
 * a tools/call, over a chain of entries, most specific first:
 *   named    prompts.NAME; or the resources pattern matching the URI best
 *            (the URI itself, else the glob with the most literal
 *            characters, then the longest, then the first in byte order)
 *   family   prompts."*" / resources."*"
 *   method   methods.METHOD
 *   any      methods."*"
 * Hidden (hide_prompts, hide_resources) first: rule "hide". Then the
 * action: the first of named or method that exists (an entry without
 * "action" allows), family or any when they carry an "action", else
 * "default". A LIST method has only its method entry and is allowed
 * without one. Conditions (prompt arguments, under "args.") of family
 * then named; limits of every entry of the chain.
 */
enum mcpf_decision decide_method(struct policy_maps *maps, const struct decide_request *req,
			   struct decision *out);

/* For tools/list filtering: is this tool hidden on this server? */
bool policy_tool_hidden(struct policy_maps *maps, const char *server, const char *tool);
/* Does the active policy have an entry of its own for this tool? */
bool policy_tool_named(struct policy_maps *maps, const char *server, const char *tool);

/* For every list: is the entry with this name (tool, prompt name,
 * resource URI or URI template) to be left out? Tools: when hidden, as
 * ever. Prompts, resources and templates: when hidden, or when the action
 * of the chain for prompts/get or resources/read denies it (conditions
 * and limits depend on the request and are not weighed), so under
 * default deny a list shows what the agent may fetch. */
bool policy_list_hidden(struct policy_maps *maps, const char *server, enum mcp_list list,
			const char *name);


#endif /* MCPF_DECIDE_H */
