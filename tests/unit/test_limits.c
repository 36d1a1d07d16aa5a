/* The proxy's limits in isolation: the timer wheel fires each timer once,
 * at its second, across rounds and long stalls; connection caps count per
 * agent and in all; the memory budget admits only what fits. */
#include <errno.h>
#include <stdlib.h>
#include "conn_limits.h"
#include <sys/resource.h>

#include "harness.h"
#include "loop.h"
#include "mem_budget.h"
#include "timer_wheel.h"

struct probe {
	struct timer t;
	int fired;
	long long at;
	struct timer_wheel *tw;
	struct probe *cancel;   /* cancelled from this one's callback */
};

static long long wheel_now;

static void on_probe(struct timer *t)
{
	struct probe *p = container_of(t, struct probe, t);

	p->fired++;
	p->at = wheel_now;
	if (p->cancel)
		timer_cancel(&p->cancel->t);
}

static void advance_to(struct timer_wheel *tw, long long s)
{
	wheel_now = s;
	timer_wheel_advance(tw, s);
}

TEST(timer_wheel_fires_once_at_its_second_across_rounds)
{
	struct loop loop;
	struct timer_wheel tw = { 0 };
	struct probe a = { .t.fn = on_probe }, b = { .t.fn = on_probe }, far = { .t.fn = on_probe };
	long long t0;

	CHECK_INT_EQ(loop_init(&loop), 0);
	CHECK_INT_EQ(timer_wheel_init(&tw, &loop), 0);
	t0 = tw.now_s;
	timer_arm(&tw, &a.t, 2);
	timer_arm(&tw, &b.t, 5);
	timer_arm(&tw, &far.t, TIMER_WHEEL_SLOTS + 3);  /* a 3 s timer's slot, one round later */
	CHECK(timer_armed(&a.t));
	timer_arm(&tw, &b.t, 4);                          /* re-arming moves it */
	long long base = a.t.deadline_s - 3;  /* the second it was armed in: 2 s plus the phase second */
	for (long long s = t0 + 1; s <= base + 2; s++)
		advance_to(&tw, s);
	CHECK_INT_EQ(a.fired, 0);
	for (long long s = base + 3; s <= base + TIMER_WHEEL_SLOTS + 3; s++)
		advance_to(&tw, s);
	CHECK_INT_EQ(a.fired, 1);
	CHECK(a.at == base + 3);
	CHECK_INT_EQ(b.fired, 1);
	CHECK(b.at == base + 5);
	CHECK_INT_EQ(far.fired, 0);  /* its slot came by, its round did not */
	CHECK(!timer_armed(&a.t));
	advance_to(&tw, base + TIMER_WHEEL_SLOTS + 4);
	CHECK_INT_EQ(far.fired, 1);
	timer_wheel_fini(&tw);
	loop_fini(&loop);
}

TEST(timer_wheel_long_stall_and_cancel_from_a_callback)
{
	struct loop loop;
	struct timer_wheel tw = { 0 };
	struct probe a = { .t.fn = on_probe }, b = { .t.fn = on_probe }, c = { .t.fn = on_probe };

	CHECK_INT_EQ(loop_init(&loop), 0);
	CHECK_INT_EQ(timer_wheel_init(&tw, &loop), 0);
	timer_arm(&tw, &a.t, 3);
	timer_arm(&tw, &b.t, 200);
	timer_arm(&tw, &c.t, 7);
	timer_cancel(&c.t);
	timer_cancel(&c.t);  /* twice: a no-op */
	/* one tick 10 minutes late (a stalled loop, a suspend): all that is due runs once */
	advance_to(&tw, tw.now_s + 600);
	CHECK_INT_EQ(a.fired, 1);
	CHECK_INT_EQ(b.fired, 1);
	CHECK_INT_EQ(c.fired, 0);
	/* a callback cancelling another timer due in the same tick */
	struct probe x = { .t.fn = on_probe }, y = { .t.fn = on_probe };

	x.cancel = &y;
	timer_arm(&tw, &x.t, 1);
	timer_arm(&tw, &y.t, 1);
	advance_to(&tw, tw.now_s + 2);
	/* armed first, x runs first and cancels y, though y was due too */
	CHECK_INT_EQ(x.fired, 1);
	CHECK_INT_EQ(y.fired, 0);
	CHECK(!timer_armed(&x.t) && !timer_armed(&y.t));
	timer_wheel_fini(&tw);
	loop_fini(&loop);
}

/* An agent keeps the worker its first connection got while it has one
 * open (legacy SSE: its stream and POSTs meet); a new one is placed anew. */
