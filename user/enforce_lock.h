/*
 * enforce_lock: the one lock over what every proxy worker shares (see
 * README "More than one core"): the policy maps and their snapshot cache,
 * rate_state's read-modify-write and its per-owner counts, the listed
 * tools, the tool inventory, the approval store with its MRTR and
 * elicitation state, the scope table, the connection caps. Recursive, so
 * that a section may call another that locks too. The main thread holds
 * it while it dispatches events (loop.lock), so everything it owns
 * (control socket, timers, reloads) is serialised with the workers'
 * sections without locks of its own.
 */
#ifndef MCPF_ENFORCE_LOCK_H
#define MCPF_ENFORCE_LOCK_H

#include <stdbool.h>

void enforce_lock(void);
void enforce_unlock(void);
/* Long lock-free work inside the main thread's batch (/metrics reading
 * the stats maps): let the workers in meanwhile. Releases the lock and
 * returns true only when this thread holds it exactly once, the batch's
 * hold; then the caller takes it again with enforce_lock when done. */
bool enforce_release_batch(void);

#endif
