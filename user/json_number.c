/* Exact numbers for decisions; see json_number.h. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_number.h"

#define TWO_POW_53 9007199254740992.0
#define MAX_DIGITS 17     /* the shortest text of a double never has more */
#define EXP_CLAMP 100000  /* far beyond any double; keeps the sums in an int */

/* A decimal value as 0.DIGITS x 10^exp, without leading or trailing zeros
 * in DIGITS (zero: no digits, exp 0). */
struct decimal {
	bool neg;
	int n;
	long exp;
	char digit[MAX_DIGITS];
};

/* false: not a JSON number, or more significant digits than any double's
 * shortest text */
static bool decimal_of(const char *s, size_t len, struct decimal *d)
{
	size_t i = 0;
	long int_digits = 0, lead = 0, zeros = 0, e = 0;
	bool point = false, seen = false, eneg = false;

	memset(d, 0, sizeof(*d));
	if (i < len && s[i] == '-')
		d->neg = true, i++;
	for (; i < len && ((s[i] >= '0' && s[i] <= '9') || (s[i] == '.' && !point)); i++) {
		if (s[i] == '.') {
			point = true;
			continue;
		}
		if (!point)
			int_digits++;
		if (s[i] == '0' && !seen) {
			lead++;
			continue;
		}
		if (s[i] == '0') {
			zeros++;  /* trailing unless a digit follows */
			continue;
		}
		seen = true;
		if (d->n + zeros + 1 > MAX_DIGITS)
			return false;
		while (zeros)
			d->digit[d->n++] = '0', zeros--;
		d->digit[d->n++] = s[i];
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		if (i == len)
			return false;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			if (e < EXP_CLAMP)
				e = e * 10 + (s[i] - '0');
	}
	if (i != len)
		return false;
	if (!d->n) {
		d->neg = false;  /* -0 and 0 compare equal */
		return true;
	}
	d->exp = int_digits - lead + (eneg ? -e : e);
	return true;
}

static bool decimal_same(const struct decimal *a, const struct decimal *b)
{
	return a->neg == b->neg && a->n == b->n && a->exp == b->exp && !memcmp(a->digit, b->digit, a->n);
}

void json_number_shortest(double d, char out[32])
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(out, 32, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			break;
	}
}

bool json_number_literal_exact(const char *lit, size_t len, double d)
{
	struct decimal written, shortest;
	char text[32];

	if (!(fabs(d) < TWO_POW_53) || !decimal_of(lit, len, &written))
		return false;
	/* up to 15 significant digits in the normal range: distinct values are
	 * distinct doubles (DBL_DIG), so the literal is the shortest text */
	if (written.n <= 15 && (written.n ? isnormal(d) : d == 0))
		return true;
	json_number_shortest(d, text);
	return decimal_of(text, strlen(text), &shortest) && decimal_same(&written, &shortest);
}

/* One value of t at *pos (after whitespace), node its cJSON tree: numbers
 * checked and flagged, *pos moved past the value. One pass; -1 when text
 * and tree disagree. */
static int mark(cJSON *node, const char *t, size_t end, size_t *pos)
{
	size_t i = json_skip_ws(t, end, *pos), j;
	bool object = cJSON_IsObject(node);

	if (i >= end)
		return -1;
	if (cJSON_IsNumber(node)) {
		for (j = i; j < end && ((t[j] >= '0' && t[j] <= '9') || t[j] == '-' || t[j] == '+' ||
					t[j] == '.' || t[j] == 'e' || t[j] == 'E'); j++)
			;
		if (!json_number_literal_exact(t + i, j - i, node->valuedouble))
			node->type |= JSON_NUMBER_INEXACT;
		*pos = j;
		return j > i ? 0 : -1;
	}
	if (cJSON_IsString(node)) {
		*pos = t[i] == '"' ? json_string_end(t, end, i) : 0;
		return *pos ? 0 : -1;
	}
	if (!object && !cJSON_IsArray(node)) {  /* true, false, null */
		for (j = i; j < end && t[j] >= 'a' && t[j] <= 'z'; j++)
			;
		*pos = j;
		return j > i ? 0 : -1;
	}
	if (t[i] != (object ? '{' : '['))
		return -1;
	i++;
	for (cJSON *c = node->child; c; c = c->next) {
		if (object) {
			i = json_skip_ws(t, end, i);
			if (i >= end || t[i] != '"' || !(i = json_string_end(t, end, i)))
				return -1;
			i = json_skip_ws(t, end, i);
			if (i >= end || t[i++] != ':')
				return -1;
		}
		if (mark(c, t, end, &i) < 0)
			return -1;
		i = json_skip_ws(t, end, i);
		if (c->next && (i >= end || t[i++] != ','))
			return -1;
	}
	i = json_skip_ws(t, end, i);
	if (i >= end || t[i] != (object ? '}' : ']'))
		return -1;
	*pos = i + 1;
	return 0;
}

int json_numbers_mark(cJSON *node, const char *text, struct json_span span)
{
	size_t pos = span.off;

	return mark(node, text, span.off + span.len, &pos) < 0 || json_skip_ws(text, span.off + span.len, pos) !=
		span.off + span.len ? -1 : 0;
}

int json_numbers_to_raw(cJSON *v)
{
	char num[32];
	int err;

	if (cJSON_IsNumber(v)) {
		if (!isfinite(v->valuedouble))
			return -ERANGE;
		json_number_shortest(v->valuedouble, num);
		/* the node keeps its name; cJSON_Delete frees a raw node's text */
		if (!(v->valuestring = strdup(num)))
			return -ENOMEM;
		v->type = cJSON_Raw;
		return 0;
	}
	for (cJSON *c = v->child; (cJSON_IsArray(v) || cJSON_IsObject(v)) && c; c = c->next)
		if ((err = json_numbers_to_raw(c)))
			return err;
	return 0;
}

bool json_holds_inexact(const cJSON *v)
{
	if (cJSON_IsNumber(v))
		return (v->type & JSON_NUMBER_INEXACT) || !(fabs(v->valuedouble) < TWO_POW_53);
	for (const cJSON *c = v->child; (cJSON_IsArray(v) || cJSON_IsObject(v)) && c; c = c->next)
		if (json_holds_inexact(c))
			return true;
	return false;
}

static const cJSON *named(const cJSON *obj, const char *name)
{
	for (const cJSON *c = obj->child; c; c = c->next)
		if (!strcmp(c->string, name))
			return c;
	return NULL;
}

bool json_equal(const cJSON *a, const cJSON *b)
{
	const cJSON *x, *y;

	if (!a || !b || (a->type & 0xFF) != (b->type & 0xFF))
		return false;
	switch (a->type & 0xFF) {
	case cJSON_False:
	case cJSON_True:
	case cJSON_NULL:
		return true;
	case cJSON_Number:
		return a->valuedouble == b->valuedouble;
	case cJSON_String:
		return a->valuestring && b->valuestring && !strcmp(a->valuestring, b->valuestring);
	case cJSON_Array:
		for (x = a->child, y = b->child; x && y; x = x->next, y = y->next)
			if (!json_equal(x, y))
				return false;
		return !x && !y;
	case cJSON_Object:
		/* every member of each found, equal, in the other */
		for (x = a->child; x; x = x->next)
			if (!json_equal(x, named(b, x->string)))
				return false;
		for (y = b->child; y; y = y->next)
			if (!named(a, y->string))
				return false;
		return true;
	}
	return false;
}
