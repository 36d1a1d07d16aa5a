/* The handover protocol end to end between two processes: the running
 * daemon's side in an event loop (parent), the new daemon's blocking fetch
 * (forked child, reporting through its exit status). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>
#include "harness.h"
#include "handover.h"

#define N_ITEMS 200   /* several messages of HANDOVER_BATCH */

struct fixture {
	struct loop loop;
	struct handover_server hs;
	struct watch tick;
	pid_t child;
	int child_status;
	int fds[N_ITEMS];
	int netns_fds[N_ITEMS];
	uint16_t ports[N_ITEMS];
	int n;
	bool small_sndbuf;    /* the session's send buffer fills up after a message or two */
	int released, taken, abandoned;
};

static int export_items(void *ctx, struct handover_item *items, int max)
{
	struct fixture *f = ctx;
	int n = f->n < max ? f->n : max;
	int tiny = 1;  /* the kernel rounds it up to its minimum, ~4.5 KiB */

	if (f->small_sndbuf)
		setsockopt(f->hs.session.fd, SOL_SOCKET, SO_SNDBUF, &tiny, sizeof(tiny));

	for (int i = 0; i < n; i++) {
		uint64_t cookie = 0;
		socklen_t len = sizeof(cookie);

		getsockopt(f->fds[i], SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len);
		items[i] = (struct handover_item){ .kind = HANDOVER_PROXY_LISTENER, .family = AF_INET,
						   .netns_cookie = cookie, .fd = f->fds[i], .netns_fd = f->netns_fds[i] };
	}
	return n;
}

static void on_released(void *ctx) { ((struct fixture *)ctx)->released++; }
static void on_taken(void *ctx) { ((struct fixture *)ctx)->taken++; }
static void on_abandoned(void *ctx) { ((struct fixture *)ctx)->abandoned++; }

/* Ends the loop once the child has exited and its session is over. */
static void on_tick(struct watch *w, uint32_t revents)
{
	struct fixture *f = container_of(w, struct fixture, tick);
	uint64_t n;

	(void)revents;
	if (read(w->fd, &n, sizeof(n)) != sizeof(n))
		return;
	if (f->child > 0 && waitpid(f->child, &f->child_status, WNOHANG) == f->child)
		f->child = 0;
	if (f->child == 0 && f->hs.session.fd < 0)
		f->loop.stop = true;
}

static int listener(uint16_t *port)
{
	struct sockaddr_in in = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(in);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&in, sizeof(in)) || listen(fd, 8) ||
	    getsockname(fd, (struct sockaddr *)&in, &len))
		return -1;
	*port = ntohs(in.sin_port);
	return fd;
}

/* Child: fetch for bpffs and check what came; exit 0 when as expected. */
static int child_fetch(const struct fixture *f, const char *dir, const char *bpffs, bool expect_items)
{
	struct handover_set set;
	int session, err = handover_fetch(dir, bpffs, &set, &session);

	if (!expect_items)
		return err == 0 && session < 0 && set.n == 0 ? 0 : 10;
	if (err || session < 0 || set.n != f->n)
		return 11;
	for (int i = 0; i < set.n; i++) {
		struct sockaddr_in in;
		socklen_t len = sizeof(in);
		const struct handover_item *it = &set.items[i];

		if (getsockname(it->fd, (struct sockaddr *)&in, &len) || ntohs(in.sin_port) != f->ports[i])
			return 12;
		if ((it->netns_fd >= 0) != (f->netns_fds[i] >= 0))
			return 13;
	}
	handover_set_free(&set);
	return handover_taken(session) ? 14 : 0;
}

