/* One frame of `mcpfence top`: per-tool rates and latency over the last
 * interval, from two snapshots of tool_stats. */
#ifndef MCPF_TOP_VIEW_H
#define MCPF_TOP_VIEW_H

#include <stddef.h>
#include <time.h>

#include "stats.h"
#include "bytebuf.h"

struct top_snapshot {
	struct stats_row *rows;   /* sorted by server, tool */
	size_t n;
	struct mcpf_daemon_stats daemon;
	struct timespec at;       /* CLOCK_MONOTONIC */
};

/* Sort s->rows by name so the next frame can find each row's previous
 * counts. */
void top_snapshot_index(struct top_snapshot *s);

/* Append a frame to b: header, then tools by calls/s over (cur - prev),
 * at most max_rows of them (0 = all). A row whose counters went down (the
 * maps were recreated) counts from zero, as Prometheus treats a counter
 * reset. wall is the time printed in the header. */
void top_render(struct bytebuf *b, const struct top_snapshot *prev, const struct top_snapshot *cur,
		time_t wall, size_t max_rows);

#endif /* MCPF_TOP_VIEW_H */
