/* Host-name endpoints resolved off the event loop; see endpoint_watch.h. */
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "endpoint.h"
#include "endpoint_watch.h"
#include "log.h"
#include "policy_scope.h"

#define TICK_NS       (100 * 1000000L)  /* while a lookup runs */
#define IDLE_TICK_S   1                 /* otherwise: due lookups, new names */
#define REFRESH_S     30
#define BACKOFF_MAX_S 30
#define MAX_ADDRS     64

struct endpoint_lookup {
	struct gaicb cb;              /* glibc's thread reads it while pending */
	struct addrinfo hints;
	char host[256];
	unsigned short port;
	bool pending;
	bool referenced;              /* named by the active policy */
	bool failing;
	bool resolved;                /* has addresses in use */
	long long due_s;              /* CLOCK_MONOTONIC seconds */
	unsigned backoff_s;
	struct endpoint_lookup *next;
};

static struct endpoint_lookup *lookup_of(struct endpoint_watch *w, const char *host, unsigned short port)
{
	for (struct endpoint_lookup *l = w->lookups; l; l = l->next)
		if (l->port == port && !strcasecmp(l->host, host))
			return l;
	return NULL;
}

/* One lookup per host name and port of the active policy; the ones no
 * longer named go once glibc is done with them. */
static void reconcile(struct endpoint_watch *w)
{
	const struct policy_scopes *s = w->maps->scopes;
	struct endpoint_lookup **pp;

	for (struct endpoint_lookup *l = w->lookups; l; l = l->next)
		l->referenced = false;
	for (size_t i = 0; s && i < s->n_servers; i++)
		for (size_t h = 0; h < s->servers[i].n_hosts; h++) {
			const struct scope_host *sh = &s->servers[i].hosts[h];
			struct endpoint_lookup *l = lookup_of(w, sh->host, sh->port);

			if (!l) {
				l = calloc(1, sizeof(*l));
				if (!l) {
					log_warn("out of memory: %s:%u not resolved yet", sh->host, sh->port);
					continue;
				}
				snprintf(l->host, sizeof(l->host), "%s", sh->host);
				l->port = sh->port;
				l->backoff_s = 1;
				l->next = w->lookups;
				w->lookups = l;
			}
			l->referenced = true;
			l->resolved = sh->n_addrs > 0;
		}
	for (pp = &w->lookups; *pp;) {
		struct endpoint_lookup *l = *pp;

		if (l->referenced || l->pending) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		free(l);
	}
}

