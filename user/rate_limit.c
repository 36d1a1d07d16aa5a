/* Rate-limit budgets: fixed windows in the pinned rate_state map. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

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
	if (bpf_map_lookup_elem_flags(fd, key, state, BPF_F_LOCK)) {
		memset(state, 0, sizeof(*state));
		return errno == ENOENT ? 0 : -errno;
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

int rate_consume(int fd, const struct mcpf_rate_key *key, const struct mcpf_limit *limit,
		 unsigned long long now_ns)
{
	struct mcpf_rate_state state;
	int open = current(fd, key, limit, now_ns, &state);

	if (open < 0)
		return open;
	if (open) {
		state.count++;
	} else {
		state.count = 1;
		state.window_start_ns = now_ns;
	}
	state.window_ns = limit->window_ns;
	state.max = limit->max;
	return bpf_map_update_elem(fd, key, &state, BPF_F_LOCK) ? -errno : 0;
}

int rate_prune(int fd, unsigned long long now_ns)
{
	struct mcpf_rate_key key, next, *doomed = NULL;
	struct mcpf_rate_state state;
	size_t n = 0;
	int err = 0;
	void *prev = NULL;

	/* Collect first: deleting while walking a hash can restart the walk. */
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem_flags(fd, &key, &state, BPF_F_LOCK) ||
		    now_ns < state.window_start_ns + state.window_ns)
			continue;
		doomed = reallocarray(doomed, n + 1, sizeof(*doomed));
		if (!doomed)
			abort();
		doomed[n++] = key;
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, &doomed[i]) && errno != ENOENT)
			err = -errno;
	free(doomed);
	return err ? err : (int)n;
}
