/* Policy files: parse with cJSON, validate everything, report every
 * problem, and produce the map-layout policy the compiler writes out.
 * Out of memory aborts: a half-validated policy is never an option. */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "common.h"
#include "endpoint.h"
#include "json_number.h"
#include "linregex.h"
#include "mcp_method.h"
#include "mcp_uri.h"
#include "policy.h"
#include "tool_class.h"

/* A host name can resolve to several addresses: all are intercepted. */
#define MAX_ADDRS_PER_ENDPOINT 64

#define FIELD_LEN 1024
#define MAX_WINDOW_SECONDS 0xffffffffULL

/* A counter name's first definition: later ones must agree with it,
 * because every limit naming the counter shares its window. */
struct counter_def {
	char name[MCPF_COUNTER_LEN];
	unsigned long long window_ns;
	unsigned int scope;
	char field[FIELD_LEN];
};

/* Who claimed an endpoint (an address, or a host name and port) first. */
struct endpoint_owner {
	struct mcpf_endpoint ep;
	char host[256];                  /* "" for an address */
	const struct policy_server *server;
};

struct loader {
	const char *file;
	struct policy_errors *errs;
	struct policy *policy;
	struct counter_def *counters;
	size_t n_counters;
	struct endpoint_owner *owners;
	size_t n_owners;
};

static const char *const op_names[] = {
	[MCPF_OP_EQ] = "eq", [MCPF_OP_NEQ] = "neq", [MCPF_OP_IN] = "in",
	[MCPF_OP_NOT_IN] = "not_in", [MCPF_OP_LT] = "lt", [MCPF_OP_LTE] = "lte",
	[MCPF_OP_GT] = "gt", [MCPF_OP_GTE] = "gte", [MCPF_OP_REGEX] = "regex",
	[MCPF_OP_CONTAINS] = "contains", [MCPF_OP_EXISTS] = "exists",
};

static const char *const scope_names[] = {
	[MCPF_SCOPE_GRANT] = "grant", [MCPF_SCOPE_AGENT] = "agent",
	[MCPF_SCOPE_SESSION] = "session", [MCPF_SCOPE_GLOBAL] = "global",
};

static const char *const reserved_prefixes[] = {
	POLICY_METHOD_PREFIX, POLICY_PROMPT_PREFIX, POLICY_URI_PREFIX, POLICY_CLASS_PREFIX, NULL,
};

int policy_name_reserved(const char *name)
{
	for (const char *const *p = reserved_prefixes; *p; p++)
		if (!strncmp(name, *p, strlen(*p)))
			return 1;
	return 0;
}

const char *policy_op_name(unsigned int op)
{
	return op > 0 && op < ARRAY_SIZE(op_names) ? op_names[op] : "?";
}

const char *policy_scope_name(unsigned int scope)
{
	return scope < ARRAY_SIZE(scope_names) ? scope_names[scope] : "?";
}

static void *xrealloc(void *p, size_t n, size_t size)
{
	p = reallocarray(p, n ? n : 1, size);
	if (!p)
		abort();
	return p;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		abort();
	return p;
}

static void fail(struct loader *l, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct loader *l, const char *field, const char *fmt, ...)
{
	char msg[FIELD_LEN];
	char *line;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (asprintf(&line, *field ? "%s:%s: %s" : "%s%s: %s", l->file, field, msg) < 0)
		abort();
	l->errs->line = xrealloc(l->errs->line, l->errs->n + 1, sizeof(char *));
	l->errs->line[l->errs->n++] = line;
}

