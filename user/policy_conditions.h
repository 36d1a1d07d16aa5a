/* Argument conditions: compiling a stored condition (parse its value,
 * compile its regex) and evaluating it against a call's arguments.
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
#ifndef MCPF_POLICY_CONDITIONS_H
#define MCPF_POLICY_CONDITIONS_H

#include <regex.h>
#include <stdbool.h>
#include <cjson/cJSON.h>
#include "policy.h"

struct compiled_cond {
	struct mcpf_policy_cond cond;
	cJSON *value;            /* NULL when the condition has none */
	regex_t re;
	bool has_re;
	bool usable;             /* false: missing or unusable in the maps */
};

enum cond_result {
	COND_HOLDS,
	COND_FAILS,
	COND_AMBIGUOUS,   /* a key on the path is repeated, or spelled in another case, in the arguments */
	COND_BROKEN,      /* the condition is missing or unusable in the maps */
};

/* c->cond must be filled in; sets everything else. */
void condition_compile(struct compiled_cond *c);
void condition_release(struct compiled_cond *c);

enum cond_result condition_eval(const struct compiled_cond *c, const cJSON *args);

#endif /* MCPF_POLICY_CONDITIONS_H */
