/* The daemon-wide budget for held bytes; see mem_budget.h. */
#include "mem_budget.h"

void mem_budget_set(struct mem_budget *b, size_t *charged, size_t held)
{
	b->used = b->used - *charged + held;
	*charged = held;
	if (b->used > b->peak)
		b->peak = b->used;
}

bool mem_budget_room(const struct mem_budget *b, size_t n)
{
	return b->used <= b->limit && n <= b->limit - b->used;
}
