/* Server entry per connection, and the endpoints to intercept; see
 * policy_scope.h. */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acct.h"
#include "enforce.h"
#include "log.h"
#include "policy.h"
#include "policy_compile.h"
#include "policy_scope.h"

static void *dup_array(const void *src, size_t n, size_t size, bool *oom)
{
	void *p;

	if (!n)
		return NULL;
	p = malloc(n * size);
	if (!p)
		*oom = true;
	else
		memcpy(p, src, n * size);
	return p;
}

static const struct scope_host *find_host(const struct policy_scopes *s, const char *host, unsigned short port)
{
	for (size_t i = 0; s && i < s->n_servers; i++)
		for (size_t h = 0; h < s->servers[i].n_hosts; h++)
			if (s->servers[i].hosts[h].port == port && !strcasecmp(s->servers[i].hosts[h].host, host))
				return &s->servers[i].hosts[h];
	return NULL;
}

/* Unique for the daemon's life: a table freed and another allocated at
 * its address still differ. */
static unsigned long long next_epoch(void)
{
	static unsigned long long epoch;

	return ++epoch;
}

struct policy_scopes *policy_scopes_new(const struct policy *policy, const struct policy_scopes *prev)
{
	struct policy_scopes *s = calloc(1, sizeof(*s));
	bool oom = !s;

	if (s)
		s->epoch = next_epoch();

	if (s)
		s->servers = calloc(policy->n_servers ? policy->n_servers : 1, sizeof(*s->servers));
	oom |= s && !s->servers;
	for (size_t i = 0; !oom && i < policy->n_servers; i++) {
		const struct policy_server *ps = &policy->servers[i];
		struct scope_server *ss = &s->servers[s->n_servers++];

		memcpy(ss->name, ps->name, sizeof(ss->name));
		ss->endpoints = dup_array(ps->endpoints, ps->n_endpoints, sizeof(*ps->endpoints), &oom);
		ss->n_endpoints = oom ? 0 : ps->n_endpoints;
		ss->agents = ps->n_agents ? calloc(ps->n_agents, sizeof(char *)) : NULL;
		oom |= ps->n_agents && !ss->agents;
		for (size_t a = 0; !oom && a < ps->n_agents; a++) {
			ss->agents[a] = strdup(ps->agents[a]);
			oom |= !ss->agents[a];
			ss->n_agents += !oom;
		}
		ss->hosts = ps->n_hostnames ? calloc(ps->n_hostnames, sizeof(*ss->hosts)) : NULL;
		oom |= ps->n_hostnames && !ss->hosts;
		for (size_t h = 0; !oom && h < ps->n_hostnames; h++) {
			struct scope_host *sh = &ss->hosts[ss->n_hosts++];
			const struct scope_host *old = find_host(prev, ps->hostnames[h].host, ps->hostnames[h].port);

			memcpy(sh->host, ps->hostnames[h].host, sizeof(sh->host));
			sh->port = ps->hostnames[h].port;
			if (old) {
				sh->addrs = dup_array(old->addrs, old->n_addrs, sizeof(*old->addrs), &oom);
				sh->n_addrs = oom ? 0 : old->n_addrs;
			}
		}
	}
	if (oom) {
		policy_scopes_free(s);
		return NULL;
	}
	return s;
}

void policy_scopes_free(struct policy_scopes *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_servers; i++) {
		struct scope_server *ss = &s->servers[i];

		for (size_t a = 0; a < ss->n_agents; a++)
			free(ss->agents[a]);
		for (size_t h = 0; h < ss->n_hosts; h++)
			free(ss->hosts[h].addrs);
		free(ss->agents);
		free(ss->hosts);
		free(ss->endpoints);
	}
	free(s->servers);
	free(s);
}

static bool same_set(const struct mcpf_endpoint *a, size_t na, const struct mcpf_endpoint *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		bool found = false;

		for (size_t j = 0; j < nb && !found; j++)
			found = !memcmp(&a[i], &b[j], sizeof(*a));
		if (!found)
			return false;
	}
	return true;
}

int policy_scopes_set_addrs(struct policy_scopes *s, const char *host, unsigned short port,
			    const struct mcpf_endpoint *addrs, size_t n)
{
	int changed = 0;

	for (size_t i = 0; s && i < s->n_servers; i++)
		for (size_t h = 0; h < s->servers[i].n_hosts; h++) {
			struct scope_host *sh = &s->servers[i].hosts[h];
			bool oom = false;
			struct mcpf_endpoint *copy;

			if (sh->port != port || strcasecmp(sh->host, host) || same_set(sh->addrs, sh->n_addrs, addrs, n))
				continue;
			copy = dup_array(addrs, n, sizeof(*addrs), &oom);
			if (oom)
				return -ENOMEM;
			free(sh->addrs);
			sh->addrs = copy;
			sh->n_addrs = n;
			changed = 1;
		}
	if (changed)
		s->epoch = next_epoch();
	return changed;
}

