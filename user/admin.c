#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "admin.h"
#include "endpoint.h"
#include "handover.h"
#include "log.h"

#define ADMIN_MAX_REQUEST 8192
#define ADMIN_SMALL_REPLY 4096   /* more unsent than this: a metrics body */

struct admin_conn {
	struct watch w;
	struct admin *a;
	struct bytebuf in, out;
	bool replied;
	struct deferred free_later;
	struct timer timeout;
	struct dlist link;          /* in a->conns */
};

static void admin_conn_free(struct deferred *d)
{
	struct admin_conn *c = container_of(d, struct admin_conn, free_later);

	bb_free(&c->in);
	bb_free(&c->out);
	free(c);
}

static void admin_conn_close(struct admin_conn *c)
{
	struct admin *a = c->a;

	if (c->w.fd < 0)
		return;
	loop_close(a->loop, &c->w);
	timer_cancel(&c->timeout);
	dlist_del(&c->link);
	a->nconns--;
	loop_defer(a->loop, &c->free_later, admin_conn_free);
}

static struct admin_conn *oldest(const struct admin *a)
{
	return container_of(dlist_first(&a->conns), struct admin_conn, link);
}

static void admin_conn_timeout(struct timer *t)
{
	admin_conn_close(container_of(t, struct admin_conn, timeout));
}

static void admin_resume(struct timer *t)
{
	struct admin *a = container_of(t, struct admin, resume);

	if (a->listen.fd >= 0)
		loop_watch(a->loop, &a->listen, EPOLLIN);
}

static void reply(struct admin_conn *c, int status, const char *type, const char *body, size_t len)
{
	static const char *const reasons[] = { [200] = "OK", [400] = "Bad Request", [404] = "Not Found",
					       [405] = "Method Not Allowed",
					       [500] = "Internal Server Error", [503] = "Service Unavailable" };
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			 status, reasons[status], type, len);

	bb_append(&c->out, head, n);
	bb_append(&c->out, body, len);
	c->replied = true;
}

/* Is a metrics body still being sent to a connection other than c? */
static bool scrape_unsent(const struct admin *a, const struct admin_conn *c)
{
	struct dlist *n, *next;

	dlist_for_each_safe(n, next, &a->conns) {
		const struct admin_conn *o = container_of(n, struct admin_conn, link);

		if (o != c && o->out.len > ADMIN_SMALL_REPLY)
			return true;
	}
	return false;
}

static void route(struct admin_conn *c)
{
	char method[16], path[256];
	const char *text = "text/plain; charset=utf-8";

	if (sscanf(c->in.data, "%15s %255s HTTP/1.%*c", method, path) != 2) {
		reply(c, 400, text, "bad request\n", 12);
		return;
	}
	path[strcspn(path, "?")] = '\0';
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		reply(c, 405, text, "method not allowed\n", 19);
	} else if (strcmp(path, "/healthz") == 0) {
		if (c->a->ready)
			reply(c, 200, text, "ok\n", 3);
		else
			reply(c, 503, text, "starting\n", 9);
	} else if (strcmp(path, "/metrics") == 0) {
		struct bytebuf body = BYTEBUF_INIT;

		/* one body at a time: scrapers that do not read would otherwise
		 * each hold one (tens of MB with thousands of tool rows) */
		if (scrape_unsent(c->a, c)) {
			reply(c, 503, text, "another scrape is still being sent; retry\n", 42);
			return;
		}
		if (c->a->metrics(&body, c->a->ctx) || body.failed)
			reply(c, 500, text, "cannot read the metrics maps\n", 29);
		else
			reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", body.data, body.len);
		bb_free(&body);
	} else {
		reply(c, 404, text, "not found\n", 10);
	}
	if (strcmp(method, "HEAD") == 0) {
		/* same head, no body */
		char *end = memmem(c->out.data, c->out.len, "\r\n\r\n", 4);

		c->out.len = end + 4 - c->out.data;
	}
}

