/* mcpfence top [--bpffs DIR] [--interval S] [--iterations N]: a live
 * per-tool view refreshed every interval, like top(1). On a terminal each
 * frame replaces the previous one and is cut to the window's height;
 * otherwise frames are printed one after another (for scripts). */
#include "cmd_stats.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "stats_view.h"
#include "top_view.h"

#define CLEAR_SCREEN "\033[H\033[2J"
#define HEADER_LINES 5

static void usage(FILE *f)
{
	fprintf(f, "usage: mcpfence top [--bpffs DIR] [--interval S] [--iterations N]\n"
		   "  Live calls/s, refusals and latency per tool from the maps pinned in DIR\n"
		   "  (default " MCPF_DEFAULT_BPFFS "), every S seconds (default 1), N times\n"
		   "  (default: until interrupted).\n");
}

static int take(int tfd, int dfd, struct top_snapshot *s)
{
	int err;

	free(s->rows);
	s->rows = NULL;
	s->n = 0;
	err = stats_read_daemon(dfd, &s->daemon);
	if (!err)
		err = stats_read_all(tfd, &s->rows, &s->n);
	if (err)
		return err;
	clock_gettime(CLOCK_MONOTONIC, &s->at);
	top_snapshot_index(s);
	return 0;
}

static void sleep_for(double secs)
{
	struct timespec ts = { .tv_sec = (time_t)secs,
			       .tv_nsec = (long)((secs - floor(secs)) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static size_t terminal_rows(bool tty)
{
	struct winsize ws;

	if (!tty || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || ws.ws_row <= HEADER_LINES + 1)
		return 0;
	return ws.ws_row - HEADER_LINES - 1;
}

int cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bpffs", required_argument, NULL, 'b' },
		{ "interval", required_argument, NULL, 'i' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *bpffs = MCPF_DEFAULT_BPFFS;
	struct top_snapshot snaps[2] = { 0 };
	struct bytebuf b = BYTEBUF_INIT;
	bool tty = isatty(STDOUT_FILENO);
	double interval = 1.0;
	long iterations = 0, i;
	int c, tfd, dfd, err = 0, rc = 0;
	char *end;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bpffs = optarg;
			break;
		case 'i':
			errno = 0;
			interval = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(interval >= 0.1 && interval <= 3600)) {
				fprintf(stderr, "mcpfence top: --interval wants seconds in [0.1, 3600], not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'n':
			errno = 0;
			iterations = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || iterations < 1) {
				fprintf(stderr, "mcpfence top: --iterations wants a positive count, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mcpfence top: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (stats_view_open("top", bpffs, &tfd, &dfd))
		return 1;
	err = take(tfd, dfd, &snaps[0]);
	for (i = 0; !err && (iterations == 0 || i < iterations); i++) {
		struct top_snapshot *prev = &snaps[i % 2], *cur = &snaps[(i + 1) % 2];

		sleep_for(interval);
		err = take(tfd, dfd, cur);
		if (err)
			break;
		bb_reset(&b);
		bb_append_str(&b, tty ? CLEAR_SCREEN : (i ? "\n" : ""));
		top_render(&b, prev, cur, time(NULL), terminal_rows(tty));
		if (b.failed) {
			err = -ENOMEM;
			break;
		}
		if (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout)) {
			fprintf(stderr, "mcpfence top: writing output failed\n");
			rc = 1;
			break;
		}
	}
	if (err) {
		fprintf(stderr, "mcpfence top: reading %s: %s\n", bpffs, strerror(-err));
		rc = 1;
	}
	bb_free(&b);
	free(snaps[0].rows);
	free(snaps[1].rows);
	close(tfd);
	close(dfd);
	return rc;
}
