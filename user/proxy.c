#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "bytebuf.h"
#include "endpoint.h"
#include "log.h"
#include "mcp_flow.h"
#include "netns.h"
#include "policy_scope.h"
#include "proxy.h"
#include "stats.h"

#define READ_CHUNK  (64 * 1024)
/* Stop reading from one side while this much waits to be written to the
 * other: memory per connection stays bounded whatever the peers do. */
#define HIGH_WATER  (256 * 1024)

struct side {
	struct watch w;
	struct proxy_conn *conn;
	struct bytebuf out;    /* bytes waiting to be written to this side */
	bool rd_closed;    /* read EOF from this side */
	bool wr_closed;    /* sent FIN to this side */
};

struct proxy_conn {
	struct side client, upstream;
	bool connecting;
	bool closed;
	bool upstream_failed;         /* never connected: the flow answers 502 */
	struct mcp_flow flow;         /* what the bytes mean: HTTP, MCP, policy */
	struct mcpf_conn_key key;     /* conns map key */
	struct mcpf_conn origin;
	struct proxy *px;
	struct proxy_conn *prev, *next;
	struct deferred free_later;
};

static struct side *peer_of(struct proxy_conn *c, struct side *s)
{
	return s == &c->client ? &c->upstream : &c->client;
}

/* Idle: hand back what large bodies left in the heap. glibc keeps freed
 * memory otherwise, so one burst of 1 MiB calls would stay resident for the
 * daemon's whole life. At most once a second: an agent that opens a
 * connection per call is idle after every call. */
static void trim_when_idle(struct proxy *px)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (now.tv_sec == px->trimmed_at_s)
		return;
	px->trimmed_at_s = now.tv_sec;
	malloc_trim(0);
}

static void free_conn(struct deferred *d)
{
	struct proxy_conn *c = container_of(d, struct proxy_conn, free_later);
	struct proxy *px = c->px;

	mcp_flow_free(&c->flow);
	bb_free(&c->client.out);
	bb_free(&c->upstream.out);
	free(c);
	if (px->active == 0)
		trim_when_idle(px);
}

