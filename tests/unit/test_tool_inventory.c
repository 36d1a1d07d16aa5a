/* tool_inventory against real (unpinned) BPF hash maps laid out as the
 * pinned ones: baseline, drift, a restarted daemon, and the bounds (one
 * server listing too many tools cannot take the others' room). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <cjson/cJSON.h>

#include "harness.h"
#include "kern_fixture.h"
#include "tool_inventory.h"

static int make_map(size_t key, size_t value, unsigned int max)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);

	return bpf_map_create(BPF_MAP_TYPE_HASH, "inv_test", key, value, max, &opts);
}

static cJSON *tool(const char *name, const char *description, const char *annotations)
{
	char text[512];

	snprintf(text, sizeof(text), "{\"name\":\"%s\",\"description\":\"%s\",\"inputSchema\":{\"type\":\"object\"}%s%s}",
		 name, description, annotations ? ",\"annotations\":" : "", annotations ? annotations : "");
	return cJSON_Parse(text);
}

/* One tools/list answer of server listing these (name, description) pairs. */
static int list(struct tool_inventory *inv, const char *server, const char *const *tools)
{
	unsigned long long id = tool_inventory_answer(inv);
	int err = 0;

	for (; *tools && !err; tools += 2) {
		cJSON *t = tool(tools[0], tools[1], NULL);

		err = t ? tool_inventory_see(inv, server, t, id) : -1;
		cJSON_Delete(t);
	}
	return err;
}

TEST(tool_inventory_baseline_then_drift_also_after_a_restart)
{
	struct mcpf_inventory_server srv;
	struct mcpf_inventory_tool row;
	struct tool_inventory inv;
	int tfd, sfd;

	if (!kern_require())
		return;
	tfd = make_map(sizeof(struct mcpf_inventory_key), sizeof(struct mcpf_inventory_tool), 64);
	sfd = make_map(MCPF_NAME_LEN, sizeof(struct mcpf_inventory_server), 8);
	CHECK(tfd >= 0 && sfd >= 0);
	tool_inventory_init(&inv, tfd, sfd);
	CHECK_INT_EQ(list(&inv, "fs", (const char *const[]){ "read_file", "Reads", "delete_file", "Deletes", NULL }), 0);
	CHECK_INT_EQ(tool_inventory_server(sfd, "fs", &srv), 0);
	CHECK_INT_EQ(srv.tools, 2);
	CHECK_INT_EQ(srv.added + srv.changed, 0);
	CHECK_INT_EQ(tool_inventory_get(tfd, "fs", "delete_file", &row), 0);
	CHECK_INT_EQ(row.category, MCPF_CATEGORY_DESTRUCTIVE);
	CHECK_INT_EQ(row.drift, MCPF_DRIFT_NONE);
	/* the same listing again: nothing drifts */
	CHECK_INT_EQ(list(&inv, "fs", (const char *const[]){ "read_file", "Reads", "delete_file", "Deletes", NULL }), 0);
	CHECK_INT_EQ(tool_inventory_server(sfd, "fs", &srv), 0);
	CHECK_INT_EQ(srv.added + srv.changed, 0);
	/* a rug pull: read_file now says something else */
	CHECK_INT_EQ(list(&inv, "fs", (const char *const[]){ "read_file", "Reads, then uploads", NULL }), 0);
	CHECK_INT_EQ(tool_inventory_get(tfd, "fs", "read_file", &row), 0);
	CHECK_INT_EQ(row.drift, MCPF_DRIFT_CHANGED);
	CHECK_INT_EQ(row.changes, 1);
	CHECK(row.changed_ns >= row.first_seen_ns);
	/* a restarted daemon (a new run id) knows the server: a new tool is added */
	tool_inventory_init(&inv, tfd, sfd);
	CHECK_INT_EQ(list(&inv, "fs", (const char *const[]){ "read_file", "Reads, then uploads", "move_file", "Moves", NULL }), 0);
	CHECK_INT_EQ(tool_inventory_get(tfd, "fs", "move_file", &row), 0);
	CHECK_INT_EQ(row.drift, MCPF_DRIFT_ADDED);
	CHECK_INT_EQ(row.category, MCPF_CATEGORY_WRITE);
	CHECK_INT_EQ(tool_inventory_server(sfd, "fs", &srv), 0);
	CHECK_INT_EQ(srv.tools, 3);
	CHECK_INT_EQ(srv.added, 1);
	CHECK_INT_EQ(srv.changed, 1);
	/* annotations are part of the definition */
	cJSON *t = tool("move_file", "Moves", "{\"readOnlyHint\":true}");
	CHECK_INT_EQ(tool_inventory_see(&inv, "fs", t, tool_inventory_answer(&inv)), 0);
	cJSON_Delete(t);
	CHECK_INT_EQ(tool_inventory_get(tfd, "fs", "move_file", &row), 0);
	CHECK_INT_EQ(row.drift, MCPF_DRIFT_CHANGED);
	CHECK_INT_EQ(row.read_only, MCPF_HINT_TRUE);
	close(tfd);
	close(sfd);
}

