/* mcpfence stats [--json] [--bpffs DIR]: per-tool table sorted by calls,
 * latency percentiles estimated from the histogram. */
#include "cmd_stats.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common.h"
#include "stats_view.h"
#include "utf8.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: mcpfence stats [--json] [--bpffs DIR]\n"
		   "  Per-tool call counts, decisions, errors, latency p50/p99 and bytes,\n"
		   "  read from the maps pinned in DIR (default " MCPF_DEFAULT_BPFFS ").\n");
}

static const char *const columns[] = {
	"CALLS", "ALLOW", "DENY", "RATELIM", "HIDDEN", "INVALID", "APPROVED", "DECLINED", "NOANSWER", "ERRORS",
	"P50", "P99", "IN", "OUT",
};
#define N_COLUMNS (ARRAY_SIZE(columns))

static void row_cells(const struct stats_row *r, char cells[N_COLUMNS][24])
{
	const struct mcpf_tool_stats *v = &r->v;
	const unsigned long long counts[] = {
		v->calls, v->allowed, v->denied, v->rate_limited, v->hidden, v->invalid,
		v->approved, v->declined, v->approval_timeout, v->upstream_errors,
	};
	const size_t n = sizeof(counts) / sizeof(counts[0]);
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(cells[i], sizeof(cells[i]), "%llu", counts[i]);
	view_duration(stats_percentile_ns(v->latency_hist, 0.50), cells[n], sizeof(cells[n]));
	view_duration(stats_percentile_ns(v->latency_hist, 0.99), cells[n + 1], sizeof(cells[n + 1]));
	view_bytes(v->req_bytes, cells[n + 2], sizeof(cells[n + 2]));
	view_bytes(v->resp_bytes, cells[n + 3], sizeof(cells[n + 3]));
}

static void print_table(const struct stats_row *rows, size_t n, const struct mcpf_daemon_stats *d)
{
	char (*cells)[N_COLUMNS][24] = n ? calloc(n, sizeof(*cells)) : NULL;
	size_t wserver = strlen("SERVER"), wtool = strlen("TOOL"), w[N_COLUMNS], i, c;
	struct bytebuf b = BYTEBUF_INIT;

	for (c = 0; c < N_COLUMNS; c++)
		w[c] = strlen(columns[c]);
	for (i = 0; i < n && cells; i++) {
		row_cells(&rows[i], cells[i]);
		for (c = 0; c < N_COLUMNS; c++)
			if (strlen(cells[i][c]) > w[c])
				w[c] = strlen(cells[i][c]);
		if (view_name_width(rows[i].key.server) > wserver)
			wserver = view_name_width(rows[i].key.server);
		if (view_name_width(rows[i].key.tool) > wtool)
			wtool = view_name_width(rows[i].key.tool);
	}
	if (n && !cells) {
		fprintf(stderr, "mcpfence stats: out of memory\n");
		return;
	}
	view_append_padded(&b, "SERVER", wserver + 2);
	view_append_padded(&b, "TOOL", wtool);
	for (c = 0; c < N_COLUMNS; c++)
		bb_printf(&b, "  %*s", (int)w[c], columns[c]);
	bb_putc(&b, '\n');
	for (i = 0; i < n; i++) {
		view_append_padded(&b, rows[i].key.server, wserver + 2);
		view_append_padded(&b, rows[i].key.tool, wtool);
		for (c = 0; c < N_COLUMNS; c++)
			bb_printf(&b, "  %*s", (int)w[c], cells[i][c]);
		bb_putc(&b, '\n');
	}
	if (n == 0)
		bb_append_str(&b, "(no tool calls recorded)\n");
	bb_printf(&b, "\nconnections: %llu intercepted, %llu active   policy reloads: %llu ok, %llu failed\n",
		       d->connections_intercepted, d->connections_active, d->policy_reloads_ok,
		       d->policy_reloads_failed);
	if (b.failed)
		fprintf(stderr, "mcpfence stats: out of memory\n");
	else
		fwrite(b.data, 1, b.len, stdout);
	bb_free(&b);
	free(cells);
}

static bool add_name(cJSON *o, const char *key, const char *s)
{
	char *clean = utf8_sanitize_dup(s);
	bool ok = clean && cJSON_AddStringToObject(o, key, clean);

	free(clean);
	return ok;
}

static bool add_u64(cJSON *o, const char *key, unsigned long long v)
{
	return cJSON_AddNumberToObject(o, key, (double)v) != NULL;
}