TEST(conn_limits_home_kept_while_the_agent_has_a_connection)
{
	struct conn_limits_config cfg = { .max_conns = 8, .max_conns_per_agent = 4 };
	struct conn_limits cl;
	struct conn_agent a = { .cgroup_id = 7, .uid = 1000, .pid = 1 }, b = { .cgroup_id = 7, .uid = 1000, .pid = 2 };

	conn_limits_init(&cl, &cfg);
	CHECK(conn_limits_home(&cl, &a) == NULL);  /* not admitted */
	CHECK_INT_EQ(conn_limits_admit(&cl, &a, -1), 0);
	CHECK_INT_EQ(*conn_limits_home(&cl, &a), -1);
	*conn_limits_home(&cl, &a) = 1;
	CHECK_INT_EQ(conn_limits_admit(&cl, &a, -1), 0);
	CHECK_INT_EQ(conn_limits_admit(&cl, &b, -1), 0);
	CHECK_INT_EQ(*conn_limits_home(&cl, &a), 1);
	CHECK_INT_EQ(*conn_limits_home(&cl, &b), -1);
	conn_limits_release(&cl, &a);
	CHECK_INT_EQ(*conn_limits_home(&cl, &a), 1);   /* one still open */
	conn_limits_release(&cl, &a);
	CHECK(conn_limits_home(&cl, &a) == NULL);
	CHECK_INT_EQ(conn_limits_admit(&cl, &a, -1), 0);
	CHECK_INT_EQ(*conn_limits_home(&cl, &a), -1);  /* placed anew */
	conn_limits_free(&cl);
}

TEST(conn_limits_per_agent_and_global)
{
	struct conn_limits_config cfg = { .max_conns = 5, .max_conns_per_agent = 3 };
	struct conn_limits cl;
	struct conn_agent a = { .cgroup_id = 7, .uid = 1000, .pid = 1 }, b = { .cgroup_id = 7, .uid = 1000, .pid = 2 };

	conn_limits_init(&cl, &cfg);
	for (int i = 0; i < 3; i++)
		CHECK_INT_EQ(conn_limits_admit(&cl, &a, -1), 0);
	CHECK_INT_EQ(conn_limits_admit(&cl, &a, -1), -EUSERS);
	CHECK_INT_EQ(conn_limits_admit(&cl, &b, -1), 0);  /* another process: another agent */
	CHECK_INT_EQ(conn_limits_admit(&cl, &b, -1), 0);
	CHECK_INT_EQ(conn_limits_admit(&cl, &b, -1), -EMFILE);  /* five in all */
	CHECK(cl.refused_agent == 1 && cl.refused_global == 1);
	conn_limits_release(&cl, &a);
	CHECK_INT_EQ(conn_limits_admit(&cl, &b, -1), 0);
	for (int i = 0; i < 2; i++)
		conn_limits_release(&cl, &a);
	CHECK_INT_EQ(cl.active, 3);
	/* a's entry is gone with its last connection; it starts over */
	conn_limits_release(&cl, &b);
	CHECK_INT_EQ(conn_limits_admit(&cl, &a, -1), 0);
	conn_limits_free(&cl);
	cfg.max_conns = 0;
	conn_limits_init(&cl, &cfg);
	CHECK_INT_EQ(cl.cfg.max_conns, CONN_DEFAULT_MAX);
	conn_limits_free(&cl);
}

/* Connections leave the last quarter of RLIMIT_NOFILE (at least 128) to
 * namespaces and reloads: counted two descriptors each over those held at
 * init, and an accepted descriptor that high is refused too. */
TEST(conn_limits_keep_descriptors_for_namespaces)
{
	struct conn_limits_config cfg = { .max_conns = 4096, .max_conns_per_agent = 4096 };
	struct conn_agent a = { .cgroup_id = 7, .uid = 1000, .pid = 1 };
	struct conn_limits cl;
	struct rlimit saved, low;
	unsigned admitted = 0;

	conn_limits_init(&cl, &cfg);
	CHECK(getrlimit(RLIMIT_NOFILE, &saved) == 0);
	low = saved;
	low.rlim_cur = cl.fd_base + 200 + 128;    /* room for 100 connections above the reserve */
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
	while (admitted < 1000 && conn_limits_admit(&cl, &a, -1) == 0)
		admitted++;
	CHECK_INT_EQ(admitted, 100);
	CHECK(cl.refused_global == 1);
	conn_limits_release(&cl, &a);
	CHECK_INT_EQ(conn_limits_admit(&cl, &a, (int)low.rlim_cur - 128), -EMFILE);  /* in the reserve */
	CHECK_INT_EQ(conn_limits_admit(&cl, &a, (int)low.rlim_cur - 129), 0);
	CHECK(setrlimit(RLIMIT_NOFILE, &saved) == 0);
	conn_limits_free(&cl);
}

TEST(mem_budget_admits_only_what_fits)
{
	/* a sixteenth (1000 of 16000) is the reserve for bytes taken unasked */
	struct mem_budget b = { .limit = 16000 };
	size_t c1 = 0, c2 = 0;

	CHECK(mem_budget_room(&b, 15000));
	CHECK(!mem_budget_room(&b, 15001));
	mem_budget_set(&b, &c1, 14600);
	CHECK(mem_budget_room(&b, 400));
	CHECK(!mem_budget_room(&b, 401));
	mem_budget_set(&b, &c1, 600);
	mem_budget_set(&b, &c2, 300);
	mem_budget_set(&b, &c1, 100);   /* shrinks */
	CHECK_INT_EQ(b.used, 400);
	CHECK_INT_EQ(b.peak, 14600);
	mem_budget_set(&b, &c2, 15200); /* into the reserve (a refusal, a read): nothing more is admitted */
	CHECK(!mem_budget_room(&b, 0));
	mem_budget_set(&b, &c1, 0);
	mem_budget_set(&b, &c2, 0);
	CHECK_INT_EQ(b.used, 0);
}
