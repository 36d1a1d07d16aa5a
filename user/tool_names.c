/* Names of tools servers listed; see tool_names.h. */
#include <errno.h>
#include "tool_names.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "siphash.h"

struct tool_names {
	size_t max, n, slots;    /* slots: a power of two, at least 2 * max */
	unsigned char key[16];   /* hash(): random per table */
	char **names;            /* "server\0tool\0", NULL when empty */
};

struct tool_names *tool_names_new(size_t max)
{
	struct tool_names *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->max = max;
	if (getrandom(n->key, sizeof(n->key), 0) != (ssize_t)sizeof(n->key)) {
		free(n);
		return NULL;
	}
	for (n->slots = 16; n->slots < 2 * max; n->slots *= 2)
		;
	n->names = calloc(n->slots, sizeof(*n->names));
	if (!n->names) {
		free(n);
		return NULL;
	}
	return n;
}

void tool_names_free(struct tool_names *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->slots; i++)
		free(n->names[i]);
	free(n->names);
	free(n);
}

/* Keyed: the names come from servers, and an unkeyed hash let a hostile
 * one list thousands of names in one probe run, stalling every lookup
 * (under enforce_lock) for seconds. */
static uint64_t hash(const struct tool_names *n, const char *server, const char *tool)
{
	size_t ls = strlen(server) + 1, lt = strlen(tool);
	unsigned char buf[512];

	if (ls + lt <= sizeof(buf)) {
		memcpy(buf, server, ls);
		memcpy(buf + ls, tool, lt);
		return siphash24(n->key, buf, ls + lt);
	}
	return siphash24(n->key, server, ls - 1) ^ siphash24(n->key, tool, lt) * 0x9e3779b97f4a7c15ULL;
}

static bool same(const char *entry, const char *server, const char *tool)
{
	return !strcmp(entry, server) && !strcmp(entry + strlen(entry) + 1, tool);
}

/* The slot holding (server, tool), or the empty one where it would go. */
static size_t find(const struct tool_names *n, const char *server, const char *tool)
{
	size_t i = hash(n, server, tool) & (n->slots - 1);

	while (n->names[i] && !same(n->names[i], server, tool))
		i = (i + 1) & (n->slots - 1);
	return i;
}

bool tool_names_has(const struct tool_names *n, const char *server, const char *tool)
{
	return n && n->names[find(n, server, tool)];
}

int tool_names_add(struct tool_names *n, const char *server, const char *tool)
{
	size_t i, sl, tl;

	if (!n)
		return -EINVAL;
	i = find(n, server, tool);
	if (n->names[i])
		return 0;
	if (n->n >= n->max)
		return -ENOSPC;
	sl = strlen(server);
	tl = strlen(tool);
	if (sl > TOOL_NAMES_MAX_LEN || tl > TOOL_NAMES_MAX_LEN)
		return -ENAMETOOLONG;
	n->names[i] = malloc(sl + tl + 2);
	if (!n->names[i])
		return -ENOMEM;
	memcpy(n->names[i], server, sl + 1);
	memcpy(n->names[i] + sl + 1, tool, tl + 1);
	n->n++;
	return 0;
}