static cJSON *tool_json(const struct stats_row *r)
{
	const struct mcpf_tool_stats *v = &r->v;
	cJSON *o = cJSON_CreateObject(), *h;
	bool ok;
	int b;

	ok = o && add_name(o, "server", r->key.server) && add_name(o, "tool", r->key.tool) &&
	     add_u64(o, "calls", v->calls) && add_u64(o, "allowed", v->allowed) &&
	     add_u64(o, "denied", v->denied) && add_u64(o, "rate_limited", v->rate_limited) &&
	     add_u64(o, "hidden", v->hidden) && add_u64(o, "invalid", v->invalid) &&
	     add_u64(o, "approved", v->approved) && add_u64(o, "declined", v->declined) &&
	     add_u64(o, "approval_timeout", v->approval_timeout) &&
	     add_u64(o, "upstream_errors", v->upstream_errors) &&
	     add_u64(o, "request_bytes", v->req_bytes) && add_u64(o, "response_bytes", v->resp_bytes) &&
	     add_u64(o, "latency_ns_total", v->latency_ns_total) &&
	     add_u64(o, "latency_p50_ns", stats_percentile_ns(v->latency_hist, 0.50)) &&
	     add_u64(o, "latency_p99_ns", stats_percentile_ns(v->latency_hist, 0.99)) &&
	     (h = cJSON_AddArrayToObject(o, "latency_histogram"));
	for (b = 0; ok && b < MCPF_LAT_BUCKETS; b++) {
		cJSON *n = cJSON_CreateNumber((double)v->latency_hist[b]);

		ok = n && cJSON_AddItemToArray(h, n);
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* The same data as the table, plus the histograms and what their buckets
 * mean: latency_buckets_le_us[i] is bucket i's inclusive upper bound; the
 * last bucket has none. */
static int print_json(const struct stats_row *rows, size_t n, const struct mcpf_daemon_stats *d)
{
	cJSON *root = cJSON_CreateObject(), *conn, *rel, *bounds, *tools, *t;
	char *text = NULL;
	bool ok;
	size_t i;
	int b;

	ok = root && (conn = cJSON_AddObjectToObject(root, "connections")) &&
	     add_u64(conn, "intercepted_total", d->connections_intercepted) &&
	     add_u64(conn, "active", d->connections_active) &&
	     (rel = cJSON_AddObjectToObject(root, "policy_reloads")) &&
	     add_u64(rel, "ok", d->policy_reloads_ok) && add_u64(rel, "error", d->policy_reloads_failed) &&
	     (bounds = cJSON_AddArrayToObject(root, "latency_buckets_le_us")) &&
	     (tools = cJSON_AddArrayToObject(root, "tools"));
	for (b = 0; ok && b < MCPF_LAT_BUCKETS - 1; b++) {
		cJSON *v = cJSON_CreateNumber((double)stats_bucket_upper_us((unsigned int)b));

		ok = v && cJSON_AddItemToArray(bounds, v);
	}
	for (i = 0; ok && i < n; i++) {
		t = tool_json(&rows[i]);
		ok = t && cJSON_AddItemToArray(tools, t);
	}
	if (ok)
		text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text) {
		fprintf(stderr, "mcpfence stats: out of memory\n");
		return 1;
	}
	puts(text);
	cJSON_free(text);
	return 0;
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "bpffs", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *bpffs = MCPF_DEFAULT_BPFFS;
	struct mcpf_daemon_stats d;
	struct stats_row *rows;
	bool json = false;
	int c, tfd, dfd, err, rc;
	size_t n;

	optind = 0;  /* glibc: rescan from argv[1], whatever parsed argv before */
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'b': bpffs = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mcpfence stats: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (stats_view_open("stats", bpffs, &tfd, &dfd))
		return 1;
	err = stats_read_daemon(dfd, &d);
	if (!err)
		err = stats_read_all(tfd, &rows, &n);
	close(tfd);
	close(dfd);
	if (err) {
		fprintf(stderr, "mcpfence stats: reading %s: %s\n", bpffs, strerror(-err));
		return 1;
	}
	if (n)
		qsort(rows, n, sizeof(*rows), view_rows_by_calls);
	if (json) {
		rc = print_json(rows, n, &d);
	} else {
		print_table(rows, n, &d);
		rc = 0;
	}
	free(rows);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "mcpfence stats: writing output failed\n");
		rc = 1;
	}
	return rc;
}
