/* Value spans in validated JSON text; see json_span.h. */
#include "json_span.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Strings are most of a large body (a tool's argument or result): their
 * plain bytes are checked 16 at a time with a vector compare (GCC vector
 * extensions: SSE2 on x86, NEON on arm64), not one by one. ascii: stop at
 * control characters and non-ASCII bytes too (json_strict checks those). */
static inline size_t plain_run(const char *t, size_t len, bool ascii)
{
	typedef unsigned char v16 __attribute__((vector_size(16)));
	size_t i = 0;

	for (; i + 16 <= len; i += 16) {
		v16 v, hit;
		uint64_t lo, hi;

		memcpy(&v, t + i, 16);
		hit = (v16)((v == '"') | (v == '\\'));
		if (ascii)
			hit |= (v16)((v < 0x20) | (v >= 0x80));
		memcpy(&lo, &hit, 8);
		memcpy(&hi, (const char *)&hit + 8, 8);
		if (lo | hi)
			break;
	}
	while (i < len && t[i] != '"' && t[i] != '\\' &&
	       (!ascii || ((unsigned char)t[i] >= 0x20 && (unsigned char)t[i] < 0x80)))
		i++;
	return i;
}

size_t json_plain_run(const char *t, size_t len)
{
	return plain_run(t, len, false);
}

size_t json_plain_run_ascii(const char *t, size_t len)
{
	return plain_run(t, len, true);
}

size_t json_skip_ws(const char *t, size_t len, size_t i)
{
	while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r'))
		i++;
	return i;
}

size_t json_string_end(const char *t, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		i += json_plain_run(t + i, len - i);
		if (i >= len)
			break;
		if (t[i] == '\\')
			i++;
		else
			return i + 1;
	}
	return 0;
}

int json_value_span(const char *t, size_t len, size_t pos, struct json_span *out)
{
	size_t i = json_skip_ws(t, len, pos), start = i;
	int depth = 0;

	if (i >= len)
		return -1;
	do {
		if (i >= len)
			return -1;
		char c = t[i];
		if (c == '"') {
			i = json_string_end(t, len, i);
			if (!i)
				return -1;
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth < 0)
				return -1;
		} else if (depth == 0) {
			/* A scalar: runs to the next delimiter, and is not empty. */
			while (i < len && t[i] && !strchr(",:]} \t\r\n", t[i]))
				i++;
			if (i == start)
				return -1;
			break;
		}
		i++;
	} while (depth > 0);
	out->off = start;
	out->len = i - start;
	return 0;
}

void json_members_begin(struct json_members *it, const char *t, struct json_span c)
{
	memset(it, 0, sizeof(*it));
	it->t = t;
	it->end = c.off + c.len;
	it->i = c.off + 1;
	it->object = c.len >= 2 && t[c.off] == '{';
	it->bad = c.len < 2 || (t[c.off] != '[' && t[c.off] != '{');
}

int json_members_next(struct json_members *it)
{
	const char *t = it->t;
	size_t end = it->end, i = json_skip_ws(t, end, it->i);

	if (it->bad)
		return -1;
	if (it->n == 0 && i < end && t[i] == (it->object ? '}' : ']'))
		return i + 1 == end ? 0 : -1;
	if (it->n > 0) {
		/* after a value: a comma and another one, or the closing bracket */
		if (i + 1 == end)
			return 0;
		if (i >= end || t[i] != ',')
			goto bad;
		i = json_skip_ws(t, end, i + 1);
	}
	if (it->object) {
		size_t key_end;

		if (i >= end || t[i] != '"' || !(key_end = json_string_end(t, end, i)))
			goto bad;
		it->key = (struct json_span){ .off = i, .len = key_end - i };
		i = json_skip_ws(t, end, key_end);
		if (i >= end || t[i] != ':')
			goto bad;
		i++;
	}
	if (json_value_span(t, end, i, &it->value) < 0)
		goto bad;
	it->i = it->value.off + it->value.len;
	it->n++;
	return 1;
bad:
	it->bad = true;
	return -1;
}

int json_child_spans(const char *t, struct json_span c, struct json_span *values, size_t max)
{
	struct json_members it;
	size_t n = 0;
	int r;

	json_members_begin(&it, t, c);
	while ((r = json_members_next(&it)) == 1) {
		if (n == max)
			return -1;
		values[n++] = it.value;
	}
	return r < 0 ? -1 : (int)n;
}

int json_child_span(const char *text, struct json_span container, const cJSON *node, const cJSON *child,
		    struct json_span *out)
{
	size_t n = 0, index = 0;
	bool found = false;

	/* cJSON keeps children in document order, so the i-th child is the i-th span. */
	for (const cJSON *c = node->child; c; c = c->next, n++) {
		if (c == child) {
			index = n;
			found = true;
		}
	}
	if (!found)
		return -1;
	struct json_span *spans = malloc(n * sizeof(*spans));
	if (!spans)
		return -1;
	int got = json_child_spans(text, container, spans, n);
	if (got == (int)n)
		*out = spans[index];
	free(spans);
	return got == (int)n ? 0 : -1;
}

/* In JSON text a backslash only ever appears inside a string (text that is
 * not JSON is refused anyway), so each run of backslashes is looked at once:
 * an odd run ends in an escape, which is a NUL when "u0000" follows. */
bool json_has_nul_escape(const char *t, size_t len)
{
	const char *p = t, *end = t + len;

	while ((p = memchr(p, '\\', (size_t)(end - p)))) {
		size_t run = 0;

		while (p + run < end && p[run] == '\\')
			run++;
		if (run % 2 == 1 && (size_t)(end - (p + run)) >= 5 && !memcmp(p + run, "u0000", 5))
			return true;
		p += run;
	}
	return false;
}
