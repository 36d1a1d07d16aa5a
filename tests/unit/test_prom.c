/* Prometheus exposition: escaping, histogram shape, promtool acceptance
 * with hostile server and tool names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "fixture.h"
#include "../../user/prom.h"

/* Exit status of `promtool check metrics` on text, its output in *out. */
static int promtool_check(const char *text, char **out)
{
	char path[] = "/tmp/mcpf-unit-prom.XXXXXX", cmd[256];
	FILE *p;
	size_t len = 0, cap = 0, n;
	int fd, status;

	*out = NULL;
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	p = popen(cmd, "r");
	if (!p) {
		unlink(path);
		return -1;
	}
	for (;;) {
		if (cap - len < 1024) {
			char *nb = realloc(*out, cap + 8192);

			if (!nb)
				break;
			*out = nb;
			cap += 8192;
		}
		n = fread(*out + len, 1, cap - len - 1, p);
		if (n == 0)
			break;
		len += n;
	}
	if (*out)
		(*out)[len] = '\0';
	status = pclose(p);
	unlink(path);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int have_promtool(void)
{
	return system("command -v promtool >/dev/null 2>&1") == 0;
}

static char *escaped(const char *s)
{
	struct bytebuf b = BYTEBUF_INIT;

	prom_label_value(&b, s);
	return b.data ? b.data : strdup("");
}

TEST(prom_label_value_escapes)
{
	char *e;

	e = escaped("a\"b\\c\nd");
	CHECK_STR_EQ(e, "a\\\"b\\\\c\\nd");
	free(e);
	e = escaped("ok\xff\xfe!");
	CHECK_STR_EQ(e, "ok" "\xef\xbf\xbd" "\xef\xbf\xbd" "!");
	free(e);
	e = escaped("\xe6\x97\xa5\xe6\x9c\xac tab\there");  /* valid UTF-8 and tab kept */
	CHECK_STR_EQ(e, "\xe6\x97\xa5\xe6\x9c\xac tab\there");
	free(e);
	e = escaped("\xed\xa0\x80");  /* a UTF-16 surrogate is not UTF-8 */
	CHECK_STR_EQ(e, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free(e);
	e = escaped("");
	CHECK_STR_EQ(e, "");
	free(e);
}

static void set_row(struct stats_row *r, const char *server, const char *tool)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->key.server, sizeof(r->key.server), "%s", server);
	snprintf(r->key.tool, sizeof(r->key.tool), "%s", tool);
	r->v.calls = 6;
	r->v.allowed = 2;
	r->v.denied = 1;
	r->v.rate_limited = 1;
	r->v.hidden = 1;
	r->v.invalid = 1;
	r->v.upstream_errors = 1;
	r->v.req_bytes = 600;
	r->v.resp_bytes = 6000;
	r->v.latency_ns_total = 1500000123ULL;
	r->v.latency_hist[0] = 1;
	r->v.latency_hist[3] = 2;
	r->v.latency_hist[30] = 2;
	r->v.latency_hist[31] = 1;
}

static const struct mcpf_daemon_stats daemon_sample = {
	.connections_intercepted = 12, .connections_active = 3,
	.policy_reloads_ok = 4, .policy_reloads_failed = 1,
};

