/* `mcpfence stats` / `top` against maps pinned in a private bpffs, and
 * agreement between the map, /metrics, `stats --json` and the audit log. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "fixture.h"
#include "../../user/audit.h"
#include "../../user/cmd_stats.h"
#include "../../user/prom.h"
#include "../../user/top_view.h"

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

static void stats_json_matches_map(int tfd, int dfd, const char *dir)
{
	const cJSON *tools, *t;
	char *out = NULL;
	cJSON *j;
	int rc;

	record_mix(tfd, dfd);
	rc = run(cmd_stats, &out, "stats", "--json", "--bpffs", dir);
	j = out ? cJSON_Parse(out) : NULL;
	free(out);
	CHECK_INT_EQ(rc, 0);
	CHECK(j != NULL);
	tools = cJSON_GetObjectItem(j, "tools");
	CHECK_INT_EQ(cJSON_GetArraySize(tools), 3);
	t = cJSON_GetArrayItem(tools, 0);  /* sorted by calls */
	CHECK_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(t, "tool")), "read_file");
	CHECK_INT_EQ(field(t, "calls"), 7);
	CHECK_INT_EQ(field(t, "allowed"), 7);
	CHECK_INT_EQ(field(t, "upstream_errors"), 1);
	CHECK_INT_EQ(field(t, "request_bytes"), 700);
	CHECK_INT_EQ(field(t, "response_bytes"), 14000);
	CHECK_INT_EQ(field(t, "latency_ns_total"), 7 * 1500000LL);
	/* 1.5 ms is in (1024, 2048] us: p50 interpolates to the middle */
	CHECK_INT_EQ(field(t, "latency_p50_ns"), 1536000);
	CHECK_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(t, "latency_histogram")), MCPF_LAT_BUCKETS);
	t = tool_entry(tools, "write_file");
	CHECK(t && field(t, "denied") == 1 && field(t, "rate_limited") == 1 && field(t, "calls") == 2);
	t = tool_entry(tools, "evil\033[2J\nname\xef\xbf\xbd");
	CHECK(t && field(t, "hidden") == 1);
	CHECK_INT_EQ(field(cJSON_GetObjectItem(j, "connections"), "intercepted_total"), 2);
	CHECK_INT_EQ(field(cJSON_GetObjectItem(j, "connections"), "active"), 1);
	CHECK_INT_EQ(field(cJSON_GetObjectItem(j, "policy_reloads"), "ok"), 1);
	CHECK_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(j, "latency_buckets_le_us")), MCPF_LAT_BUCKETS - 1);
	cJSON_Delete(j);
}

TEST(cmd_stats_json_matches_map)
{
	CHECK_INT_EQ(fixture_with_pinned_maps(stats_json_matches_map), 0);
}

static char *table_out;

static void stats_table(int tfd, int dfd, const char *dir)
{
	record_mix(tfd, dfd);
	if (run(cmd_stats, &table_out, "stats", "--bpffs", dir) != 0) {
		free(table_out);
		table_out = NULL;
	}
}

TEST(cmd_stats_table_is_terminal_safe)
{
	char *out, *line2, *line3;
	int lines = 0;
	char *c;

	CHECK_INT_EQ(fixture_with_pinned_maps(stats_table), 0);
	out = table_out;
	CHECK(out != NULL);
	CHECK(strchr(out, '\033') == NULL);
	CHECK(strstr(out, "evil?[2J?name?") != NULL);
	for (c = out; *c; c++)
		lines += *c == '\n';
	CHECK_INT_EQ(lines, 1 + 3 + 1 + 1);  /* header, rows, blank, connections */
	CHECK(strncmp(out, "SERVER", 6) == 0);
	CHECK(strstr(out, "CALLS  ALLOW  DENY  RATELIM  HIDDEN  INVALID  APPROVED  DECLINED  NOANSWER  ERRORS") != NULL);
	line2 = strchr(out, '\n') + 1;
	line3 = strchr(line2, '\n') + 1;
	CHECK(strncmp(line2, "fs ", 3) == 0 && strstr(line2, "read_file") < line3);
	CHECK(strstr(out, "1.5ms") != NULL);  /* p50 of read_file */
	CHECK(strstr(out, "connections: 2 intercepted, 1 active") != NULL);
	free(out);
}

