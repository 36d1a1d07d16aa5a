/* Hidden entries removed from list results; see mcp_filter.h. */
#include "mcp_filter.h"

#include <stdlib.h>
#include <string.h>

#include "json_limits.h"
#include "json_span.h"

void mcp_idset_init(struct mcp_idset *s)
{
	memset(s, 0, sizeof(*s));
}

void mcp_idset_free(struct mcp_idset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->ids[i].string);
	s->n = 0;
}

int mcp_idset_add(struct mcp_idset *s, const cJSON *id, enum mcp_list list)
{
	if (s->n == MCP_IDSET_MAX || !(cJSON_IsString(id) || cJSON_IsNumber(id)))
		return -1;
	struct mcp_id *e = &s->ids[s->n];
	e->is_string = cJSON_IsString(id);
	e->number = id->valuedouble;
	e->string = e->is_string ? strdup(id->valuestring) : NULL;
	e->list = list;
	if (e->is_string && !e->string)
		return -1;
	s->n++;
	return 0;
}

static bool id_matches(const struct mcp_id *e, const cJSON *id)
{
	return e->is_string ? cJSON_IsString(id) && strcmp(e->string, id->valuestring) == 0
			    : cJSON_IsNumber(id) && e->number == id->valuedouble;
}

bool mcp_idset_has(const struct mcp_idset *s, const cJSON *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (id_matches(&s->ids[i], id))
			return true;
	return false;
}

int mcp_idset_take(struct mcp_idset *s, const cJSON *id)
{
	for (size_t i = 0; i < s->n; i++) {
		struct mcp_id *e = &s->ids[i];

		if (id_matches(e, id)) {
			int list = e->list;

			free(e->string);
			*e = s->ids[--s->n];
			return list;
		}
	}
	return -1;
}

/* One rewrite: the list's array at `span` becomes `text`. */
struct splice {
	struct json_span span;
	struct bytebuf text;
};

static int members_named(const cJSON *obj, const char *name);

/* An entry a client could read otherwise than cJSON does: a member the
 * filter or the tool inventory reads comes twice (cJSON reads the first,
 * JSON.parse the last). */
static bool ambiguous_entry(const cJSON *entry, enum mcp_list list)
{
	static const char *const read[] = { "name", "title", "description", "inputSchema", "annotations", NULL };
	static const char *const hints[] = { "readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint", NULL };
	const cJSON *annotations;

	if (members_named(entry, mcp_list_key(list)) > 1)
		return true;
	if (list != MCP_LIST_TOOLS)
		return false;
	for (const char *const *k = read; *k; k++)
		if (members_named(entry, *k) > 1)
			return true;
	annotations = cJSON_GetObjectItemCaseSensitive(entry, "annotations");
	for (const char *const *k = hints; cJSON_IsObject(annotations) && *k; k++)
		if (members_named(annotations, *k) > 1)
			return true;
	return false;
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An ambiguous entry, or (tools) a name listed twice: which definition
 * would the client keep, which one the inventory? Checked before any
 * entry is passed on. n: the array's size. */
static bool ambiguous_list(const cJSON *entries, enum mcp_list list, size_t n)
{
	const char **names = list == MCP_LIST_TOOLS ? malloc(n * sizeof(*names)) : NULL;
	size_t k = 0;
	bool twice = false;

	if (list == MCP_LIST_TOOLS && !names)
		return true;
	for (const cJSON *e = entries->child; e; e = e->next) {
		const cJSON *name = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, mcp_list_key(list)) : NULL;

		if (name && ambiguous_entry(e, list)) {
			free(names);
			return true;
		}
		if (names && cJSON_IsString(name) && k < n)
			names[k++] = name->valuestring;
	}
	if (names) {
		qsort(names, k, sizeof(*names), by_string);
		for (size_t i = 1; i < k && !twice; i++)
			twice = !strcmp(names[i - 1], names[i]);
	}
	free(names);
	return twice;
}

/* The array without hidden entries; 1 if any was removed, 0 if none, -1 on error
 * (or an ambiguous list: ambiguous_list()). */
