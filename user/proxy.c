#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stddef.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "acct.h"
#include "enforce_lock.h"
#include "bytebuf.h"
#include "endpoint.h"
#include "jsonrpc.h"
#include "jsonrpc_reply.h"
#include "log.h"
#include "mcp_classify.h"
#include "mcp_flow.h"
#include "mcp_session.h"
#include "netns.h"
#include "policy_scope.h"
#include "proxy.h"
#include "session_ids.h"
#include "stats.h"

#define READ_CHUNK  (64 * 1024)
/* Stop reading from one side while this much waits to be written to the
 * other: memory per connection stays bounded whatever the peers do. */
#define HIGH_WATER  (256 * 1024)
/* After a refusal, the agent's remaining bytes are dropped for at most
 * this long and this much before the connection is closed. */
#define LINGER_SECONDS   2
#define LINGER_MAX_BYTES (16u << 20)
/* Requests read ahead of their answers; past this the agent is not read
 * until answers go out (the daemon's own answers queue up otherwise). */
#define PIPELINE_MAX 64
/* Out of descriptors even for shedding: the listener rests this long. */
#define ACCEPT_PAUSE_S 1

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
	struct proxy_worker *wk;
	struct dlist link;            /* in wk->conns */
	struct dlist mem_link;        /* in wk->mem_waiters: a stream stopped for want of budget */
	struct deferred free_later;
	/* limits (conn_limits.h): the state its timer runs for, since when */
	struct timer timer;
	enum conn_wait { WAIT_NONE, WAIT_IDLE, WAIT_HEAD, WAIT_BODY, WAIT_READER, WAIT_LINGER } wait;
	bool lingering;               /* refused: the agent's bytes are read and dropped until it stops */
	size_t lingered;              /* ... how many so far */
	bool wrote_client;            /* write progress toward the agent since the last settle */
	unsigned head_spent_s;        /* seconds its first head was awaited before it got here (routing) */
	struct conn_agent agent;
	size_t charged;               /* bytes counted in the proxy's mem */
	unsigned long long scope_epoch; /* policy_scope_epoch when origin.server was chosen */
	struct netns *ns;             /* where its upstream connects (a reference) */
	bool upstream_gone;           /* the server closed while a call was held: a new connection for what follows */
};

/* Refusals come in floods: one log line a second for each kind is enough
 * (the counters in /metrics have the rest). */
static bool log_once_a_second(long long *last)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (now.tv_sec == *last)
		return false;
	*last = now.tv_sec;
	return true;
}

static struct side *peer_of(struct proxy_conn *c, struct side *s)
{
	return s == &c->client ? &c->upstream : &c->client;
}

/* Idle: hand back what large bodies left in the heap. glibc keeps freed
 * memory otherwise, so one burst of 1 MiB calls would stay resident for the
 * daemon's whole life. At most once a second: an agent that opens a
 * connection per call is idle after every call. */
static void trim_when_idle(struct proxy_worker *wk)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if (now.tv_sec == wk->trimmed_at_s)
		return;
	wk->trimmed_at_s = now.tv_sec;
	malloc_trim(0);
}

static void free_conn(struct deferred *d)
{
	struct proxy_conn *c = container_of(d, struct proxy_conn, free_later);
	struct proxy_worker *wk = c->wk;

	mcp_flow_free(&c->flow);
	bb_free(&c->client.out);
	bb_free(&c->upstream.out);
	mem_budget_set(&wk->px->mem, &c->charged, 0);
	netns_put(c->ns);
	free(c);
	if (__atomic_load_n(&wk->active, __ATOMIC_RELAXED) == 0)
		trim_when_idle(wk);
}

static void close_side(struct proxy_worker *wk, struct side *s, bool reset)
{
	if (s->w.fd < 0)
		return;
	loop_unwatch(&wk->loop, &s->w);
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
	struct proxy_worker *wk = c->wk;

	if (c->closed)
		return;
	c->closed = true;
	close_side(wk, &c->client, reset);
	close_side(wk, &c->upstream, reset);
	kern_conn_forget(&wk->px->kern, &c->key);
	dlist_del(&c->link);
	dlist_del(&c->mem_link);
	__atomic_sub_fetch(&wk->active, 1, __ATOMIC_RELAXED);
	timer_cancel(&c->timer);
	enforce_lock();
	conn_limits_release(&wk->px->limits, &c->agent);
	enforce_unlock();
	acct_connection_closed(wk->px->enforce->acct);
	loop_defer(&wk->loop, &c->free_later, free_conn);
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
			c->wrote_client |= s == &c->client;
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
	close_side(c->wk, &c->upstream, true);
	bb_reset(&c->upstream.out);
	c->connecting = false;
	c->upstream.rd_closed = c->upstream.wr_closed = true;
	/* Lingering close (RFC 9112 9.6): closing with the agent's bytes still
	 * unread would send a reset, which can destroy the answer before the
	 * agent reads it (an agent still sending a body refused with 413). Its
	 * bytes are read and dropped instead, bounded in bytes and time. */
	c->lingering = true;
	mcp_flow_drop_request(&c->flow);
}

/* What a parser holding a body will hold once the body is in: with a
 * Content-Length, the power of two its buffer grows to (bytebuf), reserved
 * from the start so that admitted bodies complete and later ones are
 * refused at once; otherwise (chunked, an SSE event) as much again as it
 * holds, and a read. */
