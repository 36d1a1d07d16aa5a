/* One tools/call against the active policy generation; the order of the
 * checks is documented in decide.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "class_rule.h"
#include "decide.h"
#include "glob.h"
#include "mcp_uri.h"
#include "log.h"
#include "policy_cache.h"
#include "rate_limit.h"


/* An entry that applies to the call: the exact tool's or "*". */
struct entry {
	const struct cached_tool *tool;  /* NULL: the server has none */
	char field[160];                 /* "tools.read_file" */
};

/* A limit that applies, with the budget it draws on. */
struct applicable_limit {
	const struct mcpf_limit *limit;
	const struct entry *entry;
	struct mcpf_rate_key key;
	bool first_for_key;              /* count the call here, once per budget */
};

static enum mcpf_decision verdict(struct decision *out, enum mcpf_decision v, const char *rule,
			    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum mcpf_decision verdict(struct decision *out, enum mcpf_decision v, const char *rule,
			    const char *fmt, ...)
{
	va_list ap;

	out->verdict = v;
	copy_cut(out->rule, sizeof(out->rule), rule);
	if (!strchr(fmt, '%')) {  /* "allowed" and other fixed reasons */
		copy_cut(out->reason, sizeof(out->reason), fmt);
		return v;
	}
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
	return v;
}

static void find_entry(const struct policy_cache *cache, const char *server,
		       const char *tool, struct entry *e)
{
	e->tool = policy_cache_tool(cache, server, tool);
	policy_field_key(e->field, sizeof(e->field), "tools", tool);
}

static enum mcpf_decision check_conditions(const struct decide_request *req, const struct entry *e,
				     struct decision *out)
{
	char rule[sizeof(e->field) + 32];
	char what[MCPF_COND_PATH_LEN + MCPF_COND_VALUE_LEN + 128];
	const struct mcpf_policy_tool *entry = e->tool ? &e->tool->rule : NULL;

	for (unsigned int i = 0; entry && i < entry->conditions; i++) {
		const struct compiled_cond *c = &e->tool->cond[i];

		snprintf(rule, sizeof(rule), "%s.conditions[%u]", e->field, i);
		enum cond_result r = condition_eval(c, req->arguments);

		switch (r) {
		case COND_HOLDS:
			continue;
		case COND_BROKEN:
			return verdict(out, MCPF_DECISION_INVALID, rule, "condition cannot be evaluated");
		case COND_AMBIGUOUS:
			return verdict(out, MCPF_DECISION_INVALID, rule,
				       "arguments repeat a key on %s", c->cond.path);
		case COND_JSON_STRING:
			return verdict(out, MCPF_DECISION_INVALID, rule,
				       "%s reads an argument that is a string holding JSON (an object, array "
				       "or null), which a server may parse before the tool sees it",
				       c->cond.path);
		case COND_INEXACT:
			return verdict(out, MCPF_DECISION_INVALID, rule,
				       "%s holds a number that cannot be compared exactly "
				       "(2^53 or more, or more digits than a double keeps)", c->cond.path);
		case COND_FAILS:
		case COND_WRONG_TYPE:
			snprintf(what, sizeof(what), "condition not met: %s %s%s%s%s", c->cond.path,
				 policy_op_name(c->cond.op), c->cond.value[0] ? " " : "", c->cond.value,
				 r == COND_WRONG_TYPE ? ": the argument is of another JSON type" : "");
			if (entry->reason[0])
				return verdict(out, MCPF_DECISION_DENY, rule, "%s (%s)", entry->reason, what);
			return verdict(out, MCPF_DECISION_DENY, rule, "%s", what);
		}
	}
	return MCPF_DECISION_ALLOW;
}

static void limit_rule(char *out, size_t size, const struct applicable_limit *a)
{
	if (a->limit->shorthand)
		snprintf(out, size, "%s.rate_limit", a->entry->field);
	else
		snprintf(out, size, "%s.limits[%u]", a->entry->field, a->limit->index);
}

static enum mcpf_decision check_limits(struct policy_maps *maps, const struct decide_request *req,
				 const struct entry *entries, size_t n_entries, bool spend,
				 struct decision *out)
{
	struct applicable_limit all[4 * MCPF_TOOL_MAX_LIMITS];
	struct rate_undo undo[4 * MCPF_TOOL_MAX_LIMITS];
	const struct applicable_limit *spent = NULL;
	struct rate_subject subject = {
		.server = req->server, .session = req->session,
		.cgroup_id = req->cgroup_id, .uid = req->uid, .pid = req->pid,
	};
	unsigned long long longest = 0, wait;
	char rule[sizeof(out->rule)];
	size_t n = 0;
	int rc;

	for (size_t e = 0; e < n_entries; e++)
		for (unsigned int i = 0; entries[e].tool && i < entries[e].tool->rule.limits &&
					 i < MCPF_TOOL_MAX_LIMITS; i++) {
			struct applicable_limit *a = &all[n++];

			a->limit = &entries[e].tool->rule.limit[i];
			a->entry = &entries[e];
			rate_key(&a->key, a->limit, &subject);
			a->first_for_key = true;
			for (size_t j = 0; j + 1 < n; j++)
				if (!memcmp(&all[j].key, &a->key, sizeof(a->key)))
					a->first_for_key = false;
		}
	for (size_t i = 0; i < n; i++) {
		rc = rate_check(maps->rate, &all[i].key, all[i].limit, req->now_ns, &wait);
		if (rc < 0) {
			limit_rule(rule, sizeof(rule), &all[i]);
			return verdict(out, MCPF_DECISION_INVALID, rule, "rate-limit state unreadable: %s",
				       strerror(-rc));
		}
		if (!rc) {
			spent = spent ? spent : &all[i];
			longest = wait > longest ? wait : longest;
		}
	}
	if (spent) {
		limit_rule(rule, sizeof(rule), spent);
		out->retry_after = (longest + NS_PER_SEC - 1) / NS_PER_SEC;
		if (!out->retry_after)
			out->retry_after = 1;
		return verdict(out, MCPF_DECISION_RATE_LIMITED, rule,
			       "rate limit of %u calls per %llus reached (counter %s, scope %s); retry in %us",
			       spent->limit->max, spent->limit->window_ns / NS_PER_SEC,
			       spent->limit->counter, policy_scope_name(spent->limit->scope),
			       out->retry_after);
	}
	for (size_t i = 0; spend && i < n; i++) {
		if (!all[i].first_for_key)
			continue;
		rc = rate_consume(maps->rate, &all[i].key, all[i].limit, req->now_ns, &undo[i]);
		if (rc < 0) {
			/* a refused call spends nothing: the budgets counted
			 * before this one give their count back */
			for (size_t j = 0; j < i; j++)
				if (all[j].first_for_key && rate_unconsume(maps->rate, &all[j].key, &undo[j]))
					log_warn("rate-limit budget %s could not be given back", all[j].limit->counter);
			limit_rule(rule, sizeof(rule), &all[i]);
			if (rc == -EDQUOT)
				return verdict(out, MCPF_DECISION_INVALID, rule,
					       "this agent holds %u rate-limit budgets already, the most one agent may "
					       "(too many sessions at once)", RATE_OWNER_MAX);
			return verdict(out, MCPF_DECISION_INVALID, rule, "rate-limit state cannot be updated: %s",
				       strerror(-rc));
		}
	}
	return MCPF_DECISION_ALLOW;
}

enum mcpf_decision decide(struct policy_maps *maps, const struct decide_request *req,
		    struct decision *out)
{
	const struct policy_cache *cache;
	const struct mcpf_policy_server *server;
	struct entry entries[3];   /* exact, "*", a class that only adds (class_rule.h) */
	struct entry *exact = &entries[0], *wild = &entries[1], *also = &entries[2];
	const struct mcpf_policy_tool *decider;
	char rule[sizeof(out->rule)];
	enum mcpf_action action;
	enum mcpf_decision v;

	memset(out, 0, sizeof(*out));
	out->generation = policy_generation_now(maps);
	if (!out->generation)
		return verdict(out, MCPF_DECISION_INVALID, "policy", "no policy is loaded");
	if (!req->server || !req->tool)
		return verdict(out, MCPF_DECISION_INVALID, "servers", "the call has no server or tool");
	cache = policy_cache_for(maps, out->generation);
	if (!(server = policy_cache_server(cache, req->server)))
		return verdict(out, MCPF_DECISION_INVALID, "servers",
			       "server \"%s\" is not in the active policy", req->server);

	/* A tool called "*" gets no entry of its own: "*" means every tool;
	 * nor does one named like a method, prompt or resource entry. */
	find_entry(cache, req->server, strcmp(req->tool, "*") && !policy_name_reserved(req->tool) ? req->tool : "",
		   exact);
	find_entry(cache, req->server, "*", wild);
	also->tool = NULL;

	if (exact->tool && exact->tool->rule.hidden)
		return verdict(out, MCPF_DECISION_HIDDEN, "hide", "tool \"%s\" is hidden by policy", req->tool);
	if (req->arguments && !cJSON_IsObject(req->arguments))
		return verdict(out, MCPF_DECISION_INVALID, "arguments", "arguments must be an object");
	/* no entry of its own (never one for "*" or a reserved name): its
	 * class's entry, or an on_change hold */
	if (!exact->tool) {
		struct class_pick_out cp;

		switch (class_rule_pick(maps, cache, req->server, req->tool, &cp)) {
		case CLASS_PICK_HELD:
			return verdict(out, MCPF_DECISION_DENY, "on_change", "%s", cp.why);
		case CLASS_PICK_UNRECORDED:
			return verdict(out, MCPF_DECISION_DENY, "classes", "%s", cp.why);
		case CLASS_PICK_RULE:
			exact->tool = cp.rule;
			policy_field_key(exact->field, sizeof(exact->field), "classes", cp.class_name);
			also->tool = cp.also;
			policy_field_key(also->field, sizeof(also->field), "classes", cp.also_name);
			break;
		case CLASS_PICK_NONE:
			break;
		}
	}

	if (exact->tool) {
		decider = &exact->tool->rule;
		action = decider->action ? decider->action : MCPF_ACTION_ALLOW;
		size_t n = strnlen(exact->field, sizeof(exact->field) - 1);
		_Static_assert(sizeof(exact->field) + sizeof(".action") <= sizeof(rule), "rule holds field.action");

		memcpy(rule, exact->field, n);  /* field is shorter than rule: no snprintf needed */
		memcpy(rule + n, decider->action ? ".action" : "", decider->action ? sizeof(".action") : 1);
	} else if (wild->tool && wild->tool->rule.action) {
		decider = &wild->tool->rule;
		action = decider->action;
		snprintf(rule, sizeof(rule), "%s.action", wild->field);
	} else {
		decider = NULL;
		action = server->default_action;
		snprintf(rule, sizeof(rule), "default");
	}
	bool ask = action == MCPF_ACTION_APPROVE && !req->approved;

	if (action != MCPF_ACTION_ALLOW && action != MCPF_ACTION_APPROVE) {
		if (decider && decider->reason[0])
			return verdict(out, MCPF_DECISION_DENY, rule, "%s", decider->reason);
		return verdict(out, MCPF_DECISION_DENY, rule, decider ? "tool \"%s\" is denied by policy"
			       : "tool \"%s\" is not allowed by policy", req->tool);
	}
	if (also->tool && also->tool->rule.action == MCPF_ACTION_APPROVE) {
		/* a claimed class asking for approval tightens like a deny does */
		if (!ask && !req->approved) {
			ask = true;
			decider = &also->tool->rule;
			snprintf(rule, sizeof(rule), "%s.action", also->field);
		}
	} else if (also->tool && also->tool->rule.action && also->tool->rule.action != MCPF_ACTION_ALLOW) {
		snprintf(rule, sizeof(rule), "%s.action", also->field);
		if (also->tool->rule.reason[0])
			return verdict(out, MCPF_DECISION_DENY, rule, "%s", also->tool->rule.reason);
		return verdict(out, MCPF_DECISION_DENY, rule, "tool \"%s\" is denied by policy", req->tool);
	}

	for (int i = 0; i < 3 && req->arguments_unread; i++)
		if (entries[i].tool && entries[i].tool->rule.conditions)
			return verdict(out, MCPF_DECISION_INVALID, "arguments", "its arguments were not read");
	if ((v = check_conditions(req, wild, out)) != MCPF_DECISION_ALLOW ||
	    (v = check_conditions(req, exact, out)) != MCPF_DECISION_ALLOW ||
	    (v = check_conditions(req, also, out)) != MCPF_DECISION_ALLOW ||
	    (v = check_limits(maps, req, entries, 3, !ask && !req->look_only, out)) != MCPF_DECISION_ALLOW)
		return v;
	if (ask) {
		out->approval = decider->approval;
		if (decider->reason[0])
			return verdict(out, MCPF_DECISION_APPROVE, rule, "%s", decider->reason);
		return verdict(out, MCPF_DECISION_APPROVE, rule, "tool \"%s\" requires approval", req->tool);
	}
	return verdict(out, MCPF_DECISION_ALLOW, rule, "allowed");
}

/* An entry named prefix + name, for the rule field family.name. */
static void find_prefixed(const struct policy_cache *cache, const char *server, const char *prefix,
			  const char *family, const char *name, struct entry *e)
{
	char key[MCPF_NAME_LEN * 2];

	snprintf(key, sizeof(key), "%s%s", prefix, name);
	e->tool = policy_cache_tool(cache, server, key);
	policy_field_key(e->field, sizeof(e->field), family, name);
}

/* How specific a resource pattern is: its literal characters. */
static size_t literal_chars(const char *glob)
{
	size_t n = 0;

	for (; *glob; glob++)
		n += !strchr("*?[]\\", *glob);
	return n;
}

/* The resources entries for uri: the best match (named), "*" (family);
 * true when any matching entry hides it. */
static bool find_resource(const struct policy_cache *cache, const char *server, const char *uri,
			  struct entry *named, struct entry *family)
{
	const size_t plen = strlen(POLICY_URI_PREFIX);
	size_t n, best_lit = 0, best_len = 0;
	const struct cached_tool *run = policy_cache_prefixed(cache, server, POLICY_URI_PREFIX, &n), *best = NULL;
	bool hidden = false;

	family->tool = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *pat = run[i].tool + plen;
		size_t lit = literal_chars(pat), len = strlen(pat);

		if (!glob_match(pat, uri))
			continue;
		hidden |= run[i].rule.hidden;
		if (!strcmp(pat, "*")) {
			family->tool = &run[i];
			continue;
		}
		if (!best || !strcmp(pat, uri) ||
		    (strcmp(best->tool + plen, uri) && (lit > best_lit || (lit == best_lit && len > best_len)))) {
			best = &run[i];
			best_lit = lit;
			best_len = len;
		}
	}
	named->tool = best;
	policy_field_key(named->field, sizeof(named->field), "resources", best ? best->tool + plen : uri);
	policy_field_key(family->field, sizeof(family->field), "resources", "*");
	return hidden;
}