TEST(prom_exposition_shape)
{
	struct bytebuf b = BYTEBUF_INIT;
	struct stats_row r;

	set_row(&r, "fs", "read");
	prom_render(&b, &r, 1, &daemon_sample, "1.2.3");
	CHECK(!b.failed);
	CHECK(strstr(b.data, "# TYPE mcpfence_tool_calls_total counter\n") != NULL);
	CHECK(strstr(b.data, "mcpfence_tool_calls_total{server=\"fs\",tool=\"read\",decision=\"allow\"} 2\n"));
	CHECK(strstr(b.data, "mcpfence_tool_calls_total{server=\"fs\",tool=\"read\",decision=\"rate_limited\"} 1\n"));
	CHECK(strstr(b.data, "mcpfence_tool_call_errors_total{server=\"fs\",tool=\"read\"} 1\n"));
	CHECK(strstr(b.data, "# TYPE mcpfence_tool_call_duration_seconds histogram\n"));
	/* cumulative buckets, exact decimal bounds */
	CHECK(strstr(b.data, "_bucket{server=\"fs\",tool=\"read\",le=\"0.000001\"} 1\n"));
	CHECK(strstr(b.data, "_bucket{server=\"fs\",tool=\"read\",le=\"0.000004\"} 1\n"));
	CHECK(strstr(b.data, "_bucket{server=\"fs\",tool=\"read\",le=\"0.000008\"} 3\n"));
	CHECK(strstr(b.data, "_bucket{server=\"fs\",tool=\"read\",le=\"536.870912\"} 3\n"));
	CHECK(strstr(b.data, "_bucket{server=\"fs\",tool=\"read\",le=\"1073.741824\"} 5\n"));
	CHECK(strstr(b.data, "_bucket{server=\"fs\",tool=\"read\",le=\"+Inf\"} 6\n"));
	CHECK(strstr(b.data, "mcpfence_tool_call_duration_seconds_sum{server=\"fs\",tool=\"read\"} 1.500000123\n"));
	CHECK(strstr(b.data, "mcpfence_tool_call_duration_seconds_count{server=\"fs\",tool=\"read\"} 6\n"));
	CHECK(strstr(b.data, "\nmcpfence_connections_intercepted_total 12\n"));
	CHECK(strstr(b.data, "\nmcpfence_connections_active 3\n"));
	CHECK(strstr(b.data, "\nmcpfence_policy_reloads_total{result=\"ok\"} 4\n"));
	CHECK(strstr(b.data, "\nmcpfence_policy_reloads_total{result=\"error\"} 1\n"));
	CHECK(strstr(b.data, "\nmcpfence_build_info{version=\"1.2.3\"} 1\n"));
	bb_free(&b);
}

TEST(prom_promtool_accepts_hostile_names)
{
	static const char *const names[][2] = {
		{ "fs", "read" },
		{ "fs", "evil\"} 1\nmcpfence_fake_total 1\n# TYPE x counter" },
		{ "back\\slash\\", "trailing\\" },
		{ "bad\xff\xfeutf8", "half\xe6\x97" },
		{ "\xe6\x97\xa5\xe6\x9c\xac", "{a=\"b\"},le=\"1\"" },
		{ "cr\rtab\t", "" },
	};
	struct stats_row rows[sizeof(names) / sizeof(names[0])];
	struct bytebuf b = BYTEBUF_INIT;
	size_t i, samples = 0;
	char *out = NULL, *line;
	int rc;

	CHECK(have_promtool());  /* Debian package prometheus */
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		set_row(&rows[i], names[i][0], names[i][1]);
	prom_render(&b, rows, sizeof(rows) / sizeof(rows[0]), &daemon_sample, "v\"1\n");
	CHECK(!b.failed);
	rc = promtool_check(b.data, &out);
	if (rc)
		printf("promtool said:\n%s\n", out ? out : "");
	free(out);
	CHECK_INT_EQ(rc, 0);
	/* every sample line is one of ours: the injected ones stayed inside labels */
	for (line = b.data; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (*line == '#')
			continue;
		CHECK(strncmp(line, "mcpfence_", 9) == 0);
		CHECK(strncmp(line, "mcpfence_fake", 13) != 0);
		samples += strncmp(line, "mcpfence_tool_calls_total{", 26) == 0;
	}
	CHECK_INT_EQ(samples, MCPF_DECISIONS * (sizeof(rows) / sizeof(rows[0])));
	bb_free(&b);
}

/* The check above would be worthless if promtool took anything. */
TEST(prom_promtool_rejects_unescaped_labels)
{
	char *out = NULL;

	CHECK(have_promtool());  /* Debian package prometheus */
	CHECK(promtool_check("# HELP m_total x\n# TYPE m_total counter\n"
			     "m_total{tool=\"a\"b\"} 1\n", &out) != 0);
	free(out);
	CHECK(promtool_check("# HELP m_total x\n# TYPE m_total counter\n"
			     "m_total{tool=\"\xff\"} 1\n", &out) != 0);
	free(out);
}

static void empty_maps(int tfd, int dfd)
{
	struct bytebuf b = BYTEBUF_INIT;
	char *out = NULL;
	int rc;

	CHECK_INT_EQ(stats_prepare(tfd, dfd, true), 0);
	CHECK_INT_EQ(prom_render_maps(&b, tfd, dfd, "test"), 0);
	CHECK(strstr(b.data, "mcpfence_tool_calls_total{") == NULL);  /* overflow row unused */
	CHECK(strstr(b.data, "\nmcpfence_connections_active 0\n") != NULL);
	rc = promtool_check(b.data, &out);
	free(out);
	bb_free(&b);
	CHECK_INT_EQ(rc, 0);
}

TEST(prom_empty_maps_from_real_maps)
{
	CHECK(have_promtool());
	CHECK_INT_EQ(fixture_with_maps(empty_maps), 0);
}