static size_t body_want(const struct http1_parser *p)
{
	const struct http1_msg *m = http1_msg(p);
	size_t held = http1_held_bytes(p), cap = 256;

	if (p->mode != HTTP1_BODY_BUFFER || m->framing != HTTP1_FRAMING_LENGTH || m->content_length < 0)
		return 2 * held + READ_CHUNK;
	while (cap < (size_t)m->content_length + 1)
		cap *= 2;
	return held - p->raw.cap + (p->raw.cap > cap ? p->raw.cap : cap);  /* the body is in raw */
}

/* Bytes this connection holds, and with reserve what it has reserved for
 * a body it holds: parsers (bodies, heads, events) and both queues. */
static size_t conn_bytes(struct proxy_conn *c, bool reserve)
{
	if (c->lingering)
		return c->client.out.cap;  /* the refusal on its way; nothing else is kept */
	size_t req = reserve && mcp_flow_phase(&c->flow) == FLOW_HELD_BODY ? body_want(&c->flow.req)
									   : http1_held_bytes(&c->flow.req);
	size_t resp = reserve && mcp_flow_holds_response(&c->flow) ? body_want(&c->flow.resp)
								     : http1_held_bytes(&c->flow.resp);

	return req + resp + mcp_flow_body_bytes(&c->flow) + c->client.out.cap + c->upstream.out.cap;
}

static size_t conn_want(struct proxy_conn *c)
{
	return conn_bytes(c, true);
}

/* Counted in the daemon-wide budget after every event. A reservation
 * that does not fit is not taken (only what is held): the next read finds
 * no room and refuses (room_to_read). */
static void conn_charge(struct proxy_conn *c)
{
	struct mem_budget *mem = &c->wk->px->mem;

	if (!mem_budget_take(mem, &c->charged, conn_want(c)))
		mem_budget_set(mem, &c->charged, conn_bytes(c, false));
}

/* May the agent's next bytes be read? Not while its own answers pile up
 * unread (its queue over the high-water mark, or too many requests ahead
 * of their answers, or answers made here queued behind one of them over
 * the mark): back-pressure instead of an unbounded queue. */
static bool client_readable(struct proxy_conn *c)
{
	return c->upstream.out.len < HIGH_WATER && c->client.out.len < HIGH_WATER &&
	       mcp_flow_queued_bytes(&c->flow) < HIGH_WATER &&
	       !mcp_flow_backlog_over(&c->flow, PIPELINE_MAX) && !mcp_flow_held(&c->flow);
}

/* Are this side's bytes streamed through (or, after a refusal, dropped)
 * rather than held whole? */
static bool streamed(struct proxy_conn *c, bool from_client)
{
	return from_client ? mcp_flow_phase(&c->flow) == FLOW_STREAMED_BODY || c->flow.refused
			   : !mcp_flow_holds_response(&c->flow);
}

/* Streamed bytes are read only into room the budget has, so that many
 * streams to agents that do not read cannot hold more than it (they are
 * not refused: they wait, and are tried again each second, mem_retry).
 * Bytes read after a refusal are dropped, never held: always read. */
static bool stream_may_read(struct proxy_conn *c, bool from_client)
{
	size_t want;

	if (!streamed(c, from_client) || (from_client && (c->flow.refused || c->lingering)))
		return true;
	want = conn_want(c) + READ_CHUNK;
	return want <= c->charged || mem_budget_room(&c->wk->px->mem, want - c->charged);
}

static void conn_settle(struct proxy_conn *c);

static void on_mem_retry(struct timer *t)
{
	struct proxy_worker *wk = container_of(t, struct proxy_worker, mem_retry);
	struct dlist waiting, *n, *next;

	/* settling may put a connection back: on a list of its own meanwhile */
	dlist_init(&waiting);
	dlist_for_each_safe(n, next, &wk->mem_waiters) {
		dlist_del(n);
		dlist_add_tail(&waiting, n);
	}
	while (!dlist_empty(&waiting)) {
		struct proxy_conn *c = container_of(dlist_first(&waiting), struct proxy_conn, mem_link);

		dlist_del(&c->mem_link);
		conn_settle(c);
	}
}

static void mem_wait(struct proxy_conn *c)
{
	struct proxy_worker *wk = c->wk;

	if (!dlist_linked(&c->mem_link))
		dlist_add_tail(&wk->mem_waiters, &c->mem_link);
	if (!timer_armed(&wk->mem_retry)) {
		wk->mem_retry.fn = on_mem_retry;
		timer_arm(&wk->wheel, &wk->mem_retry, 1);
	}
}

/* Before a read: is there room for what this connection will hold after
 * it (conn_want, and the read itself)? Takes that room if so. Bytes
 * streamed through were let in by stream_may_read, and after a refusal
 * they are read and dropped: always room for those. */
static bool room_to_read(struct proxy_conn *c, bool from_client)
{
	size_t want = conn_want(c) + READ_CHUNK;
	struct mem_budget *mem = &c->wk->px->mem;

	if (streamed(c, from_client)) {
		mem_budget_set(mem, &c->charged, want);
		return true;
	}
	return mem_budget_take(mem, &c->charged, want);
}

