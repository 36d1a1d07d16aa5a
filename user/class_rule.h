/*
 * class_rule: which "classes" entry (or "on_change" hold) stands for a
 * tools/call whose tool has no entry of its own, from the tool inventory
 * (tool_inventory.h) at call time. decide() asks once per such call;
 * servers without "classes" and "on_change" cost nothing (no map lookup).
 *
 * Precedence: the tool's own entry > its class > "*" > default.
 *   1. "on_change": "deny": a tool without an entry of its own is denied
 *      (rule "on_change") when its inventory row has drifted (added on a
 *      known server, or changed since first seen), or when the server is
 *      inventoried and the tool is not (never listed, or not recorded:
 *      fail closed), until the policy names it in "tools".
 *   2. the entry classes.CATEGORY for the tool's recorded category; an
 *      entry without "action" allows, as a tool entry does. Its
 *      conditions and limits apply as a tool entry's would. A class that
 *      rests on annotations alone (hints_only: the server's claim) may
 *      only tighten: the tool is decided as it would be without the
 *      claim (the entry of its evidence class, tool_evidence_category(),
 *      else "*" / default), and the claimed class's entry is applied on
 *      top (out->also: its deny denies, its conditions and limits add).
 *   Tools not in the inventory, or of category unknown, have no class;
 *   but on a server that listed tools the inventory could not record
 *   (over its cap, names too long), a tool without a row is denied: it
 *   may be one of them, and listing filler must not lift a class rule.
 */
#ifndef MCPF_CLASS_RULE_H
#define MCPF_CLASS_RULE_H

#include <stdbool.h>
#include "policy_cache.h"

enum class_pick {
	CLASS_PICK_NONE,   /* no class rule: "*" / default decide */
	CLASS_PICK_RULE,   /* out->rule (if any) decides, named classes.<class_name>;
			    * out->also (if any) only adds, classes.<also_name> */
	CLASS_PICK_HELD,   /* deny: on_change, out->why says why */
	CLASS_PICK_UNRECORDED, /* deny: the server listed tools the inventory could not record, and
	                        * this one has no row: its class is unknown (out->why) */
};

struct class_pick_out {
	const struct cached_tool *rule, *also;
	char class_name[16], also_name[16];
	char why[256];
};

enum class_pick class_rule_pick(const struct policy_maps *maps, const struct policy_cache *cache,
				const char *server, const char *tool, struct class_pick_out *out);

#endif /* MCPF_CLASS_RULE_H */