static const char *object_noun(enum mcp_object kind)
{
	return kind == MCP_OBJECT_PROMPT ? "prompt" : "resource";
}

/* The entries a request's decision walks (decide.h), and whether one
 * hides what it acts on. */
struct chain {
	struct entry e[4];               /* named, family, method, any */
	bool hidden;
	bool list;
};

static void build_chain(const struct policy_cache *cache, const char *server, const char *method,
			const struct mcp_method_target *tg, struct chain *c)
{
	struct entry *named = &c->e[0], *family = &c->e[1];

	memset(c, 0, sizeof(*c));
	c->list = mcp_method_class(method) == MCP_METHOD_LIST;
	if (tg->kind == MCP_OBJECT_PROMPT) {
		if (strcmp(tg->match, "*"))  /* "*" means every prompt, never one */
			find_prefixed(cache, server, POLICY_PROMPT_PREFIX, "prompts", tg->match, named);
		find_prefixed(cache, server, POLICY_PROMPT_PREFIX, "prompts", "*", family);
		c->hidden = named->tool && named->tool->rule.hidden;
	} else if (tg->kind == MCP_OBJECT_RESOURCE) {
		c->hidden = find_resource(cache, server, tg->match, named, family);
	}
	find_prefixed(cache, server, POLICY_METHOD_PREFIX, "methods", method, &c->e[2]);
	if (!c->list)
		find_prefixed(cache, server, POLICY_METHOD_PREFIX, "methods", "*", &c->e[3]);
}

