#include "prom.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

void prom_label_value(struct bytebuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), len;
	unsigned int cp;

	while (left) {
		len = utf8_sequence(p, left, &cp);
		if (len == 0) {
			bb_append_str(b, UTF8_REPLACEMENT);
			len = 1;
		} else if (cp == '\\') {
			bb_append_str(b, "\\\\");
		} else if (cp == '"') {
			bb_append_str(b, "\\\"");
		} else if (cp == '\n') {
			bb_append_str(b, "\\n");
		} else {
			bb_append(b, p, len);
		}
		p += len;
		left -= len;
	}
}

static void family(struct bytebuf *b, const char *name, const char *type, const char *help)
{
	bb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_metric(struct bytebuf *b, const char *name, const char *type, const char *help,
		 unsigned long long value)
{
	family(b, name, type, help);
	bb_printf(b, "%s %llu\n", name, value);
}

/* `name{server="..",tool=".."` — the caller adds more labels and the `}`. */
static void tool_sample(struct bytebuf *b, const char *name, const struct mcpf_tool_key *k)
{
	bb_append_str(b, name);
	bb_append_str(b, "{server=\"");
	prom_label_value(b, k->server);
	bb_append_str(b, "\",tool=\"");
	prom_label_value(b, k->tool);
	bb_putc(b, '"');
}

static int by_name(const void *a, const void *b)
{
	const struct stats_row *x = a, *y = b;
	int c = strcmp(x->key.server, y->key.server);

	return c ? c : strcmp(x->key.tool, y->key.tool);
}

/* Counter per tool from one field of the value. */
static void tool_counter(struct bytebuf *b, const struct stats_row *rows, size_t n,
			 const char *name, const char *help, size_t offset)
{
	size_t i;

	family(b, name, "counter", help);
	for (i = 0; i < n; i++) {
		tool_sample(b, name, &rows[i].key);
		bb_printf(b, "} %llu\n",
			       *(const unsigned long long *)((const char *)&rows[i].v + offset));
	}
}

/* le bounds are 2^i microseconds, written as exact decimals of seconds. */
static void duration_histogram(struct bytebuf *b, const struct stats_row *rows, size_t n)
{
	static const char name[] = "mcpfence_tool_call_duration_seconds";
	unsigned long long cum;
	uint64_t us;
	size_t i, k;

	family(b, name, "histogram",
	       "Time from a tools/call request to the end of its response (for refused calls: of mcpfence's answer).");
	for (i = 0; i < n; i++) {
		const struct mcpf_tool_stats *v = &rows[i].v;

		cum = 0;
		for (k = 0; k < MCPF_LAT_BUCKETS - 1; k++) {
			cum += v->latency_hist[k];
			us = stats_bucket_upper_us((unsigned int)k);
			tool_sample(b, "mcpfence_tool_call_duration_seconds_bucket", &rows[i].key);
			bb_printf(b, ",le=\"%" PRIu64 ".%06" PRIu64 "\"} %llu\n",
				       us / 1000000, us % 1000000, cum);
		}
		tool_sample(b, "mcpfence_tool_call_duration_seconds_bucket", &rows[i].key);
		bb_printf(b, ",le=\"+Inf\"} %llu\n", v->calls);
		tool_sample(b, "mcpfence_tool_call_duration_seconds_sum", &rows[i].key);
		bb_printf(b, "} %llu.%09llu\n", v->latency_ns_total / 1000000000ULL,
			       v->latency_ns_total % 1000000000ULL);
		tool_sample(b, "mcpfence_tool_call_duration_seconds_count", &rows[i].key);
		bb_printf(b, "} %llu\n", v->calls);
	}
}

void prom_render(struct bytebuf *b, const struct stats_row *unsorted, size_t n,
		 const struct mcpf_daemon_stats *d, const char *version)
{
	struct stats_row *rows = NULL;
	size_t i;
	int dec;

	/* Sorted so scrapes are stable and diffable; on OOM unsorted is still valid. */
	if (n) {
		rows = malloc(n * sizeof(*rows));
		if (rows) {
			memcpy(rows, unsorted, n * sizeof(*rows));
			qsort(rows, n, sizeof(*rows), by_name);
		}
	}
	if (!rows)
		rows = (struct stats_row *)unsorted;

	family(b, "mcpfence_tool_calls_total", "counter",
	       "MCP tools/call requests by server, tool and policy decision.");
	for (i = 0; i < n; i++) {
		for (dec = 0; dec < MCPF_DECISIONS; dec++) {
			tool_sample(b, "mcpfence_tool_calls_total", &rows[i].key);
			bb_printf(b, ",decision=\"%s\"} %llu\n", stats_decision_name(dec),
				       stats_decision_count(&rows[i].v, dec));
		}
	}
	tool_counter(b, rows, n, "mcpfence_tool_call_errors_total",
		     "Allowed tools/call requests answered with an HTTP error, a JSON-RPC error or an isError result.",
		     offsetof(struct mcpf_tool_stats, upstream_errors));
	tool_counter(b, rows, n, "mcpfence_tool_call_request_bytes_total",
		     "Bytes of tools/call request bodies sent by agents.",
		     offsetof(struct mcpf_tool_stats, req_bytes));
	tool_counter(b, rows, n, "mcpfence_tool_call_response_bytes_total",
		     "Bytes of tools/call response bodies returned to agents.",
		     offsetof(struct mcpf_tool_stats, resp_bytes));
	duration_histogram(b, rows, n);

	family(b, "mcpfence_connections_intercepted_total", "counter",
	       "Agent connections redirected to mcpfence and accepted.");
	bb_printf(b, "mcpfence_connections_intercepted_total %llu\n", d->connections_intercepted);
	family(b, "mcpfence_connections_active", "gauge", "Agent connections being proxied now.");
	bb_printf(b, "mcpfence_connections_active %llu\n", d->connections_active);
	family(b, "mcpfence_policy_reloads_total", "counter",
	       "Policy reloads by result; a failed reload keeps the previous policy.");
	bb_printf(b, "mcpfence_policy_reloads_total{result=\"ok\"} %llu\n", d->policy_reloads_ok);
	bb_printf(b, "mcpfence_policy_reloads_total{result=\"error\"} %llu\n",
		       d->policy_reloads_failed);
	family(b, "mcpfence_build_info", "gauge", "Always 1; the label says which mcpfence build runs.");
	bb_append_str(b, "mcpfence_build_info{version=\"");
	prom_label_value(b, version);
	bb_append_str(b, "\"} 1\n");

	if (rows != unsorted)
		free(rows);
}

int prom_render_maps(struct bytebuf *b, int tool_fd, int daemon_fd, const char *version)
{
	struct mcpf_daemon_stats d;
	struct stats_row *rows;
	size_t n;
	int err;

	err = stats_read_daemon(daemon_fd, &d);
	if (err)
		return err;
	err = stats_read_all(tool_fd, &rows, &n);
	if (err)
		return err;
	prom_render(b, rows, n, &d, version);
	free(rows);
	return 0;
}
