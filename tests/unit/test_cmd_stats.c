/* `mcpfence stats` / `top` against maps pinned in a private bpffs, and
 * agreement between the map, /metrics, `stats --json` and the audit log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <cjson/cJSON.h>

#include "harness.h"
#include "fixture.h"
#include "../../user/audit.h"
#include "../../user/cmd_stats.h"
#include "../../user/prom.h"
#include "../../user/top_view.h"

struct pinned {
	struct mcpfence *skel;
	int tfd, dfd;
	char dir[64];
};

static int pinned_setup(struct pinned *p)
{
	char path[128];

	if (fixture_maps_open(&p->skel, &p->tfd, &p->dfd))
		return -1;
	if (fixture_bpffs_mount(p->dir, sizeof(p->dir))) {
		fixture_maps_close(p->skel);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/tool_stats", p->dir);
	if (bpf_obj_pin(p->tfd, path))
		goto fail;
	snprintf(path, sizeof(path), "%s/daemon_stats", p->dir);
	if (bpf_obj_pin(p->dfd, path))
		goto fail;
	if (stats_prepare(p->tfd, p->dfd))
		goto fail;
	return 0;
fail:
	fixture_bpffs_unmount(p->dir);
	fixture_maps_close(p->skel);
	return -1;
}

static void pinned_teardown(struct pinned *p)
{
	fixture_bpffs_unmount(p->dir);
	fixture_maps_close(p->skel);
}

struct invocation {
	int (*cmd)(int, char **);
	char *argv[8];
	int argc;
};

static int run_invocation(void *arg)
{
	struct invocation *inv = arg;

	return inv->cmd(inv->argc, inv->argv);
}

/* Run cmd with the NULL-terminated args in a child; its exit code, its
 * stdout in *out and its stderr in last_stderr. */
static char *last_stderr;

static int run_args(int (*cmd)(int, char **), char **out, const char *const *args)
{
	struct invocation inv = { .cmd = cmd };

	while (*args && inv.argc < 7)
		inv.argv[inv.argc++] = (char *)*args++;
	free(last_stderr);
	return fixture_capture(run_invocation, &inv, out, &last_stderr);
}

#define run(cmd, out, ...) run_args(cmd, out, (const char *const[]){ __VA_ARGS__, NULL })
#define STDERR_HAS(s) (last_stderr && strstr(last_stderr, s))

static const char hostile[] = "evil\033[2J\nname\xff";

static void record_mix(int tfd, int dfd)
{
	int i;

	for (i = 0; i < 7; i++)
		stats_record(tfd, "fs", "read_file", MCPF_DECISION_ALLOW, 100, 2000, 1500000, i == 0);
	stats_record(tfd, "fs", "write_file", MCPF_DECISION_DENY, 50, 120, 20000, false);
	stats_record(tfd, "fs", "write_file", MCPF_DECISION_RATE_LIMITED, 50, 120, 20000, false);
	stats_record(tfd, "shell", hostile, MCPF_DECISION_HIDDEN, 10, 100, 5000, false);
	stats_connection_opened(dfd);
	stats_connection_opened(dfd);
	stats_connection_closed(dfd);
	stats_policy_reloaded(dfd, true);
}

static const cJSON *tool_entry(const cJSON *tools, const char *name)
{
	const cJSON *t;

	cJSON_ArrayForEach(t, tools) {
		const cJSON *n = cJSON_GetObjectItem(t, "tool");

		if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
			return t;
	}
	return NULL;
}

static long long field(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);

	return cJSON_IsNumber(v) ? (long long)v->valuedouble : -1;
}

