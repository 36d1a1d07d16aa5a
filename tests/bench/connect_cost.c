/*
 * Cost of a TCP connection mcpfence does not intercept: the time of
 * socket() + connect() + close() to a local listener that no policy names.
 * Run in the cgroup the daemon targets, once with its programs attached and
 * once without; the difference is what every unrelated connection pays.
 *
 *   connect_cost [--iterations N] [--warmup N]
 *
 * The accept() on the listening side is not timed. The client closes with
 * SO_LINGER 0 (RST) so that no TIME_WAIT sockets pile up across iterations.
 * Prints one JSON object with nanoseconds per connection.
 */
#include "histogram.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

static long parse_count(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0) {
		fprintf(stderr, "connect_cost: %s: '%s' is not a count\n", what, s);
		exit(2);
	}
	return v;
}

/* One timed connection; returns its cost in ns, or 0 on failure. */
static unsigned long long one_connection(int lfd, const struct sockaddr_in *to)
{
	struct linger rst = { .l_onoff = 1, .l_linger = 0 };
	unsigned long long t0, t1, t2, t3;
	int fd, peer;

	t0 = now_ns();
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)to, sizeof(*to)) < 0) {
		perror("connect_cost: connect");
		return 0;
	}
	t1 = now_ns();
	peer = accept(lfd, NULL, NULL);
	if (peer < 0) {
		perror("connect_cost: accept");
		return 0;
	}
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	t2 = now_ns();
	close(fd);
	t3 = now_ns();
	close(peer);
	return (t1 - t0) + (t3 - t2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "iterations", required_argument, 0, 'n' }, { "warmup", required_argument, 0, 'w' },
		{ 0, 0, 0, 0 },
	};
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	long iterations = 20000, warmup = 1000, i;
	static struct histogram hist;
	int lfd, c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'n')
			iterations = parse_count(optarg, "--iterations");
		else if (c == 'w')
			warmup = parse_count(optarg, "--warmup");
		else {
			fprintf(stderr, "usage: connect_cost [--iterations N] [--warmup N]\n");
			return 2;
		}
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 128) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&addr, &len) < 0) {
		perror("connect_cost: listen");
		return 1;
	}
	hist_init(&hist);
	for (i = 0; i < warmup + iterations; i++) {
		unsigned long long ns = one_connection(lfd, &addr);

		if (!ns)
			return 1;
		if (i >= warmup)
			hist_record(&hist, ns);
	}
	printf("{\"port\":%u,\"iterations\":%ld,\"ns\":{\"mean\":%.0f,\"p50\":%llu,\"p90\":%llu,"
	       "\"p99\":%llu,\"p999\":%llu,\"max\":%llu}}\n",
	       ntohs(addr.sin_port), iterations, hist_mean(&hist),
	       (unsigned long long)hist_quantile(&hist, 0.5), (unsigned long long)hist_quantile(&hist, 0.9),
	       (unsigned long long)hist_quantile(&hist, 0.99), (unsigned long long)hist_quantile(&hist, 0.999),
	       (unsigned long long)hist.max);
	return 0;
}
