/* Shared pieces of the `stats` and `top` commands: opening the pinned maps
 * (the inventory's too) with readable errors, and formatting names, durations and sizes for a
 * terminal. */
#ifndef MCPF_STATS_VIEW_H
#define MCPF_STATS_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "stats.h"
#include "bytebuf.h"
#include "sysfs.h"  /* MCPF_DEFAULT_BPFFS */

/* Open the map pinned as bpffs/name with this key and value layout
 * (kern_map_open_pinned); on failure print why to stderr (prefixed by cmd)
 * and return -1. */
int view_open_pinned(const char *cmd, const char *bpffs, const char *name, size_t key_size, size_t value_size);
/* Open bpffs/tool_stats and bpffs/daemon_stats, as view_open_pinned. */
int stats_view_open(const char *cmd, const char *bpffs, int *tool_fd, int *daemon_fd);

/* Append s left-aligned in a column of width characters (code points),
 * terminal-safe: agent-chosen names may hold escape sequences, so control
 * characters and invalid UTF-8 become '?'. */
void view_append_padded(struct bytebuf *b, const char *s, size_t width);
/* name, terminal-safe, unpadded. */
void view_append_name(struct bytebuf *b, const char *name);
/* Characters (code points) name takes once made terminal-safe. */
size_t view_name_width(const char *name);

/* "-" for 0, then 850ns, 12us, 1.2ms, 3.40s, 12m05s */
void view_duration(uint64_t ns, char *buf, size_t len);
/* 512B, 1.5K, 3.2M, 1.0G, 2.0T (powers of 1024) */
void view_bytes(uint64_t bytes, char *buf, size_t len);

/* qsort comparator: most calls first, then server and tool names. */
int view_rows_by_calls(const void *a, const void *b);

#endif /* MCPF_STATS_VIEW_H */
