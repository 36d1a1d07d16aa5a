/* Prometheus text exposition (format 0.0.4) of the metrics maps. */
#ifndef MCPF_PROM_H
#define MCPF_PROM_H

#include <stddef.h>

#include "stats.h"
#include "bytebuf.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* One /metrics scrape: read tool_stats and daemon_stats and append the
 * whole exposition to b. 0, or -errno if a map could not be read (b then
 * holds nothing new worth sending: answer 500). Check b->failed for OOM. */
int prom_render_maps(struct bytebuf *b, int tool_fd, int daemon_fd, const char *version);

/* The same from data already read; rows need not be sorted. */
void prom_render(struct bytebuf *b, const struct stats_row *rows, size_t n,
		 const struct mcpf_daemon_stats *d, const char *version);

/* One unlabelled sample with its HELP and TYPE lines. */
void prom_metric(struct bytebuf *b, const char *name, const char *type, const char *help,
		 unsigned long long value);

/* Append s as the inside of a quoted label value: backslash, double quote
 * and newline escaped, invalid UTF-8 replaced by U+FFFD. */
void prom_label_value(struct bytebuf *b, const char *s);

#endif /* MCPF_PROM_H */
