/* Cost limits checked before a JSON tree is built; see json_limits.h. */
#include "json_limits.h"

#include <stdbool.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "json_span.h"

static struct json_limits for_requests = {
	JSON_DEFAULT_MAX_DEPTH, JSON_DEFAULT_MAX_NODES, JSON_DEFAULT_MAX_BATCH,
};
static struct json_limits for_answers = {
	JSON_DEFAULT_MAX_DEPTH, JSON_ANSWER_MAX_NODES, JSON_DEFAULT_MAX_BATCH,
};

const struct json_limits *json_limits_for_requests(void)
{
	return &for_requests;
}

const struct json_limits *json_limits_for_answers(void)
{
	return &for_answers;
}

void json_limits_configure(const struct json_limits *requests)
{
	for_requests = *requests;
	for_answers = *requests;
	if (for_answers.max_nodes < JSON_ANSWER_MAX_NODES)
		for_answers.max_nodes = JSON_ANSWER_MAX_NODES;
}

const char *json_limit_text(enum json_limit_hit hit)
{
	switch (hit) {
	case JSON_TOO_DEEP: return "mcpfence: JSON nested deeper than the limit";
	case JSON_TOO_MANY_NODES: return "mcpfence: JSON with more values than the limit";
	case JSON_BATCH_TOO_LONG: return "mcpfence: batch longer than the limit";
	default: return "";
	}
}

/* t[i] is an opening quote: the index after the closing one, or len. */
static size_t after_string(const char *t, size_t len, size_t i)
{
	size_t end = json_string_end(t, len, i);

	return end ? end : len;
}

static bool ends_scalar(char c)
{
	switch (c) {
	case ',': case ':': case ']': case '}': case '[': case '{': case '"':
	case ' ': case '\t': case '\r': case '\n':
		return true;
	default:
		return false;
	}
}

enum json_limit_hit json_limits_check(const char *t, size_t len, const struct json_limits *lim)
{
	size_t i = 0, depth = 0, nodes = 0, batch = 0;
	bool root_array = false;

	while (i < len) {
		char c = t[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == ':') {
			i++;
			continue;
		}
		if (c == '}' || c == ']') {
			depth -= depth > 0;
			i++;
			continue;
		}
		/* a value or a member name starts here */
		if (++nodes > lim->max_nodes)
			return JSON_TOO_MANY_NODES;
		if (depth == 1 && root_array && ++batch > lim->max_batch)
			return JSON_BATCH_TOO_LONG;
		if (c == '"') {
			i = after_string(t, len, i);
		} else if (c == '{' || c == '[') {
			if (depth == 0 && nodes == 1)
				root_array = c == '[';
			if (++depth > lim->max_depth)
				return JSON_TOO_DEEP;
			i++;
		} else {
			/* a scalar: up to the next delimiter */
			do
				i++;
			while (i < len && !ends_scalar(t[i]));
		}
	}
	return JSON_WITHIN;
}

size_t json_tree_bytes(const struct cJSON *tree)
{
	/* each node and string is a malloc: its header and rounding too */
	size_t n = 0;

	for (const struct cJSON *c = tree; c; c = c->next) {
		n += sizeof(*c) + 16;
		if (c->string)
			n += strlen(c->string) + 16;
		if (c->valuestring)
			n += strlen(c->valuestring) + 16;
		if (c->child)
			n += json_tree_bytes(c->child);
	}
	return n;
}
