/* Approvals: the canonical form and hash of arguments, and the
 * pending store: bound, ids, decisions, remember, timeout, cancel, stop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "approval.h"
#include "approval_canon.h"
#include "approval_ctl.h"
#include "approval_elicit.h"
#include "harness.h"
#include "policy_abi.h"

static const unsigned char KEY[16] = "0123456789abcdef";

static char *canon_of(const char *json)
{
	static char out[512];
	struct bytebuf b = BYTEBUF_INIT;
	cJSON *v = json ? cJSON_Parse(json) : NULL;

	out[0] = '\0';
	if (!approval_canon(v, &b))
		snprintf(out, sizeof(out), "%.*s", (int)b.len, b.data);
	bb_free(&b);
	cJSON_Delete(v);
	return out;
}

static uint64_t hash_of(const char *json)
{
	cJSON *v = cJSON_Parse(json);
	uint64_t h = 0;

	approval_args_hash(KEY, v, &h);
	cJSON_Delete(v);
	return h;
}

TEST(approval_canonical_arguments_sort_keys_and_drop_space)
{
	char summary[24];
	cJSON *v;

	CHECK_STR_EQ(canon_of("{ \"b\" : 1, \"a\": {\"d\": [1, {\"z\": true, \"y\": null}], \"c\": \"x\"} }"),
		     "{\"a\":{\"c\":\"x\",\"d\":[1,{\"y\":null,\"z\":true}]},\"b\":1}");
	CHECK_STR_EQ(canon_of(NULL), "{}");
	CHECK_STR_EQ(canon_of("{\"s\":\"\\u001b[31m\"}"), "{\"s\":\"\\u001b[31m\"}");  /* escapes stay escaped */
	CHECK(hash_of("{\"a\":1,\"b\":[1,2]}") == hash_of("{ \"b\": [1, 2], \"a\": 1 }"));
	CHECK(hash_of("{\"a\":1,\"b\":[1,2]}") != hash_of("{\"a\":1,\"b\":[2,1]}"));
	CHECK(hash_of("{\"a\":1}") != hash_of("{\"a\":\"1\"}"));
	CHECK(hash_of("{\"a\":{\"b\":1}}") != hash_of("{\"a\":{\"b\":2}}"));
	v = cJSON_Parse("{\"path\":\"/srv/a-very-long-path/that/does/not/fit\"}");
	approval_summary(v, summary, sizeof(summary));
	CHECK_STR_EQ(summary, "{\"path\":\"/srv/a-very...");
	cJSON_Delete(v);
}

/* cJSON keeps a number as a double: every literal that rounds to it would
 * share one hash and one summary. Past 2^53 that joins different integers
 * a server reads exactly (1234567890123456789 shown as ...768, and a
 * remembered approval of one letting its neighbours through); 1e400 would
 * print as null. Such arguments cannot be bound, so they are not held. */
TEST(approval_canonical_numbers_only_where_a_double_is_exact)
{
	static const char *const refused[] = { "{\"id\":9007199254740992}", "{\"id\":9007199254740993}",
					      "{\"id\":-1234567890123456789}", "{\"a\":[{\"n\":1e400}]}",
					      "{\"n\":-1e999}", "{\"n\":1e20}" };
	uint64_t h;

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		cJSON *v = cJSON_Parse(refused[i]);

		CHECK(v != NULL);
		CHECK_INT_EQ(approval_args_hash(KEY, v, &h), -ERANGE);
		cJSON_Delete(v);
	}
	CHECK_STR_EQ(canon_of("{\"a\":9007199254740991,\"b\":-9007199254740991,\"c\":1.5,\"d\":1e-300}"),
		     "{\"a\":9007199254740991,\"b\":-9007199254740991,\"c\":1.5,\"d\":1e-300}");
	CHECK(hash_of("{\"n\":9007199254740991}") != hash_of("{\"n\":9007199254740990}"));
	CHECK(hash_of("{\"n\":0.30000000000000004}") != hash_of("{\"n\":0.3}"));
	CHECK_STR_EQ(canon_of("{\"n\":0.1,\"m\":-0.0}"), "{\"m\":-0,\"n\":0.1}");
	CHECK(hash_of("{\"n\":1}") == hash_of("{\"n\":1.0}"));  /* one value, spelt two ways */
	CHECK(hash_of("{\"n\":1}") != hash_of("{\"n\":null}"));
}

