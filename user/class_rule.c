/* Rules by tool class and on_change holds (class_rule.h). */
#include "class_rule.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tool_class.h"
#include "tool_inventory.h"

/* The class entry named name among the server's n class entries. */
static const struct cached_tool *class_entry(const struct cached_tool *run, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(run[i].tool + strlen(POLICY_CLASS_PREFIX), name))
			return &run[i];
	return NULL;
}

enum class_pick class_rule_pick(const struct policy_maps *maps, const struct policy_cache *cache,
				const char *server, const char *tool, struct class_pick_out *out)
{
	struct mcpf_inventory_server srv;
	struct mcpf_inventory_tool row;
	const struct cached_tool *run, *rule;
	size_t n;
	int err;

	memset(out, 0, sizeof(*out));
	run = policy_cache_prefixed(cache, server, POLICY_CLASS_PREFIX, &n);
	if (!n || maps->inventory <= 0)
		return CLASS_PICK_NONE;
	err = tool_inventory_get(maps->inventory, server, tool, &row);
	if (class_entry(run, n, POLICY_ON_CHANGE_NAME)) {
		if (err == -ENOENT && tool_inventory_server(maps->inventory_servers, server, &srv) != -ENOENT) {
			snprintf(out->why, sizeof(out->why), "tool \"%s\" is not in the inventory of server \"%s\" "
				 "(on_change: deny): name it in the policy to allow it", tool, server);
			return CLASS_PICK_HELD;
		}
		if (err && err != -ENOENT) {
			snprintf(out->why, sizeof(out->why), "the tool inventory cannot be read (on_change: deny): %s",
				 strerror(-err));
			return CLASS_PICK_HELD;
		}
		if (!err && row.drift != MCPF_DRIFT_NONE) {
			snprintf(out->why, sizeof(out->why), "tool \"%s\" %s after server \"%s\" was inventoried "
				 "(on_change: deny): review it, then name it in the policy to allow it", tool,
				 row.drift == MCPF_DRIFT_ADDED ? "appeared" : "changed its definition", server);
			return CLASS_PICK_HELD;
		}
	}
	if (err == -ENOENT && tool_inventory_server(maps->inventory_servers, server, &srv) == 0 && srv.dropped) {
		snprintf(out->why, sizeof(out->why), "tool \"%s\" has no class: server \"%s\" listed %u tools the "
			 "inventory could not record; name it in the policy to decide it", tool, server, srv.dropped);
		return CLASS_PICK_UNRECORDED;
	}
	if (err || row.category == MCPF_CATEGORY_UNKNOWN)
		return CLASS_PICK_NONE;
	snprintf(out->class_name, sizeof(out->class_name), "%s", tool_category_name(row.category));
	rule = class_entry(run, n, out->class_name);
	if (row.hints_only) {
		/* a server's claim alone can narrow what the tool would get
		 * without it, never widen or replace it */
		enum mcpf_tool_category evidence = tool_evidence_category(row.reasons);

		snprintf(out->also_name, sizeof(out->also_name), "%s", out->class_name);
		out->also = rule;
		snprintf(out->class_name, sizeof(out->class_name), "%s", tool_category_name(evidence));
		rule = evidence == MCPF_CATEGORY_UNKNOWN ? NULL : class_entry(run, n, out->class_name);
	}
	out->rule = rule;
	return rule || out->also ? CLASS_PICK_RULE : CLASS_PICK_NONE;
}
