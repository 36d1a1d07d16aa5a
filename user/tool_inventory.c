/* The tool inventory in the pinned maps (tool_inventory.h). */
#include "tool_inventory.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "json_canon.h"
#include "kern_maps.h"
#include "log.h"
#include "prom.h"
#include "tool_class.h"
#include "utf8.h"

void tool_inventory_init(struct tool_inventory *inv, int tools_fd, int servers_fd)
{
	unsigned int run = 0;

	/* ids of one run never equal a past run's first_answer: a server
	 * inventoried before a restart is known at once */
	if (getrandom(&run, sizeof(run), 0) != sizeof(run))
		run = (unsigned int)time(NULL);
	*inv = (struct tool_inventory){ tools_fd, servers_fd, (unsigned long long)(run | 1) << 32, 0 };
}

unsigned long long tool_inventory_answer(struct tool_inventory *inv)
{
	/* atomic: connections on other threads may list at the same time */
	return inv->run | __atomic_add_fetch(&inv->answers, 1, __ATOMIC_RELAXED);
}

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int key_of(struct mcpf_inventory_key *k, const char *server, const char *tool)
{
	memset(k, 0, sizeof(*k));
	if (strlen(server) >= sizeof(k->server) || strlen(tool) >= sizeof(k->tool))
		return -ENAMETOOLONG;
	strcpy(k->server, server);
	strcpy(k->tool, tool);
	return 0;
}

int tool_inventory_get(int tools_fd, const char *server, const char *tool, struct mcpf_inventory_tool *out)
{
	struct mcpf_inventory_key k;

	if (tools_fd < 0 || key_of(&k, server, tool))
		return -ENOENT;
	return kern_map_lookup(tools_fd, &k, out);
}

int tool_inventory_server(int servers_fd, const char *server, struct mcpf_inventory_server *out)
{
	char k[MCPF_NAME_LEN] = { 0 };

	if (servers_fd < 0 || strlen(server) >= sizeof(k))
		return -ENOENT;
	strcpy(k, server);
	return kern_map_lookup(servers_fd, k, out);
}

/* What a tool entry declares that drift is judged on: digests and hints. */
static int declared(const cJSON *tool, struct mcpf_inventory_tool *row)
{
	unsigned char d[SHA256_LEN];
	struct tool_hints h;
	int err;

	memset(row, 0, sizeof(*row));
	if ((err = json_canon_digest(cJSON_GetObjectItemCaseSensitive(tool, "description"), d)))
		return err;
	sha256_hex(d, row->description_sha256);
	if ((err = json_canon_digest(cJSON_GetObjectItemCaseSensitive(tool, "inputSchema"), d)))
		return err;
	sha256_hex(d, row->schema_sha256);
	tool_hints_read(cJSON_GetObjectItemCaseSensitive(tool, "annotations"), &h);
	row->read_only = h.read_only;
	row->destructive = h.destructive;
	row->idempotent = h.idempotent;
	row->open_world = h.open_world;
	return 0;
}

/* Its class, from what declared() read and the rest of the entry. */
static void classify(const cJSON *tool, const char *name, struct mcpf_inventory_tool *row)
{
	const cJSON *desc = cJSON_GetObjectItemCaseSensitive(tool, "description");
	const struct tool_hints h = { row->read_only, row->destructive, row->idempotent, row->open_world };
	struct tool_class c;

	tool_classify(name, cJSON_IsString(desc) ? desc->valuestring : NULL,
		      cJSON_GetObjectItemCaseSensitive(tool, "inputSchema"), &h, &c);
	row->category = c.category;
	row->risk = c.risk;
	row->reasons = c.reasons;
	row->hints_only = c.hints_only;
}

static bool same_definition(const struct mcpf_inventory_tool *a, const struct mcpf_inventory_tool *b)
{
	return !strcmp(a->description_sha256, b->description_sha256) &&
	       !strcmp(a->schema_sha256, b->schema_sha256) && a->read_only == b->read_only &&
	       a->destructive == b->destructive && a->idempotent == b->idempotent &&
	       a->open_world == b->open_world;
}

/* A tool that cannot be recorded (the server's share or the map is full,
 * or its name too long): counted, logged the first time. */
static void dropped(struct mcpf_inventory_server *srv, const char *server)
{
	char sname[MCPF_NAME_LEN];

	if (!srv->dropped++)
		log_warn("tool inventory: server %s lists tools that cannot be recorded (over %u per server or "
			 "%u in all, or names over %d bytes); they are counted as dropped",
			 utf8_display(server, sname, sizeof(sname)), MCPF_INVENTORY_PER_SERVER, MCPF_INVENTORY_MAX,
			 MCPF_NAME_LEN - 1);
}