/* Which server entry governs the agent's next bytes: chosen again when the
 * scope table changed since (policy_scope.h), so that a reload putting an
 * agent under a stricter scoped entry reaches connections it already holds. */
static void conn_rescope(struct proxy_conn *c)
{
	const struct enforce *enf = c->wk->px->enforce;

	enforce_lock();
	unsigned long long epoch = policy_scope_epoch(enf);

	if (epoch != c->scope_epoch) {
		c->scope_epoch = epoch;
		policy_scope_assign(enf, &c->origin);
	}
	enforce_unlock();
}

static bool side_read(struct proxy_conn *c, struct side *s)
{
	static _Thread_local char scratch[READ_CHUNK];
	struct flow_io io = { .to_upstream = &c->upstream.out, .to_client = &c->client.out };
	struct bytebuf *dst = &peer_of(c, s)->out;
	bool from_client = s == &c->client;

	while (from_client && c->lingering) {
		ssize_t n = recv(s->w.fd, scratch, sizeof(scratch), 0);

		if (!c->client.out.len)
			bb_free(&c->client.out);  /* the refusal is out */
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0 || (c->lingered += n) > LINGER_MAX_BYTES) {
			s->rd_closed = true;  /* its end, or enough: close (a reset past the bound) */
			return true;
		}
	}
	while (dst->len < HIGH_WATER && (!from_client || client_readable(c)) && stream_may_read(c, from_client)) {
		ssize_t n;
		int rc;

		if (!room_to_read(c, from_client)) {
			__atomic_add_fetch(&c->wk->mem_refused_total, 1, __ATOMIC_RELAXED);
			if (!from_client) {
				conn_abort(c, "holding the server's reply: memory budget exhausted", ENOMEM);
				return false;
			}
			static _Thread_local long long logged;

			if (log_once_a_second(&logged))
				log_warn("memory budget (%zu bytes) exhausted: refusing a request from pid=%u",
					 c->wk->px->mem.limit, c->origin.pid);
			if (mcp_flow_refuse(&c->flow, &io, 503, "mcpfence: memory budget exhausted, retry later", 1) ||
			    io.finished)
				conn_fail_after_flush(c);
			return true;
		}
		n = recv(s->w.fd, scratch, sizeof(scratch), 0);

		if (n > 0 && from_client)
			conn_rescope(c);
		if (n > 0)
			rc = from_client ? mcp_flow_client_data(&c->flow, scratch, n, &io)
					 : mcp_flow_upstream_data(&c->flow, scratch, n, &io);
		else if (n == 0 && !from_client && mcp_flow_held_idle(&c->flow)) {
			/* a server's idle timeout (Node's 5 s keep-alive) while a
			 * human decides: nothing of this connection is in flight
			 * there, so the call goes on a new one (conn_settle) */
			close_side(c->wk, &c->upstream, false);
			c->upstream_gone = true;
			return true;
		} else if (n == 0)
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
		/* a short read drained the socket: the next recv would only say
		 * EAGAIN (a syscall per message); level-triggered epoll reports
		 * anything that arrives later */
		if ((size_t)n < sizeof(scratch))
			break;
	}
	return true;
}

static uint32_t side_interest(struct proxy_conn *c, struct side *s)
{
	struct side *p = peer_of(c, s);
	uint32_t ev = 0;

	if (s == &c->upstream && c->connecting)
		return EPOLLOUT;
	if (!s->rd_closed && p->out.len < HIGH_WATER && (s != &c->client || client_readable(c))) {
		if (stream_may_read(c, s == &c->client))
			ev |= EPOLLIN;
		else
			mem_wait(c);
	}
	if (s->out.len)
		ev |= EPOLLOUT;
	return ev;
}

/* ---- timeouts (conn_limits.h) ---- */

static enum conn_wait wait_of(struct proxy_conn *c)
{
	if (c->lingering)
		return WAIT_LINGER;
	/* an agent not reading its answers: its queue is full, or the stream
	 * toward it waits for budget its unread bytes hold */
	if (c->client.out.len >= HIGH_WATER || (dlist_linked(&c->mem_link) && c->client.out.len))
		return WAIT_READER;
	switch (mcp_flow_phase(&c->flow)) {
	case FLOW_HEAD: return WAIT_HEAD;
	/* a body streamed through is timed as one held: trickled, it would
	 * keep the connection (and the server's) forever */
	case FLOW_HELD_BODY:
	case FLOW_STREAMED_BODY: return WAIT_BODY;
	case FLOW_IDLE: return c->client.out.len || c->upstream.out.len || c->connecting ? WAIT_NONE : WAIT_IDLE;
	default: return WAIT_NONE;
	}
}

static void on_conn_timeout(struct timer *t)
{
	struct proxy_conn *c = container_of(t, struct proxy_conn, timer);
	struct flow_io io = { .to_upstream = &c->upstream.out, .to_client = &c->client.out };
	static const char *const what[] = {
		[WAIT_HEAD] = "mcpfence: request head not complete in time",
		[WAIT_BODY] = "mcpfence: request body not complete in time",
	};

	if (c->closed)
		return;
	__atomic_add_fetch(&c->wk->timeouts_total, 1, __ATOMIC_RELAXED);
	switch (c->wait) {
	case WAIT_IDLE:
	case WAIT_LINGER:
		conn_close(c, false);
		return;
	case WAIT_READER:
		conn_abort(c, "agent does not read its answers", ETIMEDOUT);
		return;
	case WAIT_HEAD:
	case WAIT_BODY:
		log_info("connection pid=%u: %s", c->origin.pid, what[c->wait]);
		if (mcp_flow_refuse(&c->flow, &io, 408, what[c->wait], 0) || io.finished)
			conn_fail_after_flush(c);
		if (side_write(c, &c->client))
			conn_settle(c);
		return;
	default:
		return;
	}
}

