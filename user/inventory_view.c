/* Reading the inventory and its decisions for the CLI (inventory_view.h). */
#include "inventory_view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "common.h"
#include "endpoint.h"
#include "policy_cache.h"

static int open_pinned(const char *cmd, const char *bpffs, const char *name, size_t value_size)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", bpffs, name);
	if ((fd = bpf_obj_get(path)) < 0) {
		fprintf(stderr, "mcpfence %s: cannot open %s: %s%s\n", cmd, path, strerror(errno),
			errno == ENOENT ? " (has the daemon run with this --bpffs dir?)" : "");
		return -1;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || info.value_size != value_size) {
		fprintf(stderr, "mcpfence %s: %s has another layout than this binary expects"
			" (pinned by a different mcpfence version?)\n", cmd, path);
		close(fd);
		return -1;
	}
	return fd;
}

/* An empty, unpinned map like rate_state (same BTF, so its spin lock is
 * accepted): decide() counts into it and forgets. */
static int scratch_like(int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int btf, scratch;

	if (bpf_obj_get_info_by_fd(fd, &info, &len) || (btf = bpf_btf_get_fd_by_id(info.btf_id)) < 0)
		return -1;
	LIBBPF_OPTS(bpf_map_create_opts, opts, .btf_fd = btf, .btf_key_type_id = info.btf_key_type_id,
		    .btf_value_type_id = info.btf_value_type_id, .map_flags = info.map_flags);
	scratch = bpf_map_create(info.type, "rate_scratch", info.key_size, info.value_size, info.max_entries, &opts);
	close(btf);
	return scratch;
}

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
	if ((v->policy.inventory = open_pinned(cmd, bpffs, "tool_inventory", sizeof(struct mcpf_inventory_tool))) < 0 ||
	    (v->policy.inventory_servers = open_pinned(cmd, bpffs, "tool_inventory_servers",
						       sizeof(struct mcpf_inventory_server))) < 0 ||
	    (v->policy.active = open_pinned(cmd, bpffs, "policy_active", sizeof(struct mcpf_policy_active))) < 0 ||
	    (v->policy.servers = open_pinned(cmd, bpffs, "policy_servers", sizeof(struct mcpf_policy_server))) < 0 ||
	    (v->policy.tools = open_pinned(cmd, bpffs, "policy_tools", sizeof(struct mcpf_policy_tool))) < 0 ||
	    (v->policy.conds = open_pinned(cmd, bpffs, "policy_conds", sizeof(struct mcpf_policy_cond))) < 0 ||
	    (v->policy.targets = open_pinned(cmd, bpffs, "targets", sizeof(struct mcpf_target))) < 0 ||
	    (rate = open_pinned(cmd, bpffs, "rate_state", sizeof(struct mcpf_rate_state))) < 0) {
		inventory_view_close(v);
		return -1;
	}
	v->policy.rate = scratch_like(rate);
	close(rate);
	if (v->policy.rate < 0) {
		fprintf(stderr, "mcpfence %s: cannot make a scratch rate-limit map: %s\n", cmd, strerror(errno));
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

int inventory_view_rows(const struct inventory_view *v, const char *server,
			struct inventory_row **rows_out, size_t *n_out)
{
	struct mcpf_inventory_key cur, next;
	struct inventory_row *rows = NULL, *grown;
	size_t n = 0, cap = 0;
	bool first = true;

	for (; !bpf_map_get_next_key(v->policy.inventory, first ? NULL : &cur, &next); first = false) {
		cur = next;
		if (server && strncmp(cur.server, server, sizeof(cur.server)))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			if (!(grown = reallocarray(rows, cap, sizeof(*rows)))) {
				free(rows);
				return -ENOMEM;
			}
			rows = grown;
		}
		rows[n].key = cur;
		if (bpf_map_lookup_elem(v->policy.inventory, &cur, &rows[n].v))
			continue;  /* gone meanwhile */
		rows[n].key.server[sizeof(cur.server) - 1] = rows[n].key.tool[sizeof(cur.tool) - 1] = '\0';
		n++;
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

char **inventory_view_endpoints(const struct inventory_view *v, const char *server)
{
	struct mcpf_endpoint cur, next;
	struct mcpf_target target;
	char buf[ENDPOINT_STRLEN], **out = calloc(1, sizeof(*out)), **grown;
	size_t n = 0;
	bool first = true;

	for (; out && !bpf_map_get_next_key(v->policy.targets, first ? NULL : &cur, &next); first = false) {
		cur = next;
		if (bpf_map_lookup_elem(v->policy.targets, &cur, &target) ||
		    strncmp(target.server, server, sizeof(target.server)))
			continue;
		endpoint_str(&cur, buf);
		if (!(grown = reallocarray(out, n + 2, sizeof(*out)))) {
			out[n] = NULL;
			goto oom;
		}
		out = grown;
		/* a wildcard address prints as "*:PORT"; policies write ":PORT" */
		if (!(out[n] = strdup(buf[0] == '*' ? buf + 1 : buf)))
			goto oom;
		out[++n] = NULL;
	}
	return out;
oom:
	for (size_t i = 0; i < n; i++)
		free(out[i]);
	free(out);
	return NULL;
}