TEST(cmd_stats_json_matches_map)
{
	struct pinned p;
	const cJSON *tools, *t;
	char *out = NULL;
	cJSON *j;

	if (pinned_setup(&p)) {
		CHECK(!"pinned maps in a private bpffs");
		return;
	}
	record_mix(p.tfd, p.dfd);
	CHECK_EQ(run(cmd_stats, &out, "stats", "--json", "--bpffs", p.dir), 0);
	j = out ? cJSON_Parse(out) : NULL;
	CHECK(j != NULL);
	if (j) {
		tools = cJSON_GetObjectItem(j, "tools");
		CHECK_EQ(cJSON_GetArraySize(tools), 3);
		t = cJSON_GetArrayItem(tools, 0);  /* sorted by calls */
		CHECK_STREQ(cJSON_GetStringValue(cJSON_GetObjectItem(t, "tool")), "read_file");
		CHECK_EQ(field(t, "calls"), 7);
		CHECK_EQ(field(t, "allowed"), 7);
		CHECK_EQ(field(t, "upstream_errors"), 1);
		CHECK_EQ(field(t, "request_bytes"), 700);
		CHECK_EQ(field(t, "response_bytes"), 14000);
		CHECK_EQ(field(t, "latency_ns_total"), 7 * 1500000LL);
		/* 1.5 ms is in (1024, 2048] us: p50 interpolates to the middle */
		CHECK_EQ(field(t, "latency_p50_ns"), 1536000);
		CHECK_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(t, "latency_histogram")), MCPF_LAT_BUCKETS);
		t = tool_entry(tools, "write_file");
		CHECK(t && field(t, "denied") == 1 && field(t, "rate_limited") == 1 && field(t, "calls") == 2);
		t = tool_entry(tools, "evil\033[2J\nname\xef\xbf\xbd");
		CHECK(t && field(t, "hidden") == 1);
		CHECK_EQ(field(cJSON_GetObjectItem(j, "connections"), "intercepted_total"), 2);
		CHECK_EQ(field(cJSON_GetObjectItem(j, "connections"), "active"), 1);
		CHECK_EQ(field(cJSON_GetObjectItem(j, "policy_reloads"), "ok"), 1);
		CHECK_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(j, "latency_buckets_le_us")), MCPF_LAT_BUCKETS - 1);
		cJSON_Delete(j);
	}
	free(out);
	pinned_teardown(&p);
}

TEST(cmd_stats_table_is_terminal_safe)
{
	struct pinned p;
	char *out = NULL, *line2, *line3;
	int lines = 0;
	char *c;

	if (pinned_setup(&p)) {
		CHECK(!"pinned maps in a private bpffs");
		return;
	}
	record_mix(p.tfd, p.dfd);
	CHECK_EQ(run(cmd_stats, &out, "stats", "--bpffs", p.dir), 0);
	CHECK(out != NULL);
	if (out) {
		CHECK(strchr(out, '\033') == NULL);
		CHECK(strstr(out, "evil?[2J?name?") != NULL);
		for (c = out; *c; c++)
			lines += *c == '\n';
		CHECK_EQ(lines, 1 + 3 + 1 + 1);  /* header, rows, blank, connections */
		CHECK(strncmp(out, "SERVER", 6) == 0);
		CHECK(strstr(out, "CALLS  ALLOW  DENY  RATELIM  HIDDEN  INVALID  ERRORS") != NULL);
		line2 = strchr(out, '\n') + 1;
		line3 = strchr(line2, '\n') + 1;
		CHECK(strncmp(line2, "fs ", 3) == 0 && strstr(line2, "read_file") < line3);
		CHECK(strstr(out, "1.5ms") != NULL);  /* p50 of read_file */
		CHECK(strstr(out, "connections: 2 intercepted, 1 active") != NULL);
	}
	free(out);
	pinned_teardown(&p);
}

TEST(cmd_stats_errors)
{
	char *out = NULL;

	CHECK_EQ(run(cmd_stats, &out, "stats", "--bpffs", "/nonexistent-mcpfence"), 1);
	CHECK(STDERR_HAS("cannot open /nonexistent-mcpfence/tool_stats: No such file or directory"));
	free(out);
	CHECK_EQ(run(cmd_stats, &out, "stats", "--bogus"), 2);
	CHECK(STDERR_HAS("usage: mcpfence stats"));
	free(out);
	CHECK_EQ(run(cmd_stats, &out, "stats", "extra"), 2);
	CHECK(STDERR_HAS("unexpected argument 'extra'"));
	free(out);
	CHECK_EQ(run(cmd_top, &out, "top", "--interval", "0"), 2);
	CHECK(STDERR_HAS("--interval wants seconds"));
	free(out);
	CHECK_EQ(run(cmd_top, &out, "top", "--iterations", "x"), 2);
	CHECK(STDERR_HAS("--iterations wants a positive count"));
	free(out);
	CHECK_EQ(run(cmd_top, &out, "top", "--bpffs", "/nonexistent-mcpfence", "--iterations", "1"), 1);
	CHECK(STDERR_HAS("mcpfence top: cannot open"));
	free(out);
}

