#include <errno.h>
#include <string.h>
#include "call_list.h"

int call_list_add(struct call_list *l, const struct pending_call *c)
{
	if (l->n == CALL_LIST_MAX)
		return -ENOSPC;
	l->calls[l->n++] = *c;
	return 0;
}

static void take_at(struct call_list *l, size_t i, struct pending_call *out)
{
	*out = l->calls[i];
	memmove(&l->calls[i], &l->calls[i + 1], (l->n - i - 1) * sizeof(l->calls[0]));
	l->n--;
}

bool call_list_has(const struct call_list *l, const cJSON *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (id && cJSON_Compare(l->calls[i].id, id, true))
			return true;
	return false;
}

bool call_list_take(struct call_list *l, const cJSON *id, struct pending_call *out)
{
	for (size_t i = 0; i < l->n; i++) {
		if (id && cJSON_Compare(l->calls[i].id, id, true)) {
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
}
