/* Canonical JSON, streamed into SHA-256 (json_canon.h). */
#include "json_canon.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(struct sha256 *s, const char *text)
{
	sha256_update(s, text, strlen(text));
}

static void put_string(struct sha256 *s, const char *str)
{
	char esc[8];

	put(s, "\"");
	for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
		const char *e = *p == '"' ? "\\\"" : *p == '\\' ? "\\\\" : *p == '\b' ? "\\b" : *p == '\f' ? "\\f"
			      : *p == '\n' ? "\\n" : *p == '\r' ? "\\r" : *p == '\t' ? "\\t" : NULL;

		if (!e && *p < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			e = esc;
		}
		if (e)
			put(s, e);
		else
			sha256_update(s, p, 1);
	}
	put(s, "\"");
}

struct member {
	const cJSON *item;
	size_t pos;
};

static int by_name(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int c = strcmp(x->item->string ? x->item->string : "", y->item->string ? y->item->string : "");

	/* qsort is not stable: repeated names keep document order */
	return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

static int put_value(struct sha256 *s, const cJSON *v);

static int put_object(struct sha256 *s, const cJSON *v)
{
	size_t n = 0, i = 0;
	struct member *m;
	int err = 0;

	for (const cJSON *c = v->child; c; c = c->next)
		n++;
	if (!(m = malloc((n ? n : 1) * sizeof(*m))))
		return -ENOMEM;
	for (const cJSON *c = v->child; c; c = c->next, i++)
		m[i] = (struct member){ c, i };
	qsort(m, n, sizeof(*m), by_name);
	put(s, "{");
	for (i = 0; i < n && !err; i++) {
		if (i)
			put(s, ",");
		put_string(s, m[i].item->string ? m[i].item->string : "");
		put(s, ":");
		err = put_value(s, m[i].item);
	}
	put(s, "}");
	free(m);
	return err;
}

static int put_value(struct sha256 *s, const cJSON *v)
{
	char num[64];
	int err = 0;

	if (!v || cJSON_IsNull(v))
		put(s, "null");
	else if (cJSON_IsTrue(v))
		put(s, "true");
	else if (cJSON_IsFalse(v))
		put(s, "false");
	else if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (d == floor(d) && fabs(d) <= 9007199254740992.0)
			snprintf(num, sizeof(num), "%.0f", d == 0 ? 0.0 : d);
		else
			snprintf(num, sizeof(num), "%.17g", d);
		put(s, num);
	} else if (cJSON_IsString(v))
		put_string(s, v->valuestring ? v->valuestring : "");
	else if (cJSON_IsArray(v)) {
		put(s, "[");
		for (const cJSON *c = v->child; c && !err; c = c->next) {
			if (c != v->child)
				put(s, ",");
			err = put_value(s, c);
		}
		put(s, "]");
	} else if (cJSON_IsObject(v))
		err = put_object(s, v);
	else
		put(s, "null");  /* cJSON_Raw and invalid: never from the parser */
	return err;
}

int json_canon_digest(const cJSON *value, unsigned char out[SHA256_LEN])
{
	struct sha256 s;
	int err;

	sha256_init(&s);
	err = put_value(&s, value);
	sha256_final(&s, out);
	return err;
}