TEST(cmd_stats_errors)
{
	char *out = NULL;

	CHECK_INT_EQ(run(cmd_stats, &out, "stats", "--bpffs", "/nonexistent-mcpfence"), 1);
	CHECK(STDERR_HAS("cannot open /nonexistent-mcpfence/tool_stats: No such file or directory"));
	free(out);
	CHECK_INT_EQ(run(cmd_stats, &out, "stats", "--bogus"), 2);
	CHECK(STDERR_HAS("usage: mcpfence stats"));
	free(out);
	CHECK_INT_EQ(run(cmd_stats, &out, "stats", "extra"), 2);
	CHECK(STDERR_HAS("unexpected argument 'extra'"));
	free(out);
	CHECK_INT_EQ(run(cmd_top, &out, "top", "--interval", "0"), 2);
	CHECK(STDERR_HAS("--interval wants seconds"));
	free(out);
	CHECK_INT_EQ(run(cmd_top, &out, "top", "--iterations", "x"), 2);
	CHECK(STDERR_HAS("--iterations wants a positive count"));
	free(out);
	CHECK_INT_EQ(run(cmd_top, &out, "top", "--bpffs", "/nonexistent-mcpfence", "--iterations", "1"), 1);
	CHECK(STDERR_HAS("mcpfence top: cannot open"));
	free(out);
}

static char *top_out;

static void top_frames(int tfd, int dfd, const char *dir)
{
	record_mix(tfd, dfd);
	if (run(cmd_top, &top_out, "top", "--bpffs", dir, "--interval", "0.1", "--iterations", "3") != 0) {
		free(top_out);
		top_out = NULL;
	}
}

TEST(cmd_top_scripted_frames)
{
	char *out, *c;
	int frames = 0;

	CHECK_INT_EQ(fixture_with_pinned_maps(top_frames), 0);
	out = top_out;
	CHECK(out != NULL);
	for (c = out; (c = strstr(c, "mcpfence top - ")); c++)
		frames++;
	CHECK_INT_EQ(frames, 3);
	CHECK(strchr(out, '\033') == NULL);  /* not a terminal: no screen control */
	CHECK(strstr(out, "read_file") != NULL);
	free(out);
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
	struct bytebuf b = BYTEBUF_INIT;
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
	CHECK(strstr(b.data, "1970-01-01 00:00:00 UTC - interval 0.5s") != NULL);
	CHECK(strstr(b.data, "calls: 108.0/s, refused 10.0/s") != NULL);
	a = strstr(b.data, "\ns       a ");
	z = strstr(b.data, "\ns       z ");
	n = strstr(b.data, "\ns       new ");
	CHECK(a && z && n && a < z && z < n);  /* by calls/s: 100, 6, 2 */
	CHECK(strstr(a, "100.0") != NULL && strstr(a, "100.0") < z);
	CHECK(strstr(a, "768us") != NULL && strstr(a, "768us") < z);  /* p50 of the interval */
	CHECK(strstr(z, "6.0") != NULL && strstr(z, "6.0") < n);
	bb_reset(&b);
	top_render(&b, &prev, &cur, 0, 1);  /* window fits one row */
	CHECK(b.data && strstr(b.data, "... 2 more\n") != NULL);
	bb_free(&b);
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
	{ "add", MCPF_DECISION_APPROVED, 2 },
	{ "echo", MCPF_DECISION_DECLINED, 1 },
	{ "add", MCPF_DECISION_APPROVAL_TIMEOUT, 1 },
};
#define SCRIPT_LEN (sizeof(script) / sizeof(script[0]))
static const char *const script_tools[] = { "echo", "add", "longRunningOperation" };

/* What each view counted per (tool, decision), and calls per tool. */
struct views {
	long long want[3][MCPF_DECISIONS];
	long long map[3][MCPF_DECISIONS], prom[3][MCPF_DECISIONS], json[3][MCPF_DECISIONS];
	long long audit[3][MCPF_DECISIONS];
	long long prom_count[3], json_calls[3];
	int errors;
};

static struct views views;

static int tool_index(const char *name)
{
	int k;

	for (k = 0; k < 3; k++)
		if (name && !strcmp(name, script_tools[k]))
			return k;
	return -1;
}

static void count_audit(const char *path, struct views *v)
{
	char line[1024];
	FILE *f = fopen(path, "r");
	int k, d;

	if (!f) {
		v->errors++;
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		cJSON *l = cJSON_Parse(line);

		k = l ? tool_index(cJSON_GetStringValue(cJSON_GetObjectItem(l, "tool"))) : -1;
		for (d = 0; k >= 0 && d < MCPF_DECISIONS; d++)
			if (!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(l, "decision")), stats_decision_name(d)))
				v->audit[k][d]++;
		v->errors += k < 0;
		cJSON_Delete(l);
	}
	fclose(f);
}

