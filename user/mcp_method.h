/*
 * mcp_method: what a client->server JSON-RPC method asks the server to do,
 * for the policy.
 *
 *   LIFECYCLE  initialize, ping, notifications/initialized, /cancelled,
 *              /progress, /roots/list_changed, /tasks/status: always
 *              forwarded, never decided (a session cannot start or stay
 *              alive without them; none acts on a tool, prompt or resource).
 *   TOOL_CALL  tools/call: decide().
 *   LIST       tools/list, prompts/list, resources/list,
 *              resources/templates/list: decided by their own "methods"
 *              entry only (allowed without one, whatever "default" says),
 *              answers filtered (policy_list_hidden in decide.h).
 *   GOVERNED   every other method, known or not (resources/read,
 *              prompts/get, completion/complete, tasks/..., logging/setLevel,
 *              resources/subscribe, anything new): decide_method(), where
 *              "default" applies.
 *
 * What a governed request acts on (mcp_method_object):
 *   prompts/get                        params.name          (PROMPT)
 *   resources/read, /subscribe,
 *   /unsubscribe                       params.uri           (RESOURCE)
 *   completion/complete                params.ref: {"type":"ref/prompt","name"}
 *                                      or {"type":"ref/resource","uri"}
 *   anything else                      nothing (NONE)
 */
#ifndef MCPF_MCP_METHOD_H
#define MCPF_MCP_METHOD_H

#include <stdbool.h>
#include <cjson/cJSON.h>

/* JSON-RPC error code of a request the policy refused (denied, hidden or
 * rate limited) that is not a tools/call: implementation-defined server
 * error range. tools/call denials stay results with isError, as before. */
#define MCP_POLICY_REFUSED (-32001)

/* Longest prompt name or resource URI decided; longer ones make the
 * request invalid (matching cost stays bounded, real URIs are far shorter). */
#define MCP_TARGET_NAME_MAX 8192

enum mcp_method_class { MCP_METHOD_LIFECYCLE, MCP_METHOD_TOOL_CALL, MCP_METHOD_LIST, MCP_METHOD_GOVERNED };

enum mcp_object { MCP_OBJECT_NONE, MCP_OBJECT_PROMPT, MCP_OBJECT_RESOURCE };

/* Which list a LIST method returns, and how its entries are named. */
enum mcp_list { MCP_LIST_TOOLS, MCP_LIST_PROMPTS, MCP_LIST_RESOURCES, MCP_LIST_TEMPLATES };

struct mcp_method_target {
	enum mcp_object kind;
	const char *name;            /* prompt name or resource URI; NULL for NONE */
	const char *match;           /* what patterns match: the name, a URI's mcp_uri_match_form */
	const cJSON *arguments;      /* prompts/get params.arguments, or NULL */
};

enum mcp_method_class mcp_method_class(const char *method);
/* Is method one the MCP specification defines (not one an agent made up)? */
bool mcp_method_specified(const char *method);

/* 0 with *out set, or -1 with a reason when params lack what the method
 * needs or name a resource URI servers may read otherwise (mcp_uri.h)
 * (the request is then invalid: refused, never forwarded). A URI's match
 * form is written to form (MCP_TARGET_NAME_MAX + 1 bytes). */
int mcp_method_target(const char *method, const cJSON *params, char *form, struct mcp_method_target *out,
		      const char **why);

/* The list a LIST method returns; -1 for other methods. */
int mcp_method_list(const char *method);

/* The member of a list result holding the array, and the member of each
 * entry naming it ("tools"/"name", ..., "resourceTemplates"/"uriTemplate"). */
const char *mcp_list_array(enum mcp_list list);
const char *mcp_list_key(enum mcp_list list);

#endif /* MCPF_MCP_METHOD_H */
