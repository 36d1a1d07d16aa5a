#include "stats_view.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kern_maps.h"
#include "utf8.h"

int view_open_pinned(const char *cmd, const char *bpffs, const char *name, size_t key_size, size_t value_size)
{
	int fd = kern_map_open_pinned(bpffs, name, key_size, value_size);

	if (fd == -EPROTO)
		fprintf(stderr, "mcpfence %s: %s/%s has another layout than this binary expects"
			" (pinned by a different mcpfence version?)\n", cmd, bpffs, name);
	else if (fd < 0)
		fprintf(stderr, "mcpfence %s: cannot open %s/%s: %s%s\n", cmd, bpffs, name, strerror(-fd),
			fd == -ENOENT ? " (has the daemon run with this --bpffs dir?)" : "");
	return fd < 0 ? -1 : fd;
}

int stats_view_open(const char *cmd, const char *bpffs, int *tool_fd, int *daemon_fd)
{
	*tool_fd = view_open_pinned(cmd, bpffs, "tool_stats", sizeof(struct mcpf_tool_key),
				    sizeof(struct mcpf_tool_stats));
	if (*tool_fd < 0)
		return -1;
	*daemon_fd = view_open_pinned(cmd, bpffs, "daemon_stats", sizeof(__u32), sizeof(struct mcpf_daemon_stats));
	if (*daemon_fd < 0) {
		close(*tool_fd);
		return -1;
	}
	return 0;
}

/* Calls emit(safe bytes, len, ctx) for each display character of name. */
static size_t each_display_char(const char *name, void (*emit)(const char *, size_t, void *), void *ctx)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t left = strlen(name), len, chars = 0;
	unsigned int cp;

	while (left) {
		len = utf8_sequence(p, left, &cp);
		if (len == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			if (emit)
				emit("?", 1, ctx);
			len = len ? len : 1;
		} else if (emit) {
			emit((const char *)p, len, ctx);
		}
		chars++;
		p += len;
		left -= len;
	}
	return chars;
}

static void emit_to_buf(const char *s, size_t n, void *ctx)
{
	bb_append(ctx, s, n);
}

void view_append_name(struct bytebuf *b, const char *name)
{
	each_display_char(name, emit_to_buf, b);
}

size_t view_name_width(const char *name)
{
	return each_display_char(name, NULL, NULL);
}

void view_append_padded(struct bytebuf *b, const char *s, size_t width)
{
	size_t w = each_display_char(s, emit_to_buf, b);

	while (w++ < width)
		bb_putc(b, ' ');
}

void view_duration(uint64_t ns, char *buf, size_t len)
{
	if (ns == 0)
		snprintf(buf, len, "-");
	else if (ns < 1000)
		snprintf(buf, len, "%uns", (unsigned int)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%uus", (unsigned int)(ns / 1000));
	else if (ns < 1000000000)
		snprintf(buf, len, "%.1fms", (double)ns / 1e6);
	else if (ns < 60ULL * 1000000000)
		snprintf(buf, len, "%.2fs", (double)ns / 1e9);
	else
		snprintf(buf, len, "%llum%02llus", (unsigned long long)(ns / 60000000000ULL),
			 (unsigned long long)(ns / 1000000000ULL % 60));
}

void view_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%uB", (unsigned int)bytes);
		return;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f%c", v, units[u]);
}

int view_rows_by_calls(const void *a, const void *b)
{
	const struct stats_row *x = a, *y = b;
	int c;

	if (x->v.calls != y->v.calls)
		return x->v.calls > y->v.calls ? -1 : 1;
	c = strcmp(x->key.server, y->key.server);
	return c ? c : strcmp(x->key.tool, y->key.tool);
}
