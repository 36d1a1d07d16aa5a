/* Argument conditions: compiling a stored condition (parse its value,
 * compile its regex) and evaluating it against a call's arguments.
 *
 * Paths are "args." followed by keys separated by dots; a key that is all
 * digits indexes an array. Ops:
 *   eq, neq         JSON equality (json_equal: case-sensitive, numbers exact)
 *   in, not_in      equality with some / no element of the value array
 *   lt lte gt gte   numbers only
 *   regex           string argument, POSIX ERE, unanchored (use ^ $), matched
 *                   in linear time (linregex.h)
 *   contains        substring of a string argument, or an element equal to
 *                   the value in an array argument
 *   exists          present (value true or absent) / absent (value false)
 * An absent path fails every op but exists; a wrong type fails the op,
 * and for neq and not_in (which a value of another type would pass) the
 * result says so: COND_WRONG_TYPE. An argument value holding a number
 * that is not exact (json_number.h: 2^53 or more, or digits a double does
 * not keep) is not compared: COND_INEXACT. A policy value holding one
 * leaves the condition unusable (COND_BROKEN); the loader refuses it.
 * A top-level argument that is a string holding a JSON object, array,
 * or null (JSON whitespace around it allowed) is read as that
 * value by Python FastMCP (pre_parse_json, for a parameter not typed str):
 * a condition on it is COND_JSON_STRING, but for exists and lt/lte/gt/gte
 * on the argument itself, and so is any path below it.
 */
#ifndef MCPF_POLICY_CONDITIONS_H
#define MCPF_POLICY_CONDITIONS_H

#include <stdbool.h>
#include <cjson/cJSON.h>
#include "linregex.h"
#include "policy.h"

struct compiled_cond {
	struct mcpf_policy_cond cond;
	cJSON *value;            /* NULL when the condition has none */
	struct linregex *re;     /* regex: matched in linear time, the argument is the agent's */
	bool usable;             /* false: missing or unusable in the maps */
};

enum cond_result {
	COND_HOLDS,
	COND_FAILS,
	COND_AMBIGUOUS,   /* a key on the path is repeated, or spelled in another case, in the arguments */
	COND_BROKEN,      /* the condition is missing or unusable in the maps */
	COND_INEXACT,     /* the argument holds a number a double does not hold exactly */
	COND_WRONG_TYPE,  /* neq / not_in: the argument is of another JSON type than the value(s) */
	COND_JSON_STRING, /* the path reads a top-level string argument a server may parse as JSON first */
};

/* c->cond must be filled in; sets everything else. */
void condition_compile(struct compiled_cond *c);
void condition_release(struct compiled_cond *c);

enum cond_result condition_eval(const struct compiled_cond *c, const cJSON *args);

#endif /* MCPF_POLICY_CONDITIONS_H */
