/* What proxy workers share: the mailbox that hands work to a worker's
 * loop, the memory budget taken from several threads at once, and flows
 * on several threads deciding against one rate-limit budget through the
 * enforce lock (real policy maps). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "acct.h"
#include "enforce.h"
#include "enforce_lock.h"
#include "loop.h"
#include "mailbox.h"
#include "mcp_flow.h"
#include "mcpfence.skel.h"
#include "mem_budget.h"
#include "policy_fixture.h"
#include "tool_names.h"

/* ---- mailbox ---- */

#define POSTERS 2
#define POSTS 2000

struct box {
	struct loop loop;
	struct mailbox mb;
	pthread_t owner;
	unsigned next[POSTERS];    /* the owner's: the next number expected from each poster */
	unsigned ran, out_of_order, wrong_thread;
};

struct note {
	struct mail m;
	struct box *box;
	unsigned poster, seq;
	bool stop;
};

static void on_note(struct mail *m)
{
	struct note *n = container_of(m, struct note, m);
	struct box *b = n->box;

	b->wrong_thread += !pthread_equal(pthread_self(), b->owner);
	if (n->stop) {
		b->loop.stop = true;
	} else {
		b->out_of_order += n->seq != b->next[n->poster];
		b->next[n->poster] = n->seq + 1;
		b->ran++;
	}
	free(n);
}

static void *owner_main(void *arg)
{
	struct box *b = arg;

	loop_run(&b->loop);
	return NULL;
}

struct poster {
	struct box *box;
	unsigned id;
};

static void *poster_main(void *arg)
{
	struct poster *p = arg;

	for (unsigned i = 0; i < POSTS; i++) {
		struct note *n = calloc(1, sizeof(*n));

		if (!n)
			abort();
		*n = (struct note){ .box = p->box, .poster = p->id, .seq = i };
		mailbox_post(&p->box->mb, &n->m, on_note);
	}
	return NULL;
}

TEST(mailbox_runs_every_post_on_the_owner_in_each_posters_order)
{
	struct box b = { 0 };
	struct poster p[POSTERS];
	pthread_t t[POSTERS];
	struct note *stop = calloc(1, sizeof(*stop));

	CHECK(stop != NULL);
	CHECK_INT_EQ(loop_init(&b.loop), 0);
	CHECK_INT_EQ(mailbox_init(&b.mb), 0);
	CHECK_INT_EQ(mailbox_watch(&b.mb, &b.loop), 0);
	CHECK_INT_EQ(pthread_create(&b.owner, NULL, owner_main, &b), 0);
	for (unsigned i = 0; i < POSTERS; i++) {
		p[i] = (struct poster){ &b, i };
		CHECK_INT_EQ(pthread_create(&t[i], NULL, poster_main, &p[i]), 0);
	}
	for (unsigned i = 0; i < POSTERS; i++)
		pthread_join(t[i], NULL);
	*stop = (struct note){ .box = &b, .stop = true };
	mailbox_post(&b.mb, &stop->m, on_note);  /* after every other post: run last */
	pthread_join(b.owner, NULL);
	CHECK_INT_EQ(b.ran, POSTERS * POSTS);
	CHECK_INT_EQ(b.out_of_order, 0);
	CHECK_INT_EQ(b.wrong_thread, 0);
	CHECK_INT_EQ(mailbox_run(&b.mb), 0);  /* nothing left */
	mailbox_fini(&b.mb);
	loop_fini(&b.loop);
}

/* ---- memory budget ---- */

#define TAKERS 4
#define TAKES 100000

static void *taker_main(void *arg)
{
	struct mem_budget *b = arg;
	size_t charged = 0;
	unsigned seed = (unsigned)(uintptr_t)&charged;

	for (unsigned i = 0; i < TAKES; i++) {
		size_t want = charged + 1 + rand_r(&seed) % (64 << 10);

		if (!mem_budget_take(b, &charged, want) || rand_r(&seed) % 2)
			mem_budget_set(b, &charged, 0);
	}
	mem_budget_set(b, &charged, 0);
	return NULL;
}

TEST(mem_budget_take_from_threads_never_goes_past_the_admission_level)
{
	struct mem_budget b = { .limit = 1 << 20 };
	size_t admit = b.limit - b.limit / 16;
	pthread_t t[TAKERS];

	for (unsigned i = 0; i < TAKERS; i++)
		CHECK_INT_EQ(pthread_create(&t[i], NULL, taker_main, &b), 0);
	for (unsigned i = 0; i < TAKERS; i++)
		pthread_join(t[i], NULL);
	CHECK(b.peak <= admit);
	CHECK(b.peak > admit / 2);  /* the threads did press on it */
	CHECK_INT_EQ(mem_budget_used(&b), 0);
}