static void on_conn(struct watch *w, uint32_t revents)
{
	struct admin_conn *c = container_of(w, struct admin_conn, w);

	if (!c->replied && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		size_t room = ADMIN_MAX_REQUEST - c->in.len;
		ssize_t n = bb_reserve(&c->in, room) ? -1 : recv(w->fd, c->in.data + c->in.len, room, 0);

		if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
			admin_conn_close(c);
			return;
		}
		bb_commit(&c->in, n > 0 ? n : 0);
		if (strstr(c->in.data, "\r\n\r\n") || strstr(c->in.data, "\n\n"))
			route(c);
		else if (c->in.len >= ADMIN_MAX_REQUEST)
			reply(c, 400, "text/plain", "request too large\n", 18);
	}
	while (c->out.len) {
		ssize_t n = send(w->fd, c->out.data, c->out.len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN)
				break;
			admin_conn_close(c);
			return;
		}
		bb_consume(&c->out, n);
	}
	if (c->replied && !c->out.len) {
		admin_conn_close(c);
		return;
	}
	loop_watch(c->a->loop, &c->w, c->replied ? EPOLLOUT : EPOLLIN);
}

static void on_accept(struct watch *w, uint32_t revents)
{
	struct admin *a = container_of(w, struct admin, listen);
	int fd;

	(void)revents;
	while ((fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct admin_conn *c = calloc(1, sizeof(*c));

		if (!c) {
			close(fd);
			continue;
		}
		c->a = a;
		c->w.fd = fd;
		c->w.cb = on_conn;
		if (loop_watch(a->loop, &c->w, EPOLLIN)) {
			close(fd);
			free(c);
			continue;
		}
		if (a->nconns >= ADMIN_MAX_CONNS)
			admin_conn_close(oldest(a));
		dlist_add_tail(&a->conns, &c->link);
		a->nconns++;
		c->timeout.fn = admin_conn_timeout;
		if (a->wheel)
			timer_arm(a->wheel, &c->timeout, ADMIN_TIMEOUT_S);
	}
	if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) && a->wheel) {
		/* not a busy loop on a listener that stays readable */
		loop_unwatch(a->loop, &a->listen);
		timer_arm(a->wheel, &a->resume, 1);
	}
}

/* A --metrics listener a previous daemon handed over, bound to ep; -1 if none. */
static int take_inherited(struct handover_set *set, const struct mcpf_endpoint *ep)
{
	for (int i = 0; set && i < set->n; i++) {
		struct handover_item *it = &set->items[i];
		struct sockaddr_storage ss;
		struct mcpf_endpoint bound;
		socklen_t len = sizeof(ss);
		int fd = it->fd;

		if (it->kind != HANDOVER_ADMIN_LISTENER || fd < 0 ||
		    getsockname(fd, (struct sockaddr *)&ss, &len))
			continue;
		endpoint_from_sockaddr(&bound, &ss);
		if (memcmp(&bound.addr, &ep->addr, sizeof(ep->addr)) || bound.port != ep->port)
			continue;
		it->fd = -1;
		return fd;
	}
	return -1;
}

static int listen_new(const struct mcpf_endpoint *ep, const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len = endpoint_to_sockaddr(ep, &ss);
	int one = 1, fd;

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64)) {
		int err = -errno;

		log_error("--metrics %s: %s", addr, strerror(-err));
		close(fd);
		return err;
	}
	return fd;
}

int admin_start(struct admin *a, struct loop *loop, const char *addr, admin_render metrics, void *ctx,
		struct handover_set *inherited)
{
	struct mcpf_endpoint ep;
	char err[256];
	int fd;

	memset(a, 0, sizeof(*a));
	a->listen.fd = -1;
	a->resume.fn = admin_resume;
	a->loop = loop;
	a->metrics = metrics;
	a->ctx = ctx;
	if (endpoint_parse(addr, &ep, 1, err, sizeof(err)) < 0) {
		log_error("--metrics %s: %s", addr, err);
		return -EINVAL;
	}
	fd = take_inherited(inherited, &ep);
	if (fd < 0)
		fd = listen_new(&ep, addr);
	if (fd < 0)
		return fd;
	a->listen.fd = fd;
	a->listen.cb = on_accept;
	return loop_watch(loop, &a->listen, EPOLLIN);
}

int admin_export_listener(const struct admin *a, struct handover_item *it)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss), clen = sizeof(it->netns_cookie);
	int fd = a->listen.fd;

	if (fd < 0)
		return -ENOENT;
	*it = (struct handover_item){ .kind = HANDOVER_ADMIN_LISTENER, .fd = fd, .netns_fd = -1 };
	if (getsockname(fd, (struct sockaddr *)&ss, &len) ||
	    getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &it->netns_cookie, &clen))
		return -errno;
	it->family = ss.ss_family;
	return 0;
}

void admin_stop(struct admin *a)
{
	timer_cancel(&a->resume);
	while (!dlist_empty(&a->conns))
		admin_conn_close(oldest(a));
	loop_close(a->loop, &a->listen);
}