/* Arm the timer of the state the connection is in, from when it entered
 * it: bytes trickling in do not push a deadline back. Writes to an agent
 * that reads slowly do (it is reading). */
static void conn_watch_time(struct proxy_conn *c)
{
	const struct conn_limits_config *cfg = &c->wk->px->enforce->conn;
	enum conn_wait w = wait_of(c);
	unsigned s = 0;

	if (w == c->wait && !(w == WAIT_READER && c->wrote_client))
		return;
	c->wait = w;
	c->wrote_client = false;
	switch (w) {
	case WAIT_HEAD:
		/* the routing wait counts: one header timeout from accept */
		s = cfg->header_timeout_s;
		if (s && c->head_spent_s)
			s = s > c->head_spent_s ? s - c->head_spent_s : 1;
		c->head_spent_s = 0;
		break;
	case WAIT_BODY: s = cfg->body_timeout_s; break;
	case WAIT_IDLE:
	case WAIT_READER: s = cfg->idle_timeout_s; break;
	case WAIT_LINGER: s = LINGER_SECONDS; break;
	default: break;
	}
	if (s)
		timer_arm(&c->wk->wheel, &c->timer, s);
	else
		timer_cancel(&c->timer);
}

/* Between messages, give back what a large one left allocated. */
static void conn_shrink(struct proxy_conn *c)
{
	struct bytebuf *q[2] = { &c->client.out, &c->upstream.out };

	http1_shrink(&c->flow.req);
	http1_shrink(&c->flow.resp);
	for (int i = 0; i < 2; i++)
		if (!q[i]->len && q[i]->cap > HTTP1_KEEP_BUFFER)
			bb_free(q[i]);
	conn_charge(c);
}

/* After any progress: pass on half-closes, re-arm interest, and finish the
 * connection once both directions are done. */
static int upstream_open(struct proxy_conn *c, const struct netns *ns);
static void upstream_unreachable(struct proxy_conn *c, int err);