static int run(struct fixture *f, const char *bpffs, bool expect_items)
{
	char dir[] = "/tmp/mcpfence-unit-handover-XXXXXX";
	struct handover_ops ops = { export_items, on_released, on_taken, on_abandoned, f };
	struct itimerspec every = { { 0, 10000000 }, { 0, 10000000 } };
	int err;

	if (!mkdtemp(dir) || loop_init(&f->loop))
		return -errno;
	err = handover_serve(&f->hs, &f->loop, dir, "/sys/fs/bpf/unit", &ops);
	if (err)
		return err;
	f->tick.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	f->tick.cb = on_tick;
	timerfd_settime(f->tick.fd, 0, &every, NULL);
	loop_watch(&f->loop, &f->tick, EPOLLIN);
	f->child = fork();
	if (f->child == 0)
		_exit(child_fetch(f, dir, bpffs, expect_items));
	err = loop_run(&f->loop);
	handover_server_stop(&f->hs);
	loop_close(&f->loop, &f->tick);
	loop_fini(&f->loop);
	rmdir(dir);
	return err;
}

static int setup(struct fixture *f, int n, bool with_netns)
{
	memset(f, 0, sizeof(*f));
	f->n = n;
	for (int i = 0; i < n; i++) {
		f->fds[i] = listener(&f->ports[i]);
		/* every other item as if in another netns (here: our own, by fd) */
		f->netns_fds[i] = with_netns && i % 2 ? open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC) : -1;
		if (f->fds[i] < 0)
			return -1;
	}
	return 0;
}

static void teardown(struct fixture *f)
{
	for (int i = 0; i < f->n; i++) {
		close(f->fds[i]);
		if (f->netns_fds[i] >= 0)
			close(f->netns_fds[i]);
	}
}

TEST(handover_sends_hundreds_of_listeners_with_netns_fds_in_batches)
{
	struct fixture *f = malloc(sizeof(*f));

	CHECK(f && setup(f, N_ITEMS, true) == 0);
	CHECK_INT_EQ(run(f, "/sys/fs/bpf/unit", true), 0);
	CHECK(WIFEXITED(f->child_status));
	CHECK_INT_EQ(WEXITSTATUS(f->child_status), 0);
	CHECK_INT_EQ(f->released, 1);
	CHECK_INT_EQ(f->taken, 1);
	CHECK_INT_EQ(f->abandoned, 0);
	teardown(f);
	free(f);
}

TEST(handover_refuses_another_bpffs)
{
	struct fixture *f = malloc(sizeof(*f));

	CHECK(f && setup(f, 2, false) == 0);
	CHECK_INT_EQ(run(f, "/sys/fs/bpf/other", false), 0);
	CHECK(WIFEXITED(f->child_status));
	CHECK_INT_EQ(WEXITSTATUS(f->child_status), 0);
	CHECK_INT_EQ(f->released, 0);
	CHECK_INT_EQ(f->taken, 0);
	teardown(f);
	free(f);
}

TEST(handover_receiver_rejects_a_socket_that_is_not_listening)
{
	struct fixture *f = malloc(sizeof(*f));

	CHECK(f && setup(f, 3, false) == 0);
	/* the sender lies: item 1 is a UDP socket */
	close(f->fds[1]);
	f->fds[1] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK_INT_EQ(run(f, "/sys/fs/bpf/unit", true), 0);
	CHECK(WIFEXITED(f->child_status));
	CHECK_INT_EQ(WEXITSTATUS(f->child_status), 11);  /* fetch failed: nothing kept */
	/* the receiver left before TAKEN (before or after DONE went out):
	 * the sender carries on, holding its lock again if it had let go */
	CHECK_INT_EQ(f->abandoned, f->released);
	CHECK_INT_EQ(f->taken, 0);
	teardown(f);
	free(f);
}

TEST(handover_resumes_when_the_peer_socket_is_full)
{
	struct fixture *f = malloc(sizeof(*f));

	CHECK(f && setup(f, N_ITEMS, true) == 0);
	f->small_sndbuf = true;
	CHECK_INT_EQ(run(f, "/sys/fs/bpf/unit", true), 0);
	CHECK(WIFEXITED(f->child_status));
	CHECK_INT_EQ(WEXITSTATUS(f->child_status), 0);
	CHECK_INT_EQ(f->released, 1);
	CHECK_INT_EQ(f->taken, 1);
	teardown(f);
	free(f);
}