/* The action of the first entry that decides (decide.h), its rule, and
 * the entry (NULL for "default" or an unlisted list method). */
static enum mcpf_action chain_action(const struct chain *c, const struct mcpf_policy_server *server,
				     char *rule, size_t rule_len, const struct mcpf_policy_tool **decider)
{
	const struct entry *from = NULL;

	if (c->e[0].tool)
		from = &c->e[0];
	else if (c->e[1].tool && c->e[1].tool->rule.action)
		from = &c->e[1];
	else if (c->e[2].tool)
		from = &c->e[2];
	else if (c->e[3].tool && c->e[3].tool->rule.action)
		from = &c->e[3];
	*decider = from ? &from->tool->rule : NULL;
	if (from) {
		snprintf(rule, rule_len, (*decider)->action ? "%s.action" : "%s", from->field);
		return (*decider)->action ? (*decider)->action : MCPF_ACTION_ALLOW;
	}
	snprintf(rule, rule_len, c->list ? "methods" : "default");
	return c->list ? MCPF_ACTION_ALLOW : server->default_action;
}

enum mcpf_decision decide_method(struct policy_maps *maps, const struct decide_request *req,
			   struct decision *out)
{
	const struct policy_cache *cache;
	const struct mcpf_policy_server *server;
	const struct mcp_method_target *tg = &req->target;
	const struct mcpf_policy_tool *decider;
	struct chain c;
	char rule[sizeof(out->rule)];
	enum mcpf_decision v;

