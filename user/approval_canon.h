/* What an approval is bound to: the call's arguments in canonical form
 * (key-sorted compact JSON), their keyed hash, and a short summary for the
 * human who is asked.
 *
 *   approval_canon(args, &text)          // args NULL: "{}"
 *   approval_args_hash(key, args, &h)    // SipHash-2-4 of the canonical text
 *   approval_summary(args, buf, size)    // canonical text, cut at size with "..."
 *
 * Canonical: objects' members sorted by name bytes (a name repeated keeps
 * every copy, in order: decide already refuses calls a server could read
 * two ways), arrays in order, strings and numbers as cJSON prints them
 * (control characters escaped, so a summary is safe to print on a
 * terminal). Two calls whose arguments differ only in member order or
 * white space hash alike; any other difference hashes differently (up to
 * 64-bit collisions, which a keyed hash keeps the agent from aiming at).
 * Numbers are cJSON's doubles: spellings of one value (1, 1.0, 1e0) hash
 * alike; a number whose magnitude reaches 2^53 (or infinity) is -ERANGE,
 * since one double there stands for integers a server reads apart.
 */
#ifndef MCPF_APPROVAL_CANON_H
#define MCPF_APPROVAL_CANON_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "bytebuf.h"

/* 0, -ENOMEM, or -ERANGE (a number no hash can bind, above). */
int approval_canon(const cJSON *args, struct bytebuf *out);
int approval_args_hash(const unsigned char key[16], const cJSON *args, uint64_t *out);
void approval_summary(const cJSON *args, char *out, size_t size);

#endif
