/* json_span: byte ranges of JSON values, on text cJSON accepted (spans must
 * cover exactly cJSON's values) and on any text (the off-path sniff runs
 * json_value_span and json_members over bodies nobody validated). */
#include "fuzz.h"
#include "json_span.h"

static int depth_budget;

/* Printed, not cJSON_Compare: that says inf != inf (1e999). */
static void same_value(const cJSON *a, const cJSON *b)
{
	char *pa = cJSON_PrintUnformatted(a), *pb = cJSON_PrintUnformatted(b);

	FUZZ_ASSERT(pa && pb && !strcmp(pa, pb));
	free(pa);
	free(pb);
}

/* Every child span parses back to the child cJSON saw, recursively. */
static void check_children(const char *text, struct json_span span, const cJSON *node)
{
	int n = cJSON_GetArraySize(node);
	struct json_span *vals;
	struct json_members it;
	int i = 0, r;

	if (n == 0 || --depth_budget < 0)
		return;
	vals = malloc((size_t)n * sizeof(*vals));
	FUZZ_ASSERT(vals && json_child_spans(text, span, vals, (size_t)n) == n);
	json_members_begin(&it, text, span);
	for (const cJSON *c = node->child; c; c = c->next, i++) {
		cJSON *again = cJSON_ParseWithLength(text + vals[i].off, vals[i].len);
		struct json_span one;

		FUZZ_ASSERT(again);
		same_value(again, c);
		cJSON_Delete(again);
		FUZZ_ASSERT(json_members_next(&it) == 1);
		FUZZ_ASSERT(it.value.off == vals[i].off && it.value.len == vals[i].len);
		if (cJSON_IsObject(node))
			FUZZ_ASSERT(it.key.len >= 2 && text[it.key.off] == '"');
		if (i < 8) {
			FUZZ_ASSERT(json_child_span(text, span, node, c, &one) == 0);
			FUZZ_ASSERT(one.off == vals[i].off && one.len == vals[i].len);
		}
		if (cJSON_IsArray(c) || cJSON_IsObject(c))
			check_children(text, vals[i], c);
	}
	r = json_members_next(&it);
	FUZZ_ASSERT(r == 0);
	free(vals);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct json_span whole;
	struct json_members it;
	const char *end = NULL;

	memcpy(text, data, size);
	text[size] = '\0';
	/* Any text: no crash, no overread, spans stay inside. */
	size_t i = json_skip_ws(text, size, 0);
	FUZZ_ASSERT(i <= size);
	(void)json_has_nul_escape(text, size);
	FUZZ_ASSERT(json_plain_run(text, size) <= size);
	if (json_value_span(text, size, i, &whole) == 0) {
		FUZZ_ASSERT(whole.off >= i && whole.off + whole.len <= size);
		if (text[whole.off] == '{' || text[whole.off] == '[') {
			json_members_begin(&it, text, whole);
			for (int n = 0; json_members_next(&it) == 1; n++) {
				FUZZ_ASSERT(it.value.off + it.value.len <= whole.off + whole.len);
				FUZZ_ASSERT(n <= (int)size);
			}
		}
	}
	/* Text cJSON accepts whole: the spans are exactly its values. cJSON also
	 * takes every byte <= 0x20 for whitespace (\f, \v, NUL...), json_span
	 * only JSON's four, which makes callers refuse such text: left out. */
	cJSON *root = cJSON_ParseWithLengthOpts(text, size, &end, false);
	if (root && json_skip_ws(text, size, (size_t)(end - text)) == size && !fuzz_cjson_only_space(text, size)) {
		FUZZ_ASSERT(json_value_span(text, size, i, &whole) == 0);
		FUZZ_ASSERT(json_skip_ws(text, size, whole.off + whole.len) == size);
		depth_budget = 256;
		check_children(text, whole, root);
	}
	cJSON_Delete(root);
	free(text);
	return 0;
}
