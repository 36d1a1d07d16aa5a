/*
 * The agents' cgroup removed and made again (rmdir + mkdir: a systemd unit
 * restarted, a user slice at the next login, kubepods.slice after a node
 * restart) has another id. cgroup_mkdir points settings at it while mkdir
 * runs, so a process put in the new directory is intercepted from its
 * first connect(): no sleep anywhere here. Without that program (a kernel
 * that cannot run it) the daemon's next look (kern_cgroup_check) does.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include "mcpfence.skel.h"
#include "kern_cgroup.h"
#include "harness.h"
#include "kern_fixture.h"

#define PORT_SERVER 3001   /* registered */
#define PORT_D4     17001  /* the daemon's listener */

struct world {
	int server, daemon;    /* listeners */
};

/* A namespace with the server and (served) the daemon's marked listener. */
static int world_new(struct kern *k, bool fail_closed, bool served, struct world *w)
{
	int err;

	if ((err = kern_case_new(k)) || (err = kern_settings(k, KERN_CG_AGENTS, fail_closed, false)) ||
	    (err = kern_targets(k, "127.0.0.1:3001", "srv")) || (err = kern_alive(k, KERN_BEATING)) ||
	    (err = kern_enter(k, KERN_CG_DAEMON)))
		return err;
	if ((w->server = kern_listen(k, "127.0.0.1", PORT_SERVER)) < 0)
		return w->server;
	w->daemon = -1;
	if (!served)
		return 0;
	if ((w->daemon = kern_listen(k, "127.0.0.1", PORT_D4)) < 0)
		return w->daemon;
	return (err = kern_mark(k, w->daemon, MCPF_SOCK_LISTENER)) ? err : kern_serve(k, PORT_D4, 0);
}

/* connect() to the server from cgroup cg: who took it. */
static const char *outcome(struct kern *k, const struct world *w, enum kern_cg cg)
{
	struct pollfd p[2] = { { .fd = w->server, .events = POLLIN }, { .fd = w->daemon, .events = POLLIN } };
	struct sockaddr_storage ss;
	socklen_t len = kern_sockaddr("127.0.0.1", PORT_SERVER, &ss);
	int c, rc;

	if (kern_enter(k, cg) || (c = kern_socket(k, AF_INET)) < 0)
		return "no socket";
	rc = connect(c, (struct sockaddr *)&ss, len) ? errno : 0;
	if (kern_enter(k, KERN_CG_DAEMON))
		return "cannot leave";
	if (rc)
		return rc == EPERM ? "EPERM" : strerror(rc);
	if (poll(p, 2, 1000) <= 0)
		return "accepted by nobody";
	if (kern_accept(k, w->server, 0) >= 0)
		return "server";
	return kern_accept(k, w->daemon, 0) >= 0 ? "daemon" : "accepted by nobody";
}

static uint64_t settings_id(struct kern *k)
{
	struct mcpf_config cfg = { 0 };
	__u32 zero = 0;

	bpf_map_lookup_elem(bpf_map__fd(k->skel->maps.settings), &zero, &cfg);
	return cfg.cgroup_id;
}

/* body(k) between kern_open and kern_close, whatever body CHECKs. */
static void with_kern(void (*body)(struct kern *k))
{
	struct kern k;

	if (!kern_require())
		return;
	CHECK(kern_open(&k) == 0);
	body(&k);
	kern_close(&k);
}

static void made_again(struct kern *k, bool fail_closed, bool served, const char *want)
{
	struct world w;
	uint64_t old;

	CHECK(world_new(k, fail_closed, served, &w) == 0);
	CHECK_STR_EQ(outcome(k, &w, KERN_CG_AGENTS), want);
	old = k->cg_id[KERN_CG_AGENTS];
	CHECK(kern_remake(k, KERN_CG_AGENTS) == 0);
	CHECK(k->cg_id[KERN_CG_AGENTS] != old);
	/* at once: mkdir returned, and the programs know the new directory */
	CHECK_STR_EQ(outcome(k, &w, KERN_CG_AGENTS), want);
	CHECK(settings_id(k) == k->cg_id[KERN_CG_AGENTS]);
	CHECK_STR_EQ(outcome(k, &w, KERN_CG_OTHER), "server");
}

static void redirected_body(struct kern *k)
{
	made_again(k, false, true, "daemon");
}

static void refused_body(struct kern *k)
{
	made_again(k, true, false, "EPERM");
}

TEST(kern_cgroup_made_again_is_redirected_at_once)
{
	with_kern(redirected_body);
}

TEST(kern_cgroup_made_again_is_refused_at_once_fail_closed)
{
	with_kern(refused_body);
}

/* Only the agents' name below the agents' parent: not the same name
 * elsewhere, not a name that merely starts or ends alike. */