TEST(cmd_top_scripted_frames)
{
	struct pinned p;
	char *out = NULL, *c;
	int frames = 0;

	if (pinned_setup(&p)) {
		CHECK(!"pinned maps in a private bpffs");
		return;
	}
	record_mix(p.tfd, p.dfd);
	CHECK_EQ(run(cmd_top, &out, "top", "--bpffs", p.dir, "--interval", "0.1", "--iterations", "3"), 0);
	CHECK(out != NULL);
	if (out) {
		for (c = out; (c = strstr(c, "mcpfence top - ")); c++)
			frames++;
		CHECK_EQ(frames, 3);
		CHECK(strchr(out, '\033') == NULL);  /* not a terminal: no screen control */
		CHECK(strstr(out, "read_file") != NULL);
	}
	free(out);
	pinned_teardown(&p);
}

static void set(struct stats_row *r, const char *tool, unsigned long long calls,
		unsigned long long denied, unsigned long long bucket10)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->key.server, "s");
	strcpy(r->key.tool, tool);
	r->v.calls = calls;
	r->v.allowed = calls - denied;
	r->v.denied = denied;
	r->v.latency_hist[10] = bucket10;
	r->v.latency_hist[0] = calls - bucket10;
}

TEST(top_render_rates_from_deltas)
{
	struct stats_row before[2], after[3];
	struct top_snapshot prev = { .rows = before, .n = 2, .at = { 100, 0 } };
	struct top_snapshot cur = { .rows = after, .n = 3, .at = { 100, 500000000 } };
	struct textbuf b = TEXTBUF_INIT;
	const char *a, *z, *n;

	set(&before[0], "a", 10, 0, 10);
	set(&before[1], "z", 1000, 0, 0);
	set(&after[0], "a", 60, 5, 60);   /* +50 calls, +5 denied in 0.5 s; all in (512, 1024] us */
	set(&after[1], "z", 3, 0, 0);     /* counters reset: 3 since */
	set(&after[2], "new", 1, 0, 0);   /* appeared this interval */
	top_snapshot_index(&prev);
	top_snapshot_index(&cur);
	top_render(&b, &prev, &cur, 0, 0);
	CHECK(!b.failed && b.data);
	if (!b.data)
		return;
	CHECK(strstr(b.data, "1970-01-01 00:00:00 UTC - interval 0.5s") != NULL);
	CHECK(strstr(b.data, "calls: 108.0/s, refused 10.0/s") != NULL);
	a = strstr(b.data, "\ns       a ");
	z = strstr(b.data, "\ns       z ");
	n = strstr(b.data, "\ns       new ");
	CHECK(a && z && n && a < z && z < n);  /* by calls/s: 100, 6, 2 */
	if (a) {
		CHECK(strstr(a, "100.0") != NULL && strstr(a, "100.0") < z);
		CHECK(strstr(a, "768us") != NULL && strstr(a, "768us") < z);  /* p50 of the interval */
	}
	if (z)
		CHECK(strstr(z, "6.0") != NULL && strstr(z, "6.0") < n);
	textbuf_reset(&b);
	top_render(&b, &prev, &cur, 0, 1);  /* window fits one row */
	CHECK(b.data && strstr(b.data, "... 2 more\n") != NULL);
	textbuf_free(&b);
}

/* ---- the three views agree ---- */

static long long prom_value(const char *text, const char *series)
{
	char needle[512];
	const char *at;

	snprintf(needle, sizeof(needle), "\n%s ", series);
	at = strstr(text, needle);
	return at ? atoll(at + strlen(needle)) : -1;
}