static void close_side(struct proxy *px, struct side *s, bool reset)
{
	if (s->w.fd < 0)
		return;
	loop_unwatch(px->loop, &s->w);
	if (reset) {
		/* abortive close: the peer sees a reset, as it would have
		 * seen from the server, instead of a clean end of stream */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(s->w.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(s->w.fd);
	s->w.fd = -1;
}

static void conn_close(struct proxy_conn *c, bool reset)
{
	struct proxy *px = c->px;

	if (c->closed)
		return;
	c->closed = true;
	close_side(px, &c->client, reset);
	close_side(px, &c->upstream, reset);
	bpf_map_delete_elem(px->conns_fd, &c->key);
	if (c->prev)
		c->prev->next = c->next;
	else
		px->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	px->active--;
	stats_connection_closed(px->enforce->daemon_stats_fd);
	loop_defer(px->loop, &c->free_later, free_conn);
}

static void conn_abort(struct proxy_conn *c, const char *what, int err)
{
	char ep[ENDPOINT_STRLEN];

	log_debug("connection pid=%u to %s: %s: %s", c->origin.pid,
		  endpoint_str(&c->origin.orig_dst, ep), what, strerror(err));
	conn_close(c, true);
}

/* Returns false when the connection was aborted. */
static bool side_write(struct proxy_conn *c, struct side *s)
{
	while (s->out.len) {
		ssize_t n = send(s->w.fd, s->out.data, s->out.len, MSG_NOSIGNAL);

		if (n > 0) {
			bb_consume(&s->out, n);
		} else if (errno == EAGAIN || errno == EINTR) {
			return true;
		} else {
			conn_abort(c, s == &c->client ? "write to agent" : "write to server", errno);
			return false;
		}
	}
	return true;
}

/* The flow answered something it cannot go on from (a malformed request):
 * the server side goes now, the agent gets what is queued for it, then
 * the connection ends. */
static void conn_fail_after_flush(struct proxy_conn *c)
{
	close_side(c->px, &c->upstream, true);
	bb_reset(&c->upstream.out);
	c->connecting = false;
	c->upstream.rd_closed = c->upstream.wr_closed = true;
	c->client.rd_closed = true;
}

static bool side_read(struct proxy_conn *c, struct side *s)
{
	static char scratch[READ_CHUNK];
	struct flow_io io = { .to_upstream = &c->upstream.out, .to_client = &c->client.out };
	struct bytebuf *dst = &peer_of(c, s)->out;
	bool from_client = s == &c->client;

	while (dst->len < HIGH_WATER) {
		ssize_t n = recv(s->w.fd, scratch, sizeof(scratch), 0);
		int rc;

		if (n > 0)
			rc = from_client ? mcp_flow_client_data(&c->flow, scratch, n, &io)
					 : mcp_flow_upstream_data(&c->flow, scratch, n, &io);
		else if (n == 0)
			rc = from_client ? mcp_flow_client_eof(&c->flow, &io)
					 : mcp_flow_upstream_eof(&c->flow, &io);
		else if (errno == EAGAIN)
			break;
		else if (errno == EINTR)
			continue;
		else {
			conn_abort(c, from_client ? "read from agent" : "read from server", errno);
			return false;
		}
		if (c->upstream_failed)
			bb_reset(&c->upstream.out); /* nowhere to send it */
		if (rc) {
			if (!from_client) {
				/* the server's reply cannot be relayed as it came */
				conn_abort(c, "relaying the server's reply", EPROTO);
				return false;
			}
			conn_fail_after_flush(c);
			return true;
		}
		if (io.finished) {
			/* every answer owed is queued for the agent, the last a refusal */
			conn_fail_after_flush(c);
			return true;
		}
		if (n == 0) {
			s->rd_closed = true;
			break;
		}
	}
	return true;
}

static uint32_t side_interest(struct proxy_conn *c, struct side *s)
{
	struct side *p = peer_of(c, s);
	uint32_t ev = 0;

	if (s == &c->upstream && c->connecting)
		return EPOLLOUT;
	if (!s->rd_closed && p->out.len < HIGH_WATER)
		ev |= EPOLLIN;
	if (s->out.len)
		ev |= EPOLLOUT;
	return ev;
}

/* After any progress: pass on half-closes, re-arm interest, and finish the
 * connection once both directions are done. */
static void conn_settle(struct proxy_conn *c)
{
	struct side *sides[2] = { &c->client, &c->upstream };

	for (int i = 0; i < 2; i++) {
		struct side *s = sides[i], *p = peer_of(c, s);

		/* an unreachable server is no end of stream for the agent:
		 * it waits for its 502, and the connection ends after it */
		if (p->rd_closed && !s->wr_closed && !s->out.len &&
		    !(s == &c->upstream && c->connecting) &&
		    !(s == &c->client && c->upstream_failed && !c->client.rd_closed)) {
			shutdown(s->w.fd, SHUT_WR);
			s->wr_closed = true;
		}
	}
	if (c->client.rd_closed && c->client.wr_closed && c->upstream.rd_closed && c->upstream.wr_closed) {
		conn_close(c, false);
		return;
	}
	for (int i = 0; i < 2; i++) {
		if (sides[i]->w.fd < 0)
			continue; /* closed early: the server was unreachable or gave up */
		if (loop_watch(c->px->loop, &sides[i]->w, side_interest(c, sides[i]))) {
			conn_abort(c, "epoll", errno);
			return;
		}
	}
}

/* The server cannot be reached. The agent's connection stays: its requests
 * get a 502 with a JSON-RPC error from the flow, rather than a reset. */
static void upstream_unreachable(struct proxy_conn *c, int err)
{
	struct flow_io io = { .to_upstream = &c->upstream.out, .to_client = &c->client.out };
	char ep[ENDPOINT_STRLEN];

	c->px->upstream_failures++;
	log_info("server %.*s at %s unreachable: %s", MCPF_NAME_LEN, c->origin.server,
		 endpoint_str(&c->origin.orig_dst, ep), strerror(err));
	close_side(c->px, &c->upstream, false);
	c->connecting = false;
	c->upstream_failed = true;
	c->upstream.rd_closed = c->upstream.wr_closed = true;
	bb_free(&c->upstream.out);
	if (mcp_flow_upstream_failed(&c->flow, strerror(err), &io))
		conn_fail_after_flush(c);
}

static bool upstream_connected(struct proxy_conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	getsockopt(c->upstream.w.fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		upstream_unreachable(c, err);
		conn_settle(c);
		return false;
	}
	c->connecting = false;
	return true;
}

static void on_side_event(struct watch *w, uint32_t revents)
{
	struct side *s = container_of(w, struct side, w);
	struct proxy_conn *c = s->conn;

	if (c->closed)
		return;

	if (s == &c->upstream && c->connecting) {
		if (!upstream_connected(c))
			return;
		revents |= EPOLLOUT;
	}
	if ((revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !s->rd_closed) {
		if (!side_read(c, s))
			return;
		/* forward at once rather than wait for the next epoll round;
		 * the flow may also have answered the reader itself */
		if (!side_write(c, &c->client) || (c->upstream.w.fd >= 0 && !c->connecting && !side_write(c, &c->upstream)))
			return;
	}
	if ((revents & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && s->out.len && !side_write(c, s))
		return;
	if ((revents & EPOLLERR) || ((revents & EPOLLHUP) && s->rd_closed && !s->wr_closed)) {
		/* the peer is gone in both directions: what we still owe it
		 * cannot be delivered */
		conn_abort(c, s == &c->client ? "agent went away" : "server went away", ECONNRESET);
		return;
	}
	conn_settle(c);
}

/* Another connection's flow queued bytes for this agent (a legacy SSE
 * stream carrying a denial): make sure they get written. */
static void conn_kick(void *conn)
{
	struct proxy_conn *c = conn;

	if (!c->closed && loop_watch(c->px->loop, &c->client.w, side_interest(c, &c->client)))
		conn_abort(c, "epoll", errno);
}

/* The upstream socket is made in the agent's namespace, where the address
 * it asked for means what it meant, and marked as the daemon's so that
 * connect4/6 let it through. */
static int upstream_open(struct proxy_conn *c, const struct netns *ns)
{
	struct sockaddr_storage ss;
	socklen_t len = endpoint_to_sockaddr(&c->origin.orig_dst, &ss);
	__u32 mark = MCPF_SOCK_UPSTREAM;
	int one = 1, fd;

	fd = netns_socket(ns, ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return fd;
	c->upstream.w.fd = fd;
	if (bpf_map_update_elem(c->px->socks_fd, &fd, &mark, BPF_ANY) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, len) == 0)
		c->connecting = false;
	else if (errno == EINPROGRESS)
		c->connecting = true;
	else
		return -errno;
	return 0;
}

static void conn_new(struct proxy *px, int fd, const struct sockaddr_storage *peer, const struct netns *ns)
{
	struct proxy_conn *c;
	char ep[ENDPOINT_STRLEN];
	int one = 1, err;

	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->key.netns = ns->cookie;
	endpoint_from_sockaddr(&c->key.agent, peer);
	if (bpf_map_lookup_elem(px->conns_fd, &c->key, &c->origin)) {
		/* not one the kernel redirected (or its record was evicted):
		 * with no original destination there is nowhere to go */
		px->unknown_total++;
		log_warn("connection from %s has no interception record; closing",
			 endpoint_str(&c->key.agent, ep));
		close(fd);
		free(c);
		return;
	}
	policy_scope_assign(px->enforce, &c->origin);
	c->px = px;
	c->client.conn = c->upstream.conn = c;
	c->client.w.fd = fd;
	c->client.w.cb = c->upstream.w.cb = on_side_event;
	c->upstream.w.fd = -1;
	c->next = px->conns;
	if (px->conns)
		px->conns->prev = c;
	px->conns = c;
	px->active++;
	px->intercepted_total++;
	mcp_flow_init(&c->flow, px->enforce, &c->origin, px->intercepted_total, conn_kick, c);
	c->flow.client_out = &c->client.out;
	stats_connection_opened(px->enforce->daemon_stats_fd);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	log_info("intercepted pid=%u uid=%u comm=%.*s cgroup=%llu server=%.*s orig=%s",
		 c->origin.pid, c->origin.uid, MCPF_COMM_LEN, c->origin.comm, c->origin.cgroup_id,
		 MCPF_NAME_LEN, c->origin.server, endpoint_str(&c->origin.orig_dst, ep));

	err = upstream_open(c, ns);
	if (err)
		upstream_unreachable(c, -err);
	conn_settle(c);
}

/* Out of file descriptors: accept with the spare one and drop the
 * connection, rather than leave it queued and spin on the listener. */
static void shed_connection(struct proxy *px, int lfd)
{
	if (px->spare_fd < 0)
		return;
	close(px->spare_fd);
	px->spare_fd = accept(lfd, NULL, NULL);
	if (px->spare_fd >= 0)
		close(px->spare_fd);
	px->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	log_warn("out of file descriptors: dropped a connection");
}

static void on_accept(struct watch *w, uint32_t revents)
{
	struct listener *l = container_of(w, struct listener, w);
	struct proxy *px = l->px;

	(void)revents;
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd = accept4(w->fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			conn_new(px, fd, &peer, l->ns);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE)
			shed_connection(px, w->fd);
		else if (errno != EAGAIN)
			log_warn("accept: %s", strerror(errno));
		return;
	}
}

int proxy_listener_start(struct proxy *px, struct listener *l, int fd, struct netns *ns)
{
	l->px = px;
	l->ns = ns;
	l->w.fd = fd;
	l->w.cb = on_accept;
	if (loop_watch(px->loop, &l->w, EPOLLIN)) {
		int err = -errno;

		close(fd);
		l->w.fd = -1;
		return err;
	}
	return 0;
}

void proxy_listener_stop(struct proxy *px, struct listener *l)
{
	loop_close(px->loop, &l->w);
}

int proxy_start(struct proxy *px, struct loop *loop, int conns_fd, int socks_fd, const struct enforce *enforce)
{
	memset(px, 0, sizeof(*px));
	px->loop = loop;
	px->conns_fd = conns_fd;
	px->socks_fd = socks_fd;
	px->enforce = enforce;
	px->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return 0;
}

/* Draining: end the connections with nothing in flight (keep-alive
 * between requests, GET streams) rather than wait for their agents to. A
 * connection with request bytes waiting to be read is not idle. */
int proxy_close_idle(struct proxy *px)
{
	int closed = 0;

	for (struct proxy_conn *c = px->conns, *next; c; c = next) {
		char byte;

		next = c->next;
		if (c->connecting || c->client.out.len || c->upstream.out.len || !mcp_flow_idle(&c->flow) ||
		    recv(c->client.w.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
			continue;
		conn_close(c, false);
		closed++;
	}
	return closed;
}

void proxy_stop(struct proxy *px)
{
	while (px->conns)
		conn_close(px->conns, false);
	if (px->spare_fd >= 0)
		close(px->spare_fd);
	px->spare_fd = -1;
}