static void only_agents_body(struct kern *k)
{
	static const char *const others[] = { "%s/agents", "%s/agent", "%s/agentsX", "%s/xagents" };
	char dirs[4][PATH_MAX + 16];
	uint64_t id;

	CHECK(kern_settings(k, KERN_CG_AGENTS, false, false) == 0);
	id = settings_id(k);
	CHECK(id == k->cg_id[KERN_CG_AGENTS]);
	/* the same name one level down (below "other"), then siblings of "agents" */
	snprintf(dirs[0], sizeof(dirs[0]), others[0], k->cg[KERN_CG_OTHER]);
	for (int i = 1; i < 4; i++)
		snprintf(dirs[i], sizeof(dirs[i]), others[i], k->root);
	for (int i = 0; i < 4; i++) {
		int made = mkdir(dirs[i], 0755) ? -errno : 0;

		rmdir(dirs[i]);
		CHECK(made == 0);
		CHECK(settings_id(k) == id);
	}
	/* once settings name another cgroup, "agents" made again is not it */
	CHECK(kern_settings(k, KERN_CG_OTHER, false, false) == 0);
	CHECK(kern_remake(k, KERN_CG_AGENTS) == 0);
	CHECK(settings_id(k) == k->cg_id[KERN_CG_OTHER]);
}

TEST(kern_cgroup_mkdir_follows_only_the_agents_cgroup)
{
	with_kern(only_agents_body);
}

/* Without cgroup_mkdir the new directory is not intercepted until the
 * daemon looks again; then it is, and the look says what changed. */
static void daemon_follows_body(struct kern *k)
{
	struct kern_cgroup ac;
	struct world w;

	CHECK(world_new(k, false, true, &w) == 0);
	ac = (struct kern_cgroup){ .dir = k->cg[KERN_CG_AGENTS], .settings_fd = bpf_map__fd(k->skel->maps.settings),
				     .watch_fd = bpf_map__fd(k->skel->maps.agents_cgroup),
				     .id = k->cg_id[KERN_CG_AGENTS] };
	CHECK(kern_cgroup_check(&ac) == 0);
	CHECK(kern_untrace(k) == 0);
	CHECK(kern_remake(k, KERN_CG_AGENTS) == 0);
	CHECK_STR_EQ(outcome(k, &w, KERN_CG_AGENTS), "server");
	CHECK(kern_cgroup_check(&ac) == 1);
	CHECK(ac.id == k->cg_id[KERN_CG_AGENTS]);
	CHECK(settings_id(k) == k->cg_id[KERN_CG_AGENTS]);
	CHECK_STR_EQ(outcome(k, &w, KERN_CG_AGENTS), "daemon");
	CHECK(kern_cgroup_check(&ac) == 0);
	/* removed: nothing to follow yet, and nothing changes */
	CHECK(rmdir(k->cg[KERN_CG_AGENTS]) == 0);
	CHECK(kern_cgroup_check(&ac) == 0 && ac.gone);
	CHECK(settings_id(k) == ac.id);
	CHECK(kern_remake(k, KERN_CG_AGENTS) == 0);
	CHECK(kern_cgroup_check(&ac) == 1 && !ac.gone);
	CHECK(settings_id(k) == k->cg_id[KERN_CG_AGENTS]);
}

TEST(kern_cgroup_made_again_daemon_follows_without_the_program)
{
	with_kern(daemon_follows_body);
}

/* The parent made again too: the kernel cannot tell (another parent id),
 * the daemon's look follows it, and from then on the kernel again. */
static void parent_made_again_body(struct kern *k)
{
	char parent[PATH_MAX + 8], dir[PATH_MAX + 16];
	struct cgroup_identity cg;
	struct kern_cgroup ac = { .dir = dir, .settings_fd = bpf_map__fd(k->skel->maps.settings),
				    .watch_fd = bpf_map__fd(k->skel->maps.agents_cgroup), .traced = true };

	snprintf(parent, sizeof(parent), "%s/p", k->cg[KERN_CG_OTHER]);
	snprintf(dir, sizeof(dir), "%s/a", parent);
	CHECK(mkdir(parent, 0755) == 0);
	CHECK(mkdir(dir, 0755) == 0);
	CHECK(kern_settings(k, KERN_CG_AGENTS, false, false) == 0);
	CHECK(cgroup_identity_of(dir, &cg) == 0);
	CHECK(kern_cgroup_publish(&ac, &cg) == 0);
	ac.id = cg.id;

	CHECK(rmdir(dir) == 0 && rmdir(parent) == 0 && mkdir(parent, 0755) == 0 && mkdir(dir, 0755) == 0);
	CHECK(cgroup_identity_of(dir, &cg) == 0);
	CHECK(settings_id(k) != cg.id);
	CHECK(kern_cgroup_check(&ac) == 1);
	CHECK(settings_id(k) == cg.id);
	CHECK(rmdir(dir) == 0 && mkdir(dir, 0755) == 0);
	CHECK(cgroup_identity_of(dir, &cg) == 0);
	CHECK(settings_id(k) == cg.id);
	CHECK(kern_cgroup_check(&ac) == 1);
	CHECK(rmdir(dir) == 0 && rmdir(parent) == 0);
}

TEST(kern_cgroup_parent_made_again_daemon_follows)
{
	with_kern(parent_made_again_body);
}