struct outcome {
	int calls;
	struct approval_result r;
};

static void on_done(void *ctx, const struct approval_result *r)
{
	struct outcome *o = ctx;

	o->calls++;
	o->r = *r;
}

static struct approval_subject subject(unsigned pid, uint64_t hash)
{
	struct approval_subject s = { .cgroup_id = 7, .uid = 1000, .pid = pid, .identity_pid = pid,
				      .args_hash = hash, .timeout_s = 3, .remember_s = 0,
				      .via = MCPF_VIA_OPERATOR };

	strcpy(s.server, "fs");
	strcpy(s.tool, "rm");
	return s;
}

TEST(approval_store_bounds_decides_remembers_and_times_out)
{
	struct loop loop;
	struct timer_wheel tw = { 0 };
	struct approval_store *st = calloc(1, sizeof(*st));
	struct outcome o[4] = { 0 };
	struct approval *a[4];
	struct approval_subject s = subject(100, 42);
	char id0[APPROVAL_ID_LEN + 1];

	CHECK(st != NULL);
	CHECK_INT_EQ(loop_init(&loop), 0);
	CHECK_INT_EQ(timer_wheel_init(&tw, &loop), 0);
	approval_store_init(st, &tw, 2);
	CHECK_INT_EQ(approval_submit(st, &s, on_done, &o[0], &a[0]), 0);
	CHECK_INT_EQ(approval_submit(st, &s, on_done, &o[1], &a[1]), 0);
	CHECK_INT_EQ(approval_submit(st, &s, on_done, &o[2], &a[2]), -ENOSPC);  /* the bound */
	CHECK_INT_EQ(st->refused_full_total, 1);
	CHECK_INT_EQ(strlen(approval_id(a[0])), APPROVAL_ID_LEN);
	CHECK(strspn(approval_id(a[0]), "0123456789abcdef") == APPROVAL_ID_LEN);
	CHECK(strcmp(approval_id(a[0]), approval_id(a[1])));
	CHECK_INT_EQ(o[0].calls + o[1].calls, 0);  /* never inside submit */

	/* approve with remember: identical calls only */
	strcpy(id0, approval_id(a[0]));
	CHECK_INT_EQ(approval_decide(st, "not-an-id", true, -1, "operator uid 0", NULL), -ENOENT);
	CHECK_INT_EQ(approval_decide(st, id0, true, 60, "operator uid 0", NULL), 0);
	CHECK_INT_EQ(o[0].calls, 1);
	CHECK_INT_EQ(o[0].r.outcome, APPROVAL_APPROVED);
	CHECK_STR_EQ(o[0].r.by, "operator uid 0");
	CHECK_INT_EQ(approval_decide(st, id0, true, -1, "operator uid 0", NULL), -ENOENT);  /* once */
	CHECK(approval_remembered(st, &s));
	struct approval_subject other = subject(100, 43), other_pid = subject(101, 42), other_tool = s;

	strcpy(other_tool.tool, "rmdir");
	CHECK(!approval_remembered(st, &other));
	CHECK(!approval_remembered(st, &other_pid));
	CHECK(!approval_remembered(st, &other_tool));

	/* decline with a reason */
	CHECK_INT_EQ(approval_decide(st, approval_id(a[1]), false, -1, "operator uid 0", "declined by operator: no"), 0);
	CHECK_INT_EQ(o[1].r.outcome, APPROVAL_DECLINED);
	CHECK_STR_EQ(o[1].r.reason, "declined by operator: no");
	CHECK_INT_EQ(st->n_pending, 0);

	/* timeout: the wheel fires it, the reason says how long */
	CHECK_INT_EQ(approval_submit(st, &s, on_done, &o[2], &a[2]), 0);
	for (long long t = tw.now_s + 1, end = tw.now_s + 6; t <= end; t++)
		timer_wheel_advance(&tw, t);
	CHECK_INT_EQ(o[2].calls, 1);
	CHECK_INT_EQ(o[2].r.outcome, APPROVAL_TIMEOUT);
	CHECK_STR_EQ(o[2].r.reason, "no answer in 3s");

	/* cancel: no callback; stop: every pending one denied with the reason */
	CHECK_INT_EQ(approval_submit(st, &s, on_done, &o[3], &a[3]), 0);
	approval_cancel(st, a[3]);
	CHECK_INT_EQ(o[3].calls, 0);
	CHECK_INT_EQ(approval_submit(st, &s, on_done, &o[3], &a[3]), 0);
	approval_store_fini(st, "mcpfence is stopping");
	CHECK_INT_EQ(o[3].calls, 1);
	CHECK_INT_EQ(o[3].r.outcome, APPROVAL_STOPPED);
	CHECK_STR_EQ(o[3].r.reason, "mcpfence is stopping");
	CHECK_INT_EQ(st->approved_total, 1);
	CHECK_INT_EQ(st->declined_total, 1);
	CHECK_INT_EQ(st->timeout_total, 1);
	/* after the stop's denials, a call that comes late is refused, not held */
	CHECK_INT_EQ(approval_submit(st, &s, on_done, &o[3], &a[3]), -ESHUTDOWN);
	CHECK_STR_EQ(st->closed, "mcpfence is stopping");

	/* one agent's share: it cannot fill the bound and starve the others */
	approval_store_init(st, &tw, 3);
	st->max_per_agent = 2;
	struct approval *b[4];
	struct outcome ob[4] = { 0 };
	struct approval_subject same_cg_other_pid = subject(101, 42), other_cg = s;

	other_cg.cgroup_id++;
	CHECK_INT_EQ(approval_submit(st, &s, on_done, &ob[0], &b[0]), 0);
	CHECK_INT_EQ(approval_submit(st, &s, on_done, &ob[1], &b[1]), 0);
	CHECK_INT_EQ(approval_submit(st, &s, on_done, &ob[2], &b[2]), -EDQUOT);
	CHECK_INT_EQ(approval_submit(st, &same_cg_other_pid, on_done, &ob[2], &b[2]), 0);
	CHECK_INT_EQ(approval_submit(st, &other_cg, on_done, &ob[3], &b[3]), -ENOSPC);  /* the bound still holds */
	approval_store_fini(st, "mcpfence is stopping");
	CHECK_INT_EQ(ob[0].calls + ob[1].calls + ob[2].calls, 3);
	timer_wheel_fini(&tw);
	loop_fini(&loop);
	free(st);
}