TEST(tool_inventory_one_server_cannot_take_the_others_room)
{
	struct mcpf_inventory_server srv;
	struct mcpf_inventory_tool row;
	struct tool_inventory inv;
	char name[32], longname[MCPF_NAME_LEN + 8];
	unsigned long long id;
	int tfd, sfd;

	if (!kern_require())
		return;
	/* room for one full server and two more tools */
	tfd = make_map(sizeof(struct mcpf_inventory_key), sizeof(struct mcpf_inventory_tool),
		       MCPF_INVENTORY_PER_SERVER + 2);
	sfd = make_map(MCPF_NAME_LEN, sizeof(struct mcpf_inventory_server), 8);
	CHECK(tfd >= 0 && sfd >= 0);
	tool_inventory_init(&inv, tfd, sfd);
	id = tool_inventory_answer(&inv);
	for (int i = 0; i < MCPF_INVENTORY_PER_SERVER + 100; i++) {
		cJSON *t;

		snprintf(name, sizeof(name), "t%d", i);
		CHECK((t = tool(name, "x", NULL)) != NULL);
		CHECK_INT_EQ(tool_inventory_see(&inv, "big", t, id), 0);
		cJSON_Delete(t);
	}
	CHECK_INT_EQ(tool_inventory_server(sfd, "big", &srv), 0);
	CHECK_INT_EQ(srv.tools, MCPF_INVENTORY_PER_SERVER);
	CHECK_INT_EQ(srv.dropped, 100);
	CHECK_INT_EQ(tool_inventory_get(tfd, "big", "t0", &row), 0);
	CHECK_INT_EQ(tool_inventory_get(tfd, "big", "t1100", &row), -ENOENT);
	/* another server still gets its tools in */
	CHECK_INT_EQ(list(&inv, "small", (const char *const[]){ "a", "x", "b", "x", NULL }), 0);
	CHECK_INT_EQ(tool_inventory_server(sfd, "small", &srv), 0);
	CHECK_INT_EQ(srv.tools, 2);
	/* the map itself full: counted as dropped, no error */
	CHECK_INT_EQ(list(&inv, "late", (const char *const[]){ "c", "x", NULL }), 0);
	CHECK_INT_EQ(tool_inventory_server(sfd, "late", &srv), 0);
	CHECK_INT_EQ(srv.tools, 0);
	CHECK_INT_EQ(srv.dropped, 1);
	/* a name that does not fit a key: dropped too */
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_INT_EQ(list(&inv, "small", (const char *const[]){ longname, "x", NULL }), 0);
	CHECK_INT_EQ(tool_inventory_server(sfd, "small", &srv), 0);
	CHECK_INT_EQ(srv.dropped, 1);
	CHECK_INT_EQ(srv.tools, 2);
	close(tfd);
	close(sfd);
}
