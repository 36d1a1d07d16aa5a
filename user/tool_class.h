/*
 * tool_class: what kind of tool an MCP server declares, from its name,
 * description, input schema and annotations. Pure: no I/O, no state.
 *
 *   struct tool_hints h;
 *   tool_hints_read(tool->annotations, &h);
 *   struct tool_class c;
 *   tool_classify(name, description, input_schema, &h, &c);
 *   c.category, c.risk, c.reasons (TOOL_WHY_* bits), c.hints_only
 *
 * Categories (as PolicyLayer's: Read, Write, Execute, Financial,
 * Destructive; plus unknown when nothing points anywhere). Evidence, each
 * item naming a category and setting a reason bit:
 *   1. annotations (MCP 2025-11-25 ToolAnnotations; defaults readOnlyHint
 *      false, destructiveHint true, idempotentHint false, openWorldHint
 *      true), read only when the server sets readOnlyHint or
 *      destructiveHint: readOnlyHint true -> read; otherwise
 *      destructiveHint (true unless set false) -> destructive, false ->
 *      write. idempotentHint and openWorldHint only set reasons.
 *   2. name tokens (split at non-alphanumerics and camelCase; a trailing
 *      "s" or "es" is also tried without it): delete,
 *      remove, drop ... -> destructive; pay, charge, refund ... ->
 *      financial; exec, run, deploy, shell ... -> execute; write, create,
 *      update, send ... -> write; get, list, read, search ... -> read.
 *   3. description tokens, for destructive, financial and execute words
 *      only (read and write verbs are too common in prose).
 *   4. input schema: a property named code, command, script, sql, shell
 *      ... that takes a free-form string (no enum, const, pattern or
 *      format) -> execute; named query, expression, filter ... -> a risk
 *      signal only.
 * The category is the most severe any evidence names (annotations are
 * claims: they can make a tool look worse, never better than its name).
 * hints_only: the category comes from annotations and no other evidence
 * reaches it; policy then lets a class rule only tighten (decide.h).
 *
 * Risk: read low, write and unknown medium, execute and financial high,
 * destructive critical; one level up (at most critical) when the schema
 * takes free-form code or query text.
 *
 * Bounded on hostile input: names are read up to TOOL_CLASS_NAME_SCAN
 * bytes, descriptions up to TOOL_CLASS_DESC_SCAN, and at most
 * TOOL_CLASS_SCHEMA_NODES schema nodes down to TOOL_CLASS_SCHEMA_DEPTH;
 * what is cut sets TOOL_WHY_TRUNCATED.
 */
#ifndef MCPF_TOOL_CLASS_H
#define MCPF_TOOL_CLASS_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include "inventory_abi.h"

#define TOOL_CLASS_NAME_SCAN    256
#define TOOL_CLASS_DESC_SCAN    4096
#define TOOL_CLASS_SCHEMA_NODES 512
#define TOOL_CLASS_SCHEMA_DEPTH 16

enum tool_why {
	TOOL_WHY_HINT_READ_ONLY   = 1u << 0,
	TOOL_WHY_HINT_DESTRUCTIVE = 1u << 1,   /* destructiveHint true, or unset with readOnlyHint false */
	TOOL_WHY_HINT_ADDITIVE    = 1u << 2,   /* destructiveHint false */
	TOOL_WHY_HINT_IDEMPOTENT  = 1u << 3,
	TOOL_WHY_HINT_OPEN_WORLD  = 1u << 4,
	TOOL_WHY_NAME_READ        = 1u << 5,
	TOOL_WHY_NAME_WRITE       = 1u << 6,
	TOOL_WHY_NAME_EXECUTE     = 1u << 7,
	TOOL_WHY_NAME_FINANCIAL   = 1u << 8,
	TOOL_WHY_NAME_DESTRUCTIVE = 1u << 9,
	TOOL_WHY_DESC_EXECUTE     = 1u << 10,
	TOOL_WHY_DESC_FINANCIAL   = 1u << 11,
	TOOL_WHY_DESC_DESTRUCTIVE = 1u << 12,
	TOOL_WHY_SCHEMA_CODE      = 1u << 13,  /* free-form code/command/script/sql argument */
	TOOL_WHY_SCHEMA_QUERY     = 1u << 14,  /* free-form query/expression/filter argument */
	TOOL_WHY_TRUNCATED        = 1u << 15,  /* scanning stopped at a cap */
};
#define TOOL_WHY_COUNT 16

struct tool_hints {
	enum mcpf_hint read_only, destructive, idempotent, open_world;
};

struct tool_class {
	enum mcpf_tool_category category;
	enum mcpf_tool_risk risk;
	unsigned int reasons;
	bool hints_only;
};

/* The hints of an "annotations" object (NULL or not an object: none;
 * a hint that is not a boolean is unset). */
void tool_hints_read(const cJSON *annotations, struct tool_hints *out);

/* name and description may be NULL; schema is the inputSchema value. */
void tool_classify(const char *name, const char *description, const cJSON *schema,
		   const struct tool_hints *hints, struct tool_class *out);

/* The category the evidence other than annotations names (TOOL_WHY_NAME_*,
 * DESC_* and SCHEMA_CODE bits of reasons): what a hints_only tool would
 * be without the server's claim. */
enum mcpf_tool_category tool_evidence_category(unsigned int reasons);

/* "read", "write", "execute", "financial", "destructive", "unknown". */
const char *tool_category_name(enum mcpf_tool_category c);
/* The category of a name, or -1 ("unknown" is not a class one can name). */
int tool_category_parse(const char *name);
const char *tool_risk_name(enum mcpf_tool_risk r);
/* "hint_read_only", "name_execute", "schema_code", ... ; NULL past the last. */
const char *tool_why_name(unsigned int bit_index);
/* Reasons as names joined by sep into out (truncated to size). */
void tool_why_format(unsigned int reasons, const char *sep, char *out, size_t size);

#endif /* MCPF_TOOL_CLASS_H */
