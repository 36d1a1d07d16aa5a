/* SipHash-2-4 (Aumasson & Bernstein): a keyed 64-bit hash. Names the
 * daemon makes up for agents (fallback session keys) come from it, keyed
 * by a per-daemon random secret, so an agent cannot guess another's. */
#ifndef MCPF_SIPHASH_H
#define MCPF_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t siphash24(const unsigned char key[16], const void *data, size_t len);

#endif
