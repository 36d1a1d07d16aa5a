/* mcpfence: one binary, daemon and CLI. */
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "common.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "run", cmd_run, "intercept and enforce (the daemon)" },
	{ "policy", cmd_policy, "check policy files: 'mcpfence policy check FILE...'" },
	{ "stats", cmd_stats, "per-tool call statistics from the pinned maps" },
	{ "top", cmd_top, "live per-tool view, refreshed every second" },
	{ "tools", cmd_tools, "the tools servers listed: class, risk, drift, decision" },
	{ "suggest", cmd_suggest, "a starter policy from the tool inventory" },
	{ "approvals", cmd_approvals, "calls held for approval (--watch follows them)" },
	{ "approve", cmd_approve, "let a held call go: 'mcpfence approve ID [--remember 10m]'" },
	{ "deny", cmd_deny, "refuse a held call: 'mcpfence deny ID [--reason TEXT]'" },
};

static int usage(FILE *out)
{
	fprintf(out, "usage: mcpfence COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-14s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "  %-14s %s\n\n'mcpfence COMMAND --help' for a command's options.\n", "version", "print the version");
	return out == stderr ? 2 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
		return usage(stdout);
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("mcpfence %s\n", MCPF_VERSION);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "mcpfence: unknown command '%s'\n", argv[1]);
	return usage(stderr);
}
