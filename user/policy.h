/* Policy files: loading and validation.
 *
 * A policy file maps server names to PolicyLayer-style documents that
 * also list the endpoints to intercept:
 *
 *   {"version": "1",
 *    "servers": {
 *      "fs": {"endpoints": ["127.0.0.1:3002", "[::1]:3002", "localhost:8080", ":9000"],
 *             "default": "deny",
 *             "hide": ["debug_dump"],
 *             "tools": {
 *               "read_file": {"conditions": [{"path": "args.path", "op": "regex", "value": "^/srv/"}]},
 *               "delete_file": {"action": "deny", "reason": "no deletions"},
 *               "*": {"limits": [{"counter": "fs_calls", "window": "minute", "max": 100}]}}}}}
 *
 * Required: "version" ("1") and "servers" at the top, "default" in each
 * server. "endpoints" is optional: a server without endpoints is never
 * intercepted, but it can be decided by name (so a PolicyLayer document
 * is a valid server body as it is). A bare PolicyLayer document (no "servers")
 * is refused with an error saying how to wrap it: without a server name
 * and endpoints it could not say which traffic it governs.
 *
 * Endpoints: "ADDR:PORT", "[V6ADDR]:PORT", "HOST:PORT" (kept as a name,
 * resolved by the daemon: endpoint_watch.h) or ":PORT" (any address).
 * Duplicates inside one server merge. "agents" (cgroup path globs) scopes
 * a server to some agents; two servers may share an endpoint only when at
 * most one is unscoped and no cgroup can be covered by both scopes
 * (policy_scope.h). "methods", "prompts", "resources", "hide_prompts" and
 * "hide_resources" govern what is not a tool call (decide.h). "classes"
 * (rules by tool class) and "on_change" ("log" or "deny") use the tool
 * inventory (class_rule.h).
 *
 * Validation reports every problem, each as "FILE:FIELD: REASON" where
 * FIELD is a JSON path (servers.fs.tools.rm.limits[0].scope; keys that
 * are not identifiers are quoted: tools["a.b"]). Sizes that would not fit
 * the policy maps (bpf/policy_abi.h) are validation errors too, so a policy
 * that loads always compiles.
 */
#ifndef MCPF_POLICY_LOAD_H
#define MCPF_POLICY_LOAD_H

#include <stddef.h>
#include "policy_abi.h"

/* One entry of a server's "tools" object (or a tool only named in
 * "hide"), already in map layout. */
struct policy_tool {
	char name[MCPF_NAME_LEN];
	struct mcpf_policy_tool rule;
	struct mcpf_policy_cond *cond;  /* rule.conditions entries; most tools have none */
};

/* Rules for what is not a tool share the tool maps: their names carry a
 * prefix no tool entry may start with ("method:resources/read",
 * "prompt:summarize", "uri:file:///srv/" followed by a glob), so the compiled layout stays
 * the same and bpftool still prints them as names. */
#define POLICY_METHOD_PREFIX "method:"
#define POLICY_PROMPT_PREFIX "prompt:"
#define POLICY_URI_PREFIX    "uri:"
/* "classes" entries: "class:read", ... (class_rule.h); a server with
 * "on_change": "deny" also has the entry "class:on_change" (action deny),
 * a name no class can take. */
#define POLICY_CLASS_PREFIX  "class:"
#define POLICY_ON_CHANGE_NAME  "on_change"
#define POLICY_ON_CHANGE_ENTRY POLICY_CLASS_PREFIX POLICY_ON_CHANGE_NAME

/* Does this name start with one of the prefixes above? */
int policy_name_reserved(const char *name);

/* A host name in "endpoints": resolved by the daemon (endpoint_watch.h),
 * never while the file is read, so an unreachable DNS cannot keep a
 * policy from loading. */
struct policy_hostname {
	char host[256];
	unsigned short port;
};

struct policy_server {
	char name[MCPF_NAME_LEN];
	enum mcpf_action default_action;
	struct mcpf_endpoint *endpoints;
	size_t n_endpoints;
	struct policy_hostname *hostnames;
	size_t n_hostnames;
	char **agents;        /* cgroup path globs; none: every agent */
	size_t n_agents;
	struct policy_tool *tools;   /* tool, method, prompt and resource entries */
	size_t n_tools;
};

struct policy {
	struct policy_server *servers;
	size_t n_servers;
	size_t n_endpoints;   /* over all servers */
	size_t n_tools;       /* tool entries over all servers ("rules") */
	size_t n_conditions;
};

struct policy_errors {
	char **line;          /* "FILE:FIELD: REASON" */
	size_t n;
};

/* Read and validate FILE. 0 and *out set; otherwise every problem is in
 * errs and the result is -EINVAL for an invalid policy, -errno for a file
 * that could not be read (-EMFILE passes, -EINVAL needs an edit). errs
 * must start zeroed. */
int policy_load(const char *file, struct policy **out, struct policy_errors *errs);

/* Same from memory; FILE only labels the errors. */
int policy_parse(const char *file, const char *text, size_t len,
		 struct policy **out, struct policy_errors *errs);

void policy_free(struct policy *policy);
void policy_errors_free(struct policy_errors *errs);

/* The JSON path of parent.key as errors and decisions spell it. */
void policy_field_key(char *out, size_t size, const char *parent, const char *key);

const char *policy_op_name(unsigned int op);
const char *policy_scope_name(unsigned int scope);

#endif /* MCPF_POLICY_LOAD_H */
