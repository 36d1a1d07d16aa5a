/* Argument conditions: compile once, evaluate per call. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "policy_conditions.h"
#include "common.h"
#include "json_fold.h"
#include "json_number.h"
#include "json_span.h"

void condition_compile(struct compiled_cond *c)
{
	c->value = NULL;
	c->re = NULL;
	c->usable = c->cond.op == MCPF_OP_EXISTS;  /* the only op without a value */
	if (!c->cond.value[0])
		return;
	c->value = cJSON_Parse(c->cond.value);
	/* a policy number that is not exact would be compared as another one */
	c->usable = c->value &&
		    !json_numbers_mark(c->value, c->cond.value,
				       (struct json_span){ 0, strlen(c->cond.value) }) &&
		    !json_holds_inexact(c->value);
	if (c->usable && c->cond.op == MCPF_OP_REGEX) {
		char err[128];

		c->usable = cJSON_IsString(c->value) &&
			    !linregex_compile(&c->re, c->value->valuestring, 0, err, sizeof(err));
	}
}

void condition_release(struct compiled_cond *c)
{
	cJSON_Delete(c->value);
	c->value = NULL;
	linregex_free(c->re);
	c->re = NULL;
}

/* The member of obj named by the first len bytes of name; *dup when the
 * name occurs more than once, or another member folds to it ("PATH" for
 * "path"): a server matching names case-insensitively (Go's encoding/json)
 * could read that one instead (json_fold.h). */
static const cJSON *object_member(const cJSON *obj, const char *name, size_t len, bool *dup)
{
	const cJSON *found = NULL;

	for (const cJSON *c = obj->child; c; c = c->next) {
		size_t clen = strlen(c->string);

		if (clen != len || memcmp(c->string, name, len)) {
			if (json_fold_equal(c->string, clen, name, len)) {
				*dup = true;
				return NULL;
			}
			continue;
		}
		if (found) {
			*dup = true;
			return NULL;
		}
		found = c;
	}
	return found;
}

static const cJSON *array_member(const cJSON *arr, const char *seg, size_t len)
{
	int index = 0;

	if (len > 9)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)seg[i]))
			return NULL;
		index = index * 10 + (seg[i] - '0');
	}
	return cJSON_GetArrayItem(arr, index);
}

static const cJSON *resolve(const cJSON *args, const char *path, bool *dup)
{
	const cJSON *node = args;
	const char *seg = path + strlen("args.");

	while (node) {
		const char *dot = strchr(seg, '.');
		size_t len = dot ? (size_t)(dot - seg) : strlen(seg);

		if (cJSON_IsObject(node))
			node = object_member(node, seg, len, dup);
		else if (cJSON_IsArray(node))
			node = array_member(node, seg, len);
		else
			node = NULL;
		if (!dot)
			return node;
		seg = dot + 1;
	}
	return NULL;
}

static bool any_equal(const cJSON *list, const cJSON *item)
{
	for (const cJSON *c = list->child; c; c = c->next)
		if (json_equal(c, item))
			return true;
	return false;
}

/* The JSON type, true and false being one (boolean). */
static int json_type(const cJSON *v)
{
	return cJSON_IsBool(v) ? cJSON_True : v->type & 0xFF;
}

/* neq and not_in hold for a value of another type than the policy names
 * ("yes", "true" or 1 for neq true), which a lax server reads as that
 * value (pydantic, FastMCP): such an argument fails them. */
static bool type_matches(const struct compiled_cond *c, const cJSON *arg)
{
	if (c->cond.op == MCPF_OP_NEQ)
		return json_type(arg) == json_type(c->value);
	if (c->cond.op == MCPF_OP_NOT_IN) {
		for (const cJSON *v = c->value->child; v; v = v->next)
			if (json_type(arg) == json_type(v))
				return true;
		return false;
	}
	return true;
}

