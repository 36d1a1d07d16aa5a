/*
 * mem_budget: one budget for the memory every connection holds between
 * events (request bodies being buffered, held replies, queued bytes), so
 * that many connections together cannot grow the daemon without bound.
 *
 *   struct mem_budget b = { .limit = bytes };
 *   mem_budget_set(&b, &conn->charged, held_now);  // after each event, per connection
 *   if (!mem_budget_room(&b, n)) refuse (503, Retry-After)
 *   mem_budget_set(&b, &conn->charged, 0);         // when the connection ends
 *
 * What one event may add before the next check is bounded by the caller
 * (a read is at most one chunk), so admitting only while `n` more bytes fit
 * keeps the total within the limit. Some bytes are taken without asking
 * (a refusal on its way out, a read of bytes streamed through or dropped):
 * they come out of a reserve that admissions leave free, the limit's
 * sixteenth, at most MEM_BUDGET_RESERVE_MAX.
 *
 * Shared by every proxy worker: used is changed atomically, and
 * mem_budget_take checks and takes room in one step, so two workers never
 * both take the last room (the total stays as exact as with one thread).
 */
#ifndef MCPF_MEM_BUDGET_H
#define MCPF_MEM_BUDGET_H

#include <stdbool.h>
#include <stddef.h>

#define MEM_BUDGET_DEFAULT (256u << 20)
#define MEM_BUDGET_RESERVE_MAX (4u << 20)

struct mem_budget {
	size_t limit;
	size_t used;
	size_t peak;
};

void mem_budget_set(struct mem_budget *b, size_t *charged, size_t held);
bool mem_budget_room(const struct mem_budget *b, size_t n);
/* Set *charged to held when that adds nothing or the addition fits
 * (mem_budget_room), atomically; false, nothing changed, otherwise. */
bool mem_budget_take(struct mem_budget *b, size_t *charged, size_t held);
/* used, for /metrics and tests. */
size_t mem_budget_used(const struct mem_budget *b);

#endif