static bool server_has(const struct scope_server *ss, const struct mcpf_endpoint *ep)
{
	for (size_t e = 0; e < ss->n_endpoints; e++)
		if (!memcmp(&ss->endpoints[e], ep, sizeof(*ep)))
			return true;
	for (size_t h = 0; h < ss->n_hosts; h++)
		for (size_t a = 0; a < ss->hosts[h].n_addrs; a++)
			if (!memcmp(&ss->hosts[h].addrs[a], ep, sizeof(*ep)))
				return true;
	return false;
}

bool policy_scopes_scoped(const struct policy_scopes *s, const struct mcpf_endpoint *endpoint)
{
	for (size_t i = 0; s && i < s->n_servers; i++)
		if (s->servers[i].n_agents && server_has(&s->servers[i], endpoint))
			return true;
	return false;
}

bool policy_agent_covers(const char *pattern, const char *path)
{
	char p[PATH_MAX];
	char *slash;

	if (strlen(path) >= sizeof(p))
		return false;
	strcpy(p, path);
	for (;;) {
		if (!fnmatch(pattern, p, FNM_PATHNAME))
			return true;
		if (!(slash = strrchr(p, '/')))
			return false;
		*slash = '\0';  /* the parent's path */
	}
}

int policy_scopes_server(const struct policy_scopes *s, const struct mcpf_endpoint *endpoint,
			 const char *cgroup_path, char server[MCPF_NAME_LEN])
{
	const struct scope_server *unscoped = NULL;

	for (size_t i = 0; s && i < s->n_servers; i++) {
		const struct scope_server *ss = &s->servers[i];

		if (!server_has(ss, endpoint))
			continue;
		if (!ss->n_agents) {
			unscoped = unscoped ? unscoped : ss;
			continue;
		}
		for (size_t a = 0; cgroup_path && a < ss->n_agents; a++)
			if (policy_agent_covers(ss->agents[a], cgroup_path)) {
				memcpy(server, ss->name, MCPF_NAME_LEN);
				return 0;
			}
	}
	if (unscoped) {
		memcpy(server, unscoped->name, MCPF_NAME_LEN);
		return 0;
	}
	memset(server, 0, MCPF_NAME_LEN);
	return -ENOENT;
}

void policy_scopes_each_endpoint(const struct policy_scopes *s,
				 void (*fn)(void *ctx, const struct mcpf_endpoint *ep, const char *server),
				 void *ctx)
{
	/* the name the kernel records is what a connection keeps when nothing
	 * else is known: the unscoped server's, when there is one */
	for (int pass = 0; s && pass < 2; pass++)
		for (size_t i = 0; i < s->n_servers; i++) {
			const struct scope_server *ss = &s->servers[i];

			if ((pass == 0) != (ss->n_agents == 0))
				continue;
			for (size_t e = 0; e < ss->n_endpoints; e++)
				fn(ctx, &ss->endpoints[e], ss->name);
			for (size_t h = 0; h < ss->n_hosts; h++)
				for (size_t a = 0; a < ss->hosts[h].n_addrs; a++)
					fn(ctx, &ss->hosts[h].addrs[a], ss->name);
		}
}

void policy_scope_assign(const struct enforce *enf, struct mcpf_conn *origin)
{
	const struct policy_scopes *s = enf->policy->scopes;
	char path[PATH_MAX];
	const char *rel = NULL;

	if (!s)
		return;  /* no policy activated yet: keep what the kernel recorded */
	if (policy_scopes_scoped(s, &origin->target)) {
		/* A scope may cover an agent whose cgroup cannot be named (gone
		 * before this accept: an agent can rmdir a delegated cgroup it
		 * left): refused, never handed to the unscoped entry. */
		if (acct_cgroup_path(enf->acct, origin->cgroup_id, path, sizeof(path))) {
			memset(origin->server, 0, sizeof(origin->server));
			log_info("agent pid=%u: its cgroup cannot be named and a scope may cover it at this "
				 "endpoint; its requests are refused", origin->pid);
			return;
		}
		for (rel = path; *rel == '/'; rel++)
			;
	}
	if (policy_scopes_server(s, &origin->target, rel, origin->server))
		log_info("agent pid=%u cgroup=%s: no server of the policy covers it at this endpoint; "
			 "its requests are refused", origin->pid, rel ? rel : "(unknown)");
}

unsigned long long policy_scope_epoch(const struct enforce *enf)
{
	return enf->policy->scopes ? enf->policy->scopes->epoch : 0;
}