	memset(out, 0, sizeof(*out));
	out->generation = policy_generation_now(maps);
	if (!out->generation)
		return verdict(out, MCPF_DECISION_INVALID, "policy", "no policy is loaded");
	if (!req->server || !req->method)
		return verdict(out, MCPF_DECISION_INVALID, "servers", "the request has no server or method");
	cache = policy_cache_for(maps, out->generation);
	if (!(server = policy_cache_server(cache, req->server)))
		return verdict(out, MCPF_DECISION_INVALID, "servers",
			       "server \"%s\" is not in the active policy", req->server);

	build_chain(cache, req->server, req->method, tg, &c);
	if (c.hidden)
		return verdict(out, MCPF_DECISION_HIDDEN, "hide", "%s \"%s\" is hidden by policy",
			       object_noun(tg->kind), tg->name);
	if (req->arguments && !cJSON_IsObject(req->arguments))
		return verdict(out, MCPF_DECISION_INVALID, "arguments", "arguments must be an object");
	if (chain_action(&c, server, rule, sizeof(rule), &decider) != MCPF_ACTION_ALLOW) {
		if (decider && decider->reason[0])
			return verdict(out, MCPF_DECISION_DENY, rule, "%s", decider->reason);
		if (tg->kind != MCP_OBJECT_NONE)
			return verdict(out, MCPF_DECISION_DENY, rule, "%s of %s \"%s\" is not allowed by policy",
				       req->method, object_noun(tg->kind), tg->name);
		return verdict(out, MCPF_DECISION_DENY, rule, "method %s is not allowed by policy", req->method);
	}
	if ((v = check_conditions(req, &c.e[1], out)) != MCPF_DECISION_ALLOW ||
	    (v = check_conditions(req, &c.e[0], out)) != MCPF_DECISION_ALLOW ||
	    (v = check_limits(maps, req, c.e, 4, true, out)) != MCPF_DECISION_ALLOW)
		return v;
	return verdict(out, MCPF_DECISION_ALLOW, rule, "allowed");
}

