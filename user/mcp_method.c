/* Method classes and targets; see mcp_method.h. */
#include <string.h>

#include "common.h"
#include "mcp_method.h"
#include "mcp_uri.h"

static const char *const lifecycle[] = {
	"initialize", "ping", "notifications/initialized", "notifications/cancelled",
	"notifications/progress", "notifications/roots/list_changed", "notifications/tasks/status", NULL,
};

static const struct {
	const char *method, *array, *key;
} lists[] = {
	[MCP_LIST_TOOLS] = { "tools/list", "tools", "name" },
	[MCP_LIST_PROMPTS] = { "prompts/list", "prompts", "name" },
	[MCP_LIST_RESOURCES] = { "resources/list", "resources", "uri" },
	[MCP_LIST_TEMPLATES] = { "resources/templates/list", "resourceTemplates", "uriTemplate" },
};

#define N_LISTS (ARRAY_SIZE(lists))

int mcp_method_list(const char *method)
{
	for (size_t i = 0; i < N_LISTS; i++)
		if (!strcmp(method, lists[i].method))
			return (int)i;
	return -1;
}

const char *mcp_list_array(enum mcp_list list)
{
	return lists[list].array;
}

const char *mcp_list_key(enum mcp_list list)
{
	return lists[list].key;
}

/* Client-to-server requests of the MCP revisions mcpfence follows
 * (2025-11-25, 2026-07-28), besides lifecycle ones and tools/call. */
static const char *const specified[] = {
	"tools/list", "prompts/list", "prompts/get", "resources/list", "resources/templates/list",
	"resources/read", "resources/subscribe", "resources/unsubscribe", "completion/complete",
	"logging/setLevel", "tasks/get", "tasks/result", "tasks/cancel", "tasks/list", NULL,
};

bool mcp_method_specified(const char *method)
{
	for (const char *const *m = specified; *m; m++)
		if (!strcmp(method, *m))
			return true;
	return false;
}

enum mcp_method_class mcp_method_class(const char *method)
{
	for (const char *const *m = lifecycle; *m; m++)
		if (!strcmp(method, *m))
			return MCP_METHOD_LIFECYCLE;
	if (!strcmp(method, "tools/call"))
		return MCP_METHOD_TOOL_CALL;
	if (mcp_method_list(method) >= 0)
		return MCP_METHOD_LIST;
	return MCP_METHOD_GOVERNED;
}

static const char *string_member(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int mcp_method_target(const char *method, const cJSON *params, char *form, struct mcp_method_target *out,
		      const char **why)
{
	memset(out, 0, sizeof(*out));
	if (!strcmp(method, "prompts/get")) {
		out->kind = MCP_OBJECT_PROMPT;
		out->name = string_member(params, "name");
		out->arguments = cJSON_IsObject(params) ? cJSON_GetObjectItemCaseSensitive(params, "arguments") : NULL;
		*why = "prompts/get needs params.name as a string";
	} else if (!strcmp(method, "resources/read") || !strcmp(method, "resources/subscribe") ||
		   !strcmp(method, "resources/unsubscribe")) {
		out->kind = MCP_OBJECT_RESOURCE;
		out->name = string_member(params, "uri");
		*why = "resource requests need params.uri as a string";
	} else if (!strcmp(method, "completion/complete")) {
		const cJSON *ref = cJSON_IsObject(params) ? cJSON_GetObjectItemCaseSensitive(params, "ref") : NULL;
		const char *type = string_member(ref, "type");

		*why = "completion/complete needs params.ref naming a prompt (ref/prompt) or a resource (ref/resource)";
		if (type && !strcmp(type, "ref/prompt")) {
			out->kind = MCP_OBJECT_PROMPT;
			out->name = string_member(ref, "name");
		} else if (type && !strcmp(type, "ref/resource")) {
			out->kind = MCP_OBJECT_RESOURCE;
			out->name = string_member(ref, "uri");
		} else {
			return -1;
		}
	}
	if (out->kind == MCP_OBJECT_NONE)
		return 0;
	if (!out->name)
		return -1;
	if (strlen(out->name) > MCP_TARGET_NAME_MAX) {
		*why = "the prompt name or resource URI is longer than 8192 bytes";
		return -1;
	}
	out->match = out->name;
	if (out->kind == MCP_OBJECT_RESOURCE) {
		if (mcp_uri_match_form(out->name, form, MCP_TARGET_NAME_MAX + 1, why) < 0)
			return -1;
		out->match = form;
	}
	return 0;
}