int tool_inventory_see(struct tool_inventory *inv, const char *server, const cJSON *tool,
		       unsigned long long answer)
{
	const cJSON *name = cJSON_IsObject(tool) ? cJSON_GetObjectItemCaseSensitive(tool, "name") : NULL;
	struct mcpf_inventory_server srv;
	struct mcpf_inventory_tool old, row;
	struct mcpf_inventory_key k;
	char sname[MCPF_NAME_LEN], tname[MCPF_NAME_LEN];
	bool known, recorded;
	int err;

	if (inv->tools_fd < 0 || !cJSON_IsString(name) || !name->valuestring[0] ||
	    strlen(server) >= sizeof(k.server))
		return 0;
	if ((err = tool_inventory_server(inv->servers_fd, server, &srv)) == -ENOENT)
		srv = (struct mcpf_inventory_server){ .first_answer = answer, .first_seen_ns = now_ns() };
	else if (err)
		return err;
	known = srv.first_answer != answer;
	if (key_of(&k, server, name->valuestring)) {
		memset(&k, 0, sizeof(k));
		strcpy(k.server, server);
		dropped(&srv, server);
	} else if (!(recorded = kern_map_lookup(inv->tools_fd, &k, &old) == 0) &&
		   srv.tools >= MCPF_INVENTORY_PER_SERVER) {
		dropped(&srv, server);  /* no room: not worth digesting */
	} else if ((err = declared(tool, &row))) {
		return err;
	} else if (recorded) {
		if (same_definition(&old, &row) && known)
			return 0;  /* the usual case: nothing to write */
		if (same_definition(&old, &row))
			return kern_map_update(inv->servers_fd, k.server, &srv, BPF_ANY);
		classify(tool, k.tool, &row);
		row.first_seen_ns = old.first_seen_ns;
		row.changed_ns = now_ns();
		row.changes = old.changes + 1;
		row.drift = MCPF_DRIFT_CHANGED;
		srv.changed++;
		log_warn("tool inventory: server %s changed the definition of tool %s (description, schema or "
			 "annotations): change #%u", utf8_display(server, sname, sizeof(sname)),
			 utf8_display(k.tool, tname, sizeof(tname)), row.changes);
		if ((err = kern_map_update(inv->tools_fd, &k, &row, BPF_ANY)))
			return err;
	} else {
		classify(tool, k.tool, &row);
		row.first_seen_ns = row.changed_ns = now_ns();
		row.drift = known ? MCPF_DRIFT_ADDED : MCPF_DRIFT_NONE;
		if (srv.tools >= MCPF_INVENTORY_PER_SERVER ||
		    (err = kern_map_update(inv->tools_fd, &k, &row, BPF_NOEXIST))) {
			if (srv.tools < MCPF_INVENTORY_PER_SERVER && err != -E2BIG && err != -ENOMEM)
				return err;
			dropped(&srv, server);
		} else {
			srv.tools++;
			if (known) {
				srv.added++;
				log_warn("tool inventory: server %s lists a new tool %s (%s, risk %s)",
					 utf8_display(server, sname, sizeof(sname)), utf8_display(k.tool, tname, sizeof(tname)),
					 tool_category_name(row.category), tool_risk_name(row.risk));
			}
		}
	}
	return kern_map_update(inv->servers_fd, k.server, &srv, BPF_ANY);
}

struct render_ctx {
	struct bytebuf *b;
	int metric;
};

static int render_server(const void *key, const void *value, void *ctx)
{
	static const char *const kinds[] = { "added", "changed" };
	const struct mcpf_inventory_server *v = value;
	struct render_ctx *r = ctx;
	char server[MCPF_NAME_LEN];

	memcpy(server, key, sizeof(server));
	server[sizeof(server) - 1] = '\0';
	for (int kind = 0; r->metric == 0 && kind < 2; kind++) {
		bb_append_str(r->b, "mcpfence_tool_changes_total{server=\"");
		prom_label_value(r->b, server);
		bb_printf(r->b, "\",kind=\"%s\"} %llu\n", kinds[kind], kind ? v->changed : v->added);
	}
	if (r->metric) {
		bb_append_str(r->b, r->metric == 1 ? "mcpfence_tool_inventory_tools{server=\""
					      : "mcpfence_tool_inventory_dropped_total{server=\"");
		prom_label_value(r->b, server);
		bb_printf(r->b, "\"} %u\n", r->metric == 1 ? v->tools : v->dropped);
	}
	return 0;
}

int tool_inventory_render(struct bytebuf *b, int servers_fd)
{
	struct render_ctx r = { .b = b };

	if (servers_fd < 0)
		return 0;
	for (r.metric = 0; r.metric < 3; r.metric++) {
		static const char *const head[] = {
			"# HELP mcpfence_tool_changes_total Tool definitions that drifted after a server was inventoried: "
			"new tools (added) and changed descriptions, schemas or annotations (changed).\n"
			"# TYPE mcpfence_tool_changes_total counter\n",
			"# HELP mcpfence_tool_inventory_tools Tools recorded in the inventory per server.\n"
			"# TYPE mcpfence_tool_inventory_tools gauge\n",
			"# HELP mcpfence_tool_inventory_dropped_total Tools listed but not recorded (per-server or total cap, "
			"or a name longer than 63 bytes).\n"
			"# TYPE mcpfence_tool_inventory_dropped_total counter\n",
		};

		bb_append_str(b, head[r.metric]);
		/* a map that cannot be read renders what was read */
		kern_map_dump(servers_fd, MCPF_NAME_LEN, sizeof(struct mcpf_inventory_server), 0, render_server, &r);
	}
	return 0;
}
