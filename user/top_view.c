#include "top_view.h"

#include <stdlib.h>
#include <string.h>

#include "stats_view.h"

static int by_key(const void *a, const void *b)
{
	const struct stats_row *x = a, *y = b;
	int c = strcmp(x->key.server, y->key.server);

	return c ? c : strcmp(x->key.tool, y->key.tool);
}

void top_snapshot_index(struct top_snapshot *s)
{
	if (s->n)
		qsort(s->rows, s->n, sizeof(*s->rows), by_key);
}

struct top_line {
	const struct stats_row *row;
	double calls, denied, limited, errors;   /* per second */
	unsigned long long hist[MCPF_LAT_BUCKETS];  /* calls of this interval */
};

static unsigned long long delta(unsigned long long now, unsigned long long before)
{
	return now >= before ? now - before : now;
}

static void diff(struct top_line *l, const struct stats_row *cur, const struct stats_row *prev,
		 double secs)
{
	static const struct mcpf_tool_stats zero;
	const struct mcpf_tool_stats *p = prev ? &prev->v : &zero, *c = &cur->v;
	int i;

	if (c->calls < p->calls)  /* reset: everything counts from zero */
		p = &zero;
	l->row = cur;
	l->calls = (double)delta(c->calls, p->calls) / secs;
	l->denied = (double)(delta(c->denied, p->denied) + delta(c->declined, p->declined) +
			     delta(c->approval_timeout, p->approval_timeout)) / secs;
	l->limited = (double)delta(c->rate_limited, p->rate_limited) / secs;
	l->errors = (double)delta(c->upstream_errors, p->upstream_errors) / secs;
	for (i = 0; i < MCPF_LAT_BUCKETS; i++)
		l->hist[i] = delta(c->latency_hist[i], p->latency_hist[i]);
}

static int by_rate(const void *a, const void *b)
{
	const struct top_line *x = a, *y = b;

	if (x->calls != y->calls)
		return x->calls > y->calls ? -1 : 1;
	return view_rows_by_calls(x->row, y->row);
}

void top_render(struct bytebuf *b, const struct top_snapshot *prev, const struct top_snapshot *cur,
		time_t wall, size_t max_rows)
{
	double secs = (double)(cur->at.tv_sec - prev->at.tv_sec) +
		      (double)(cur->at.tv_nsec - prev->at.tv_nsec) / 1e9;
	struct top_line *lines = cur->n ? calloc(cur->n, sizeof(*lines)) : NULL;
	size_t i, wserver = strlen("SERVER"), wtool = strlen("TOOL"), shown;
	double total = 0, total_denied = 0;
	char p50[16], p99[16], when[32];
	struct tm tm;

	if (secs <= 0)
		secs = 1e-9;
	if (cur->n && !lines) {
		b->failed = true;
		return;
	}
	for (i = 0; i < cur->n; i++) {
		const struct stats_row *p = prev->n ? bsearch(&cur->rows[i], prev->rows, prev->n,
							      sizeof(*prev->rows), by_key) : NULL;

		diff(&lines[i], &cur->rows[i], p, secs);
		total += lines[i].calls;
		total_denied += lines[i].denied + lines[i].limited;
	}
	if (cur->n)
		qsort(lines, cur->n, sizeof(*lines), by_rate);
	shown = max_rows && max_rows < cur->n ? max_rows : cur->n;
	for (i = 0; i < shown; i++) {
		if (view_name_width(lines[i].row->key.server) > wserver)
			wserver = view_name_width(lines[i].row->key.server);
		if (view_name_width(lines[i].row->key.tool) > wtool)
			wtool = view_name_width(lines[i].row->key.tool);
	}

	gmtime_r(&wall, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	bb_printf(b, "mcpfence top - %s - interval %.1fs\n", when, secs);
	bb_printf(b, "calls: %.1f/s, refused %.1f/s   connections: %llu active, %llu intercepted"
		       "   tools: %zu\n\n", total, total_denied, cur->daemon.connections_active,
		       cur->daemon.connections_intercepted, cur->n);
	view_append_padded(b, "SERVER", wserver + 2);
	view_append_padded(b, "TOOL", wtool);
	bb_printf(b, "  %9s  %7s  %9s  %7s  %8s  %8s  %10s\n", "CALLS/S", "DENY/S", "RATELIM/S",
		       "ERR/S", "P50", "P99", "CALLS");
	for (i = 0; i < shown; i++) {
		const struct top_line *l = &lines[i];

		view_duration(stats_percentile_ns(l->hist, 0.50), p50, sizeof(p50));
		view_duration(stats_percentile_ns(l->hist, 0.99), p99, sizeof(p99));
		view_append_padded(b, l->row->key.server, wserver + 2);
		view_append_padded(b, l->row->key.tool, wtool);
		bb_printf(b, "  %9.1f  %7.1f  %9.1f  %7.1f  %8s  %8s  %10llu\n", l->calls, l->denied,
			       l->limited, l->errors, p50, p99, l->row->v.calls);
	}
	if (shown < cur->n)
		bb_printf(b, "... %zu more\n", cur->n - shown);
	free(lines);
}
