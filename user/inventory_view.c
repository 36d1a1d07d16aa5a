/* Reading the inventory and its decisions for the CLI (inventory_view.h). */
#include "inventory_view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "endpoint.h"
#include "kern_maps.h"
#include "policy_cache.h"
#include "stats_view.h"

void inventory_view_close(struct inventory_view *v)
{
	int *fds[] = { &v->policy.active, &v->policy.servers, &v->policy.tools, &v->policy.conds,
		       &v->policy.rate, &v->policy.targets, &v->policy.inventory, &v->policy.inventory_servers };

	policy_maps_release(&v->policy);
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (*fds[i] > 0)
			close(*fds[i]);
}

int inventory_view_open(const char *cmd, const char *bpffs, struct inventory_view *v)
{
	int rate;

	memset(v, 0, sizeof(*v));
	v->policy.target_ports = -1;
#define OPEN(name, key, value) view_open_pinned(cmd, bpffs, name, sizeof(key), sizeof(value))
	if ((v->policy.inventory = OPEN("tool_inventory", struct mcpf_inventory_key, struct mcpf_inventory_tool)) < 0 ||
	    (v->policy.inventory_servers = OPEN("tool_inventory_servers", char[MCPF_NAME_LEN],
						struct mcpf_inventory_server)) < 0 ||
	    (v->policy.active = OPEN("policy_active", __u32, struct mcpf_policy_active)) < 0 ||
	    (v->policy.servers = OPEN("policy_servers", struct mcpf_policy_server_key, struct mcpf_policy_server)) < 0 ||
	    (v->policy.tools = OPEN("policy_tools", struct mcpf_policy_tool_key, struct mcpf_policy_tool)) < 0 ||
	    (v->policy.conds = OPEN("policy_conds", struct mcpf_policy_cond_key, struct mcpf_policy_cond)) < 0 ||
	    (v->policy.targets = OPEN("targets", struct mcpf_endpoint, struct mcpf_target)) < 0 ||
	    (rate = OPEN("rate_state", struct mcpf_rate_key, struct mcpf_rate_state)) < 0) {
		inventory_view_close(v);
		return -1;
	}
#undef OPEN
	/* decide() counts into an empty copy of rate_state (same BTF, so its
	 * spin lock is accepted) and forgets */
	v->policy.rate = kern_map_clone_empty(rate, "rate_scratch");
	close(rate);
	if (v->policy.rate < 0) {
		fprintf(stderr, "mcpfence %s: cannot make a scratch rate-limit map: %s\n", cmd, strerror(-v->policy.rate));
		inventory_view_close(v);
		return -1;
	}
	return 0;
}

static int by_key(const void *a, const void *b)
{
	const struct inventory_row *x = a, *y = b;
	int c = strcmp(x->key.server, y->key.server);

	return c ? c : strcmp(x->key.tool, y->key.tool);
}

static bool of_server(const void *key, const void *value, void *server)
{
	(void)value;
	return !server || !strncmp(((const struct mcpf_inventory_key *)key)->server, server, MCPF_NAME_LEN);
}

int inventory_view_rows(const struct inventory_view *v, const char *server,
			struct inventory_row **rows_out, size_t *n_out)
{
	struct inventory_row *rows;
	ssize_t n = kern_map_rows(v->policy.inventory, sizeof(struct mcpf_inventory_key),
				  sizeof(struct mcpf_inventory_tool), 0, of_server, (void *)server, sizeof(*rows),
				  offsetof(struct inventory_row, v), (void **)&rows);

	if (n < 0)
		return n;
	for (ssize_t i = 0; i < n; i++) {
		struct mcpf_inventory_key *k = &rows[i].key;

		k->server[sizeof(k->server) - 1] = k->tool[sizeof(k->tool) - 1] = '\0';
	}
	if (n)
		qsort(rows, n, sizeof(*rows), by_key);
	*rows_out = rows;
	*n_out = n;
	return 0;
}

void inventory_view_decide(struct inventory_view *v, const struct inventory_row *r, struct decision *d)
{
	struct decide_request req = {
		.server = r->key.server, .tool = r->key.tool, .session = "mcpfence-cli",
		.now_ns = boot_time_ns(),
	};

	decide(&v->policy, &req, d);
}

struct endpoints_out {
	const char *server;
	char **list;  /* NULL-terminated */
	size_t n;
};

static int keep_endpoint(const void *key, const void *value, void *ctx)
{
	struct endpoints_out *o = ctx;
	const struct mcpf_target *target = value;
	char buf[ENDPOINT_STRLEN], **grown;

	if (strncmp(target->server, o->server, sizeof(target->server)))
		return 0;
	endpoint_str(key, buf);
	if (!(grown = reallocarray(o->list, o->n + 2, sizeof(*o->list))))
		return -ENOMEM;
	o->list = grown;
	/* a wildcard address prints as "*:PORT"; policies write ":PORT" */
	if (!(o->list[o->n] = strdup(buf[0] == '*' ? buf + 1 : buf)))
		return -ENOMEM;
	o->list[++o->n] = NULL;
	return 0;
}

char **inventory_view_endpoints(const struct inventory_view *v, const char *server)
{
	struct endpoints_out o = { .server = server, .list = calloc(1, sizeof(char *)) };

	/* a map that cannot be read lists what was read: only OOM is NULL */
	if (o.list && kern_map_dump(v->policy.targets, sizeof(struct mcpf_endpoint), sizeof(struct mcpf_target), 0,
				    keep_endpoint, &o) != -ENOMEM)
		return o.list;
	for (size_t i = 0; o.list && i < o.n; i++)
		free(o.list[i]);
	free(o.list);
	return NULL;
}
