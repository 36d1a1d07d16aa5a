/* tool_class and json_canon on whatever a server lists as a tool: no
 * crash, no overread, bounded work, results in range, and digests that
 * depend on the value only (two parses of one text digest the same). */
#include "fuzz.h"
#include "json_canon.h"
#include "tool_class.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *v = cJSON_ParseWithLength((const char *)data, size), *again;
	const cJSON *name, *desc;
	unsigned char d1[SHA256_LEN], d2[SHA256_LEN];
	struct tool_hints h;
	struct tool_class c;

	if (!v)
		return 0;
	name = cJSON_GetObjectItemCaseSensitive(v, "name");
	desc = cJSON_GetObjectItemCaseSensitive(v, "description");
	tool_hints_read(cJSON_GetObjectItemCaseSensitive(v, "annotations"), &h);
	tool_classify(cJSON_IsString(name) ? name->valuestring : NULL, cJSON_IsString(desc) ? desc->valuestring : NULL,
		      cJSON_GetObjectItemCaseSensitive(v, "inputSchema"), &h, &c);
	FUZZ_ASSERT(c.category <= MCPF_CATEGORY_DESTRUCTIVE && c.risk <= MCPF_RISK_CRITICAL);
	FUZZ_ASSERT(c.reasons < (1u << TOOL_WHY_COUNT));
	/* a class from annotations alone has an annotation reason */
	FUZZ_ASSERT(!c.hints_only || (c.reasons & (TOOL_WHY_HINT_READ_ONLY | TOOL_WHY_HINT_DESTRUCTIVE |
						   TOOL_WHY_HINT_ADDITIVE)));
	FUZZ_ASSERT(json_canon_digest(v, d1) == 0);
	again = cJSON_ParseWithLength((const char *)data, size);
	FUZZ_ASSERT(again && json_canon_digest(again, d2) == 0 && !memcmp(d1, d2, sizeof(d1)));
	cJSON_Delete(again);
	cJSON_Delete(v);
	return 0;
}