/* ---- flows on threads, one budget ---- */

#define FLOW_THREADS 4
#define FLOW_CALLS 1500
#define BUDGET 2500

static const struct mcpf_conn origin = { .pid = 4242, .uid = 1000, .cgroup_id = 77, .comm = "agent", .server = "fs" };

struct caller {
	const struct enforce *enf;
	unsigned forwarded, denied, failed;
};

static void no_kick(void *conn)
{
	(void)conn;
}

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	struct bytebuf up = BYTEBUF_INIT, client = BYTEBUF_INIT, msg = BYTEBUF_INIT;
	struct flow_io io = { .to_upstream = &up, .to_client = &client };
	struct mcp_flow flow;
	static const char answer[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}";
	static const char call[] =
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{}}}";

	if (mcp_flow_init(&flow, c->enf, &origin, (uintptr_t)c, no_kick, NULL)) {
		c->failed++;
		return NULL;
	}
	for (unsigned i = 0; i < FLOW_CALLS; i++) {
		bb_reset(&msg);
		bb_printf(&msg, "POST /mcp HTTP/1.1\r\nHost: fs\r\nContent-Type: application/json\r\n"
				"Accept: application/json, text/event-stream\r\nContent-Length: %zu\r\n\r\n%s",
			  strlen(call), call);
		if (mcp_flow_client_data(&flow, msg.data, msg.len, &io)) {
			c->failed++;
			break;
		}
		if (up.len) {
			c->forwarded++;
			bb_reset(&msg);
			bb_printf(&msg, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
				  strlen(answer), answer);
			c->failed += mcp_flow_upstream_data(&flow, msg.data, msg.len, &io) != 0;
		} else {
			c->denied += memmem(client.data, client.len, "rate limit", 10) != NULL;
		}
		bb_reset(&up);
		bb_reset(&client);
	}
	mcp_flow_free(&flow);
	bb_free(&up);
	bb_free(&client);
	bb_free(&msg);
	return NULL;
}

MAPS_TEST(flows_on_threads_spend_one_budget_exactly)
{
	struct caller c[FLOW_THREADS] = { 0 };
	pthread_t t[FLOW_THREADS];
	unsigned forwarded = 0, denied = 0, failed = 0;
	struct enforce enf = {
		.policy = &f->maps,
		.acct = acct_new(bpf_map__fd(f->skel->maps.tool_stats), bpf_map__fd(f->skel->maps.daemon_stats), NULL, -1),
		.body_limit = 64 << 10,
		.listed = tool_names_new(TOOL_NAMES_DEFAULT_MAX),
	};

	CHECK(enf.acct && enf.listed && acct_prepare(enf.acct, true) == 0);
	CHECK(fixture_compile(f, "{'version':'1','servers':{'fs':{'default':'deny','tools':{'echo':{"
				 "'limits':[{'counter':'one','window':3600,'max':2500,'scope':'global'}]}}}}}") == 0);
	for (unsigned i = 0; i < FLOW_THREADS; i++) {
		c[i].enf = &enf;
		CHECK_INT_EQ(pthread_create(&t[i], NULL, caller_main, &c[i]), 0);
	}
	for (unsigned i = 0; i < FLOW_THREADS; i++) {
		pthread_join(t[i], NULL);
		forwarded += c[i].forwarded;
		denied += c[i].denied;
		failed += c[i].failed;
	}
	tool_names_free(enf.listed);
	acct_free(enf.acct);
	CHECK_INT_EQ(failed, 0);
	CHECK_INT_EQ(forwarded, BUDGET);
	CHECK_INT_EQ(denied, FLOW_THREADS * FLOW_CALLS - BUDGET);
}

static void *try_lock(void *arg)
{
	(void)arg;
	enforce_lock();
	enforce_unlock();
	return NULL;
}

/* /metrics lets workers in while it reads the maps: only from the
 * batch's single hold, never from a section nested in it (it would leave
 * that section unlocked) nor without the lock (it would take it for good). */
TEST(enforce_release_batch_only_from_a_single_hold)
{
	pthread_t t;

	CHECK(!enforce_release_batch());          /* not held */
	enforce_lock();
	enforce_lock();
	CHECK(!enforce_release_batch());          /* held twice */
	enforce_unlock();
	CHECK(enforce_release_batch());           /* the batch's hold: released */
	CHECK(pthread_create(&t, NULL, try_lock, NULL) == 0);
	CHECK(pthread_join(t, NULL) == 0);        /* another thread got it meanwhile */
	enforce_lock();
	enforce_unlock();
}
