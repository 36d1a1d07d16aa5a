/* mcpfence suggest [--server S] [--bpffs DIR]: a starter policy from the
 * tool inventory, in the shape of policies/ (policies/README.md, "Tool
 * classes"): default deny; read tools allowed by name; execute tools
 * allowed by name with a budget of their own (SUGGEST_EXECUTE_MAX a
 * minute, grant scope); destructive tools named with destructive_entry();
 * every other tool left to default. A tool whose read class rests on its
 * annotations alone is left to default too: the server's claim is not
 * enough to grant it. The policy is checked with the policy parser before
 * it is printed; notes on what was left out go to stderr. */
#include "cmd_tools.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "inventory_view.h"
#include "stats_view.h"
#include "policy.h"
#include "sysfs.h"
#include "tool_class.h"

#define SUGGEST_EXECUTE_MAX 10

static void usage(FILE *f)
{
	fprintf(f, "usage: mcpfence suggest [--server S] [--bpffs DIR]\n"
		   "  Prints a starter policy for the servers in the tool inventory (maps pinned\n"
		   "  in DIR, default " MCPF_DEFAULT_BPFFS "): default deny, read tools allowed,\n"
		   "  execute tools allowed %d times a minute per agent, destructive tools held for approval.\n"
		   "  Review it, then check it with 'mcpfence policy check'.\n", SUGGEST_EXECUTE_MAX);
}

/* What a destructive tool gets: a human decides each call (Approvals). */
static cJSON *destructive_entry(void)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "action", "approve");
	cJSON_AddStringToObject(e, "reason", "destructive tool: a human decides each call");
	return e;
}

/* "note: SERVER/TOOL WHAT" on stderr, the names made terminal-safe. */
static void note(const struct inventory_row *r, const char *what)
{
	struct bytebuf b = BYTEBUF_INIT;

	bb_append_str(&b, "note: ");
	view_append_name(&b, r->key.server);
	bb_putc(&b, '/');
	view_append_name(&b, r->key.tool);
	bb_printf(&b, " %s\n", what);
	if (!b.failed)
		fwrite(b.data, 1, b.len, stderr);
	bb_free(&b);
}

/* A counter name of its own for server.tool: [A-Za-z0-9_.-], fits the
 * map, differs from every name in used[0..n). */
static void counter_name(const char *server, const char *tool, char used[][MCPF_COUNTER_LEN], size_t n,
			 char out[MCPF_COUNTER_LEN])
{
	char base[MCPF_COUNTER_LEN - 8];
	size_t i, len;
	unsigned int k = 0;
	bool clash;

	snprintf(base, sizeof(base), "%s.%s", server, tool);
	for (len = 0; base[len]; len++)
		if (!isalnum((unsigned char)base[len]) && !strchr("_.-", base[len]))
			base[len] = '_';
	do {
		/* base leaves room for "-" and six digits */
		if (k)
			snprintf(out, MCPF_COUNTER_LEN, "%s-%u", base, k % 1000000u);
		else
			snprintf(out, MCPF_COUNTER_LEN, "%s", base);
		for (clash = false, i = 0; i < n && !clash; i++)
			clash = !strcmp(used[i], out);
		k++;
	} while (clash);
}

static cJSON *execute_entry(const char *counter)
{
	cJSON *e = cJSON_CreateObject(), *limits = cJSON_AddArrayToObject(e, "limits"), *lim = cJSON_CreateObject();

	cJSON_AddStringToObject(lim, "counter", counter);
	cJSON_AddStringToObject(lim, "window", "minute");
	cJSON_AddNumberToObject(lim, "max", SUGGEST_EXECUTE_MAX);
	cJSON_AddStringToObject(lim, "scope", "grant");
	cJSON_AddItemToArray(limits, lim);
	return e;
}

