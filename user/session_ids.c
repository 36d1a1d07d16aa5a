#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common.h"
#include "session_ids.h"
#include "siphash.h"

#define BUCKETS 4096u

/* The claims one session holds (SESSION_IDS_PER_SESSION_MAX). */
struct session_claims {
	uint64_t digest[2];                /* of (server, session) */
	struct session_claims *next;       /* in its bucket */
	size_t n;
};

struct session_id {
	uint64_t digest[2];
	struct session_id *next, **pprev;  /* in its bucket */
	struct session_id *chain;          /* the exchange's next claim, or the next tombstone */
	unsigned long long expires_ns;     /* a tombstone's end (CLOCK_MONOTONIC); 0: a claim */
	struct session_claims *session;    /* a claim's session; NULL for a tombstone */
};

_Static_assert(sizeof(struct session_id) + 16 <= SESSION_IDS_CLAIM_BYTES, "a claim costs what the budget counts");

/* Shared by the workers: one lock of its own, held for a lookup or an
 * unlink, never across anything else. */
static pthread_mutex_t ids_lock = PTHREAD_MUTEX_INITIALIZER;
static struct session_id *buckets[BUCKETS];
static struct session_claims *sessions[BUCKETS];
static size_t held;
static unsigned long long refused;  /* claims past SESSION_IDS_PER_SESSION_MAX */
/* Claims of abandoned exchanges, oldest first (they all live as long). */
static struct session_id *tomb_head, *tomb_tail;
static size_t tombs;
static unsigned char keys[2][16];
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;
static bool keyed;

static void make_keys(void)
{
	keyed = getrandom(keys, sizeof(keys), 0) == (ssize_t)sizeof(keys);
}

/* SipHash of the NUL-separated (server, session[, text]): no NUL is in a
 * name, a session header or an id (\u0000 is refused). */
static int digest_text(const char *server, const char *session, const char *text, uint64_t out[2])
{
	size_t ls = strlen(server) + 1, lss = strlen(session) + (text ? 1 : 0), li = text ? strlen(text) : 0;
	char small[512], *buf = ls + lss + li <= sizeof(small) ? small : malloc(ls + lss + li);

	pthread_once(&keys_once, make_keys);
	if (!buf || !keyed) {
		if (buf != small)
			free(buf);
		return -ENOMEM;
	}
	memcpy(buf, server, ls);
	memcpy(buf + ls, session, lss);
	if (text)
		memcpy(buf + ls + lss, text, li);
	out[0] = siphash24(keys[0], buf, ls + lss + li);
	out[1] = siphash24(keys[1], buf, ls + lss + li);
	if (buf != small)
		free(buf);
	return 0;
}

/* The digest of (server, session, canonical id); -EINVAL for another id. */
static int digest_of(const char *server, const char *session, const cJSON *id, uint64_t out[2])
{
	char num[32];
	const char *text;

	if (cJSON_IsString(id) && id->valuestring) {
		text = id->valuestring;
	} else if (cJSON_IsNumber(id)) {
		/* ids are integers within ±(2^53 - 1) (jsonrpc.c): exact in a double */
		snprintf(num, sizeof(num), "%lld", (long long)id->valuedouble);
		text = num;
	} else {
		return -EINVAL;
	}
	return digest_text(server, session, text, out);
}

/* The digest of (server, session) alone: its claims' count. */
static int session_digest(const char *server, const char *session, uint64_t out[2])
{
	return digest_text(server, session, NULL, out);
}

/* The claims count of a session, made with its first (under ids_lock). */
static struct session_claims *claims_of(const uint64_t d[2])
{
	struct session_claims **p = &sessions[d[0] % BUCKETS];

	for (; *p; p = &(*p)->next)
		if ((*p)->digest[0] == d[0] && (*p)->digest[1] == d[1])
			return *p;
	*p = calloc(1, sizeof(**p));
	if (*p)
		memcpy((*p)->digest, d, sizeof((*p)->digest));
	return *p;
}

/* A claim ends or becomes a tombstone: its session holds one less, and
 * nothing once it holds none (under ids_lock). */
static void unclaim(struct session_id *e)
{
	struct session_claims *c = e->session, **p;

	e->session = NULL;
	if (!c || --c->n)
		return;
	for (p = &sessions[c->digest[0] % BUCKETS]; *p != c; p = &(*p)->next)
		;
	*p = c->next;
	free(c);
}

