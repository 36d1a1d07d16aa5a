/* Method classes, and what a request acts on (or why it is invalid). */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mcp_method.h"

TEST(method_classes)
{
	CHECK_INT_EQ(mcp_method_class("initialize"), MCP_METHOD_LIFECYCLE);
	CHECK_INT_EQ(mcp_method_class("ping"), MCP_METHOD_LIFECYCLE);
	CHECK_INT_EQ(mcp_method_class("notifications/initialized"), MCP_METHOD_LIFECYCLE);
	CHECK_INT_EQ(mcp_method_class("notifications/cancelled"), MCP_METHOD_LIFECYCLE);
	CHECK_INT_EQ(mcp_method_class("notifications/message"), MCP_METHOD_GOVERNED);
	CHECK_INT_EQ(mcp_method_class("tools/call"), MCP_METHOD_TOOL_CALL);
	CHECK_INT_EQ(mcp_method_class("resources/templates/list"), MCP_METHOD_LIST);
	CHECK_INT_EQ(mcp_method_list("resources/templates/list"), MCP_LIST_TEMPLATES);
	CHECK_INT_EQ(mcp_method_class("tasks/result"), MCP_METHOD_GOVERNED);
	CHECK_INT_EQ(mcp_method_class("Initialize"), MCP_METHOD_GOVERNED);  /* exact names only */
	CHECK_INT_EQ(mcp_method_class(""), MCP_METHOD_GOVERNED);
	CHECK_STR_EQ(mcp_list_array(MCP_LIST_TEMPLATES), "resourceTemplates");
	CHECK_STR_EQ(mcp_list_key(MCP_LIST_RESOURCES), "uri");
}

static int target_of(const char *method, const char *params_json, struct mcp_method_target *t, const char **why)
{
	static cJSON *params;
	static char form[MCP_TARGET_NAME_MAX + 1];

	cJSON_Delete(params);  /* t points into the last one parsed */
	params = params_json ? cJSON_Parse(params_json) : NULL;
	return mcp_method_target(method, params, form, t, why);
}

TEST(method_targets_from_params)
{
	struct mcp_method_target t;
	const char *why = NULL;

	CHECK_INT_EQ(target_of("prompts/get", "{\"name\":\"p\",\"arguments\":{\"a\":\"1\"}}", &t, &why), 0);
	CHECK(t.kind == MCP_OBJECT_PROMPT && !strcmp(t.name, "p") && cJSON_IsObject(t.arguments));
	CHECK_INT_EQ(target_of("resources/unsubscribe", "{\"uri\":\"x://y\"}", &t, &why), 0);
	CHECK(t.kind == MCP_OBJECT_RESOURCE && !strcmp(t.name, "x://y"));
	CHECK_INT_EQ(target_of("completion/complete", "{\"ref\":{\"type\":\"ref/resource\",\"uri\":\"x://{id}\"}}", &t, &why),
		     0);
	CHECK(t.kind == MCP_OBJECT_RESOURCE && !strcmp(t.name, "x://{id}"));
	CHECK_INT_EQ(target_of("completion/complete", "{\"ref\":{\"type\":\"ref/prompt\",\"name\":\"p\"}}", &t, &why), 0);
	CHECK(t.kind == MCP_OBJECT_PROMPT);
	CHECK_INT_EQ(target_of("tasks/get", "{\"taskId\":\"1\"}", &t, &why), 0);
	CHECK(t.kind == MCP_OBJECT_NONE && !t.name);
	CHECK_INT_EQ(target_of("logging/setLevel", NULL, &t, &why), 0);

	/* what the method needs is missing or of the wrong type: invalid */
	CHECK_INT_EQ(target_of("prompts/get", "{\"name\":3}", &t, &why), -1);
	CHECK_STR_EQ(why, "prompts/get needs params.name as a string");
	CHECK_INT_EQ(target_of("resources/read", "[\"x://y\"]", &t, &why), -1);
	CHECK_INT_EQ(target_of("resources/read", NULL, &t, &why), -1);
	CHECK_INT_EQ(target_of("completion/complete", "{\"ref\":{\"type\":\"ref/tool\",\"name\":\"t\"}}", &t, &why), -1);
	CHECK_INT_EQ(target_of("completion/complete", "{\"ref\":{\"type\":\"ref/prompt\"}}", &t, &why), -1);

	char *long_uri = malloc(MCP_TARGET_NAME_MAX + 32);

	strcpy(long_uri, "{\"uri\":\"");
	memset(long_uri + 8, 'a', MCP_TARGET_NAME_MAX + 1);
	strcpy(long_uri + 8 + MCP_TARGET_NAME_MAX + 1, "\"}");
	CHECK_INT_EQ(target_of("resources/read", long_uri, &t, &why), -1);
	CHECK_STR_EQ(why, "the prompt name or resource URI is longer than 8192 bytes");
	free(long_uri);
	target_of("ping", NULL, &t, &why);
}