/* Plays the script into the maps and an audit log the way the daemon will
 * (stats_record + audit_write per decision), then reads every view. */
static void play_and_read(int tfd, int dfd, const char *dir)
{
	static const char *const json_names[] = { "allowed", "denied", "rate_limited", "hidden", "invalid",
						  "approved", "declined", "approval_timeout" };
	struct audit_options ao = { .max_bytes = 0, .keep = 1 };
	struct bytebuf b = BYTEBUF_INIT;
	struct stats_row *rows = NULL;
	char audit_path[128], series[256], *out = NULL;
	struct audit_log *a;
	struct views *v = &views;
	size_t s, n = 0, r;
	cJSON *j;
	int i, k, d;

	memset(v, 0, sizeof(*v));
	snprintf(audit_path, sizeof(audit_path), "%s.audit", dir);  /* next to, not in, bpffs */
	ao.path = audit_path;
	a = audit_open(&ao);
	v->errors += !a;
	for (s = 0; a && s < SCRIPT_LEN; s++) {
		struct audit_record rec = { .pid = 1, .comm = "node", .server = "everything",
					    .tool = script[s].tool, .decision = script[s].d, .latency_ns = 3000 };

		v->want[tool_index(script[s].tool)][script[s].d] += script[s].times;
		for (i = 0; i < script[s].times; i++) {
			v->errors += stats_record(tfd, "everything", script[s].tool, script[s].d, 10, 20, 3000, false) != 0;
			v->errors += audit_write(a, &rec) != 0;
		}
	}
	audit_close(a);
	count_audit(audit_path, v);
	unlink(audit_path);

	v->errors += stats_read_all(tfd, &rows, &n) != 0;
	for (r = 0; r < n; r++)
		for (k = tool_index(rows[r].key.tool), d = 0; k >= 0 && d < MCPF_DECISIONS; d++)
			v->map[k][d] = (long long)stats_decision_count(&rows[r].v, d);
	free(rows);

	v->errors += prom_render_maps(&b, tfd, dfd, "t") != 0;
	for (k = 0; b.data && k < 3; k++) {
		for (d = 0; d < MCPF_DECISIONS; d++) {
			snprintf(series, sizeof(series),
				 "mcpfence_tool_calls_total{server=\"everything\",tool=\"%s\",decision=\"%s\"}",
				 script_tools[k], stats_decision_name(d));
			v->prom[k][d] = prom_value(b.data, series);
		}
		snprintf(series, sizeof(series),
			 "mcpfence_tool_call_duration_seconds_count{server=\"everything\",tool=\"%s\"}", script_tools[k]);
		v->prom_count[k] = prom_value(b.data, series);
	}
	bb_free(&b);

	v->errors += run(cmd_stats, &out, "stats", "--json", "--bpffs", dir) != 0;
	j = out ? cJSON_Parse(out) : NULL;
	for (k = 0; j && k < 3; k++) {
		const cJSON *t = tool_entry(cJSON_GetObjectItem(j, "tools"), script_tools[k]);

		for (d = 0; d < MCPF_DECISIONS; d++)
			v->json[k][d] = field(t, json_names[d]);
		v->json_calls[k] = field(t, "calls");
	}
	v->errors += !j;
	cJSON_Delete(j);
	free(out);
}

TEST(map_prom_json_audit_agree)
{
	long long total;
	int k, d;

	CHECK_INT_EQ(fixture_with_pinned_maps(play_and_read), 0);
	CHECK_INT_EQ(views.errors, 0);
	for (k = 0; k < 3; k++) {
		for (total = 0, d = 0; d < MCPF_DECISIONS; d++) {
			CHECK_INT_EQ(views.map[k][d], views.want[k][d]);
			CHECK_INT_EQ(views.prom[k][d], views.want[k][d]);
			CHECK_INT_EQ(views.json[k][d], views.want[k][d]);
			CHECK_INT_EQ(views.audit[k][d], views.want[k][d]);
			total += views.want[k][d];
		}
		CHECK_INT_EQ(views.json_calls[k], total);
		CHECK_INT_EQ(views.prom_count[k], total);
	}
}
