#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "loop.h"
#include "mcp_session.h"

/* A handful of legacy sessions at a time, of every worker: the list is
 * locked, a session's contents are its owner's alone. */
static struct mcp_session *sessions;
static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;

struct answer_track *answer_track_new(void)
{
	struct answer_track *t = calloc(1, sizeof(*t));

	if (t)
		mcp_idset_init(&t->lists);
	return t;
}

bool answer_track_awaits(const struct answer_track *t, const cJSON *id)
{
	return t && (mcp_idset_has(&t->lists, id) || call_list_has(&t->calls, id));
}

void answer_track_free(struct answer_track *t)
{
	if (!t)
		return;
	mcp_idset_free(&t->lists);
	call_list_clear(&t->calls);
	free(t);
}

struct mcp_session *mcp_session_open(const char *server, const char *id, struct mcp_flow *stream)
{
	struct mcp_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	snprintf(s->server, sizeof(s->server), "%s", server);
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->stream = stream;
	s->owner = loop_current();
	mcp_idset_init(&s->track.lists);
	pthread_mutex_lock(&sessions_lock);
	s->next = sessions;
	sessions = s;
	pthread_mutex_unlock(&sessions_lock);
	return s;
}

struct mcp_session *mcp_session_find(const char *server, const char *id, bool *elsewhere)
{
	struct mcp_session *found = NULL;

	*elsewhere = false;
	pthread_mutex_lock(&sessions_lock);
	for (struct mcp_session *s = sessions; s && !found && !*elsewhere; s = s->next) {
		if (strcmp(s->id, id) || strncmp(s->server, server, sizeof(s->server)))
			continue;
		if (s->owner == loop_current())
			found = s;
		else
			*elsewhere = true;
	}
	pthread_mutex_unlock(&sessions_lock);
	return found;
}

const void *mcp_session_owner(const char *server, const char *id)
{
	const void *owner = NULL;

	pthread_mutex_lock(&sessions_lock);
	for (struct mcp_session *s = sessions; s && !owner; s = s->next)
		if (!strcmp(s->id, id) && !strncmp(s->server, server, sizeof(s->server)))
			owner = s->owner;
	pthread_mutex_unlock(&sessions_lock);
	return owner;
}

void mcp_session_close(struct mcp_session *s)
{
	struct mcp_session **pp = &sessions;

	pthread_mutex_lock(&sessions_lock);
	while (*pp && *pp != s)
		pp = &(*pp)->next;
	if (*pp)
		*pp = s->next;
	pthread_mutex_unlock(&sessions_lock);
	mcp_idset_free(&s->track.lists);
	call_list_clear(&s->track.calls);
	free(s);
}