static int filtered_entries(const char *json, struct json_span tools_span, const cJSON *tools, enum mcp_list list,
			    bool asked, mcp_hidden_fn is_hidden, void *ctx, struct bytebuf *out)
{
	size_t n = (size_t)cJSON_GetArraySize(tools), i = 0;
	int removed = 0;
	bool first = true;

	if (n == 0)
		return 0;
	if (ambiguous_list(tools, list, n))
		return -1;
	struct json_span *spans = malloc(n * sizeof(*spans));
	if (!spans || json_child_spans(json, tools_span, spans, n) != (int)n) {
		free(spans);
		return -1;
	}
	int r = bb_append(out, "[", 1);
	for (const cJSON *tool = tools->child; tool && r == 0; tool = tool->next, i++) {
		const cJSON *name = cJSON_IsObject(tool) ? cJSON_GetObjectItemCaseSensitive(tool, mcp_list_key(list))
							 : NULL;
		if (cJSON_IsString(name) && is_hidden(list, name->valuestring, tool, asked, ctx)) {
			removed = 1;
			continue;
		}
		if (!first)
			r = bb_append(out, ",", 1);
		if (r == 0)
			r = bb_append(out, json + spans[i].off, spans[i].len);
		first = false;
	}
	if (r == 0)
		r = bb_append(out, "]", 1);
	free(spans);
	return r < 0 ? -1 : removed;
}

/* How many members of obj are named name: cJSON reads the first, a
 * client's JSON.parse the last, so a name that comes twice in an answer
 * being filtered could show the agent what the filter never saw. */
static int members_named(const cJSON *obj, const char *name)
{
	int n = 0;

	for (const cJSON *m = obj->child; m; m = m->next)
		n += m->string && !strcmp(m->string, name);
	return n;
}

/* One list array of a result object queued for rewriting (when an entry
 * goes); -1 on error or ambiguity. */
static int filter_array(const char *json, struct json_span result_span, const cJSON *result, enum mcp_list list,
			bool asked, mcp_hidden_fn is_hidden, void *ctx, struct splice *splices, size_t *n_splices)
{
	if (members_named(result, mcp_list_array(list)) > 1)
		return -1;
	const cJSON *tools = cJSON_GetObjectItemCaseSensitive(result, mcp_list_array(list));
	if (!cJSON_IsArray(tools))
		return 0;
	struct json_span tools_span;
	if (json_child_span(json, result_span, result, tools, &tools_span) < 0)
		return -1;
	/* cJSON's strings end at a \u0000, a client's do not */
	if (json_has_nul_escape(json + tools_span.off, tools_span.len))
		return -1;
	struct splice *s = &splices[*n_splices];
	s->span = tools_span;
	s->text = (struct bytebuf)BYTEBUF_INIT;
	int r = filtered_entries(json, tools_span, tools, list, asked, is_hidden, ctx, &s->text);
	if (r > 0)
		(*n_splices)++;
	else
		bb_free(&s->text);
	return r < 0 ? -1 : 0;
}

/* A response whose id is pending is filtered as the list that id asked
 * for; with any_list, every other response with a result is filtered as
 * each list whose array its result holds (its request was not seen). */
static int filter_message(const char *json, struct json_span msg_span, const cJSON *msg, struct mcp_idset *pending,
			  bool any_list, mcp_hidden_fn is_hidden, void *ctx, struct splice *splices, size_t *n_splices)
{
	const cJSON *id = cJSON_IsObject(msg) ? cJSON_GetObjectItemCaseSensitive(msg, "id") : NULL;
	const cJSON *result = cJSON_IsObject(msg) ? cJSON_GetObjectItemCaseSensitive(msg, "result") : NULL;
	const cJSON *error = id ? cJSON_GetObjectItemCaseSensitive(msg, "error") : NULL;
	struct json_span result_span;
	int list = -1;

	/* Any answer (an error too) ends the wait for that id. */
	if (id && (result || error))
		list = mcp_idset_take(pending, id);
	if (list < 0 && !(any_list && result))
		return 0;
	if (members_named(msg, "id") > 1 || members_named(msg, "result") > 1 || members_named(msg, "error") > 1)
		return -1;
	if (!cJSON_IsObject(result))
		return 0;
	if (json_child_span(json, msg_span, msg, result, &result_span) < 0)
		return -1;
	if (list >= 0)
		return filter_array(json, result_span, result, list, true, is_hidden, ctx, splices, n_splices);
	for (int l = MCP_LIST_TOOLS; l <= MCP_LIST_TEMPLATES; l++)
		if (filter_array(json, result_span, result, l, false, is_hidden, ctx, splices, n_splices) < 0)
			return -1;
	return 0;
}

static int by_offset(const void *a, const void *b)
{
	const struct splice *x = a, *y = b;

	return x->span.off < y->span.off ? -1 : x->span.off > y->span.off;
}

