/* Connection caps per agent and in all; see conn_limits.h. */
#include "conn_limits.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

struct agent_count {
	struct agent_count *next;
	struct conn_agent agent;
	unsigned n;
	int home;       /* conn_limits_home: -1 until its first connection is placed */
};

void conn_limits_init(struct conn_limits *cl, const struct conn_limits_config *cfg)
{
	int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);

	memset(cl, 0, sizeof(*cl));
	cl->cfg = *cfg;
	if (!cl->cfg.max_conns)
		cl->cfg.max_conns = CONN_DEFAULT_MAX;
	/* the lowest free descriptor: about how many are open now */
	cl->fd_base = probe >= 0 ? (unsigned)probe : 64;
	if (probe >= 0)
		close(probe);
}

/* The descriptor connections may not reach (conn_limits_admit). */
static unsigned long long fd_ceiling(void)
{
	struct rlimit rl;
	rlim_t reserve;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return ~0ULL;
	reserve = rl.rlim_cur / 4 > 128 ? rl.rlim_cur / 4 : 128;
	return rl.rlim_cur > reserve ? rl.rlim_cur - reserve : 0;
}

static bool same(const struct conn_agent *a, const struct conn_agent *b)
{
	return a->cgroup_id == b->cgroup_id && a->uid == b->uid && a->pid == b->pid;
}

static struct agent_count **slot(struct conn_limits *cl, const struct conn_agent *a)
{
	unsigned long long h = (a->cgroup_id * 0x9e3779b97f4a7c15ULL) ^ ((unsigned long long)a->uid << 32) ^ a->pid;
	struct agent_count **p = &cl->buckets[(h ^ (h >> 29)) % CONN_AGENT_BUCKETS];

	while (*p && !same(&(*p)->agent, a))
		p = &(*p)->next;
	return p;
}

int conn_limits_admit(struct conn_limits *cl, const struct conn_agent *a, int fd)
{
	unsigned long long ceiling = fd_ceiling();
	struct agent_count **p;

	if (cl->active >= cl->cfg.max_conns || (fd >= 0 && (unsigned long long)fd >= ceiling) ||
	    cl->fd_base + 2 * ((unsigned long long)cl->active + 1) > ceiling) {
		cl->refused_global++;
		return -EMFILE;
	}
	p = slot(cl, a);
	if (*p && (*p)->n >= cl->cfg.max_conns_per_agent) {
		cl->refused_agent++;
		return -EUSERS;
	}
	if (!*p) {
		*p = calloc(1, sizeof(**p));
		if (!*p)
			return -ENOMEM;
		(*p)->agent = *a;
		(*p)->home = -1;
	}
	(*p)->n++;
	cl->active++;
	return 0;
}

int *conn_limits_home(struct conn_limits *cl, const struct conn_agent *a)
{
	struct agent_count **p = slot(cl, a);

	return *p ? &(*p)->home : NULL;
}

void conn_limits_release(struct conn_limits *cl, const struct conn_agent *a)
{
	struct agent_count **p = slot(cl, a), *gone;

	if (!*p)
		return;
	cl->active--;
	if (--(*p)->n)
		return;
	gone = *p;
	*p = gone->next;
	free(gone);
}

void conn_limits_free(struct conn_limits *cl)
{
	for (int i = 0; i < CONN_AGENT_BUCKETS; i++)
		while (cl->buckets[i]) {
			struct agent_count *c = cl->buckets[i];

			cl->buckets[i] = c->next;
			free(c);
		}
	cl->active = 0;
}