static bool is_ident(const char *s)
{
	if (!*s || isdigit((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '*')
			return false;
	return true;
}

void policy_field_key(char *out, size_t size, const char *parent, const char *key)
{
	if (is_ident(key)) {
		/* decide() names two entries per call: no snprintf */
		size_t n = strnlen(parent, size - 1), k;

		memcpy(out, parent, n);
		if (*parent && n < size - 1)
			out[n++] = '.';
		k = strnlen(key, size - 1 - n);
		memcpy(out + n, key, k);
		out[n + k] = '\0';
	} else
		snprintf(out, size, "%s[\"%s\"]", parent, key);
}

static void field_key(char *out, const char *parent, const char *key)
{
	policy_field_key(out, FIELD_LEN, parent, key);
}

static void field_index(char *out, const char *parent, size_t i)
{
	const size_t room = sizeof("[18446744073709551615]");
	size_t len = strnlen(parent, FIELD_LEN - room);

	memmove(out, parent, len);
	snprintf(out + len, room, "[%zu]", i);
}

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

/* Checks that obj is an object without duplicate keys and, when keys is
 * given, without keys outside it. */
struct named_child {
	const char *name;
	size_t pos;
};

static int by_name_then_pos(const void *a, const void *b)
{
	const struct named_child *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

static bool check_object(struct loader *l, const cJSON *obj, const char *field,
			 const char *const *keys)
{
	char f[FIELD_LEN];

	if (!cJSON_IsObject(obj)) {
		fail(l, field, "must be an object");
		return false;
	}
	struct named_child *sorted;
	size_t n = 0, i = 0;
	const cJSON *c;
	bool *dup;

	for (c = obj->child; c; c = c->next)
		n++;
	/* a policy may name 100,000 tools: find repeats by sorting, not by
	 * comparing every pair; report them in document order all the same */
	sorted = malloc(n * sizeof(*sorted) + 1);
	dup = calloc(n + 1, sizeof(*dup));
	if (!sorted || !dup) {
		free(sorted);
		free(dup);
		fail(l, field, "out of memory");
		return false;
	}
	for (c = obj->child; c; c = c->next, i++)
		sorted[i] = (struct named_child){ c->string, i };
	qsort(sorted, n, sizeof(*sorted), by_name_then_pos);
	for (i = 1; i < n; i++)
		if (!strcmp(sorted[i].name, sorted[i - 1].name))
			dup[sorted[i].pos] = true;
	for (c = obj->child, i = 0; c; c = c->next, i++) {
		field_key(f, field, c->string);
		if (dup[i])
			fail(l, f, "duplicate key");
		if (keys && !in_list(keys, c->string))
			fail(l, f, "unknown key");
	}
	free(sorted);
	free(dup);
	return true;
}

static const cJSON *member(const cJSON *obj, const char *key, char *field, const char *parent)
{
	field_key(field, parent, key);
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static const cJSON *required(struct loader *l, const cJSON *obj, const char *key,
			     char *field, const char *parent)
{
	const cJSON *item = member(obj, key, field, parent);

	if (!item)
		fail(l, field, "missing");
	return item;
}

/* Copies a name into a fixed map field, or says why it does not fit. */
static bool copy_name(struct loader *l, const char *field, const char *name,
		      char *dst, size_t size)
{
	size_t len = strlen(name);

	if (!len) {
		fail(l, field, "empty name");
		return false;
	}
	if (len >= size) {
		fail(l, field, "name longer than %zu bytes", size - 1);
		return false;
	}
	memcpy(dst, name, len + 1);
	return true;
}

static const char *string_of(struct loader *l, const cJSON *item, const char *field)
{
	if (!cJSON_IsString(item)) {
		fail(l, field, "must be a string");
		return NULL;
	}
	return item->valuestring;
}

static bool positive_integer(struct loader *l, const cJSON *item, const char *field,
			     unsigned long long max, unsigned long long *out)
{
	double v = cJSON_IsNumber(item) ? item->valuedouble : 0;

	if (!cJSON_IsNumber(item) || v < 1 || v > (double)max ||
	    (double)(unsigned long long)v != v) {
		fail(l, field, "must be a positive integer (at most %llu)", max);
		return false;
	}
	*out = (unsigned long long)v;
	return true;
}

static bool parse_action(struct loader *l, const cJSON *item, const char *field,
			 enum mcpf_action *out)
{
	if (cJSON_IsString(item) && !strcmp(item->valuestring, "allow"))
		*out = MCPF_ACTION_ALLOW;
	else if (cJSON_IsString(item) && !strcmp(item->valuestring, "deny"))
		*out = MCPF_ACTION_DENY;
	else {
		fail(l, field, "must be \"allow\" or \"deny\"");
		return false;
	}
	return true;
}

static void check_version(struct loader *l, const cJSON *item, const char *field)
{
	if (!cJSON_IsString(item) || strcmp(item->valuestring, "1"))
		fail(l, field, "must be \"1\"");
}

/* ---- agents and endpoints ---- */

#define AGENT_PATTERN_MAX 512

/* A glob (fnmatch with FNM_PATHNAME) as tokens: a byte; one byte but '/'
 * ('?', and a [...] class, taken as any byte but '/': that can only make
 * two globs look more alike); any run of bytes but '/' ('*'); and, for
 * the descendants an agents pattern also covers, any run of bytes (SEQ). */
enum glob_tok { GLOB_BYTE, GLOB_ANY, GLOB_STAR, GLOB_SEQ };

struct glob_token {
	enum glob_tok kind;
	unsigned char byte;
};

/* Tokens of g, plus "/" SEQ when descendants is set. */
static size_t glob_tokens(const char *g, bool descendants, struct glob_token *out)
{
	size_t n = 0;

	for (; *g; g++, n++) {
		if (*g == '*') {
			out[n].kind = GLOB_STAR;
		} else if (*g == '?') {
			out[n].kind = GLOB_ANY;
		} else if (*g == '[' && g[1] && strchr(g + 2, ']')) {
			out[n].kind = GLOB_ANY;
			g = strchr(g + 2, ']');  /* "[]...]" keeps its first ']' */
		} else {
			if (*g == '\\' && g[1])
				g++;
			out[n].kind = GLOB_BYTE;
			out[n].byte = (unsigned char)*g;
		}
	}
	if (descendants) {
		out[n++] = (struct glob_token){ GLOB_BYTE, '/' };
		out[n++] = (struct glob_token){ GLOB_SEQ, 0 };
	}
	return n;
}

static bool repeats(const struct glob_token *t)
{
	return t->kind == GLOB_STAR || t->kind == GLOB_SEQ;
}

/* Is there a byte both tokens can consume? */
static bool tokens_meet(const struct glob_token *x, const struct glob_token *y)
{
	if (x->kind == GLOB_BYTE && y->kind == GLOB_BYTE)
		return x->byte == y->byte;
	if (x->kind == GLOB_BYTE)
		return y->kind == GLOB_SEQ || x->byte != '/';
	if (y->kind == GLOB_BYTE)
		return x->kind == GLOB_SEQ || y->byte != '/';
	return true;
}

/* Can one string match both token lists? Reachability over pairs of
 * positions: a repeating token may be left, or consume a byte together
 * with the other side; both lists done together is a common match. */
static bool tokens_overlap(const struct glob_token *a, size_t na, const struct glob_token *b, size_t nb)
{
	size_t w = nb + 1, top = 0;
	bool *seen = xcalloc((na + 1) * w, sizeof(bool));
	size_t *stack = xcalloc((na + 1) * w, sizeof(size_t));
	bool found = false;

#define VISIT(i, j) do { if (!seen[(i) * w + (j)]) { seen[(i) * w + (j)] = true; stack[top++] = (i) * w + (j); } } while (0)
	VISIT(0, 0);
	while (top && !found) {
		size_t at = stack[--top], i = at / w, j = at % w;

		if (i == na && j == nb) {
			found = true;
			break;
		}
		if (i < na && repeats(&a[i]))
			VISIT(i + 1, j);
		if (j < nb && repeats(&b[j]))
			VISIT(i, j + 1);
		if (i == na || j == nb || !tokens_meet(&a[i], &b[j]) || (repeats(&a[i]) && repeats(&b[j])))
			continue;
		VISIT(repeats(&a[i]) ? i : i + 1, repeats(&b[j]) ? j : j + 1);
	}
#undef VISIT
	free(seen);
	free(stack);
	return found;
}

/* Can one cgroup be covered by both agents patterns? A pattern covers a
 * cgroup whose path, or an ancestor's, it matches; so either both match
 * the same path, or one matches a path below what the other matches. */
static bool globs_overlap(const char *ga, const char *gb)
{
	struct glob_token a[AGENT_PATTERN_MAX + 2], b[AGENT_PATTERN_MAX + 2], ad[AGENT_PATTERN_MAX + 2],
		bd[AGENT_PATTERN_MAX + 2];
	size_t na = glob_tokens(ga, false, a), nb = glob_tokens(gb, false, b);
	size_t nad = glob_tokens(ga, true, ad), nbd = glob_tokens(gb, true, bd);

	return tokens_overlap(a, na, b, nb) || tokens_overlap(ad, nad, b, nb) || tokens_overlap(a, na, bd, nbd);
}

/* Two servers may share an endpoint when at most one of them is unscoped
 * (it takes the agents no scope matches) and no cgroup path can match
 * both scopes. False when they may, else true with the clash in why. */
static bool scopes_clash(const struct policy_server *x, const struct policy_server *y,
			 char *why, size_t len)
{
	if (!x->n_agents && !y->n_agents) {
		snprintf(why, len, "neither has \"agents\"");
		return true;
	}
	for (size_t i = 0; i < x->n_agents; i++)
		for (size_t j = 0; j < y->n_agents; j++)
			if (globs_overlap(x->agents[i], y->agents[j])) {
				snprintf(why, len, "agents \"%s\" and \"%s\" may match the same cgroup",
					 x->agents[i], y->agents[j]);
				return true;
			}
	return false;
}

static bool claim(struct loader *l, struct policy_server *s, const char *field,
		  const struct mcpf_endpoint *ep, const char *host)
{
	char text[ENDPOINT_STRLEN + 256], why[512];
	bool ok = true;

	if (*host)
		snprintf(text, sizeof(text), "%s:%u", host, ep->port);
	else
		endpoint_str(ep, text);
	for (size_t i = 0; i < l->n_owners; i++) {
		const struct endpoint_owner *o = &l->owners[i];

		if (o->server == s || strcasecmp(o->host, host) || memcmp(&o->ep, ep, sizeof(*ep)))
			continue;
		if (scopes_clash(o->server, s, why, sizeof(why))) {
			fail(l, field, "%s is also an endpoint of server \"%s\": %s", text, o->server->name, why);
			ok = false;
		}
	}
	l->owners = xrealloc(l->owners, l->n_owners + 1, sizeof(*l->owners));
	l->owners[l->n_owners] = (struct endpoint_owner){ .ep = *ep, .server = s };
	snprintf(l->owners[l->n_owners++].host, sizeof(l->owners[0].host), "%s", host);
	return ok;
}

static void add_endpoint(struct loader *l, struct policy_server *s, const char *field,
			 const struct mcpf_endpoint *ep)
{
	for (size_t i = 0; i < s->n_endpoints; i++)
		if (!memcmp(&s->endpoints[i], ep, sizeof(*ep)))
			return;
	if (!claim(l, s, field, ep, ""))
		return;
	s->endpoints = xrealloc(s->endpoints, s->n_endpoints + 1, sizeof(*ep));
	s->endpoints[s->n_endpoints++] = *ep;
}

static void add_hostname(struct loader *l, struct policy_server *s, const char *field,
			 const char *host, unsigned short port)
{
	struct mcpf_endpoint ep = { .port = port };
	struct policy_hostname *h;

	for (size_t i = 0; i < s->n_hostnames; i++)
		if (s->hostnames[i].port == port && !strcasecmp(s->hostnames[i].host, host))
			return;
	if (!claim(l, s, field, &ep, host))
		return;
	s->hostnames = xrealloc(s->hostnames, s->n_hostnames + 1, sizeof(*s->hostnames));
	h = &s->hostnames[s->n_hostnames++];
	snprintf(h->host, sizeof(h->host), "%s", host);
	h->port = port;
}

/* Addresses are taken as written; a host name is kept as a name, for the
 * daemon to resolve (and keep resolving) without holding up the load. */
static void load_endpoint(struct loader *l, struct policy_server *s, const char *field,
			  const char *text)
{
	struct mcpf_endpoint ep;
	char err[512], host[256];
	int rc = endpoint_split(text, &ep, host, sizeof(host), err, sizeof(err));

	if (rc < 0)
		fail(l, field, "%s", err);
	else if (rc == 1)
		add_endpoint(l, s, field, &ep);
	else
		add_hostname(l, s, field, host, ep.port);
}

static void load_agents(struct loader *l, const cJSON *item, const char *field, struct policy_server *s)
{
	char e[FIELD_LEN];
	size_t i = 0;

	if (!cJSON_IsArray(item) || !item->child) {
		fail(l, field, "must be a non-empty array of cgroup path patterns (leave it out for every agent)");
		return;
	}
	s->agents = xcalloc(cJSON_GetArraySize(item), sizeof(*s->agents));
	for (const cJSON *a = item->child; a; a = a->next, i++) {
		const char *text;

		field_index(e, field, i);
		if (!(text = string_of(l, a, e)))
			continue;
		while (*text == '/')
			text++;  /* relative to the cgroup2 root either way */
		if (!*text || strlen(text) >= AGENT_PATTERN_MAX) {
			fail(l, e, "must be a cgroup path pattern such as \"kubepods.slice/*pod1234*\"");
			continue;
		}
		s->agents[s->n_agents] = strdup(text);
		if (!s->agents[s->n_agents++])
			abort();
	}
}

/* ---- limits ---- */

static void record_counter(struct loader *l, const char *field, const struct mcpf_limit *lim)
{
	for (size_t i = 0; i < l->n_counters; i++) {
		struct counter_def *d = &l->counters[i];

		if (strcmp(d->name, lim->counter))
			continue;
		if (d->window_ns != lim->window_ns || d->scope != lim->scope)
			fail(l, field, "counter \"%s\" is defined with another window or scope at %s",
			     lim->counter, d->field);
		return;
	}
	l->counters = xrealloc(l->counters, l->n_counters + 1, sizeof(*l->counters));
	strcpy(l->counters[l->n_counters].name, lim->counter);
	l->counters[l->n_counters].window_ns = lim->window_ns;
	l->counters[l->n_counters].scope = lim->scope;
	snprintf(l->counters[l->n_counters].field, FIELD_LEN, "%s", field);
	l->n_counters++;
}

static bool parse_window(struct loader *l, const cJSON *item, const char *field,
			 unsigned long long *ns)
{
	static const struct { const char *name; unsigned long long seconds; } units[] = {
		{ "second", 1 }, { "minute", 60 }, { "hour", 3600 }, { "day", 86400 },
	};
	unsigned long long seconds;

	if (cJSON_IsString(item)) {
		for (size_t i = 0; i < ARRAY_SIZE(units); i++)
			if (!strcmp(item->valuestring, units[i].name)) {
				*ns = units[i].seconds * NS_PER_SEC;
				return true;
			}
		fail(l, field, "unknown window \"%s\" (second, minute, hour, day or a number of seconds)",
		     item->valuestring);
		return false;
	}
	if (!positive_integer(l, item, field, MAX_WINDOW_SECONDS, &seconds))
		return false;
	*ns = seconds * NS_PER_SEC;
	return true;
}

static bool valid_counter_name(const char *s)
{
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	return true;
}

static void load_limit(struct loader *l, const cJSON *j, const char *field, struct mcpf_limit *lim)
{
	static const char *const keys[] = { "counter", "window", "max", "scope", NULL };
	char f[FIELD_LEN];
	const cJSON *item;
	unsigned long long max;
	const char *s;
	bool ok = true;

	if (!check_object(l, j, field, keys))
		return;
	if ((item = required(l, j, "counter", f, field)) && (s = string_of(l, item, f))) {
		if (!copy_name(l, f, s, lim->counter, sizeof(lim->counter)))
			ok = false;
		else if (!valid_counter_name(s)) {
			fail(l, f, "counter names are letters, digits, '_', '.' and '-'");
			ok = false;
		}
	} else
		ok = false;
	if (!(item = required(l, j, "window", f, field)) || !parse_window(l, item, f, &lim->window_ns))
		ok = false;
	if ((item = required(l, j, "max", f, field)) && positive_integer(l, item, f, 0xffffffffULL, &max))
		lim->max = max;
	else
		ok = false;
	lim->scope = MCPF_SCOPE_GRANT;
	if ((item = member(j, "scope", f, field))) {
		size_t i, n = ARRAY_SIZE(scope_names);

		for (i = 0; i < n && !(cJSON_IsString(item) && !strcmp(item->valuestring, scope_names[i])); i++)
			;
		if (i == n) {
			fail(l, f, "unknown scope %s%s%s (grant, agent, session, global)",
			     cJSON_IsString(item) ? "\"" : "",
			     cJSON_IsString(item) ? item->valuestring : "(not a string)",
			     cJSON_IsString(item) ? "\"" : "");
			ok = false;
		} else
			lim->scope = i;
	}
	if (ok)
		record_counter(l, field, lim);
}

static void load_rate_limit(struct loader *l, const cJSON *j, const char *field,
			    const char *tool, struct mcpf_limit *lim)
{
	static const char *const keys[] = { "max", "window", NULL };
	char f[FIELD_LEN];
	const cJSON *item;
	unsigned long long v;

	if (!check_object(l, j, field, keys))
		return;
	/* Its own counter per tool; ':' keeps it apart from named counters. */
	_Static_assert(MCPF_COUNTER_LEN >= sizeof("rate_limit:") + MCPF_NAME_LEN - 1, "counter fits");
	memcpy(lim->counter, "rate_limit:", strlen("rate_limit:"));
	memcpy(lim->counter + strlen("rate_limit:"), tool, strlen(tool) + 1);
	lim->scope = MCPF_SCOPE_GRANT;
	lim->shorthand = 1;
	if ((item = required(l, j, "max", f, field)) && positive_integer(l, item, f, 0xffffffffULL, &v))
		lim->max = v;
	if ((item = required(l, j, "window", f, field)) &&
	    positive_integer(l, item, f, MAX_WINDOW_SECONDS, &v))
		lim->window_ns = v * NS_PER_SEC;
}

/* ---- conditions ---- */

static bool valid_path(const char *p)
{
	if (strncmp(p, "args.", 5))
		return false;
	for (p += 5;; p++) {
		const char *dot = strchr(p, '.');

		if (dot == p || !*p)
			return false;
		if (!dot)
			return true;
		p = dot;
	}
}


/* A bound far above what a real argument check needs ("^/srv/[a-z0-9]{1,64}$" is
 * about 70). It also bounds TRE's compiling (linregex.h), whose transitions
 * can grow as the square of the nodes: at this bound about 0.3 s and 100 MB
 * for a pattern linregex then refuses. */
#define REGEX_MAX_NODES 1024

/* About how many nodes glibc's regcomp builds for pattern: it copies the
 * subexpression under `+` (x+ is x x*) and under an interval (x{m,n} is m
 * to n copies), so nested repeats multiply ("(a{200}){200}") and one short
 * pattern can take gigabytes. A repeat of a repeat ("a**", "x+{2}") is
 * undefined in POSIX EREs and makes regcomp's closures explode (fuzz_policy:
 * seconds of CPU, gigabytes): counted as over the limit. Saturates just
 * above limit. */
static unsigned long regex_nodes(const char *p, unsigned long limit)
{
	unsigned long sum[32] = { 0 }, last = 0;
	bool repeated = false;  /* the previous token was a repeat */
	int depth = 0;

#define ADD(x) (sum[depth] = sum[depth] + (x) > limit ? limit + 1 : sum[depth] + (x))
#define MUL(a, b) ((a) * (b) > limit ? limit + 1 : (a) * (b))
	for (; *p; p++) {
		bool repeat = *p == '*' || *p == '+' || *p == '?' || *p == '{';
		unsigned long m, n;
		char *end;

		if (repeat && repeated)
			return limit + 1;
		repeated = repeat;
		switch (*p) {
		case '\\':
			if (p[1])
				p++;
			last = 1;
			ADD(1);
			break;
		case '[':  /* one node */
			if (!(p = linregex_bracket_end(p)))
				return limit + 1;  /* unbalanced: regcomp refuses it anyway */
			last = 1;
			ADD(1);
			break;
		case '(':
			if (++depth == 32)
				return limit + 1;
			sum[depth] = 0;
			break;
		case ')':
			if (depth == 0)
				return limit + 1;
			last = sum[depth] ? sum[depth] : 1;
			depth--;
			ADD(last);
			break;
		case '+':
			ADD(last);
			last = MUL(last, 2);
			break;
		case '{':
			m = strtoul(p + 1, &end, 10);
			n = *end == ',' ? (end[1] == '}' ? m + 1 : strtoul(end + 1, &end, 10)) : m;
			if (*end == ',')
				end++;
			if (*end != '}' || m > limit || n > limit)
				return limit + 1;
			n = n > m ? n : m;
			ADD(MUL(last, n ? n - 1 : 0));
			last = MUL(last, n ? n : 1);
			p = end;
			break;
		case '*': case '?':
			break;
		case '|': case '^': case '$':
			repeated = false;
			break;
		default:
			last = 1;
			ADD(1);
		}
		if (sum[depth] > limit)
			return limit + 1;
	}
#undef MUL
#undef ADD
	return sum[0];
}

/* An array whose elements are all null (none counts). */
static bool null_only(const cJSON *list)
{
	for (const cJSON *c = list->child; c; c = c->next)
		if (!cJSON_IsNull(c))
			return false;
	return true;
}

/* value as JSON with every number in its shortest exact text (cJSON
 * prints 0.10000000000000002 as 0.1: within its epsilon). */
static char *exact_text(const cJSON *value)
{
	cJSON *copy = cJSON_Duplicate(value, true);
	char *text;

	if (!copy || json_numbers_to_raw(copy))
		abort();
	text = cJSON_PrintUnformatted(copy);
	cJSON_Delete(copy);
	if (!text)
		abort();
	return text;
}

static void load_condition(struct loader *l, const cJSON *j, const char *field,
			   struct mcpf_policy_cond *c)
{
	static const char *const keys[] = { "path", "op", "value", NULL };
	char f[FIELD_LEN], vf[FIELD_LEN];
	const cJSON *item, *value;
	const char *s;
	char *text;
	size_t i, n = ARRAY_SIZE(op_names);

	if (!check_object(l, j, field, keys))
		return;
	if ((item = required(l, j, "path", f, field)) && (s = string_of(l, item, f))) {
		if (!valid_path(s))
			fail(l, f, "must be \"args.\" followed by dot-separated keys");
		else
			copy_name(l, f, s, c->path, sizeof(c->path));
	}
	value = member(j, "value", vf, field);
	if (!(item = required(l, j, "op", f, field)))
		return;
	for (i = 1; i < n && !(cJSON_IsString(item) && !strcmp(item->valuestring, op_names[i])); i++)
		;
	if (i == n) {
		fail(l, f, "unknown op %s%s%s (eq, neq, in, not_in, lt, lte, gt, gte, regex, contains, exists)",
		     cJSON_IsString(item) ? "\"" : "",
		     cJSON_IsString(item) ? item->valuestring : "(not a string)",
		     cJSON_IsString(item) ? "\"" : "");
		return;
	}
	c->op = i;
	if (!value) {
		if (c->op != MCPF_OP_EXISTS)
			fail(l, vf, "missing");
		return;
	}
	switch (c->op) {
	case MCPF_OP_NEQ:
		if (cJSON_IsNull(value))
			fail(l, vf, "neq null never holds: an argument of another type fails it "
			     "(use exists, or a value of the argument's type)");
		break;
	case MCPF_OP_EQ:
	case MCPF_OP_CONTAINS:
		break;  /* any JSON value */
	case MCPF_OP_IN:
	case MCPF_OP_NOT_IN:
		if (!cJSON_IsArray(value))
			fail(l, vf, "must be an array");
		else if (c->op == MCPF_OP_NOT_IN && null_only(value))
			fail(l, vf, "not_in a list of nulls never holds: an argument of another type fails "
			     "it (use exists, or values of the argument's type)");
		break;
	case MCPF_OP_LT:
	case MCPF_OP_LTE:
	case MCPF_OP_GT:
	case MCPF_OP_GTE:
		if (!cJSON_IsNumber(value))
			fail(l, vf, "must be a number");
		break;
	case MCPF_OP_EXISTS:
		if (!cJSON_IsBool(value))
			fail(l, vf, "must be true or false");
		break;
	case MCPF_OP_REGEX:
		if (!cJSON_IsString(value)) {
			fail(l, vf, "must be a string");
		} else {
			struct linregex *lre = NULL;
			regex_t re;
			char msg[256];
			int rc;

			if (regex_nodes(value->valuestring, REGEX_MAX_NODES) > REGEX_MAX_NODES) {
				fail(l, vf, "regex too costly to compile (a repeat of a repeat, or repeats multiplying to over %d nodes)",
				     REGEX_MAX_NODES);
				break;
			}
			/* glibc's parser defines the syntax (POSIX ERE, as before);
			 * the daemon matches with linregex, which refuses what it
			 * would read otherwise or match in more than linear time */
			rc = regcomp(&re, value->valuestring, REG_EXTENDED | REG_NOSUB);
			if (rc) {
				regerror(rc, &re, msg, sizeof(msg));
				fail(l, vf, "invalid regex: %s", msg);
				break;
			}
			regfree(&re);
			rc = linregex_compile(&lre, value->valuestring, 0, msg, sizeof(msg));
			if (rc == -EINVAL)
				fail(l, vf, "regex not supported: %s", msg);
			else if (rc)
				fail(l, vf, "regex: %s", strerror(-rc));
			linregex_free(lre);
		}
		break;
	}
	if (json_holds_inexact(value)) {
		fail(l, vf, "holds a number that cannot be compared exactly (2^53 or more, or more "
		     "digits than a double keeps): servers read the digits, the daemon a double");
		return;
	}
	text = exact_text(value);
	if (strlen(text) >= sizeof(c->value))
		fail(l, vf, "longer than %zu bytes as JSON", sizeof(c->value) - 1);
	else
		strcpy(c->value, text);
	cJSON_free(text);
}

/* ---- tools, servers ---- */

/* Keys of an entry: tools and prompts have arguments to put conditions
 * on; methods and resources do not. */
static const char *const entry_keys[] = { "action", "reason", "rate_limit", "limits", "conditions", NULL };
static const char *const entry_keys_no_args[] = { "action", "reason", "rate_limit", "limits", NULL };
static const char *const entry_keys_tools[] = { "action", "reason", "rate_limit", "limits", "conditions",
						"approval", NULL };

#define APPROVAL_MAX_SECONDS 86400u
#define APPROVAL_DEFAULT_TIMEOUT_S 120u

/* "90s", "2m", "1h" or a whole number of seconds, at most a day. */
static bool parse_duration(struct loader *l, const cJSON *item, const char *field, bool zero_ok,
			   unsigned int *out)
{
	unsigned long long v = 0, mult = 1;
	char *end = NULL;

	if (cJSON_IsNumber(item) && item->valuedouble >= 0 && item->valuedouble <= APPROVAL_MAX_SECONDS &&
	    (double)(unsigned long long)item->valuedouble == item->valuedouble) {
		v = (unsigned long long)item->valuedouble;
	} else if (cJSON_IsString(item) && isdigit((unsigned char)item->valuestring[0])) {
		v = strtoull(item->valuestring, &end, 10);
		mult = !strcmp(end, "s") || !*end ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 : 0;
	} else {
		mult = 0;
	}
	if (!mult || v > APPROVAL_MAX_SECONDS || v * mult > APPROVAL_MAX_SECONDS || (!zero_ok && !v)) {
		fail(l, field, "must be a duration like \"90s\", \"2m\" or \"1h\" (%s, at most 24h)",
		     zero_ok ? "0 for none" : "at least 1s");
		return false;
	}
	*out = (unsigned int)(v * mult);
	return true;
}

/* "approval": {"timeout": "2m", "remember": "10m", "via": ["elicitation", "operator"]} */
static void load_approval(struct loader *l, const cJSON *j, const char *field, struct mcpf_approval *a)
{
	static const char *const keys[] = { "timeout", "remember", "via", NULL };
	char f[FIELD_LEN], e[FIELD_LEN];
	const cJSON *item;
	int i = 0;

	if (!check_object(l, j, field, keys))
		return;
	if ((item = member(j, "timeout", f, field)))
		parse_duration(l, item, f, false, &a->timeout_s);
	if ((item = member(j, "remember", f, field)))
		parse_duration(l, item, f, true, &a->remember_s);
	if (!(item = member(j, "via", f, field)))
		return;
	if (!cJSON_IsArray(item) || !cJSON_GetArraySize(item)) {
		fail(l, f, "must be a non-empty array of \"elicitation\" and \"operator\"");
		return;
	}
	a->via = 0;
	for (const cJSON *v = item->child; v; v = v->next, i++) {
		field_index(e, f, i);
		if (cJSON_IsString(v) && !strcmp(v->valuestring, "elicitation"))
			a->via |= MCPF_VIA_ELICITATION;
		else if (cJSON_IsString(v) && !strcmp(v->valuestring, "operator"))
			a->via |= MCPF_VIA_OPERATOR;
		else
			fail(l, e, "must be \"elicitation\" or \"operator\"");
	}
}

static void load_tool(struct loader *l, const cJSON *j, const char *field, struct policy_tool *t,
		      const char *const *keys)
{
	char f[FIELD_LEN], e[FIELD_LEN];
	const cJSON *item, *rate, *limits;
	const char *s;
	int n;

	if (!check_object(l, j, field, keys))
		return;
	if ((item = member(j, "action", f, field))) {
		/* approve: only a tool call (a tool or its class) can be held for a human */
		bool is_approve = cJSON_IsString(item) && !strcmp(item->valuestring, "approve");

		if (keys == entry_keys_tools && is_approve) {
			t->rule.action = MCPF_ACTION_APPROVE;
			t->rule.approval = (struct mcpf_approval){ .timeout_s = APPROVAL_DEFAULT_TIMEOUT_S,
								   .via = MCPF_VIA_ELICITATION | MCPF_VIA_OPERATOR };
		} else if (is_approve) {
			fail(l, f, "\"approve\" applies to tools only: must be \"allow\" or \"deny\"");
		} else if (keys == entry_keys_tools && !(cJSON_IsString(item) && (!strcmp(item->valuestring, "allow") ||
										  !strcmp(item->valuestring, "deny")))) {
			fail(l, f, "must be \"allow\", \"deny\" or \"approve\"");
		} else {
			parse_action(l, item, f, &t->rule.action);
		}
	}
	if ((item = member(j, "approval", f, field))) {
		if (t->rule.action != MCPF_ACTION_APPROVE)
			fail(l, f, "only with \"action\": \"approve\"");
		else
			load_approval(l, item, f, &t->rule.approval);
	}
	if ((item = member(j, "reason", f, field)) && (s = string_of(l, item, f))) {
		if (strlen(s) >= sizeof(t->rule.reason))
			fail(l, f, "longer than %zu bytes", sizeof(t->rule.reason) - 1);
		else
			strcpy(t->rule.reason, s);
	}
	rate = member(j, "rate_limit", f, field);
	if (rate)
		load_rate_limit(l, rate, f, t->name, &t->rule.limit[t->rule.limits++]);
	if ((limits = member(j, "limits", f, field))) {
		if (!cJSON_IsArray(limits)) {
			fail(l, f, "must be an array");
		} else if ((n = cJSON_GetArraySize(limits)) + t->rule.limits > MCPF_TOOL_MAX_LIMITS) {
			fail(l, f, "at most %d limits per tool, rate_limit included (MCPF_TOOL_MAX_LIMITS)",
			     MCPF_TOOL_MAX_LIMITS);
		} else {
			for (int i = 0; i < n; i++) {
				struct mcpf_limit *lim = &t->rule.limit[t->rule.limits++];

				field_index(e, f, i);
				lim->index = i;
				load_limit(l, cJSON_GetArrayItem(limits, i), e, lim);
			}
		}
	}
	if ((item = member(j, "conditions", f, field))) {
		if (!cJSON_IsArray(item)) {
			fail(l, f, "must be an array");
		} else if ((n = cJSON_GetArraySize(item)) > MCPF_TOOL_MAX_CONDS) {
			fail(l, f, "at most %d conditions per tool (MCPF_TOOL_MAX_CONDS)", MCPF_TOOL_MAX_CONDS);
		} else if (n > 0) {
			t->cond = xcalloc(n, sizeof(*t->cond));
			for (int i = 0; i < n; i++) {
				field_index(e, f, i);
				load_condition(l, cJSON_GetArrayItem(item, i), e, &t->cond[i]);
			}
			t->rule.conditions = n;
		}
	}
}

static int tool_by_name(const void *a, const void *b)
{
	return strcmp(((const struct policy_tool *)a)->name, ((const struct policy_tool *)b)->name);
}

static int name_vs_tool(const void *key, const void *elem)
{
	return strcmp(key, ((const struct policy_tool *)elem)->name);
}

/* Tools [0, sorted) are in name order, the few after them (named only in
 * "hide") are not: a policy may list 100,000 tools. */
static struct policy_tool *find_tool(struct policy_server *s, size_t sorted, const char *name)
{
	struct policy_tool *t = bsearch(name, s->tools, sorted, sizeof(*s->tools), name_vs_tool);

	for (size_t i = sorted; !t && i < s->n_tools; i++)
		if (!strcmp(s->tools[i].name, name))
			t = &s->tools[i];
	return t;
}

/* One family of entries ("tools", "methods", "prompts", "resources"):
 * each becomes a tool-map entry named prefix + key. */
enum family_kind { FAMILY_TOOLS, FAMILY_METHODS, FAMILY_PROMPTS, FAMILY_RESOURCES, FAMILY_CLASSES };

struct family {
	enum family_kind kind;
	const char *key;
	const char *prefix;
	const char *const *entry_keys;
	const char *hide;              /* its "hide" list, if it has one */
	const char *noun;
};

static const struct family families[] = {
	{ FAMILY_TOOLS, "tools", "", entry_keys_tools, "hide", "tool" },
	{ FAMILY_METHODS, "methods", POLICY_METHOD_PREFIX, entry_keys_no_args, NULL, "method" },
	{ FAMILY_PROMPTS, "prompts", POLICY_PROMPT_PREFIX, entry_keys, "hide_prompts", "prompt" },
	{ FAMILY_RESOURCES, "resources", POLICY_URI_PREFIX, entry_keys_no_args, "hide_resources", "resource URI pattern" },
	{ FAMILY_CLASSES, "classes", POLICY_CLASS_PREFIX, entry_keys_tools, NULL, "class" },
};
#define N_FAMILIES ARRAY_SIZE(families)

/* The map name of an entry, or false after saying why it has none. */
static bool entry_name(struct loader *l, const struct family *fam, const char *field,
		       const char *name, char *out)
{
	size_t room = MCPF_NAME_LEN - 1 - strlen(fam->prefix);

	if (!*name) {
		fail(l, field, "empty name");
		return false;
	}
	if (strlen(name) > room) {
		fail(l, field, "name longer than %zu bytes", room);
		return false;
	}
	if (fam->kind == FAMILY_TOOLS && !strncmp(name, POLICY_CLASS_PREFIX, strlen(POLICY_CLASS_PREFIX))) {
		fail(l, field, "tool names cannot start with \"%s\" (rules by class go in \"classes\")",
		     POLICY_CLASS_PREFIX);
		return false;
	}
	if (fam->kind == FAMILY_TOOLS && policy_name_reserved(name)) {
		fail(l, field, "tool names cannot start with \"%s\", \"%s\" or \"%s\"",
		     POLICY_METHOD_PREFIX, POLICY_PROMPT_PREFIX, POLICY_URI_PREFIX);
		return false;
	}
	if (fam->kind == FAMILY_CLASSES && tool_category_parse(name) < 0) {
		fail(l, field, "unknown class \"%s\" (read, write, execute, financial, destructive)", name);
		return false;
	}
	if (fam->kind == FAMILY_METHODS) {
		if (!strcmp(name, "tools/call")) {
			fail(l, field, "tools/call is governed by \"tools\"");
			return false;
		}
		if (mcp_method_class(name) == MCP_METHOD_LIFECYCLE) {
			fail(l, field, "%s is always forwarded (lifecycle): it cannot have a rule", name);
			return false;
		}
	}
	snprintf(out, MCPF_NAME_LEN, "%s", fam->prefix);
	/* URI patterns in the form requests are matched in (mcp_uri.h); never longer */
	if (fam->kind == FAMILY_RESOURCES)
		return !mcp_uri_pattern_form(name, out + strlen(fam->prefix), MCPF_NAME_LEN - strlen(fam->prefix));
	snprintf(out + strlen(fam->prefix), MCPF_NAME_LEN - strlen(fam->prefix), "%s", name);
	return true;
}

/* Hidden names of one family ("hide", "hide_prompts", "hide_resources"). */
static void load_hide(struct loader *l, struct policy_server *s, const cJSON *hide, const char *field,
		      const struct family *fam, size_t sorted, bool star_ok)
{
	char e[FIELD_LEN], name[MCPF_NAME_LEN];
	const char *text;
	size_t i = 0;

	if (!cJSON_IsArray(hide)) {
		fail(l, field, "must be an array of %s names", fam->noun);
		return;
	}
	for (const cJSON *h = hide->child; h; h = h->next, i++) {
		struct policy_tool *pt;

		field_index(e, field, i);
		if (!(text = string_of(l, h, e)))
			continue;
		if (!star_ok && !strcmp(text, "*")) {
			fail(l, e, "\"*\" is not a %s name: list the %ss to hide", fam->noun, fam->noun);
			continue;
		}
		if (!entry_name(l, fam, e, text, name))
			continue;
		if (!(pt = find_tool(s, sorted, name))) {
			pt = &s->tools[s->n_tools++];
			strcpy(pt->name, name);
		}
		pt->rule.hidden = 1;
	}
}

/* "on_change": "log" (the default: drift is logged and counted) or
 * "deny"; true when s needs the POLICY_ON_CHANGE_ENTRY, written next. */
static bool load_on_change(struct loader *l, const cJSON *item, const char *field, struct policy_tool *t)
{
	if (cJSON_IsString(item) && !strcmp(item->valuestring, "log"))
		return false;
	if (!cJSON_IsString(item) || strcmp(item->valuestring, "deny")) {
		fail(l, field, "must be \"log\" or \"deny\"");
		return false;
	}
	strcpy(t->name, POLICY_ON_CHANGE_ENTRY);
	t->rule.action = MCPF_ACTION_DENY;
	return true;
}

static void load_server(struct loader *l, const cJSON *j, const char *field, struct policy_server *s)
{
	static const char *const keys[] = { "version", "endpoints", "agents", "default", "tools", "methods",
					    "prompts", "resources", "hide", "hide_prompts", "hide_resources",
					    "classes", "on_change", NULL };
	const size_t n_fam = N_FAMILIES;
	char f[FIELD_LEN], e[FIELD_LEN];
	const cJSON *item, *lists[N_FAMILIES], *hides[N_FAMILIES], *on_change;
	const char *text;
	size_t cap = 0, sorted;
	int i = 0;

	if (!check_object(l, j, field, keys))
		return;
	if ((item = member(j, "version", f, field)))
		check_version(l, item, f);
	if ((item = required(l, j, "default", f, field)))
		parse_action(l, item, f, &s->default_action);
	if ((item = member(j, "agents", f, field)))
		load_agents(l, item, f, s);
	if ((item = member(j, "endpoints", f, field))) {
		if (!cJSON_IsArray(item))
			fail(l, f, "must be an array of \"HOST:PORT\" strings");
		else
			for (const cJSON *ep = item->child; ep; ep = ep->next, i++) {
				field_index(e, f, i);
				if ((text = string_of(l, ep, e)))
					load_endpoint(l, s, e, text);
			}
	}
	for (size_t k = 0; k < n_fam; k++) {
		const char *hk = families[k].hide;

		lists[k] = member(j, families[k].key, f, field);
		if (lists[k] && !check_object(l, lists[k], f, NULL))
			lists[k] = NULL;
		hides[k] = hk ? cJSON_GetObjectItemCaseSensitive(j, hk) : NULL;
		cap += (lists[k] ? cJSON_GetArraySize(lists[k]) : 0) +
		       (cJSON_IsArray(hides[k]) ? cJSON_GetArraySize(hides[k]) : 0);
	}
	on_change = member(j, "on_change", e, field);
	s->tools = xcalloc(cap + 1, sizeof(*s->tools));  /* + the on_change entry */
	if (on_change && load_on_change(l, on_change, e, &s->tools[0]))
		s->n_tools++;  /* its name sorts with the class entries */
	for (size_t k = 0; k < n_fam; k++) {
		field_key(f, field, families[k].key);
		for (const cJSON *t = lists[k] ? lists[k]->child : NULL; t; t = t->next) {
			struct policy_tool *pt = &s->tools[s->n_tools];

			field_key(e, f, t->string);
			/* a repeated name was reported by check_object: the policy fails */
			if (!entry_name(l, &families[k], e, t->string, pt->name))
				continue;
			s->n_tools++;
			load_tool(l, t, e, pt, families[k].entry_keys);
		}
	}
	qsort(s->tools, s->n_tools, sizeof(*s->tools), tool_by_name);
	sorted = s->n_tools;
	for (size_t k = 0; k < n_fam; k++) {
		if (!hides[k])
			continue;
		field_key(f, field, families[k].hide);
		/* a resource pattern "*" hides every resource; a tool or prompt
		 * named "*" does not exist */
		load_hide(l, s, hides[k], f, &families[k], sorted, families[k].kind == FAMILY_RESOURCES);
	}
}

static void check_capacity(struct loader *l)
{
	struct policy *p = l->policy;

	for (size_t i = 0; i < p->n_servers; i++) {
		p->n_endpoints += p->servers[i].n_endpoints;
		p->n_tools += p->servers[i].n_tools;
		for (size_t t = 0; t < p->servers[i].n_tools; t++)
			p->n_conditions += p->servers[i].tools[t].rule.conditions;
	}
	if (p->n_servers > MCPF_MAX_SERVERS)
		fail(l, "servers", "%zu servers, the policy maps hold %d (MCPF_MAX_SERVERS)",
		     p->n_servers, MCPF_MAX_SERVERS);
	if (p->n_endpoints > MCPF_MAX_TARGETS)
		fail(l, "servers", "%zu endpoints, the targets map holds %d (MCPF_MAX_TARGETS)",
		     p->n_endpoints, MCPF_MAX_TARGETS);
	if (p->n_tools > MCPF_POLICY_MAX_TOOLS)
		fail(l, "servers", "%zu tool entries, the policy maps hold %d (MCPF_POLICY_MAX_TOOLS)",
		     p->n_tools, MCPF_POLICY_MAX_TOOLS);
	if (p->n_conditions > MCPF_POLICY_MAX_CONDS)
		fail(l, "servers", "%zu conditions, the policy maps hold %d (MCPF_POLICY_MAX_CONDS)",
		     p->n_conditions, MCPF_POLICY_MAX_CONDS);
}

static void load_root(struct loader *l, const cJSON *root)
{
	static const char *const keys[] = { "version", "servers", NULL };
	char f[FIELD_LEN], e[FIELD_LEN];
	const cJSON *item, *servers;

	if (!cJSON_IsObject(root)) {
		fail(l, "", "the policy must be a JSON object");
		return;
	}
	if (!cJSON_GetObjectItemCaseSensitive(root, "servers") &&
	    (cJSON_GetObjectItemCaseSensitive(root, "tools") ||
	     cJSON_GetObjectItemCaseSensitive(root, "default"))) {
		fail(l, "servers", "missing: wrap a PolicyLayer document as "
		     "{\"version\":\"1\",\"servers\":{\"NAME\":{\"endpoints\":[...], ...}}}");
		return;
	}
	check_object(l, root, "", keys);
	if ((item = required(l, root, "version", f, "")))
		check_version(l, item, f);
	if (!(servers = required(l, root, "servers", f, "")) || !check_object(l, servers, f, NULL))
		return;
	if (!servers->child) {
		fail(l, f, "no servers");
		return;
	}
	l->policy->servers = xcalloc(cJSON_GetArraySize(servers), sizeof(struct policy_server));
	for (const cJSON *s = servers->child; s; s = s->next) {
		struct policy_server *ps = &l->policy->servers[l->policy->n_servers];
		bool seen = false;

		for (size_t i = 0; i < l->policy->n_servers; i++)
			seen |= !strcmp(l->policy->servers[i].name, s->string);
		field_key(e, f, s->string);
		if (seen || !copy_name(l, e, s->string, ps->name, sizeof(ps->name)))
			continue;
		l->policy->n_servers++;
		load_server(l, s, e, ps);
	}
	check_capacity(l);
}

static void position_of(const char *text, const char *at, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (const char *p = text; p < at; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else
			(*col)++;
	}
}

int policy_parse(const char *file, const char *text, size_t len,
		 struct policy **out, struct policy_errors *errs)
{
	struct loader l = { .file = file, .errs = errs };
	const char *end = NULL;
	cJSON *root;
	struct json_span span;
	size_t before = errs->n;
	int line, col;

	*out = NULL;
	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (!root) {
		position_of(text, end ? end : text, &line, &col);
		fail(&l, "", "invalid JSON near line %d, column %d", line, col);
		return -1;
	}
	while (end < text + len && isspace((unsigned char)*end))
		end++;
	if (end < text + len) {
		position_of(text, end, &line, &col);
		fail(&l, "", "unexpected data after the JSON document at line %d, column %d", line, col);
		cJSON_Delete(root);
		return -1;
	}
	/* flags numbers a double does not hold as written (json_number.h) */
	if (json_value_span(text, len, 0, &span) < 0 || json_numbers_mark(root, text, span) < 0) {
		fail(&l, "", "numbers in the document cannot be read exactly");
		cJSON_Delete(root);
		return -1;
	}
	l.policy = xcalloc(1, sizeof(*l.policy));
	load_root(&l, root);
	cJSON_Delete(root);
	free(l.counters);
	free(l.owners);
	if (errs->n != before) {
		policy_free(l.policy);
		return -1;
	}
	*out = l.policy;
	return 0;
}

int policy_load(const char *file, struct policy **out, struct policy_errors *errs)
{
	struct loader l = { .file = file, .errs = errs };
	FILE *f = fopen(file, "r");
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	int rc;

	*out = NULL;
	if (!f) {
		rc = -errno;
		fail(&l, "", "cannot open: %s", strerror(errno));
		return rc;
	}
	do {
		if (len == cap)
			text = xrealloc(text, cap = cap ? 2 * cap : 65536, 1);
		n = fread(text + len, 1, cap - len, f);
		len += n;
	} while (n);
	if (ferror(f)) {
		rc = errno ? -errno : -EIO;
		fail(&l, "", "cannot read: %s", strerror(-rc));
		fclose(f);
		free(text);
		return rc;
	}
	fclose(f);
	rc = policy_parse(file, text, len, out, errs);
	free(text);
	return rc ? -EINVAL : 0;
}

void policy_free(struct policy *policy)
{
	if (!policy)
		return;
	for (size_t i = 0; i < policy->n_servers; i++) {
		for (size_t t = 0; t < policy->servers[i].n_tools; t++)
			free(policy->servers[i].tools[t].cond);
		for (size_t a = 0; a < policy->servers[i].n_agents; a++)
			free(policy->servers[i].agents[a]);
		free(policy->servers[i].agents);
		free(policy->servers[i].hostnames);
		free(policy->servers[i].endpoints);
		free(policy->servers[i].tools);
	}
	free(policy->servers);
	free(policy);
}

void policy_errors_free(struct policy_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		free(errs->line[i]);
	free(errs->line);
	errs->line = NULL;
	errs->n = 0;
}
