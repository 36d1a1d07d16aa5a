/* Rate-limit budgets: fixed windows in the pinned rate_state map. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern_maps.h"
#include "rate_limit.h"

/* Session ids that do not fit the key keep a prefix plus a digest of the
 * whole id, so two long ids that share a prefix stay apart. */
static void session_key(char *out, const char *session)
{
	size_t len = strlen(session);
	unsigned long long h = 0xcbf29ce484222325ULL;  /* FNV-1a */
	const int keep = MCPF_SESSION_LEN - 18;        /* '#' + 16 hex + NUL */

	if (len < MCPF_SESSION_LEN) {
		memcpy(out, session, len);
		return;
	}
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)session[i]) * 0x100000001b3ULL;
	memcpy(out, session, keep);
	snprintf(out + keep, MCPF_SESSION_LEN - keep, "#%016llx", h);
}

void rate_key(struct mcpf_rate_key *key, const struct mcpf_limit *limit,
	      const struct rate_subject *subject)
{
	memset(key, 0, sizeof(*key));
	memcpy(key->counter, limit->counter, sizeof(key->counter));
	key->scope = limit->scope;
	switch (limit->scope) {
	case MCPF_SCOPE_GRANT:
		strncpy(key->server, subject->server, sizeof(key->server) - 1);
		/* a grant is an agent identity on one server */
		__attribute__((fallthrough));
	case MCPF_SCOPE_AGENT:
		key->cgroup_id = subject->cgroup_id;
		key->uid = subject->uid;
		key->pid = subject->pid;
		break;
	case MCPF_SCOPE_SESSION:
		strncpy(key->server, subject->server, sizeof(key->server) - 1);
		session_key(key->session, subject->session ? subject->session : "");
		/* agents choose session ids: a session is one agent's (cgroup+uid),
		 * so naming another's id cannot spend its budget, and every budget
		 * has an owner for the quota below */
		key->cgroup_id = subject->cgroup_id;
		key->uid = subject->uid;
		break;
	case MCPF_SCOPE_GLOBAL:
		break;  /* the counter name alone */
	}
}

/* The budget as it stands at now: 1 found and still open, 0 absent or
 * expired, -errno. */
static int current(int fd, const struct mcpf_rate_key *key, const struct mcpf_limit *limit,
		   unsigned long long now_ns, struct mcpf_rate_state *state)
{
	int err = kern_map_lookup_locked(fd, key, state);

	if (err) {
		memset(state, 0, sizeof(*state));
		return err == -ENOENT ? 0 : err;
	}
	return now_ns < state->window_start_ns + limit->window_ns;
}

int rate_check(int fd, const struct mcpf_rate_key *key, const struct mcpf_limit *limit,
	       unsigned long long now_ns, unsigned long long *retry_ns)
{
	struct mcpf_rate_state state;
	int open = current(fd, key, limit, now_ns, &state);

	*retry_ns = 0;
	if (open <= 0)
		return open < 0 ? open : 1;
	if (state.count < limit->max)
		return 1;
	*retry_ns = state.window_start_ns + limit->window_ns - now_ns;
	return 0;
}

/* ---- budgets per owner ----
 * Every budget but a global one belongs to an agent (cgroup+uid). An owner
 * may hold at most RATE_OWNER_MAX budgets, so one agent (spraying session
 * ids, or processes under --agent-identity process) cannot fill rate_state
 * and make every other agent's limited calls fail. Counts are exact: they
 * grow here when a budget is created and are recounted from the map by
 * every prune, after a budget made for a refused call is deleted again,
 * and at first use. */
#define RATE_OWNER_SLOTS (2 * MCPF_MAX_RATE_STATES)

struct rate_owner {
	unsigned long long cgroup_id;
	unsigned int uid;
	unsigned int count;   /* 0: free slot */
};

static struct rate_owner owners[RATE_OWNER_SLOTS];
static unsigned int counted_map;  /* id of the map counted; 0: none yet */