static bool holds(const struct compiled_cond *c, const cJSON *arg)
{
	const cJSON *v = c->value;

	if (!arg && c->cond.op != MCPF_OP_EXISTS)
		return false;
	switch (c->cond.op) {
	case MCPF_OP_EXISTS:
		return (arg != NULL) == (!v || cJSON_IsTrue(v));
	case MCPF_OP_EQ:
		return json_equal(arg, v);
	case MCPF_OP_NEQ:
		return !json_equal(arg, v);
	case MCPF_OP_IN:
		return any_equal(v, arg);
	case MCPF_OP_NOT_IN:
		return !any_equal(v, arg);
	case MCPF_OP_LT:
		return cJSON_IsNumber(arg) && arg->valuedouble < v->valuedouble;
	case MCPF_OP_LTE:
		return cJSON_IsNumber(arg) && arg->valuedouble <= v->valuedouble;
	case MCPF_OP_GT:
		return cJSON_IsNumber(arg) && arg->valuedouble > v->valuedouble;
	case MCPF_OP_GTE:
		return cJSON_IsNumber(arg) && arg->valuedouble >= v->valuedouble;
	case MCPF_OP_REGEX:
		return cJSON_IsString(arg) && linregex_match(c->re, arg->valuestring);
	case MCPF_OP_CONTAINS:
		if (cJSON_IsString(arg) && cJSON_IsString(v))
			return strstr(arg->valuestring, v->valuestring) != NULL;
		return cJSON_IsArray(arg) && any_equal(arg, v);
	}
	return false;
}

/* Would Python FastMCP hand the tool another value than this string?
 * Its pre_parse_json runs json.loads on a top-level string argument (the
 * parameter not typed str) and keeps an object, array or null, not a
 * str, int or float, and so not a bool (an int to Python). JSON whitespace around the value is accepted, as json.loads does;
 * any text inside matching brackets counts, not only what the strict
 * grammar (json_strict.h) reads: json.loads also takes NaN, Infinity and
 * lone surrogate escapes. */
static bool parsed_by_fastmcp(const cJSON *arg)
{
	const char *t;
	size_t b, e;

	if (!cJSON_IsString(arg))
		return false;
	t = arg->valuestring;
	e = strlen(t);
	b = json_skip_ws(t, e, 0);
	while (e > b && strchr(" \t\r\n", t[e - 1]))
		e--;
	if (b == e)
		return false;
	if ((t[b] == '{' && t[e - 1] == '}') || (t[b] == '[' && t[e - 1] == ']'))
		return true;
	return e - b == 4 && !memcmp(t + b, "null", 4);
}

/* The condition reads a top-level argument that is a string some server
 * parses as JSON first: on the string itself only exists (present either
 * way) and the number ops (neither a string nor what it parses to is a
 * number) mean the same; below it the daemon finds nothing where the tool
 * gets an object. */
static bool reads_json_string(const struct compiled_cond *c, const cJSON *args)
{
	const char *seg = c->cond.path + strlen("args."), *dot = strchr(seg, '.');
	bool dup = false;
	const cJSON *top;

	if (!cJSON_IsObject(args))
		return false;
	top = object_member(args, seg, dot ? (size_t)(dot - seg) : strlen(seg), &dup);
	if (!parsed_by_fastmcp(top))
		return false;
	if (dot)
		return true;
	switch (c->cond.op) {
	case MCPF_OP_EXISTS:
	case MCPF_OP_LT:
	case MCPF_OP_LTE:
	case MCPF_OP_GT:
	case MCPF_OP_GTE:
		return false;
	default:
		return true;
	}
}

enum cond_result condition_eval(const struct compiled_cond *c, const cJSON *args)
{
	const cJSON *arg;
	bool dup = false;

	if (!c->usable)
		return COND_BROKEN;
	arg = resolve(args, c->cond.path, &dup);
	if (dup)
		return COND_AMBIGUOUS;
	if (reads_json_string(c, args))
		return COND_JSON_STRING;
	if (arg && c->cond.op != MCPF_OP_EXISTS && json_holds_inexact(arg))
		return COND_INEXACT;
	if (arg && !type_matches(c, arg))
		return COND_WRONG_TYPE;
	return holds(c, arg) ? COND_HOLDS : COND_FAILS;
}
