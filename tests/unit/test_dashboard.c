/* deploy/grafana-mcpfence.json: every query is valid PromQL (promtool
 * check rules) and names only metrics that /metrics exposes. Run from the
 * repository root, as `make unit` does. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "../../user/prom.h"

#define DASHBOARD "deploy/grafana-mcpfence.json"

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)len + 1))) {
		if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
			free(buf);
			buf = NULL;
		} else {
			buf[len] = '\0';
		}
	}
	fclose(f);
	return buf;
}

/* Collect every "expr" string anywhere in the dashboard. */
static void collect(const cJSON *node, const char **exprs, int *n, int max)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, node) {
		if (c->string && !strcmp(c->string, "expr") && cJSON_IsString(c) && *n < max)
			exprs[(*n)++] = c->valuestring;
		else if (cJSON_IsObject(c) || cJSON_IsArray(c))
			collect(c, exprs, n, max);
	}
}

/* Grafana's variables replaced by what they stand for at query time. */
static char *substitute(const char *expr)
{
	static const char *const vars[][2] = {
		{ "$__rate_interval", "5m" }, { "$__range", "1h" }, { "$server", ".*" }, { "$tool", ".*" },
	};
	char *out = malloc(strlen(expr) * 2 + 1), *o = out;
	size_t i;

	if (!out)
		return NULL;
	while (*expr) {
		for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
			if (!strncmp(expr, vars[i][0], strlen(vars[i][0])))
				break;
		if (i < sizeof(vars) / sizeof(vars[0])) {
			o += sprintf(o, "%s", vars[i][1]);
			expr += strlen(vars[i][0]);
		} else {
			*o++ = *expr++;
		}
	}
	*o = '\0';
	return out;
}

/* Metric names in expr that the exposition does not have. */
static int unknown_metrics(const char *expr, const char *exposition)
{
	char name[128];
	regmatch_t m;
	regex_t metric;
	const char *p;
	int unknown = 0;

	if (regcomp(&metric, "mcpfence_[a-z_]+", REG_EXTENDED))
		return 1;
	for (p = expr; regexec(&metric, p, 1, &m, 0) == 0; p += m.rm_eo) {
		snprintf(name, sizeof(name), "\n%.*s", (int)(m.rm_eo - m.rm_so), p + m.rm_so);
		if (!strstr(exposition, name)) {
			printf("  dashboard names %s, not exposed\n", name + 1);
			unknown++;
		}
	}
	regfree(&metric);
	return unknown;
}

/* Write exprs as recording rules; how many could not be written. */
static int write_rules(FILE *f, const char *const *exprs, int n)
{
	int i, failed = 0;

	fputs("groups:\n- name: dashboard\n  rules:\n", f);
	for (i = 0; i < n; i++) {
		char *e = substitute(exprs[i]), *quoted = NULL;
		cJSON *s = e ? cJSON_CreateString(e) : NULL;

		quoted = s ? cJSON_PrintUnformatted(s) : NULL;  /* a JSON string is a YAML string */
		if (quoted)
			fprintf(f, "  - record: dashboard_expr_%d\n    expr: %s\n", i, quoted);
		failed += !quoted;
		cJSON_free(quoted);
		cJSON_Delete(s);
		free(e);
	}
	return failed;
}

TEST(dashboard_queries_are_valid_promql_over_our_metrics)
{
	struct stats_row row = { .key = { "s", "t" }, .v = { .calls = 1, .allowed = 1 } };
	struct mcpf_daemon_stats d = { 0 };
	struct bytebuf exposition = BYTEBUF_INIT;
	char rules[] = "/tmp/mcpf-unit-rules.XXXXXX", cmd[128];
	char *json = read_all(DASHBOARD);
	int n = 0, i, fd, unknown = 0, unwritten = -1, rc = -1;
	const char *exprs[128];
	cJSON *dash;
	FILE *f;

	CHECK(json != NULL);  /* run from the repository root */
	dash = cJSON_Parse(json);
	free(json);
	CHECK(dash != NULL);
	collect(dash, exprs, &n, 128);

	prom_render(&exposition, &row, 1, &d, "v");
	for (i = 0; i < n && exposition.data; i++)
		unknown += unknown_metrics(exprs[i], exposition.data);
	fd = mkstemp(rules);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f) {
		unwritten = write_rules(f, exprs, n);
		fclose(f);
		snprintf(cmd, sizeof(cmd), "promtool check rules %s >/dev/null", rules);
		rc = system(cmd);
	}
	if (fd >= 0)
		unlink(rules);
	bb_free(&exposition);
	cJSON_Delete(dash);
	CHECK(n >= 15);
	CHECK_INT_EQ(unwritten, 0);
	CHECK_INT_EQ(rc, 0);
	CHECK_INT_EQ(unknown, 0);
}