static struct rate_owner *owner_of(const struct mcpf_rate_key *key)
{
	size_t i = (key->cgroup_id * 0x9e3779b97f4a7c15ULL ^ key->uid) % RATE_OWNER_SLOTS;

	/* at most MCPF_MAX_RATE_STATES owners have a count: a free slot is found */
	while (owners[i].count && (owners[i].cgroup_id != key->cgroup_id || owners[i].uid != key->uid))
		i = (i + 1) % RATE_OWNER_SLOTS;
	owners[i].cgroup_id = key->cgroup_id;
	owners[i].uid = key->uid;
	return &owners[i];
}

static bool owned(const struct mcpf_rate_key *key)
{
	return key->scope != MCPF_SCOPE_GLOBAL;
}

static int recount_owners(int fd)
{
	struct mcpf_rate_key *keys;
	ssize_t n;

	memset(owners, 0, sizeof(owners));
	counted_map = 0;
	if ((n = kern_map_keys(fd, sizeof(*keys), (void **)&keys)) < 0)
		return n;
	for (ssize_t i = 0; i < n; i++)
		if (owned(&keys[i]))
			owner_of(&keys[i])->count++;
	free(keys);
	counted_map = kern_map_id(fd);
	return 0;
}

int rate_consume(int fd, const struct mcpf_rate_key *key, const struct mcpf_limit *limit,
		 unsigned long long now_ns, struct rate_undo *undo)
{
	struct mcpf_rate_state state;
	int open = current(fd, key, limit, now_ns, &state);
	bool created = state.window_ns == 0;  /* no entry: every entry has a window */
	int err;

	if (open < 0)
		return open;
	undo->before = state;
	undo->created = created;
	if (created && owned(key)) {
		/* a budget is made at most once per window and key: one
		 * syscall to know the counts are this map's */
		if (counted_map != kern_map_id(fd) && (err = recount_owners(fd)))
			return err;
		if (owner_of(key)->count >= RATE_OWNER_MAX)
			return -EDQUOT;
	}
	if (open) {
		state.count++;
	} else {
		state.count = 1;
		state.window_start_ns = now_ns;
	}
	state.window_ns = limit->window_ns;
	state.max = limit->max;
	if ((err = kern_map_update(fd, key, &state, BPF_F_LOCK)))
		return err;
	if (created && owned(key) && counted_map)
		owner_of(key)->count++;
	return 0;
}

int rate_unconsume(int fd, const struct mcpf_rate_key *key, const struct rate_undo *undo)
{
	int err;

	if (!undo->created)
		return kern_map_update(fd, key, &undo->before, BPF_F_LOCK);
	if ((err = kern_map_delete(fd, key)) && err != -ENOENT)
		return err;
	/* owners[] is open-addressed with count 0 as a free slot: lowering a
	 * count to 0 could hide another owner's slot behind it. Recount. */
	if (owned(key))
		counted_map = 0;
	return 0;
}

struct prune_ctx {
	int fd;
	unsigned long long now_ns;
	int expired;
};

/* Expired budgets go; the ones kept (or unreadable) are counted per owner. */
static bool expired(const void *k, void *ctx)
{
	const struct mcpf_rate_key *key = k;
	struct prune_ctx *p = ctx;
	struct mcpf_rate_state state;

	if (kern_map_lookup_locked(p->fd, key, &state) || p->now_ns < state.window_start_ns + state.window_ns) {
		if (owned(key))
			owner_of(key)->count++;
		return false;
	}
	p->expired++;
	return true;
}

int rate_prune(int fd, unsigned long long now_ns)
{
	struct prune_ctx p = { .fd = fd, .now_ns = now_ns };
	int err;

	memset(owners, 0, sizeof(owners));
	counted_map = 0;
	if ((err = kern_map_prune(fd, sizeof(struct mcpf_rate_key), expired, &p)))
		return err;
	counted_map = kern_map_id(fd);
	return p.expired;
}
