/*
 * tool_names: the (server, tool) names a server has listed in its
 * tools/list answers, so that per-tool counters are kept for real tools
 * only: a call naming a tool that neither the policy nor the server ever
 * named is counted under STATS_OTHER_TOOL, not as a row of its own
 * (agents cannot grow tool_stats and /metrics with invented names).
 *
 *   struct tool_names *n = tool_names_new(max);   // at most max names kept
 *   tool_names_add(n, server, tool);               // from tools/list answers
 *   tool_names_has(n, server, tool)
 *   tool_names_free(n);
 *
 * Bounded: names past max, or longer than TOOL_NAMES_MAX_LEN, are not kept (their calls count as other), so a
 * server listing millions of tools costs max entries. Fixed-size open
 * addressing; names are never removed (a tool that was listed once keeps
 * its row, as it keeps its counters).
 */
#ifndef MCPF_TOOL_NAMES_H
#define MCPF_TOOL_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define STATS_OTHER_TOOL "(other)"
#define TOOL_NAMES_DEFAULT_MAX 8192
#define TOOL_NAMES_MAX_LEN 255   /* longer names are not kept */

struct tool_names;

struct tool_names *tool_names_new(size_t max);
void tool_names_free(struct tool_names *n);
/* 0, or -ENOSPC when full, -ENAMETOOLONG, -ENOMEM (the name is then not kept). */
int tool_names_add(struct tool_names *n, const char *server, const char *tool);
bool tool_names_has(const struct tool_names *n, const char *server, const char *tool);

#endif
