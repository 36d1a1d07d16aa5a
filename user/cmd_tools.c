/* mcpfence tools [--server S] [--json] [--bpffs DIR]: the tool inventory
 * (inventory_view.h) with each tool's class, risk, reasons, drift and the
 * decision the active policy gives a call of it. */
#include "cmd_tools.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cjson/cJSON.h>

#include "inventory_view.h"
#include "stats.h"
#include "stats_view.h"
#include "sysfs.h"
#include "tool_class.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: mcpfence tools [--server S] [--json] [--bpffs DIR]\n"
		   "  The tools each server listed (from the maps pinned in DIR, default " MCPF_DEFAULT_BPFFS "):\n"
		   "  class, risk, the reasons for both, drift since first seen, and the decision\n"
		   "  the active policy gives a call without arguments (budgets as if fresh;\n"
		   "  \"conditional\" when an argument condition decides).\n");
}

static const char *const drift_names[] = { "", "added", "changed" };

/* allow, deny, hidden, ... or conditional (a condition on arguments, which
 * a call without them cannot meet, decided). */
static const char *decision_word(const struct decision *d)
{
	if (d->verdict == MCPF_DECISION_DENY && strstr(d->rule, ".conditions["))
		return "conditional";
	if (d->verdict == MCPF_DECISION_APPROVE)
		return "approve";
	return stats_decision_name(d->verdict);
}

static void iso_time(unsigned long long ns, char *out, size_t size)
{
	time_t t = (time_t)(ns / 1000000000ULL);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, size, "?");
}

static cJSON *row_json(const struct inventory_row *r, const struct decision *d)
{
	const struct mcpf_inventory_tool *v = &r->v;
	cJSON *o = cJSON_CreateObject(), *reasons, *ann, *dec;
	const enum mcpf_hint hints[] = { v->read_only, v->destructive, v->idempotent, v->open_world };
	const char *const hint_keys[] = { "readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint" };
	char when[32];

	cJSON_AddStringToObject(o, "server", r->key.server);
	cJSON_AddStringToObject(o, "tool", r->key.tool);
	cJSON_AddStringToObject(o, "class", tool_category_name(v->category));
	cJSON_AddStringToObject(o, "risk", tool_risk_name(v->risk));
	reasons = cJSON_AddArrayToObject(o, "reasons");
	for (unsigned int i = 0; i < TOOL_WHY_COUNT; i++)
		if (v->reasons & (1u << i))
			cJSON_AddItemToArray(reasons, cJSON_CreateString(tool_why_name(i)));
	cJSON_AddBoolToObject(o, "class_from_annotations_only", v->hints_only);
	ann = cJSON_AddObjectToObject(o, "annotations");
	for (int i = 0; i < 4; i++)
		if (hints[i] != MCPF_HINT_UNSET)
			cJSON_AddBoolToObject(ann, hint_keys[i], hints[i] == MCPF_HINT_TRUE);
	cJSON_AddStringToObject(o, "description_sha256", v->description_sha256);
	cJSON_AddStringToObject(o, "schema_sha256", v->schema_sha256);
	if (v->drift != MCPF_DRIFT_NONE && v->drift <= MCPF_DRIFT_CHANGED)
		cJSON_AddStringToObject(o, "drift", drift_names[v->drift]);
	else
		cJSON_AddNullToObject(o, "drift");
	cJSON_AddNumberToObject(o, "changes", v->changes);
	iso_time(v->first_seen_ns, when, sizeof(when));
	cJSON_AddStringToObject(o, "first_seen", when);
	iso_time(v->changed_ns, when, sizeof(when));
	cJSON_AddStringToObject(o, "last_changed", when);
	dec = cJSON_AddObjectToObject(o, "decision");
	cJSON_AddStringToObject(dec, "verdict", decision_word(d));
	cJSON_AddStringToObject(dec, "rule", d->rule);
	cJSON_AddStringToObject(dec, "reason", d->reason);
	return o;
}

static int print_json(struct inventory_view *view, const struct inventory_row *rows, size_t n)
{
	cJSON *arr = cJSON_CreateArray();
	struct decision d;
	char *text;

	for (size_t i = 0; arr && i < n; i++) {
		inventory_view_decide(view, &rows[i], &d);
		cJSON_AddItemToArray(arr, row_json(&rows[i], &d));
	}
	if (!arr || !(text = cJSON_Print(arr))) {
		cJSON_Delete(arr);
		fprintf(stderr, "mcpfence tools: out of memory\n");
		return 1;
	}
	printf("%s\n", text);
	cJSON_free(text);
	cJSON_Delete(arr);
	return 0;
}

static void print_table(struct inventory_view *view, const struct inventory_row *rows, size_t n)
{
	size_t ws = strlen("SERVER"), wt = strlen("TOOL");
	char reasons[512], decision[300];
	struct bytebuf b = BYTEBUF_INIT;
	struct decision d;

	for (size_t i = 0; i < n; i++) {
		ws = view_name_width(rows[i].key.server) > ws ? view_name_width(rows[i].key.server) : ws;
		wt = view_name_width(rows[i].key.tool) > wt ? view_name_width(rows[i].key.tool) : wt;
	}
	/* names are what servers sent: made terminal-safe by the view */
	view_append_padded(&b, "SERVER", ws + 2);
	view_append_padded(&b, "TOOL", wt + 2);
	bb_printf(&b, "%-11s  %-8s  %-7s  %-28s  %s\n", "CLASS", "RISK", "DRIFT", "DECISION", "REASONS");
	for (size_t i = 0; i < n; i++) {
		const struct mcpf_inventory_tool *v = &rows[i].v;

		inventory_view_decide(view, &rows[i], &d);
		snprintf(decision, sizeof(decision), "%s (%s)", decision_word(&d), d.rule);
		tool_why_format(v->reasons, ",", reasons, sizeof(reasons));
		view_append_padded(&b, rows[i].key.server, ws + 2);
		view_append_padded(&b, rows[i].key.tool, wt + 2);
		bb_printf(&b, "%-11s  %-8s  %-7s  ", tool_category_name(v->category), tool_risk_name(v->risk),
			  v->drift <= MCPF_DRIFT_CHANGED && v->drift ? drift_names[v->drift] : "-");
		view_append_padded(&b, decision, 30);
		bb_printf(&b, "%s%s\n", reasons[0] ? reasons : "-", v->hints_only ? " (class from annotations only)" : "");
	}
	if (!n)
		bb_append_str(&b, "(no tools recorded: the inventory fills as servers answer tools/list)\n");
	fwrite(b.data, 1, b.len, stdout);
	bb_free(&b);
}

int cmd_tools(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "bpffs", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *bpffs = MCPF_DEFAULT_BPFFS, *server = NULL;
	struct inventory_view view;
	struct inventory_row *rows;
	bool json = false;
	size_t n;
	int c, err, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case 'j': json = true; break;
		case 'b': bpffs = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mcpfence tools: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (inventory_view_open("tools", bpffs, &view))
		return 1;
	if ((err = inventory_view_rows(&view, server, &rows, &n))) {
		fprintf(stderr, "mcpfence tools: reading the inventory: %s\n", strerror(-err));
		inventory_view_close(&view);
		return 1;
	}
	if (json) {
		rc = print_json(&view, rows, n);
	} else {
		print_table(&view, rows, n);
		rc = 0;
	}
	free(rows);
	inventory_view_close(&view);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "mcpfence tools: writing output failed\n");
		rc = 1;
	}
	return rc;
}
