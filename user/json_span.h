/*
 * json_span: byte ranges of values inside JSON text that cJSON has already
 * validated, so replies and rebuilt bodies can reuse the exact original
 * bytes (ids echoed verbatim, big numbers untouched, forwarded batch
 * elements byte-identical) instead of cJSON's re-serialization.
 *
 *   struct json_span s;
 *   json_value_span(text, len, pos, &s)         the value at/after pos
 *   json_child_spans(text, container, vals, n)  the values of the children of an
 *                                               array or object, in document order:
 *                                               vals[i] is the i-th cJSON child
 *   json_child_span(text, container, node, child, &s)
 *                                               the span of cJSON node `child`, a
 *                                               child of `node` whose text is `container`
 *   json_has_nul_escape(text, len)              a string holds \u0000 (cJSON would
 *                                               truncate it there)
 *   json_plain_run(text, len)                   bytes before the first '"' or '\\':
 *                                               the plain part of a string, 16 at a time
 *   json_members_begin(&it, text, container)    walk an object's members or an array's
 *   while (json_members_next(&it) == 1) ...     elements: it.key (objects: the name with
 *                                               its quotes, as written), it.value;
 *                                               0 at the end, -1 on malformed text
 * Return 0 / a count on success, -1 on text that is not valid JSON.
 */
#ifndef MCPF_JSON_SPAN_H
#define MCPF_JSON_SPAN_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct json_span {
	size_t off;
	size_t len;
};

struct json_members {
	const char *t;
	size_t i, end, n;
	bool object, bad;
	struct json_span key, value;
};

/* The index of the first byte at or after i that is not JSON whitespace. */
size_t json_skip_ws(const char *text, size_t len, size_t i);
int json_value_span(const char *text, size_t len, size_t pos, struct json_span *out);
void json_members_begin(struct json_members *it, const char *text, struct json_span container);
int json_members_next(struct json_members *it);
int json_child_spans(const char *text, struct json_span container, struct json_span *values, size_t max);
int json_child_span(const char *text, struct json_span container, const cJSON *node, const cJSON *child,
		    struct json_span *out);
bool json_has_nul_escape(const char *text, size_t len);
size_t json_plain_run(const char *text, size_t len);
/* The same, stopping at control characters and non-ASCII bytes too. */
size_t json_plain_run_ascii(const char *text, size_t len);
/* text[i] is an opening quote: the index after the closing one, or 0 when
 * the string does not end within len. */
size_t json_string_end(const char *text, size_t len, size_t i);

#endif /* MCPF_JSON_SPAN_H */