TEST(approval_elicitation_answer_and_capability)
{
	static const char *const answers[] = {
		"{\"action\":\"accept\",\"content\":{\"approve\":true}}",
		"{\"action\":\"accept\",\"content\":{\"approve\":false}}",
		"{\"action\":\"accept\",\"content\":{\"approve\":\"true\"}}",
		"{\"action\":\"accept\"}",
		"{\"action\":\"decline\",\"content\":{\"approve\":true}}",
		"{\"action\":\"cancel\"}",
	};
	cJSON *init = cJSON_Parse("{\"capabilities\":{\"elicitation\":{}}}");
	cJSON *none = cJSON_Parse("{\"capabilities\":{\"sampling\":{}}}");

	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		cJSON *r = cJSON_Parse(answers[i]);

		CHECK_INT_EQ(elicit_accepted(r), i == 0);
		cJSON_Delete(r);
	}
	CHECK(!elicit_accepted(NULL));  /* an error response */
	CHECK(elicit_declared(init));
	CHECK(!elicit_declared(none));
	CHECK(!elicit_declared(NULL));
	cJSON_Delete(init);
	cJSON_Delete(none);
	elicit_caps_note("fs", "session-1xyz", 9, 7, 1000);
	CHECK(elicit_caps_has("fs", "session-1", 7, 1000));
	CHECK(!elicit_caps_has("fs", "session-1xyz", 7, 1000));
	CHECK(!elicit_caps_has("other", "session-1", 7, 1000));
	CHECK(!elicit_caps_has("fs", "session-1", 8, 1000));   /* another agent's session */
	CHECK(!elicit_caps_has("fs", "session-1", 7, 0));
}

/* An agent that sends initialize after initialize replaces its own
 * entries: a victim's session stays askable (red team: 4,096 initializes
 * used to push every other session out). */
