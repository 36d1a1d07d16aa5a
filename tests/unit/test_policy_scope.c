/* Which server entry governs a connection: endpoint, agent scopes
 * (patterns covering a cgroup and its descendants), the unscoped
 * fallback, none; and addresses that host names resolve to. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "policy_fixture.h"
#include "acct.h"
#include "enforce.h"
#include "policy_scope.h"
#include "sysfs.h"

static struct mcpf_endpoint v4(unsigned char last, unsigned short port)
{
	struct mcpf_endpoint ep = { .addr.b = { [10] = 0xff, [11] = 0xff, [12] = 127, [15] = last }, .port = port };

	return ep;
}

TEST(scope_agent_patterns_cover_a_cgroup_and_its_descendants)
{
	CHECK(policy_agent_covers("user.slice/user-1000.slice/*", "user.slice/user-1000.slice/session-3.scope"));
	CHECK(policy_agent_covers("user.slice/user-1000.slice/*", "user.slice/user-1000.slice/a.scope/b/c"));
	CHECK(!policy_agent_covers("user.slice/user-1000.slice/*", "user.slice/user-1000.slice"));
	CHECK(!policy_agent_covers("user.slice/user-1000.slice/*", "user.slice/user-10001.slice/x"));
	/* '*' stays within one segment */
	CHECK(policy_agent_covers("kubepods/*/pod1234*", "kubepods/burstable/pod1234-ab/ctr"));
	CHECK(!policy_agent_covers("kubepods/*/pod1234*", "kubepods/a/b/pod1234"));
	CHECK(!policy_agent_covers("kubepods/*/pod1234*", ""));
}

TEST(scope_server_for_endpoint_and_cgroup)
{
	struct policy *p = policy_from("{'version':'1','servers':{"
		"'a':{'default':'deny','endpoints':['127.0.0.1:3001'],'agents':['pods/a/*','pods/a']},"
		"'b':{'default':'allow','endpoints':['127.0.0.1:3001'],'agents':['pods/b']},"
		"'other':{'default':'allow','endpoints':['127.0.0.2:3001']},"
		"'named':{'default':'allow','endpoints':['svc.example:3001']}}}");
	struct policy_scopes *s = p ? policy_scopes_new(p, NULL) : NULL;
	struct mcpf_endpoint ep1 = v4(1, 3001), ep2 = v4(2, 3001), ep9 = v4(9, 3001);
	char server[MCPF_NAME_LEN];

	CHECK(s != NULL);
	if (!s) {
		policy_free(p);
		return;
	}
	CHECK(policy_scopes_scoped(s, &ep1));
	CHECK(!policy_scopes_scoped(s, &ep2));
	CHECK_INT_EQ(policy_scopes_server(s, &ep1, "pods/a/ctr", server), 0);
	CHECK_STR_EQ(server, "a");
	CHECK_INT_EQ(policy_scopes_server(s, &ep1, "pods/b/ctr/sub", server), 0);
	CHECK_STR_EQ(server, "b");
	/* no scope covers it and no unscoped entry: none */
	CHECK_INT_EQ(policy_scopes_server(s, &ep1, "pods/c", server), -ENOENT);
	CHECK_STR_EQ(server, "");
	CHECK_INT_EQ(policy_scopes_server(s, &ep1, NULL, server), -ENOENT);
	CHECK_INT_EQ(policy_scopes_server(s, &ep2, "pods/a", server), 0);
	CHECK_STR_EQ(server, "other");
	/* a host name's addresses count once resolved, and survive a new table */
	CHECK_INT_EQ(policy_scopes_server(s, &ep9, NULL, server), -ENOENT);
	CHECK_INT_EQ(policy_scopes_set_addrs(s, "SVC.example", 3001, &ep9, 1), 1);
	CHECK_INT_EQ(policy_scopes_set_addrs(s, "svc.example", 3001, &ep9, 1), 0);
	CHECK_INT_EQ(policy_scopes_server(s, &ep9, NULL, server), 0);
	CHECK_STR_EQ(server, "named");
	struct policy_scopes *next = policy_scopes_new(p, s);

	CHECK(next && policy_scopes_server(next, &ep9, NULL, server) == 0);
	policy_scopes_free(next);
	policy_scopes_free(s);
	policy_free(p);
}

static void count_endpoint(void *ctx, const struct mcpf_endpoint *ep, const char *server)
{
	char *order = ctx;

	(void)ep;
	strcat(order, server);
	strcat(order, " ");
}

/* The targets map gets unscoped servers' names first: what a connection
 * keeps when nothing else is known. */
TEST(scope_endpoints_list_unscoped_servers_first)
{
	struct policy *p = policy_from("{'version':'1','servers':{"
		"'a':{'default':'deny','endpoints':['127.0.0.1:3001'],'agents':['x']},"
		"'b':{'default':'allow','endpoints':['127.0.0.1:3001']}}}");
	struct policy_scopes *s = p ? policy_scopes_new(p, NULL) : NULL;
	char order[64] = "";

	CHECK(s != NULL);
	policy_scopes_each_endpoint(s, count_endpoint, order);
	CHECK_STR_EQ(order, "b a ");
	policy_scopes_free(s);
	policy_free(p);
}

/* An agent whose cgroup cannot be named any more (removed between its
 * connect() and the daemon's accept(): an agent can rmdir a cgroup of its
 * own delegated subtree, e.g. under user@UID.service, once it has left it)
 * may be one a scope covers: it must not fall back to the unscoped entry,
 * which may be the laxer one. Real cgroup2: the id of a removed cgroup. */
TEST(scope_assign_refuses_an_agent_whose_cgroup_is_gone)
{
	struct policy *p = policy_from("{'version':'1','servers':{"
		"'scoped':{'default':'deny','endpoints':['127.0.0.1:3001'],'agents':['*']},"
		"'lax':{'default':'allow','endpoints':['127.0.0.1:3001']}}}");
	struct policy_maps maps = { .active = -1 };
	struct enforce enf = { .policy = &maps };
	int cgroup2_fd;
	struct mcpf_conn origin = { .target = v4(1, 3001) };
	char mount[256], dir[300];
	struct stat st;
	int made;

	CHECK(p != NULL);
	if (!p)
		return;
	maps.scopes = policy_scopes_new(p, NULL);
	CHECK(maps.scopes != NULL);
	CHECK_INT_EQ(cgroup2_mount(mount, sizeof(mount)), 0);
	snprintf(dir, sizeof(dir), "%s/mcpf-unit-scope-%d", mount, (int)getpid());
	made = mkdir(dir, 0755) == 0 && stat(dir, &st) == 0;
	cgroup2_fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	enf.acct = acct_new(-1, -1, NULL, cgroup2_fd);  /* owns the fd from here */
	CHECK(made && cgroup2_fd >= 0 && enf.acct && maps.scopes);
	if (made && cgroup2_fd >= 0 && enf.acct && maps.scopes) {
		origin.cgroup_id = st.st_ino;  /* a cgroup's id is its kernfs inode */
		policy_scope_assign(&enf, &origin);
		CHECK_STR_EQ(origin.server, "scoped");  /* '*' covers it while it exists */
		CHECK_INT_EQ(rmdir(dir), 0);
		memset(origin.server, 'x', sizeof(origin.server));
		policy_scope_assign(&enf, &origin);
		CHECK_STR_EQ(origin.server, "");  /* unknown: refused, not "lax" */
	}
	rmdir(dir);
	if (enf.acct)
		acct_free(enf.acct);
	else if (cgroup2_fd >= 0)
		close(cgroup2_fd);
	policy_scopes_free(maps.scopes);
	policy_free(p);
}
