#include <errno.h>
#include <string.h>
#include "call_list.h"
#include "json_limits.h"
#include "json_number.h"

int call_list_add(struct call_list *l, const struct pending_call *c)
{
	struct pending_call *in;

	if (l->n == CALL_LIST_MAX)
		return -ENOSPC;
	in = &l->calls[l->n++];
	*in = *c;
	/* the arguments (--audit-args) may be most of a 4 MiB body */
	in->held_bytes = json_tree_bytes(c->id) + json_tree_bytes(c->arguments);
	l->bytes += in->held_bytes;
	return 0;
}

static void take_at(struct call_list *l, size_t i, struct pending_call *out)
{
	*out = l->calls[i];
	l->bytes -= out->held_bytes;
	memmove(&l->calls[i], &l->calls[i + 1], (l->n - i - 1) * sizeof(l->calls[0]));
	l->n--;
}

bool call_list_has(const struct call_list *l, const cJSON *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (id && json_equal(l->calls[i].id, id))
			return true;
	return false;
}

bool call_list_take(struct call_list *l, const cJSON *id, struct pending_call *out)
{
	for (size_t i = 0; i < l->n; i++) {
		if (id && json_equal(l->calls[i].id, id)) {
			take_at(l, i, out);
			return true;
		}
	}
	return false;
}

/* The raw id as what json_equal would match, without parsing it, for
 * the ids clients use: integers of up to 15 digits and strings without
 * escapes. 1: *num or (*str, *slen) set; 0: parse it. */
static int plain_id(const char *raw, size_t len, double *num, const char **str, size_t *slen)
{
	size_t i = raw[0] == '-';

	if (len >= 2 && raw[0] == '"' && raw[len - 1] == '"') {
		for (i = 1; i < len - 1; i++)
			if (raw[i] == '\\' || raw[i] == '"' || (unsigned char)raw[i] < 0x20)
				return 0;
		*str = raw + 1;
		*slen = len - 2;
		return 1;
	}
	if (len == i || len - i > 15 || (raw[i] == '0' && len - i > 1))
		return 0;
	*num = 0;
	for (; i < len; i++) {
		if (raw[i] < '0' || raw[i] > '9')
			return 0;
		*num = *num * 10 + (raw[i] - '0');
	}
	if (raw[0] == '-')
		*num = -*num;
	*str = NULL;
	return 1;
}

bool call_list_take_raw(struct call_list *l, const char *raw, size_t len, struct pending_call *out)
{
	const char *str = NULL;
	size_t slen = 0;
	double num = 0;
	bool found;

	if (!l->n || !raw || !len)
		return false;
	if (!plain_id(raw, len, &num, &str, &slen)) {
		cJSON *id = cJSON_ParseWithLength(raw, len);

		found = id && call_list_take(l, id, out);
		cJSON_Delete(id);
		return found;
	}
	for (size_t i = 0; i < l->n; i++) {
		const cJSON *id = l->calls[i].id;

		if (str ? cJSON_IsString(id) && strlen(id->valuestring) == slen && !memcmp(id->valuestring, str, slen)
			: cJSON_IsNumber(id) && id->valuedouble == num) {
			take_at(l, i, out);
			return true;
		}
	}
	return false;
}

bool call_list_take_exchange(struct call_list *l, unsigned exchange, struct pending_call *out)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->calls[i].exchange == exchange) {
			take_at(l, i, out);
			return true;
		}
	}
	return false;
}

void call_free(struct pending_call *c)
{
	cJSON_Delete(c->id);
	cJSON_Delete(c->arguments);
	c->id = c->arguments = NULL;
}

void call_list_clear(struct call_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		call_free(&l->calls[i]);
	l->n = 0;
	l->bytes = 0;
}
