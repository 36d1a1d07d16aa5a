/* mcp_filter: hidden tools removed from tools/list answers (single or
 * batched) of the server. Input: the answer body. Ids 1, 2, "a" and "list"
 * are pending; tools named "secret" or starting with "hid" are hidden. The
 * rewritten body must be JSON, and no answer the filter took off the
 * pending set may still list a hidden tool. */
#include "fuzz.h"
#include "mcp_filter.h"

static bool hidden(enum mcp_list list, const char *name, const cJSON *entry, bool asked, void *ctx)
{
	(void)ctx;
	(void)asked;
	(void)entry;
	(void)list;
	return !strcmp(name, "secret") || !strncmp(name, "hid", 3);
}

static void pend(struct mcp_idset *set)
{
	cJSON *ids[4] = {cJSON_CreateNumber(1), cJSON_CreateNumber(2), cJSON_CreateString("a"),
			 cJSON_CreateString("list")};

	mcp_idset_init(set);
	for (int i = 0; i < 4; i++) {
		FUZZ_ASSERT(mcp_idset_add(set, ids[i], MCP_LIST_TOOLS) == 0);
		cJSON_Delete(ids[i]);
	}
}

static void check_tools(const cJSON *tools)
{
	const cJSON *tool;

	cJSON_ArrayForEach(tool, tools)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(tool, "name");
		FUZZ_ASSERT(!cJSON_IsString(name) || !hidden(MCP_LIST_TOOLS, name->valuestring, tool, true, NULL));
	}
}

/* Replays the filter's id bookkeeping on its output: answers it took must be
 * clean, in every "tools" member a client might read. */
static void check_message(const cJSON *msg, struct mcp_idset *set)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(msg, "result");
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(msg, "error");

	if (!cJSON_IsObject(msg) || !id || !(result || error) || mcp_idset_take(set, id) < 0 || !cJSON_IsObject(result))
		return;
	for (const cJSON *m = result->child; m; m = m->next) {
		if (!strcmp(m->string, "tools"))
			check_tools(m);  /* every one: a duplicate would be what a client reads */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = malloc(size ? size : 1);
	struct bytebuf out = BYTEBUF_INIT;
	struct mcp_idset set, replay;
	const cJSON *msg;

	memcpy(json, data, size);
	pend(&set);
	int r = mcp_filter_lists(json, size, &set, hidden, NULL, &out);
	/* -1 fails the reply (nothing is relayed): text cJSON reads with
	 * control characters for whitespace, where json_span (rightly) stops,
	 * a member an answer names twice, an answer over the JSON limits,
	 * text that is not exactly one JSON value cJSON reads, a list a
	 * client could read otherwise (mcp_filter.h). */
	FUZZ_ASSERT(r == 0 || r == 1 || r == -1);
	if (r < 0)
		goto out;
	const char *text = r == 1 ? out.data : json;
	size_t len = r == 1 ? out.len : size;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, NULL, 0);
	if (r == 1)
		FUZZ_ASSERT(root);
	/* Text only cJSON reads (control characters for whitespace) is left
	 * as it is: JSON.parse and Python's json refuse it, as json_span does. */
	if (fuzz_cjson_only_space(json, size) && r == 0) {
		cJSON_Delete(root);
		goto out;
	}
	pend(&replay);
	if (cJSON_IsArray(root)) {
		cJSON_ArrayForEach(msg, root) check_message(msg, &replay);
	} else if (root) {
		check_message(root, &replay);
	}
	/* Both took the same ids. */
	FUZZ_ASSERT(replay.n == set.n);
	cJSON_Delete(root);
	mcp_idset_free(&replay);
out:
	mcp_idset_free(&set);
	bb_free(&out);
	free(json);
	return 0;
}
