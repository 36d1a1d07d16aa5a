/* Strict RFC 8259 validation; see json_strict.h. */
#include "json_strict.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "hex_digit.h"
#include "json_limits.h"
#include "json_span.h"
#include "utf8.h"

/* Scanner outcome for one token: consumed up to *i, or ran out, or bad. */
enum tok { TOK_OK, TOK_EOF, TOK_BAD };

struct scan {
	const unsigned char *t;
	size_t len;
	const char *why;
	bool nul_escape;  /* a string held \u0000 */
};

static enum tok bad(struct scan *s, const char *why)
{
	s->why = why;
	return TOK_BAD;
}

/* Four hex digits at t[i..i+4): the code unit, or -1 (-2: input ran out). */
static long hex4(const struct scan *s, size_t i)
{
	long v = 0;

	for (size_t k = 0; k < 4; k++) {
		if (i + k >= s->len)
			return -2;
		int d = hex_digit((char)s->t[i + k]);
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* s->t[*i] is the opening quote. */
static enum tok string(struct scan *s, size_t *i)
{
	size_t p = *i + 1;

	for (;;) {
		p += json_plain_run_ascii((const char *)s->t + p, p < s->len ? s->len - p : 0);
		if (p >= s->len)
			return TOK_EOF;
		unsigned char c = s->t[p];
		if (c == '"') {
			*i = p + 1;
			return TOK_OK;
		}
		if (c < 0x20)
			return bad(s, "control character inside a JSON string");
		if (c >= 0x80) {
			unsigned int cp;
			size_t n = utf8_sequence(s->t + p, s->len - p, &cp);
			if (!n)
				return bad(s, "invalid UTF-8 in the JSON text");
			p += n;
			continue;
		}
		/* a backslash */
		if (p + 1 >= s->len)
			return TOK_EOF;
		c = s->t[p + 1];
		if (c != 'u') {
			if (!c || !strchr("\"\\/bfnrt", c))
				return bad(s, "invalid escape in a JSON string");
			p += 2;
			continue;
		}
		long u = hex4(s, p + 2);
		if (u == -2)
			return TOK_EOF;
		if (u < 0)
			return bad(s, "invalid \\u escape in a JSON string");
		p += 6;
		s->nul_escape |= u == 0;
		if (u >= 0xdc00 && u <= 0xdfff)
			return bad(s, "lone surrogate in a \\u escape");
		if (u >= 0xd800 && u <= 0xdbff) {
			if (p + 1 < s->len && (s->t[p] != '\\' || s->t[p + 1] != 'u'))
				return bad(s, "lone surrogate in a \\u escape");
			long lo = p + 1 < s->len ? hex4(s, p + 2) : -2;
			if (lo == -2)
				return TOK_EOF;
			if (lo < 0xdc00 || lo > 0xdfff)
				return bad(s, "lone surrogate in a \\u escape");
			p += 6;
		}
	}
}

static bool digit(const struct scan *s, size_t p)
{
	return p < s->len && s->t[p] >= '0' && s->t[p] <= '9';
}

/* One or more digits from *p: a fraction's or an exponent's. */
static enum tok digits(struct scan *s, size_t *p)
{
	if (*p >= s->len)
		return TOK_EOF;
	if (!digit(s, *p))
		return bad(s, "invalid number");
	while (digit(s, *p))
		(*p)++;
	return TOK_OK;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? ; a number that reaches the
 * end of the input is complete at the top level only (truncated == true). */
static enum tok number(struct scan *s, size_t *i, bool *at_end)
{
	size_t p = *i;

	if (s->t[p] == '-')
		p++;
	if (p >= s->len)
		return TOK_EOF;
	if (s->t[p] == '0') {
		p++;
		if (digit(s, p))
			return bad(s, "number with a leading zero");
	} else if (digit(s, p)) {
		while (digit(s, p))
			p++;
	} else {
		return bad(s, "invalid number");
	}
	enum tok t;

	if (p < s->len && s->t[p] == '.') {
		p++;
		if ((t = digits(s, &p)) != TOK_OK)
			return t;
	}
	if (p < s->len && (s->t[p] == 'e' || s->t[p] == 'E')) {
		p++;
		if (p < s->len && (s->t[p] == '+' || s->t[p] == '-'))
			p++;
		if ((t = digits(s, &p)) != TOK_OK)
			return t;
	}
	*at_end = p == s->len;
	*i = p;
	return TOK_OK;
}

static enum tok literal(struct scan *s, size_t *i)
{
	static const char *const words[] = { "true", "false", "null" };

	for (size_t w = 0; w < 3; w++) {
		size_t n = strlen(words[w]), have = s->len - *i < n ? s->len - *i : n;
		if (memcmp(s->t + *i, words[w], have))
			continue;
		if (have < n)
			return TOK_EOF;
		*i += n;
		return TOK_OK;
	}
	return bad(s, "invalid JSON value (comments, quotes other than \", NaN and the like are refused)");
}

/* The grammar walk; with lim, also json_limits_check's counts for the
 * walked text (a value or a member name is a node): past a limit it is BAD. */
static enum json_strict check(const char *text, size_t len, const char **why, const struct json_limits *lim,
			      bool *nul_escape)
{
	/* one bit per open container: 1 object, 0 array */
	uint64_t kinds[(JSON_STRICT_MAX_DEPTH + 63) / 64] = { 0 };
	struct scan s = { (const unsigned char *)text, len, NULL, false };
	enum { VALUE, KEY_OR_END, KEY, COLON, VALUE_OR_END, COMMA_OR_END, DONE } want = VALUE;
	size_t i = 0, depth = 0, nodes = 0, batch = 0;
	size_t first = json_skip_ws(text, len, 0);
	bool root_array = first < len && s.t[first] == '[';
	enum tok r = TOK_OK;

	while (r == TOK_OK) {
		i = json_skip_ws((const char *)s.t, len, i);
		if (i >= len) {
			r = want == DONE ? TOK_OK : TOK_EOF;
			break;
		}
		unsigned char c = s.t[i];
		bool in_object = depth && (kinds[(depth - 1) / 64] >> ((depth - 1) % 64) & 1);
		bool at_end = false;

		/* a container ends where its first member could begin, or after a member */
		if (depth && c == (in_object ? '}' : ']') &&
		    (want == COMMA_OR_END || want == (in_object ? KEY_OR_END : VALUE_OR_END))) {
			i++;
			depth--;
			want = depth ? COMMA_OR_END : DONE;
			continue;
		}
		switch (want) {
		case DONE:
			r = bad(&s, "more data after the JSON value");
			continue;
		case COLON:
			if (c != ':') {
				r = bad(&s, "expected ':' after an object key");
				continue;
			}
			i++;
			want = VALUE;
			continue;
		case COMMA_OR_END:
			if (c == ',') {
				i++;
				want = in_object ? KEY : VALUE;
			} else {
				r = bad(&s, "expected ',' or the end of the container");
			}
			continue;
		case KEY_OR_END:
		case KEY:
			if (c != '"') {
				r = bad(&s, c == '}' ? "trailing comma in an object" : "object key is not a string");
				continue;
			}
			if (lim && ++nodes > lim->max_nodes) {
				r = bad(&s, "over a JSON limit");
				continue;
			}
			r = string(&s, &i);
			want = COLON;
			continue;
		case VALUE_OR_END:
		case VALUE:
			if (c == ']') {
				r = bad(&s, "trailing comma in an array");
				continue;
			}
			if (lim && (++nodes > lim->max_nodes || (depth == 1 && root_array && ++batch > lim->max_batch) ||
				    ((c == '{' || c == '[') && depth + 1 > lim->max_depth))) {
				r = bad(&s, "over a JSON limit");
				continue;
			}
			if (c == '{' || c == '[') {
				if (depth == JSON_STRICT_MAX_DEPTH) {
					r = bad(&s, "JSON nested too deeply");
					continue;
				}
				uint64_t bit = (uint64_t)1 << (depth % 64);
				kinds[depth / 64] = c == '{' ? kinds[depth / 64] | bit : kinds[depth / 64] & ~bit;
				depth++;
				i++;
				want = c == '{' ? KEY_OR_END : VALUE_OR_END;
				continue;
			}
			if (c == '"')
				r = string(&s, &i);
			else if (c == '-' || (c >= '0' && c <= '9'))
				r = number(&s, &i, &at_end);
			else
				r = literal(&s, &i);
			/* "12" at the end inside a container might be "123": not done */
			if (r == TOK_OK && at_end && depth)
				r = TOK_EOF;
			want = depth ? COMMA_OR_END : DONE;
			continue;
		}
	}
	if (nul_escape)
		*nul_escape = s.nul_escape;
	if (r == TOK_BAD) {
		*why = s.why;
		return JSON_STRICT_BAD;
	}
	if (r == TOK_EOF) {
		*why = "JSON text ends inside a value";
		return JSON_STRICT_TRUNCATED;
	}
	return JSON_STRICT_OK;
}

enum json_strict json_strict_check(const char *text, size_t len, const char **why)
{
	return check(text, len, why, NULL, NULL);
}

bool json_strict_within(const char *text, size_t len, const struct json_limits *lim)
{
	const char *why;
	bool nul_escape = false;

	return check(text, len, &why, lim, &nul_escape) == JSON_STRICT_OK && !nul_escape;
}
