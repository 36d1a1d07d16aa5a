/* The admin HTTP endpoint on --metrics: GET /healthz and GET /metrics.
 * One request per connection; the reply is written and the connection
 * closed. */
#ifndef MCPF_ADMIN_H
#define MCPF_ADMIN_H

#include <stdbool.h>
#include "bytebuf.h"
#include "dlist.h"
#include "loop.h"
#include "timer_wheel.h"

/* Connections at once: past it the oldest is closed (a scraper gets its
 * answer; idle connections cannot take the daemon's descriptors). Each
 * must be answered and gone within ADMIN_TIMEOUT_S. */
#define ADMIN_MAX_CONNS 16
#define ADMIN_TIMEOUT_S 5

struct admin_conn;

/* Append the /metrics body to out; 0, or -1 to answer 500. */
typedef int (*admin_render)(struct bytebuf *out, void *ctx);

struct admin {
	struct watch listen;
	struct loop *loop;
	bool ready;              /* /healthz is 200 only once programs are attached */
	admin_render metrics;
	void *ctx;
	struct timer_wheel *wheel;  /* timeouts and the pause at the fd limit; NULL: none */
	struct timer resume;        /* out of descriptors: the listener rests until this fires */
	struct dlist conns;         /* struct admin_conn, oldest first */
	unsigned nconns;
};

struct handover_set;
struct handover_item;

/* addr: "127.0.0.1:17002", "[::1]:17002" or "host:port". A listener on addr
 * in inherited (a previous daemon's, may be NULL) is taken over as is. */
int admin_start(struct admin *a, struct loop *loop, const char *addr, admin_render metrics, void *ctx,
		struct handover_set *inherited);
/* Handover: the listener as an item (the fd stays ours); 0 or -errno. */
int admin_export_listener(const struct admin *a, struct handover_item *it);
void admin_stop(struct admin *a);

#endif
