/* The daemon-wide budget for held bytes; see mem_budget.h. */
#include "mem_budget.h"

static void note_peak(struct mem_budget *b, size_t used)
{
	size_t peak = __atomic_load_n(&b->peak, __ATOMIC_RELAXED);

	while (used > peak &&
	       !__atomic_compare_exchange_n(&b->peak, &peak, used, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

void mem_budget_set(struct mem_budget *b, size_t *charged, size_t held)
{
	/* unsigned wrap-around adds a negative difference too */
	size_t used = __atomic_add_fetch(&b->used, held - *charged, __ATOMIC_RELAXED);

	*charged = held;
	note_peak(b, used);
}

static bool fits(const struct mem_budget *b, size_t used, size_t n)
{
	size_t reserve = b->limit / 16 < MEM_BUDGET_RESERVE_MAX ? b->limit / 16 : MEM_BUDGET_RESERVE_MAX;
	size_t admit = b->limit - reserve;

	return used <= admit && n <= admit - used;
}

bool mem_budget_room(const struct mem_budget *b, size_t n)
{
	return fits(b, __atomic_load_n(&b->used, __ATOMIC_RELAXED), n);
}

bool mem_budget_take(struct mem_budget *b, size_t *charged, size_t held)
{
	size_t used = __atomic_load_n(&b->used, __ATOMIC_RELAXED), more = held - *charged;

	if (held <= *charged) {
		mem_budget_set(b, charged, held);
		return true;
	}
	do {
		if (!fits(b, used, more))
			return false;
	} while (!__atomic_compare_exchange_n(&b->used, &used, used + more, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	*charged = held;
	note_peak(b, used + more);
	return true;
}

size_t mem_budget_used(const struct mem_budget *b)
{
	return __atomic_load_n(&b->used, __ATOMIC_RELAXED);
}
