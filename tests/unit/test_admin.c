/* The metrics endpoint: one body in flight at a time, so scrapers that
 * do not read cannot each hold one (tens of MB with thousands of rows). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "../../user/admin.h"

#define BIG_BODY (32u << 20)   /* well past what loopback socket buffers take */

static int render_big(struct bytebuf *out, void *ctx)
{
	static char chunk[65536];

	(void)ctx;
	memset(chunk, 'x', sizeof(chunk));
	for (unsigned n = 0; n < BIG_BODY; n += sizeof(chunk))
		bb_append(out, chunk, sizeof(chunk));
	return 0;
}

/* One round of the loop's dispatch, as loop_run does it. */
static void pump(struct loop *l, int ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(l->epfd, evs, 32, ms);

	for (int i = 0; i < n; i++) {
		struct watch *w = evs[i].data.ptr;

		if (w->added)
			w->cb(w, evs[i].events);
	}
}

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)) && !getsockname(fd, (struct sockaddr *)&sa, &len))
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int scrape(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    send(fd, req, sizeof(req) - 1, 0) != (ssize_t)(sizeof(req) - 1)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The status line of fd's answer, pumping the loop until it comes. */
static int status_of(struct loop *l, int fd)
{
	char buf[64] = { 0 };
	int status = -1;

	for (int i = 0; i < 50 && status < 0; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		pump(l, 20);
		if (poll(&p, 1, 0) == 1 && recv(fd, buf, sizeof(buf) - 1, MSG_PEEK) >= 12)
			sscanf(buf, "HTTP/1.1 %d", &status);
	}
	return status;
}

TEST(admin_sends_one_metrics_body_at_a_time)
{
	struct loop loop;
	struct admin a;
	char addr[32];
	int port = free_port(), slow, second, third;

	CHECK(port > 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	CHECK(loop_init(&loop) == 0);
	CHECK(admin_start(&a, &loop, addr, render_big, NULL, NULL) == 0);
	a.ready = true;
	/* a scraper that does not read: its body stays mostly unsent */
	CHECK((slow = scrape(port)) >= 0);
	CHECK_INT_EQ(status_of(&loop, slow), 200);
	CHECK((second = scrape(port)) >= 0);
	CHECK_INT_EQ(status_of(&loop, second), 503);
	close(second);
	/* once that body is gone, the next scrape renders */
	close(slow);
	for (int i = 0; i < 5; i++)
		pump(&loop, 20);
	CHECK((third = scrape(port)) >= 0);
	CHECK_INT_EQ(status_of(&loop, third), 200);
	close(third);
	admin_stop(&a);
	loop_fini(&loop);
}