TEST(elicit_caps_flooding_agent_replaces_its_own_entries)
{
	char sid[32];

	elicit_caps_note("fs", "victim-session", 14, 42, 1000);
	for (int i = 0; i < 3 * ELICIT_CAPS_MAX; i++) {
		int n = snprintf(sid, sizeof(sid), "flood-%d", i);

		elicit_caps_note("fs", sid, (size_t)n, 99, 1000);
	}
	CHECK(elicit_caps_has("fs", "victim-session", 42, 1000));
	CHECK(elicit_caps_has("fs", sid, 99, 1000));             /* the flood's latest is kept */
	CHECK(!elicit_caps_has("fs", "flood-0", 99, 1000));      /* its oldest went */
}

/* The daemon (root) chmods and chowns the socket by path, and renames it
 * into place: in a directory someone else can write, that path could be
 * swapped for a symlink (chmod 0660 of any file) or for their own socket. */
TEST(approval_control_dir_must_be_ours_alone)
{
	char dir[] = "/tmp/mcpf-ctl-XXXXXX", link[64], sub[64];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(link, sizeof(link), "%s/link", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	CHECK_INT_EQ(mkdir(sub, 0755), 0);
	CHECK_INT_EQ(symlink(sub, link), 0);
	CHECK_INT_EQ(approval_ctl_dir_safe(sub), 0);
	CHECK_INT_EQ(approval_ctl_dir_safe(link), -ENOTDIR);
	CHECK_INT_EQ(chmod(sub, 0775), 0);
	CHECK_INT_EQ(approval_ctl_dir_safe(sub), -EPERM);
	CHECK_INT_EQ(chmod(sub, 01777), 0);
	CHECK_INT_EQ(approval_ctl_dir_safe(sub), -EPERM);
	CHECK_INT_EQ(chmod(sub, 0755), 0);
	CHECK_INT_EQ(chown(sub, 65534, 65534), 0);
	CHECK_INT_EQ(approval_ctl_dir_safe(sub), -EPERM);
	unlink(link);
	rmdir(sub);
	rmdir(dir);
}

/* SO_PEERCRED's pid is only a number: the peer that connected may have
 * exited (its socket kept by a child inside the agent cgroup) and the pid
 * gone to a process outside. The pidfd names the peer itself. */
TEST(approval_peer_refused_when_the_pid_outlived_the_peer)
{
	const char *why = NULL;
	int self = (int)syscall(SYS_pidfd_open, getpid(), 0), dead;
	pid_t child = fork();

	if (child == 0)
		_exit(0);
	CHECK(child > 0 && self >= 0);
	dead = (int)syscall(SYS_pidfd_open, child, 0);
	CHECK(dead >= 0);
	CHECK(waitpid(child, NULL, 0) == child);
	CHECK_INT_EQ(approval_peer_allowed(NULL, "", 0, false, getpid(), self, 0, 0, &why), 0);
	/* the live pid (this process, outside any agent cgroup) is not the peer's */
	CHECK_INT_EQ(approval_peer_allowed(NULL, "", 0, false, getpid(), dead, 0, 0, &why), -EPERM);
	CHECK(why && strstr(why, "exited"));
	close(self);
	close(dead);
}

/* An approval the agent's own client gave (elicitation) and remembered
 * stands in only for rules that let that client approve: never for the
 * identical call under a rule only an operator may approve. */
TEST(approval_remembered_by_the_client_never_covers_an_operator_only_rule)
{
	struct loop loop;
	struct timer_wheel tw = { 0 };
	struct approval_store *st = calloc(1, sizeof(*st));
	struct outcome o = { 0 };
	struct approval *a;
	struct approval_subject s = subject(100, 42), operator_only;
	char id[APPROVAL_ID_LEN + 1];

	CHECK(st != NULL);
	CHECK_INT_EQ(loop_init(&loop), 0);
	CHECK_INT_EQ(timer_wheel_init(&tw, &loop), 0);
	approval_store_init(st, &tw, 4);
	s.via = MCPF_VIA_ELICITATION | MCPF_VIA_OPERATOR;
	operator_only = s;
	operator_only.via = MCPF_VIA_OPERATOR;
	CHECK_INT_EQ(approval_submit(st, &s, on_done, &o, &a), 0);
	strcpy(id, approval_id(a));
	CHECK_INT_EQ(approval_decide(st, id, true, 60, "elicitation", NULL), 0);
	CHECK(approval_remembered(st, &s));
	CHECK(!approval_remembered(st, &operator_only));
	approval_store_fini(st, "test over");
	timer_wheel_fini(&tw);
	loop_fini(&loop);
	free(st);
}
