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

TEST(dashboard_queries_are_valid_promql_over_our_metrics)
{
	const char *exprs[128];
	char rules[] = "/tmp/mcpf-unit-rules.XXXXXX", cmd[128], name[128];
	struct stats_row row = { .key = { "s", "t" }, .v = { .calls = 1, .allowed = 1 } };
	struct mcpf_daemon_stats d = { 0 };
	struct textbuf exposition = TEXTBUF_INIT;
	char *json = read_all(DASHBOARD), *e;
	int n = 0, i, fd, unknown = 0;
	regmatch_t m;
	regex_t metric;
	cJSON *dash;
	FILE *f;

	CHECK(json != NULL);
	if (!json)
		return;
	dash = cJSON_Parse(json);
	free(json);
	CHECK(dash != NULL);
	if (!dash)
		return;
	collect(dash, exprs, &n, 128);
	CHECK(n >= 15);

	prom_render(&exposition, &row, 1, &d, "v");
	CHECK_EQ(regcomp(&metric, "mcpfence_[a-z_]+", REG_EXTENDED), 0);
	fd = mkstemp(rules);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	CHECK(f != NULL);
	if (f) {
		fputs("groups:\n- name: dashboard\n  rules:\n", f);
		for (i = 0; i < n; i++) {
			cJSON *s;
			char *quoted;
			const char *p;

			e = substitute(exprs[i]);
			s = e ? cJSON_CreateString(e) : NULL;
			quoted = s ? cJSON_PrintUnformatted(s) : NULL;  /* a JSON string is a YAML string */
			if (quoted)
				fprintf(f, "  - record: dashboard_expr_%d\n    expr: %s\n", i, quoted);
			CHECK(quoted != NULL);
			for (p = exprs[i]; regexec(&metric, p, 1, &m, 0) == 0; p += m.rm_eo) {
				snprintf(name, sizeof(name), "\n%.*s", (int)(m.rm_eo - m.rm_so), p + m.rm_so);
				if (!strstr(exposition.data, name)) {
					unknown++;
					fprintf(stderr, "  dashboard names %s, not exposed\n", name + 1);
				}
			}
			cJSON_free(quoted);
			cJSON_Delete(s);
			free(e);
		}
		fclose(f);
		snprintf(cmd, sizeof(cmd), "promtool check rules %s >/dev/null", rules);
		CHECK_EQ(system(cmd), 0);
		unlink(rules);
	}
	CHECK_EQ(unknown, 0);
	regfree(&metric);
	textbuf_free(&exposition);
	cJSON_Delete(dash);
}
