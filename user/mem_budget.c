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
	size_t reserve = b->limit / 16 < MEM_BUDGET_RESERVE_MAX ? b->limit / 16 : MEM_BUDGET_RESERVE_MAX;
	size_t admit = b->limit - reserve;

	return b->used <= admit && n <= admit - b->used;
}
