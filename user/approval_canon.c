#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "approval_canon.h"
#include "json_number.h"
#include "siphash.h"

/* Nesting is bounded by the request parser (json_limits.h). */

static int by_name(const void *a, const void *b)
{
	const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
	int c = strcmp(x->string, y->string);

	/* equal names keep their order: qsort is not stable, the pointers are */
	return c ? c : (x < y ? -1 : x > y);
}

static int emit_scalar(const cJSON *v, struct bytebuf *out)
{
	char *text;
	int err;

	/* from 2^53 on (and at infinity), or written with digits the double
	 * does not keep, one double stands for many literals a server may read
	 * apart: no hash or summary could tell them apart (json_number.h) */
	if (cJSON_IsNumber(v)) {
		char num[32];

		if (json_holds_inexact(v))
			return -ERANGE;
		json_number_shortest(v->valuedouble, num);
		return bb_append(out, num, strlen(num)) ? -ENOMEM : 0;
	}
	text = cJSON_PrintUnformatted(v);
	if (!text)
		return -ENOMEM;
	err = bb_append(out, text, strlen(text)) ? -ENOMEM : 0;
	cJSON_free(text);
	return err;
}

static int emit_name(const char *name, struct bytebuf *out)
{
	cJSON *s = cJSON_CreateString(name);
	int err = s ? emit_scalar(s, out) : -ENOMEM;

	cJSON_Delete(s);
	return err;
}

static int emit(const cJSON *v, struct bytebuf *out)
{
	size_t n = 0, i = 0;
	const cJSON *c;
	const cJSON **members;
	int err = 0;

	if (cJSON_IsArray(v)) {
		if (bb_append(out, "[", 1))
			return -ENOMEM;
		for (c = v->child; c && !err; c = c->next)
			err = (c != v->child && bb_append(out, ",", 1)) ? -ENOMEM : emit(c, out);
		return err ? err : bb_append(out, "]", 1) ? -ENOMEM : 0;
	}
	if (!cJSON_IsObject(v))
		return emit_scalar(v, out);
	for (c = v->child; c; c = c->next)
		n++;
	members = malloc((n ? n : 1) * sizeof(*members));
	if (!members)
		return -ENOMEM;
	for (c = v->child; c; c = c->next)
		members[i++] = c;
	qsort(members, n, sizeof(*members), by_name);
	err = bb_append(out, "{", 1) ? -ENOMEM : 0;
	for (i = 0; i < n && !err; i++) {
		if (i && bb_append(out, ",", 1))
			err = -ENOMEM;
		if (!err)
			err = emit_name(members[i]->string, out);
		if (!err && bb_append(out, ":", 1))
			err = -ENOMEM;
		if (!err)
			err = emit(members[i], out);
	}
	free(members);
	return err ? err : bb_append(out, "}", 1) ? -ENOMEM : 0;
}

int approval_canon(const cJSON *args, struct bytebuf *out)
{
	if (!args)
		return bb_append(out, "{}", 2) ? -ENOMEM : 0;
	return emit(args, out);
}

int approval_args_hash(const unsigned char key[16], const cJSON *args, uint64_t *out)
{
	struct bytebuf text = BYTEBUF_INIT;
	int err = approval_canon(args, &text);

	if (!err)
		*out = siphash24(key, text.data ? text.data : "", text.len);
	bb_free(&text);
	return err;
}

void approval_summary(const cJSON *args, char *out, size_t size)
{
	struct bytebuf text = BYTEBUF_INIT;
	size_t n;

	if (!size)
		return;
	if (approval_canon(args, &text)) {
		snprintf(out, size, "(arguments too large to show)");
		bb_free(&text);
		return;
	}
	n = text.len;
	if (n >= size) {
		/* cut on a character boundary and say so */
		n = size > 4 ? size - 4 : 0;
		while (n && ((unsigned char)text.data[n] & 0xc0) == 0x80)
			n--;
		snprintf(out, size, "%.*s...", (int)n, text.data);
	} else {
		snprintf(out, size, "%.*s", (int)n, text.data ? text.data : "");
	}
	bb_free(&text);
}