static void start_lookup(struct endpoint_lookup *l)
{
	struct gaicb *list[1] = { &l->cb };
	int rc;

	memset(&l->cb, 0, sizeof(l->cb));
	l->hints = (struct addrinfo){ .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	l->cb.ar_name = l->host;
	l->cb.ar_request = &l->hints;
	rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
	if (rc == 0)
		l->pending = true;
	else
		log_warn("cannot start resolving %s: %s", l->host, gai_strerror(rc));
}

static void failed(struct endpoint_watch *w, struct endpoint_lookup *l, const char *why)
{
	w->failures_total++;
	if (!l->failing)
		log_warn("endpoint %s:%u: cannot resolve: %s; %s, retrying with backoff", l->host, l->port, why,
			 l->resolved ? "its last addresses stay intercepted" : "not intercepted until it resolves");
	else
		log_debug("endpoint %s:%u: cannot resolve: %s", l->host, l->port, why);
	l->failing = true;
	l->due_s = monotonic_s() + l->backoff_s;
	l->backoff_s = l->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : l->backoff_s * 2;
}

static void answered(struct endpoint_watch *w, struct endpoint_lookup *l)
{
	struct mcpf_endpoint addrs[MAX_ADDRS];
	char err[256];
	int n = endpoints_from_addrinfo(l->cb.ar_result, l->port, addrs, MAX_ADDRS), changed;

	freeaddrinfo(l->cb.ar_result);
	l->cb.ar_result = NULL;
	if (n <= 0) {
		failed(w, l, n < 0 ? "more addresses than can be intercepted" : "no IPv4 or IPv6 address");
		return;
	}
	if (l->failing)
		log_info("endpoint %s:%u resolves again", l->host, l->port);
	l->failing = false;
	l->backoff_s = 1;
	l->due_s = monotonic_s() + REFRESH_S;
	changed = l->referenced ? policy_scopes_set_addrs(w->maps->scopes, l->host, l->port, addrs, n) : 0;
	if (changed < 0) {
		log_warn("endpoint %s:%u: out of memory recording its addresses", l->host, l->port);
	} else if (changed) {
		char a[ENDPOINT_STRLEN];

		l->resolved = true;
		log_info("endpoint %s:%u resolves to %d address%s, first %s", l->host, l->port, n,
			 n == 1 ? "" : "es", endpoint_str(&addrs[0], a));
		if (policy_targets_sync(w->maps, err, sizeof(err)))
			log_warn("endpoint %s:%u: %s", l->host, l->port, err);
	}
}

/* Poll finished lookups often; wake up once a second otherwise. */
static void arm(struct endpoint_watch *w)
{
	struct itimerspec next = { .it_value = { IDLE_TICK_S, 0 } };

	for (struct endpoint_lookup *l = w->lookups; l; l = l->next)
		if (l->pending)
			next.it_value = (struct timespec){ 0, TICK_NS };
	if (timerfd_settime(w->timer.fd, 0, &next, NULL))
		log_warn("endpoint resolution timer: %s", strerror(errno));
}

static void tick(struct endpoint_watch *w)
{
	long long now = monotonic_s();

	reconcile(w);
	for (struct endpoint_lookup *l = w->lookups; l; l = l->next) {
		if (l->pending) {
			int rc = gai_error(&l->cb);

			if (rc == EAI_INPROGRESS)
				continue;
			l->pending = false;
			if (rc == 0)
				answered(w, l);
			else
				failed(w, l, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		} else if (l->referenced && now >= l->due_s) {
			start_lookup(l);
		}
	}
	arm(w);
}

static void on_tick(struct watch *wt, uint32_t revents)
{
	struct endpoint_watch *w = container_of(wt, struct endpoint_watch, timer);

	(void)revents;
	if (loop_timer_fired(wt))
		tick(w);
}

int endpoint_watch_start(struct endpoint_watch *w, struct loop *loop, struct policy_maps *maps)
{
	w->loop = loop;
	w->maps = maps;
	w->timer.cb = on_tick;
	w->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->timer.fd < 0)
		return -errno;
	tick(w);  /* the first lookups start now, not a tick later; arms the timer */
	return loop_watch(loop, &w->timer, EPOLLIN);
}

void endpoint_watch_stop(struct endpoint_watch *w)
{
	if (w->loop)
		loop_close(w->loop, &w->timer);
	while (w->lookups) {
		struct endpoint_lookup *l = w->lookups;

		w->lookups = l->next;
		/* a lookup glibc is still running keeps using l: leave it to the
		 * process exit rather than free memory another thread writes */
		if (l->pending && gai_cancel(&l->cb) != EAI_CANCELED)
			continue;
		if (l->cb.ar_result)
			freeaddrinfo(l->cb.ar_result);
		free(l);
	}
}

size_t endpoint_watch_unresolved(const struct endpoint_watch *w)
{
	size_t n = 0;

	for (const struct endpoint_lookup *l = w->lookups; l; l = l->next)
		n += l->referenced && !l->resolved;
	return n;
}

void endpoint_watch_render(const struct endpoint_watch *w, struct bytebuf *out)
{
	bb_printf(out,
		  "# HELP mcpfence_endpoint_resolution_failures_total Failed lookups of host-name endpoints.\n"
		  "# TYPE mcpfence_endpoint_resolution_failures_total counter\n"
		  "mcpfence_endpoint_resolution_failures_total %llu\n"
		  "# HELP mcpfence_endpoints_unresolved Host-name endpoints of the policy with no address yet.\n"
		  "# TYPE mcpfence_endpoints_unresolved gauge\n"
		  "mcpfence_endpoints_unresolved %zu\n",
		  w->failures_total, endpoint_watch_unresolved(w));
}