static void unlink_entry(struct session_id *e)
{
	unclaim(e);
	*e->pprev = e->next;
	if (e->next)
		e->next->pprev = e->pprev;
	free(e);
	held--;
}

/* Tombstones past their end, or past the count kept, go (under ids_lock). */
static void sweep_tombs(unsigned long long now)
{
	while (tomb_head && (tomb_head->expires_ns <= now || tombs > SESSION_IDS_TOMBS_MAX)) {
		struct session_id *e = tomb_head;

		tomb_head = e->chain;
		if (!tomb_head)
			tomb_tail = NULL;
		tombs--;
		unlink_entry(e);
	}
}

/* A claim, or a tombstone not yet past its end (one past it may wait for
 * its sweep behind a longer-lived one). */
static struct session_id *find(const uint64_t d[2], unsigned long long now)
{
	for (struct session_id *e = buckets[d[0] % BUCKETS]; e; e = e->next)
		if (e->digest[0] == d[0] && e->digest[1] == d[1] && (!e->expires_ns || e->expires_ns > now))
			return e;
	return NULL;
}

int session_ids_claim(struct session_id **chain, const char *server, const char *session, const cJSON *id)
{
	uint64_t d[2], sd[2];
	unsigned long long now;
	int err = digest_of(server, session, id, d);
	struct session_id *e;
	struct session_claims *c;

	err = err ? err : session_digest(server, session, sd);
	e = err ? NULL : calloc(1, sizeof(*e));
	if (!e)
		return err ? err : -ENOMEM;
	memcpy(e->digest, d, sizeof(d));
	pthread_mutex_lock(&ids_lock);
	now = monotonic_ns();
	sweep_tombs(now);
	if (find(d, now)) {
		err = -EEXIST;
	} else if (!(c = claims_of(sd))) {
		err = -ENOMEM;
	} else if (c->n >= SESSION_IDS_PER_SESSION_MAX) {
		refused++;
		err = -EDQUOT;
	} else {
		c->n++;
		e->session = c;
		struct session_id **b = &buckets[d[0] % BUCKETS];

		e->next = *b;
		if (*b)
			(*b)->pprev = &e->next;
		e->pprev = b;
		*b = e;
		e->chain = *chain;
		*chain = e;
		held++;
	}
	pthread_mutex_unlock(&ids_lock);
	if (err)
		free(e);
	return err;
}

bool session_ids_busy(const char *server, const char *session, const cJSON *id)
{
	uint64_t d[2];
	unsigned long long now;
	bool busy;

	if (digest_of(server, session, id, d))
		return false;
	pthread_mutex_lock(&ids_lock);
	now = monotonic_ns();
	sweep_tombs(now);
	busy = find(d, now) != NULL;
	pthread_mutex_unlock(&ids_lock);
	return busy;
}

void session_ids_release(struct session_id **chain)
{
	struct session_id *e = *chain;

	if (!e)
		return;
	pthread_mutex_lock(&ids_lock);
	while (e) {
		struct session_id *next = e->chain;

		unlink_entry(e);
		e = next;
	}
	pthread_mutex_unlock(&ids_lock);
	*chain = NULL;
}

void session_ids_abandon(struct session_id **chain, unsigned long long ttl_ns)
{
	struct session_id *e = *chain;
	unsigned long long now = monotonic_ns();

	if (!e)
		return;
	pthread_mutex_lock(&ids_lock);
	while (e) {
		struct session_id *next = e->chain;

		unclaim(e);
		e->expires_ns = now + ttl_ns;
		e->chain = NULL;
		if (tomb_tail)
			tomb_tail->chain = e;
		else
			tomb_head = e;
		tomb_tail = e;
		tombs++;
		e = next;
	}
	sweep_tombs(now);
	pthread_mutex_unlock(&ids_lock);
	*chain = NULL;
}

size_t session_ids_count(void)
{
	size_t n;

	pthread_mutex_lock(&ids_lock);
	n = held;
	pthread_mutex_unlock(&ids_lock);
	return n;
}

void session_ids_stats(struct session_ids_stats *st)
{
	pthread_mutex_lock(&ids_lock);
	st->claims = held - tombs;
	st->tombstones = tombs;
	st->refused = refused;
	pthread_mutex_unlock(&ids_lock);
}