TEST(map_prom_json_audit_agree)
{
	static const struct {
		const char *tool;
		enum mcpf_decision d;
		int times;
	} script[] = {
		{ "echo", MCPF_DECISION_ALLOW, 5 },
		{ "add", MCPF_DECISION_DENY, 3 },
		{ "echo", MCPF_DECISION_RATE_LIMITED, 4 },
		{ "longRunningOperation", MCPF_DECISION_HIDDEN, 2 },
		{ "add", MCPF_DECISION_ALLOW, 1 },
		{ "echo", MCPF_DECISION_INVALID, 1 },
	};
	static const char *const tools[] = { "echo", "add", "longRunningOperation" };
	struct audit_options ao = { .max_bytes = 0, .keep = 1 };
	long long audit_count[3][MCPF_DECISIONS] = { { 0 } };
	struct textbuf b = TEXTBUF_INIT;
	struct audit_log *a;
	char audit_path[128], series[256], line[1024], *out = NULL;
	struct pinned p;
	size_t s, k, d;
	cJSON *j = NULL, *l;
	FILE *f;
	int i;

	if (pinned_setup(&p)) {
		CHECK(!"pinned maps in a private bpffs");
		return;
	}
	snprintf(audit_path, sizeof(audit_path), "%s.audit", p.dir);  /* next to, not in, bpffs */
	ao.path = audit_path;
	a = audit_open(&ao);
	CHECK(a != NULL);
	for (s = 0; a && s < sizeof(script) / sizeof(script[0]); s++) {
		for (i = 0; i < script[s].times; i++) {
			struct audit_record r = { .pid = 1, .comm = "node", .server = "everything",
						  .tool = script[s].tool, .decision = script[s].d,
						  .latency_ns = 3000 };

			CHECK_EQ(stats_record(p.tfd, "everything", script[s].tool, script[s].d, 10, 20, 3000, false), 0);
			CHECK_EQ(audit_write(a, &r), 0);
		}
	}
	audit_close(a);
	f = fopen(audit_path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		l = cJSON_Parse(line);
		for (k = 0; l && k < 3; k++)
			for (d = 0; d < MCPF_DECISIONS; d++)
				if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(l, "tool")), tools[k]) &&
				    !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(l, "decision")),
					    stats_decision_name(d)))
					audit_count[k][d]++;
		cJSON_Delete(l);
	}
	if (f)
		fclose(f);
	unlink(audit_path);

	CHECK_EQ(prom_render_maps(&b, p.tfd, p.dfd, "t"), 0);
	CHECK_EQ(run(cmd_stats, &out, "stats", "--json", "--bpffs", p.dir), 0);
	j = out ? cJSON_Parse(out) : NULL;
	CHECK(j != NULL && b.data != NULL);
	for (k = 0; j && b.data && k < 3; k++) {
		const cJSON *t = tool_entry(cJSON_GetObjectItem(j, "tools"), tools[k]);
		static const char *const json_names[] = { "allowed", "denied", "rate_limited", "hidden", "invalid" };
		long long want, total = 0;

		CHECK(t != NULL);
		for (d = 0; d < MCPF_DECISIONS; d++) {
			for (want = 0, s = 0; s < sizeof(script) / sizeof(script[0]); s++)
				if (!strcmp(script[s].tool, tools[k]) && script[s].d == (enum mcpf_decision)d)
					want += script[s].times;
			total += want;
			snprintf(series, sizeof(series),
				 "mcpfence_tool_calls_total{server=\"everything\",tool=\"%s\",decision=\"%s\"}",
				 tools[k], stats_decision_name(d));
			CHECK_EQ(prom_value(b.data, series), want);
			CHECK_EQ(field(t, json_names[d]), want);
			CHECK_EQ(audit_count[k][d], want);
		}
		CHECK_EQ(field(t, "calls"), total);
		snprintf(series, sizeof(series),
			 "mcpfence_tool_call_duration_seconds_count{server=\"everything\",tool=\"%s\"}", tools[k]);
		CHECK_EQ(prom_value(b.data, series), total);
	}
	cJSON_Delete(j);
	free(out);
	textbuf_free(&b);
	pinned_teardown(&p);
}
