/* Argument conditions: evaluation against a tools/call's arguments, with
 * the active generation's conditions parsed (values, regexes) once and
 * cached until the generation changes.
 *
 * Paths are "args." followed by keys separated by dots; a key that is all
 * digits indexes an array. Ops:
 *   eq, neq         JSON equality (cJSON_Compare, case-sensitive)
 *   in, not_in      equality with some / no element of the value array
 *   lt lte gt gte   numbers only
 *   regex           string argument, POSIX ERE, unanchored (use ^ $)
 *   contains        substring of a string argument, or an element equal to
 *                   the value in an array argument
 *   exists          present (value true or absent) / absent (value false)
 * An absent path fails every op but exists; a wrong type fails the op.
 */
#ifndef MCPF_CONDITIONS_H
#define MCPF_CONDITIONS_H

#include <cjson/cJSON.h>
#include "policy_compile.h"

enum cond_result {
	COND_HOLDS,
	COND_FAILS,
	COND_AMBIGUOUS,   /* a key on the path is duplicated in the arguments */
	COND_BROKEN,      /* the condition is missing or unusable in the maps */
};

/* Evaluates condition index of (server, tool) in generation gen. *cond
 * points at the stored condition (for messages) unless COND_BROKEN. */
enum cond_result condition_eval(struct policy_maps *maps, unsigned int gen,
				const char *server, const char *tool, unsigned int index,
				const cJSON *args, const struct mcpf_policy_cond **cond);

void condition_cache_free(struct condition_cache *cache);

#endif /* MCPF_CONDITIONS_H */
