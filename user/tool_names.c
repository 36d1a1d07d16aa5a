/* Names of tools servers listed; see tool_names.h. */
#include <errno.h>
#include "tool_names.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct tool_names {
	size_t max, n, slots;    /* slots: a power of two, at least 2 * max */
	char **names;            /* "server\0tool\0", NULL when empty */
};

struct tool_names *tool_names_new(size_t max)
{
	struct tool_names *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->max = max;
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

static uint64_t hash(const char *server, const char *tool)
{
	uint64_t h = 0xcbf29ce484222325ULL;  /* FNV-1a over server NUL tool */

	for (const char *p = server;; p++) {
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
		if (!*p)
			break;
	}
	for (const char *p = tool; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	return h;
}

static bool same(const char *entry, const char *server, const char *tool)
{
	return !strcmp(entry, server) && !strcmp(entry + strlen(entry) + 1, tool);
}

/* The slot holding (server, tool), or the empty one where it would go. */
static size_t find(const struct tool_names *n, const char *server, const char *tool)
{
	size_t i = hash(server, tool) & (n->slots - 1);

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