/* The offset of the first byte at or after i that is not JSON white space. */
static size_t skip_space(const char *json, size_t len, size_t i)
{
	while (i < len && (json[i] == ' ' || json[i] == '\t' || json[i] == '\r' || json[i] == '\n'))
		i++;
	return i;
}

/* Could a client read a list's array out of this text? Only when one of
 * their member names is written in it plainly, or a \u escape (which
 * could spell one) is. */
static bool may_hold_list(const char *json, size_t len)
{
	static const char *const names[] = { "\"tools\"", "\"prompts\"", "\"resources\"", "\"resourceTemplates\"" };

	if (memmem(json, len, "\\u", 2))
		return true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (memmem(json, len, names[i], strlen(names[i])))
			return true;
	return false;
}

static int filter_lists(const char *json, size_t len, struct mcp_idset *pending, bool any_list,
			mcp_hidden_fn is_hidden, void *ctx, struct bytebuf *out)
{
	const char *end = NULL;
	struct json_span root_span;
	cJSON *root;
	int r = 0;

	/* answers to requests not seen: text no list can be read from is
	 * left alone unparsed (non-MCP event streams: "data: [DONE]") */
	if (any_list && !pending->n && !may_hold_list(json, len))
		return 0;

	/* an answer too costly to read cannot be filtered, so not relayed */
	if (json_limits_check(json, len, json_limits_for_answers()) != JSON_WITHIN)
		return -1;
	/* While a list answer is awaited, what the client reads as messages
	 * must be exactly one JSON value cJSON reads: a client may read what
	 * cJSON cannot (JSON.parse takes "\udc00"), or read the text as SSE
	 * when it disagrees on the Content-Type ("{}\n\ndata: {...}"). */
	root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (!root || json_value_span(json, len, 0, &root_span) < 0 ||
	    skip_space(json, len, (size_t)(end - json)) != len) {
		cJSON_Delete(root);
		/* nothing at all, or no answer awaited: nothing to filter */
		return skip_space(json, len, 0) == len || (!pending->n && !any_list) ? 0 : -1;
	}
	size_t n = cJSON_IsArray(root) ? (size_t)cJSON_GetArraySize(root) : 1;
	/* a message's result may hold every list's array (any_list) */
	struct splice *splices = calloc((n ? n : 1) * (MCP_LIST_TEMPLATES + 1), sizeof(*splices));
	struct json_span *spans = calloc(n ? n : 1, sizeof(*spans));
	size_t n_splices = 0;
	if (!splices || !spans) {
		r = -1;
	} else if (cJSON_IsArray(root)) {
		if (json_child_spans(json, root_span, spans, n) != (int)n)
			r = -1;
		size_t i = 0;
		for (const cJSON *msg = root->child; msg && r == 0; msg = msg->next, i++)
			r = filter_message(json, spans[i], msg, pending, any_list, is_hidden, ctx, splices, &n_splices);
	} else {
		r = filter_message(json, root_span, root, pending, any_list, is_hidden, ctx, splices, &n_splices);
	}
	/* Splices do not overlap; a result's arrays come in any order. */
	qsort(splices, n_splices, sizeof(*splices), by_offset);
	size_t pos = 0;
	for (size_t i = 0; r == 0 && i < n_splices; i++) {
		if (bb_append(out, json + pos, splices[i].span.off - pos) < 0 ||
		    bb_append(out, splices[i].text.data, splices[i].text.len) < 0)
			r = -1;
		pos = splices[i].span.off + splices[i].span.len;
	}
	if (r == 0 && n_splices && bb_append(out, json + pos, len - pos) < 0)
		r = -1;
	for (size_t i = 0; splices && i < n_splices; i++)
		bb_free(&splices[i].text);
	free(splices);
	free(spans);
	cJSON_Delete(root);
	return r < 0 ? -1 : n_splices > 0;
}

int mcp_filter_lists(const char *json, size_t len, struct mcp_idset *pending, mcp_hidden_fn is_hidden,
		     void *ctx, struct bytebuf *out)
{
	return filter_lists(json, len, pending, false, is_hidden, ctx, out);
}

int mcp_filter_any_lists(const char *json, size_t len, struct mcp_idset *pending, mcp_hidden_fn is_hidden,
			 void *ctx, struct bytebuf *out)
{
	return filter_lists(json, len, pending, true, is_hidden, ctx, out);
}