/* The server entry for rows[0..n) (all of one server). */
static cJSON *server_entry(struct inventory_view *view, const struct inventory_row *rows, size_t n)
{
	cJSON *s = cJSON_CreateObject(), *eps = NULL, *tools;
	char **endpoints = inventory_view_endpoints(view, rows[0].key.server);
	char (*used)[MCPF_COUNTER_LEN] = calloc(n, sizeof(*used));
	char what[64];
	size_t n_used = 0;

	if (!s || !endpoints || !used) {
		cJSON_Delete(s);
		s = NULL;
		goto out;
	}
	if (endpoints[0]) {
		eps = cJSON_AddArrayToObject(s, "endpoints");
		for (char **e = endpoints; *e; e++)
			cJSON_AddItemToArray(eps, cJSON_CreateString(*e));
	}
	cJSON_AddStringToObject(s, "default", "deny");
	tools = cJSON_AddObjectToObject(s, "tools");
	for (size_t i = 0; i < n; i++) {
		const char *tool = rows[i].key.tool;
		const struct mcpf_inventory_tool *v = &rows[i].v;

		if (!strcmp(tool, "*") || policy_name_reserved(tool)) {
			note(&rows[i], "cannot be named in a policy; left to default");
			continue;
		}
		switch (v->category) {
		case MCPF_CATEGORY_READ:
			if (v->hints_only)
				note(&rows[i], "is read only by its annotations (the server's claim); left to default");
			else
				cJSON_AddItemToObject(tools, tool, cJSON_CreateObject());
			break;
		case MCPF_CATEGORY_EXECUTE:
			counter_name(rows[i].key.server, tool, used, n_used, used[n_used]);
			cJSON_AddItemToObject(tools, tool, execute_entry(used[n_used++]));
			break;
		case MCPF_CATEGORY_DESTRUCTIVE:
			cJSON_AddItemToObject(tools, tool, destructive_entry());
			break;
		default:
			snprintf(what, sizeof(what), "is %s; left to default", tool_category_name(v->category));
			note(&rows[i], what);
			break;
		}
	}
out:
	for (char **e = endpoints; e && *e; e++)
		free(*e);
	free(endpoints);
	free(used);
	return s;
}

int cmd_suggest(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "bpffs", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *bpffs = MCPF_DEFAULT_BPFFS, *server = NULL;
	struct policy_errors errs = { 0 };
	struct inventory_view view;
	struct inventory_row *rows = NULL;
	struct policy *check;
	cJSON *doc = NULL, *servers, *entry;
	char *text = NULL;
	size_t n = 0, start;
	int c, err, rc = 1;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case 'b': bpffs = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mcpfence suggest: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (inventory_view_open("suggest", bpffs, &view))
		return 1;
	if ((err = inventory_view_rows(&view, server, &rows, &n))) {
		fprintf(stderr, "mcpfence suggest: reading the inventory: %s\n", strerror(-err));
		goto out;
	}
	if (!n) {
		fprintf(stderr, "mcpfence suggest: no tools recorded%s%s yet: the inventory fills as servers "
			"answer tools/list\n", server ? " for server " : "", server ? server : "");
		goto out;
	}
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "version", "1");
	servers = cJSON_AddObjectToObject(doc, "servers");
	for (size_t i = 0; i < n; i = start) {
		for (start = i; start < n && !strcmp(rows[start].key.server, rows[i].key.server); start++)
			;
		if (!(entry = server_entry(&view, rows + i, start - i)))
			goto oom;
		cJSON_AddItemToObject(servers, rows[i].key.server, entry);
	}
	if (!(text = cJSON_Print(doc)))
		goto oom;
	/* what is printed must be a policy the daemon accepts */
	if (policy_parse("(suggested)", text, strlen(text), &check, &errs)) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "mcpfence suggest: %s\n", errs.line[i]);
		policy_errors_free(&errs);
		goto out;
	}
	policy_free(check);
	printf("%s\n", text);
	rc = fflush(stdout) || ferror(stdout);
	goto out;
oom:
	fprintf(stderr, "mcpfence suggest: out of memory\n");
out:
	cJSON_free(text);
	cJSON_Delete(doc);
	free(rows);
	inventory_view_close(&view);
	return rc;
}