bool policy_list_hidden(struct policy_maps *maps, const char *server, enum mcp_list list,
			const char *name)
{
	unsigned int gen = policy_generation_now(maps);
	const struct policy_cache *cache;
	const struct mcpf_policy_server *srv;
	const struct mcpf_policy_tool *decider;
	struct mcp_method_target tg = { .name = name, .match = name };
	struct chain c;
	char rule[256], form[MCP_TARGET_NAME_MAX + 1];
	const char *why;

	if (list == MCP_LIST_TOOLS)
		return policy_tool_hidden(maps, server, name);
	if (!gen)
		return false;
	cache = policy_cache_for(maps, gen);
	if (!(srv = policy_cache_server(cache, server)))
		return false;
	/* what fetching the entry would meet: hidden, or an action that denies;
	 * a listed URI no read of which would be decided is hidden too */
	tg.kind = list == MCP_LIST_PROMPTS ? MCP_OBJECT_PROMPT : MCP_OBJECT_RESOURCE;
	if (list == MCP_LIST_RESOURCES) {
		if (strlen(name) > MCP_TARGET_NAME_MAX || mcp_uri_match_form(name, form, sizeof(form), &why) < 0)
			return true;
		tg.match = form;
	}
	build_chain(cache, server, list == MCP_LIST_PROMPTS ? "prompts/get" : "resources/read", &tg, &c);
	return c.hidden || chain_action(&c, srv, rule, sizeof(rule), &decider) != MCPF_ACTION_ALLOW;
}

bool policy_tool_hidden(struct policy_maps *maps, const char *server, const char *tool)
{
	unsigned int gen = policy_generation_now(maps);
	const struct cached_tool *t;

	if (!gen)
		return false;
	if (policy_name_reserved(tool))
		return false;
	t = policy_cache_tool(policy_cache_for(maps, gen), server, tool);
	return t && t->rule.hidden;
}

bool policy_tool_named(struct policy_maps *maps, const char *server, const char *tool)
{
	unsigned int gen = policy_generation_now(maps);

	return gen && policy_cache_tool(policy_cache_for(maps, gen), server, tool);
}