static void conn_settle(struct proxy_conn *c)
{
	struct side *sides[2] = { &c->client, &c->upstream };

	if (c->upstream_gone && c->upstream.out.len) {
		int err = upstream_open(c, c->ns);

		c->upstream_gone = false;
		if (err)
			upstream_unreachable(c, -err);
	} else if (c->upstream_gone && c->client.rd_closed) {
		c->upstream.rd_closed = c->upstream.wr_closed = true;  /* nothing more will need it */
	}

	for (int i = 0; i < 2; i++) {
		struct side *s = sides[i], *p = peer_of(c, s);

		/* an unreachable server is no end of stream for the agent:
		 * it waits for its 502, and the connection ends after it */
		if (p->rd_closed && !s->wr_closed && !s->out.len &&
		    !(s == &c->upstream && c->connecting) &&
		    !(s == &c->client && c->upstream_failed && !c->client.rd_closed && !c->lingering)) {
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
		if (loop_watch(&c->wk->loop, &sides[i]->w, side_interest(c, sides[i]))) {
			conn_abort(c, "epoll", errno);
			return;
		}
	}
	conn_shrink(c);
	conn_watch_time(c);
}

/* The server cannot be reached. The agent's connection stays: its requests
 * get a 502 with a JSON-RPC error from the flow, rather than a reset. */
static void upstream_unreachable(struct proxy_conn *c, int err)
{
	struct flow_io io = { .to_upstream = &c->upstream.out, .to_client = &c->client.out };
	char ep[ENDPOINT_STRLEN];

	__atomic_add_fetch(&c->wk->upstream_failures, 1, __ATOMIC_RELAXED);
	log_info("server %.*s at %s unreachable: %s", MCPF_NAME_LEN, c->origin.server,
		 endpoint_str(&c->origin.orig_dst, ep), strerror(err));
	close_side(c->wk, &c->upstream, false);
	c->connecting = false;
	c->upstream_failed = true;
	c->upstream.rd_closed = c->upstream.wr_closed = true;
	bb_free(&c->upstream.out);
	if (mcp_flow_upstream_failed(&c->flow, strerror(err), &io) || io.finished)
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

	if (c->closed)
		return;
	if (loop_watch(&c->wk->loop, &c->client.w, side_interest(c, &c->client))) {
		conn_abort(c, "epoll", errno);
		return;
	}
	conn_charge(c);
	conn_watch_time(c); /* a stream nobody reads is ended like any other */
}

/* A call held for approval was decided (mcp_flow.h): write what the flow
 * queued on both sides and go on reading the agent. */
static void conn_resume(void *conn, int rc, bool finished)
{
	struct proxy_conn *c = conn;

	if (c->closed)
		return;
	if (c->upstream_failed)
		bb_reset(&c->upstream.out);
	if (rc || finished)
		conn_fail_after_flush(c);
	if (!side_write(c, &c->client) ||
	    (c->upstream.w.fd >= 0 && !c->connecting && !side_write(c, &c->upstream)))
		return;
	conn_settle(c);
}

/* The upstream socket is made in the agent's namespace, where the address
 * it asked for means what it meant, and marked as the daemon's so that
 * connect4/6 let it through. */
static int upstream_open(struct proxy_conn *c, const struct netns *ns)
{
	struct sockaddr_storage ss;
	socklen_t len = endpoint_to_sockaddr(&c->origin.orig_dst, &ss);
	int one = 1, fd;

	fd = netns_socket(ns, ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return fd;
	c->upstream.w.fd = fd;
	if (kern_mark_upstream(&c->wk->px->kern, fd) ||
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

/* Over a connection cap: a 503 the agent can read if it is quick, then
 * the end. The socket is new, its buffer empty: the short answer fits. */
static void refuse_connection(int fd, const struct mcpf_conn *o, int why)
{
	struct bytebuf out = BYTEBUF_INIT;
	const char *msg = why == -EUSERS ? "mcpfence: too many connections from this agent"
					 : "mcpfence: too many connections";
	static long long logged;  /* the main thread's */

	if (log_once_a_second(&logged))
		log_warn("pid=%u uid=%u cgroup=%llu: %s", o->pid, o->uid, o->cgroup_id, msg + 10);
	if (!jsonrpc_http_error_retry(&out, 503, JSONRPC_INVALID_REQUEST, msg, false, 1))
		(void)!send(fd, out.data, out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	bb_free(&out);
	shutdown(fd, SHUT_WR);
	close(fd);
}

/* An accepted connection on its way to a worker: admitted, with its
 * interception record and a reference to its namespace. */
struct conn_mail {
	struct mail m;
	struct proxy_worker *wk;        /* where it is posted */
	struct proxy_worker *home;      /* its agent's worker (worker_of) */
	int fd;
	unsigned long long id;
	struct mcpf_conn_key key;
	struct mcpf_conn origin;
	struct conn_agent agent;
	struct netns *ns;
	/* on the main thread, while its first bytes are awaited (routing) */
	long long accepted_s;           /* CLOCK_MONOTONIC; 0: not awaited */
	struct proxy *px;
	struct watch w;
	struct timer timer;
	struct deferred post;
	struct dlist link;              /* in px->routing */
};

/* On the worker: the connection is its own from here. */
static void conn_new(struct mail *m)
{
	struct conn_mail *cm = container_of(m, struct conn_mail, m);
	struct proxy_worker *wk = cm->wk;
	const struct enforce *enf = wk->px->enforce;
	struct proxy_conn *c = wk->stopping ? NULL : calloc(1, sizeof(*c));
	char ep[ENDPOINT_STRLEN];
	int one = 1, err;

	if (!c) {
		close(cm->fd);
		kern_conn_forget(&wk->px->kern, &cm->key);
		enforce_lock();
		conn_limits_release(&wk->px->limits, &cm->agent);
		enforce_unlock();
		netns_put(cm->ns);
		free(cm);
		return;
	}
	c->key = cm->key;
	c->origin = cm->origin;
	c->agent = cm->agent;
	c->ns = cm->ns;
	enforce_lock();
	policy_scope_assign(enf, &c->origin);
	c->scope_epoch = policy_scope_epoch(enf);
	enforce_unlock();
	c->timer.fn = on_conn_timeout;
	c->head_spent_s = cm->accepted_s ? (unsigned)(monotonic_s() - cm->accepted_s) : 0;
	c->wk = wk;
	c->client.conn = c->upstream.conn = c;
	c->client.w.fd = cm->fd;
	c->client.w.cb = c->upstream.w.cb = on_side_event;
	c->upstream.w.fd = -1;
	dlist_add_head(&wk->conns, &c->link);
	__atomic_add_fetch(&wk->active, 1, __ATOMIC_RELAXED);
	mcp_flow_init(&c->flow, enf, &c->origin, cm->id, conn_kick, c);
	free(cm);
	c->flow.client_out = &c->client.out;
	c->flow.upstream_out = &c->upstream.out;
	c->flow.resume = conn_resume;
	c->flow.wheel = &wk->wheel;
	c->flow.mailbox = &wk->mail;
	acct_connection_opened(enf->acct);
	setsockopt(c->client.w.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* the interception line keeps its form (tools parse it); which worker
	 * serves the connection follows on a line of its own, written with it */
	log_info("intercepted pid=%u uid=%u comm=%.*s cgroup=%llu server=%.*s orig=%s\n"
		 "mcpfence: served by worker %td",
		 c->origin.pid, c->origin.uid, MCPF_COMM_LEN, c->origin.comm, c->origin.cgroup_id,
		 MCPF_NAME_LEN, c->origin.server, endpoint_str(&c->origin.orig_dst, ep), wk - wk->px->workers);

	err = upstream_open(c, c->ns);
	if (err)
		upstream_unreachable(c, -err);
	conn_settle(c);
}

/* One agent's connections (its process's, or its cgroup's with
 * --agent-identity cgroup) go to one worker while it has any: a legacy SSE
 * stream and the POSTs that write into it must meet (mcp_session.h). A new
 * agent goes to the worker with the fewest connections, ties taken in
 * turn, so agents that start together spread. Under enforce_lock. */
static struct proxy_worker *worker_of(struct proxy *px, const struct conn_agent *a)
{
	int *home = conn_limits_home(&px->limits, a);
	unsigned best = px->next_home++ % px->n_workers;

	if (home && *home >= 0 && (unsigned)*home < px->n_workers)
		return &px->workers[*home];
	for (unsigned k = 1; k < px->n_workers; k++) {
		unsigned i = (best + k) % px->n_workers;

		if (__atomic_load_n(&px->workers[i].active, __ATOMIC_RELAXED) <
		    __atomic_load_n(&px->workers[best].active, __ATOMIC_RELAXED))
			best = i;
	}
	if (home)
		*home = (int)best;
	return &px->workers[best];
}

/* ---- routing: with more than one worker, a connection whose first
 * request names a legacy session (POST /messages?sessionId=...) goes to
 * the worker holding that session's stream, whichever process sends it
 * (a curl per message, a helper process); any other to its agent's worker. ---- */

/* Bytes of a request line looked at: a legacy POST's is short. */
#define ROUTE_PEEK 2048
/* How long a request line is waited for (the timer wheel fires 1-3 s on):
 * a legacy POST sends its line at once. */
#define ROUTE_WAIT_S 1

static void route_post(struct deferred *d)
{
	struct conn_mail *cm = container_of(d, struct conn_mail, post);

	mailbox_post(&cm->wk->mail, &cm->m, conn_new);
}

/* Off the main loop and to its worker: posted when this batch of events
 * ends (mailbox_post lets the worker free cm, and an event for cm->w may
 * still be in the batch), or now when no batch runs (proxy_stop). */
static void route(struct conn_mail *cm, const char *head, size_t n, bool now)
{
	struct proxy *px = cm->px;
	struct mcp_legacy_target t;
	char key[MCP_LEGACY_KEY_MAX];
	const void *owner = NULL;

	cm->wk = cm->home;
	if (head && mcp_request_line_session(head, n, &t) == 1) {
		mcp_legacy_key(&t, key, sizeof(key));
		owner = mcp_session_owner(cm->origin.server, key);
	}
	if (owner)
		for (unsigned i = 0; i < px->n_workers; i++)
			if ((const void *)&px->workers[i].loop == owner)
				cm->wk = &px->workers[i];
	loop_unwatch(px->loop, &cm->w);
	timer_cancel(&cm->timer);
	dlist_del(&cm->link);
	if (now)
		route_post(&cm->post);
	else
		loop_defer(px->loop, &cm->post, route_post);
}

/* Could these bytes still grow into "METHOD SP target SP version LF"? A
 * method is a token (RFC 9110): anything else (TLS, garbage) is not
 * waited for, the worker refuses it at once. */
static bool may_be_request_line(const char *b, size_t n)
{
	size_t i = 0;

	while (i < n && b[i] > ' ' && b[i] < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", b[i]))
		i++;
	if (i == n)
		return true;               /* still inside the method */
	return i > 0 && b[i] == ' ';   /* a method, then its target */
}

static void on_first_bytes(struct watch *w, uint32_t revents)
{
	struct conn_mail *cm = container_of(w, struct conn_mail, w);
	char head[ROUTE_PEEK];
	ssize_t n = recv(w->fd, head, sizeof(head), MSG_PEEK | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* edge-triggered: a request line not yet whole waits for more bytes,
	 * unless none can come (half-close, error) or it cannot be one */
	if (n > 0 && (size_t)n < sizeof(head) && !memchr(head, '\n', n) &&
	    !(revents & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && may_be_request_line(head, n))
		return;
	route(cm, head, n > 0 ? (size_t)n : 0, false);
}

/* No whole request line within a second: placed as any other. The
 * worker's header timeout counts from accept (head_spent_s). */
static void on_route_timeout(struct timer *t)
{
	route(container_of(t, struct conn_mail, timer), NULL, 0, false);
}

static void route_by_first_bytes(struct proxy *px, struct conn_mail *cm)
{
	cm->px = px;
	cm->accepted_s = monotonic_s();
	cm->w.fd = cm->fd;
	cm->w.cb = on_first_bytes;
	cm->timer.fn = on_route_timeout;
	dlist_add_head(&px->routing, &cm->link);
	if (loop_watch(px->loop, &cm->w, EPOLLIN | EPOLLRDHUP | EPOLLET)) {
		route(cm, NULL, 0, false);
		return;
	}
	timer_arm(&px->wheel, &cm->timer, ROUTE_WAIT_S);
}

/* On the main thread: find the record, admit, hand over to a worker. */
static void conn_accepted(struct proxy *px, int fd, const struct sockaddr_storage *peer, struct netns *ns)
{
	struct conn_mail *cm = calloc(1, sizeof(*cm));
	char ep[ENDPOINT_STRLEN];
	int err;

	if (!cm) {
		close(fd);
		return;
	}
	cm->key.netns = ns->cookie;
	endpoint_from_sockaddr(&cm->key.agent, peer);
	if (kern_conn_lookup(&px->kern, &cm->key, &cm->origin)) {
		/* not one the kernel redirected (or its record was evicted):
		 * with no original destination there is nowhere to go */
		px->unknown_total++;
		log_warn("connection from %s has no interception record; closing",
			 endpoint_str(&cm->key.agent, ep));
		close(fd);
		free(cm);
		return;
	}
	cm->agent = (struct conn_agent){ .cgroup_id = cm->origin.cgroup_id, .uid = cm->origin.uid,
					 .pid = px->enforce->agent_per_cgroup ? 0 : cm->origin.pid };
	enforce_lock();
	err = conn_limits_admit(&px->limits, &cm->agent, fd);
	if (!err)
		cm->home = worker_of(px, &cm->agent);
	enforce_unlock();
	if (err) {
		refuse_connection(fd, &cm->origin, err);
		kern_conn_forget(&px->kern, &cm->key);
		free(cm);
		return;
	}
	cm->fd = fd;
	cm->ns = netns_get(ns);
	cm->id = ++px->intercepted_total;
	if (px->n_workers > 1) {
		route_by_first_bytes(px, cm);
		return;
	}
	cm->wk = cm->home;
	mailbox_post(&cm->wk->mail, &cm->m, conn_new);
}

static void resume_listener(struct timer *t)
{
	struct listener *l = container_of(t, struct listener, resume);

	if (l->px->spare_fd < 0)
		l->px->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (l->w.fd >= 0 && loop_watch(l->px->loop, &l->w, EPOLLIN))
		log_warn("re-arming a listener: %s", strerror(errno));
}

/* Out of file descriptors: accept with the spare one and drop the
 * connection, rather than leave it queued and spin on the listener. When
 * even that fails (no spare: another descriptor took its place, or the
 * system table is full) the listener rests ACCEPT_PAUSE_S seconds; the
 * queue waits in the kernel meanwhile. */
static void shed_connection(struct proxy *px, struct listener *l)
{
	int fd = -1;

	if (px->spare_fd >= 0) {
		close(px->spare_fd);
		fd = accept(l->w.fd, NULL, NULL);
		if (fd >= 0)
			close(fd);
		px->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (fd >= 0 && px->spare_fd >= 0) {
		static long long logged;

		if (log_once_a_second(&logged))
			log_warn("out of file descriptors: dropping connections");
		return;
	}
	px->paused_total++;
	log_warn("out of file descriptors: not accepting for %ds", ACCEPT_PAUSE_S);
	loop_unwatch(px->loop, &l->w);
	timer_arm(&px->wheel, &l->resume, ACCEPT_PAUSE_S);
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
			conn_accepted(px, fd, &peer, l->ns);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			shed_connection(px, l);
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
	l->resume.fn = resume_listener;
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
	timer_cancel(&l->resume);
	loop_close(px->loop, &l->w);
}

static void *worker_main(void *arg)
{
	struct proxy_worker *wk = arg;

	loop_run(&wk->loop);
	return NULL;
}

static void worker_fini(struct proxy_worker *wk)
{
	mailbox_run(&wk->mail);  /* posted after it stopped: refused (conn_new) */
	mailbox_fini(&wk->mail);
	timer_wheel_fini(&wk->wheel);
	loop_fini(&wk->loop);
}

static int worker_init(struct proxy *px, struct proxy_worker *wk)
{
	int err;

	wk->px = px;
	if ((err = loop_init(&wk->loop)))
		return err;
	if ((err = mailbox_init(&wk->mail))) {
		loop_fini(&wk->loop);
		return err;
	}
	if ((err = timer_wheel_init(&wk->wheel, &wk->loop)) || (err = mailbox_watch(&wk->mail, &wk->loop)) ||
	    (err = -pthread_create(&wk->thread, NULL, worker_main, wk))) {
		worker_fini(wk);
		return err;
	}
	wk->running = true;
	return 0;
}

int proxy_start(struct proxy *px, struct loop *loop, struct kern_conns kern, const struct enforce *enforce,
		unsigned n)
{
	int err;

	memset(px, 0, sizeof(*px));
	px->loop = loop;
	px->kern = kern;
	px->enforce = enforce;
	px->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	conn_limits_init(&px->limits, &enforce->conn);
	px->mem.limit = enforce->memory_budget ? enforce->memory_budget : MEM_BUDGET_DEFAULT;
	err = timer_wheel_init(&px->wheel, loop);
	if (err) {
		log_error("timer: %s", strerror(-err));
		return err;
	}
	if (!(px->workers = calloc(n, sizeof(*px->workers))))
		return -ENOMEM;
	for (; px->n_workers < n; px->n_workers++) {
		if ((err = worker_init(px, &px->workers[px->n_workers]))) {
			log_error("starting worker %u: %s", px->n_workers, strerror(-err));
			return err;
		}
	}
	return 0;
}

static unsigned long long worker_sum(const struct proxy *px, size_t field)
{
	unsigned long long n = 0;

	for (unsigned i = 0; i < px->n_workers; i++)
		n += __atomic_load_n((const unsigned long long *)((const char *)&px->workers[i] + field),
				     __ATOMIC_RELAXED);
	return n;
}

unsigned long long proxy_active(const struct proxy *px)
{
	return worker_sum(px, offsetof(struct proxy_worker, active));
}

/* Draining: end the connections with nothing in flight (keep-alive
 * between requests, GET streams) rather than wait for their agents to. A
 * connection with request bytes waiting to be read is not idle. */
static void close_idle(struct mail *m)
{
	struct proxy_worker *wk = container_of(m, struct proxy_worker, idle_mail);

	struct dlist *n, *next;

	dlist_for_each_safe(n, next, &wk->conns) {
		struct proxy_conn *c = container_of(n, struct proxy_conn, link);
		char byte;

		if (c->connecting || c->client.out.len || c->upstream.out.len || !mcp_flow_idle(&c->flow) ||
		    recv(c->client.w.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0)
			continue;
		conn_close(c, false);
	}
	/* release: done (proxy_closing_idle), and the mailbox is done with
	 * this mail, which may be posted again now */
	__atomic_store_n(&wk->idle_queued, false, __ATOMIC_RELEASE);
}

void proxy_close_idle(struct proxy *px)
{
	for (unsigned i = 0; i < px->n_workers; i++) {
		struct proxy_worker *wk = &px->workers[i];

		/* the same mail is never queued twice */
		if (!__atomic_exchange_n(&wk->idle_queued, true, __ATOMIC_ACQ_REL))
			mailbox_post(&wk->mail, &wk->idle_mail, close_idle);
	}
}

bool proxy_closing_idle(const struct proxy *px)
{
	for (unsigned i = 0; i < px->n_workers; i++)
		if (__atomic_load_n(&px->workers[i].idle_queued, __ATOMIC_ACQUIRE))
			return true;
	return false;
}

static void stop_worker(struct mail *m)
{
	struct proxy_worker *wk = container_of(m, struct proxy_worker, stop_mail);

	while (!dlist_empty(&wk->conns))
		conn_close(container_of(dlist_first(&wk->conns), struct proxy_conn, link), false);
	timer_cancel(&wk->mem_retry);
	wk->stopping = true;
	wk->loop.stop = true;
}

void proxy_stop(struct proxy *px)
{
	/* no batch runs now: to their workers, which close them at their stop */
	while (!dlist_empty(&px->routing))
		route(container_of(dlist_first(&px->routing), struct conn_mail, link), NULL, 0, true);
	for (unsigned i = 0; i < px->n_workers; i++)
		if (px->workers[i].running)
			mailbox_post(&px->workers[i].mail, &px->workers[i].stop_mail, stop_worker);
	for (unsigned i = 0; i < px->n_workers; i++) {
		struct proxy_worker *wk = &px->workers[i];

		if (wk->running)
			pthread_join(wk->thread, NULL);
		wk->running = false;
		wk->stopping = true;
		worker_fini(wk);
	}
	free(px->workers);
	px->workers = NULL;
	px->n_workers = 0;
	conn_limits_free(&px->limits);
	timer_wheel_fini(&px->wheel);
	if (px->spare_fd >= 0)
		close(px->spare_fd);
	px->spare_fd = -1;
}

int proxy_render_limits(const struct proxy *px, struct bytebuf *out)
{
	struct session_ids_stats ids;

	session_ids_stats(&ids);
	return bb_printf(out,
			 "# HELP mcpfence_held_bytes Bytes held by all connections (bodies, held replies, queues, what waits with "
			 "the requests in flight).\n"
			 "# TYPE mcpfence_held_bytes gauge\nmcpfence_held_bytes %zu\n"
			 "# HELP mcpfence_held_bytes_peak Most bytes held at once since start.\n"
			 "# TYPE mcpfence_held_bytes_peak gauge\nmcpfence_held_bytes_peak %zu\n"
			 "# HELP mcpfence_memory_budget_bytes The --memory-budget.\n"
			 "# TYPE mcpfence_memory_budget_bytes gauge\nmcpfence_memory_budget_bytes %zu\n"
			 "# HELP mcpfence_limit_refusals_total Requests and connections refused or ended by a limit.\n"
			 "# TYPE mcpfence_limit_refusals_total counter\n"
			 "mcpfence_limit_refusals_total{limit=\"memory\"} %llu\n"
			 "mcpfence_limit_refusals_total{limit=\"connections\"} %llu\n"
			 "mcpfence_limit_refusals_total{limit=\"agent_connections\"} %llu\n"
			 "mcpfence_limit_refusals_total{limit=\"timeout\"} %llu\n"
			 "mcpfence_limit_refusals_total{limit=\"fd_pause\"} %llu\n"
			 "mcpfence_limit_refusals_total{limit=\"session_requests\"} %llu\n"
			 "# HELP mcpfence_session_ids Request ids held in the sessions' registry: claimed by requests "
			 "in flight, or kept a while after their connection dropped them unanswered.\n"
			 "# TYPE mcpfence_session_ids gauge\n"
			 "mcpfence_session_ids{state=\"claimed\"} %zu\n"
			 "mcpfence_session_ids{state=\"tombstone\"} %zu\n",
			 mem_budget_used(&px->mem), __atomic_load_n(&px->mem.peak, __ATOMIC_RELAXED), px->mem.limit,
			 worker_sum(px, offsetof(struct proxy_worker, mem_refused_total)), px->limits.refused_global,
			 px->limits.refused_agent, worker_sum(px, offsetof(struct proxy_worker, timeouts_total)),
			 px->paused_total, ids.refused, ids.claims, ids.tombstones);
}
