#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "approval_elicit.h"
#include "http1.h"
#include "sse.h"

struct caps_entry {
	char server[MCPF_NAME_LEN];
	char session[128];
	uint64_t cgroup_id;
	uint32_t uid;
	unsigned long long seq;          /* when noted: the oldest goes first */
};

static struct caps_entry caps[ELICIT_CAPS_MAX];
static unsigned long long caps_seq;

bool elicit_declared(const cJSON *params)
{
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(params, "capabilities");

	return cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(c, "elicitation"));
}

/* The entry a new note takes: a free one, else the agent's own oldest
 * once it holds its share, else the oldest of all. An agent that sends
 * initialize after initialize replaces its own entries, not others'. */
static struct caps_entry *slot_for(uint64_t cgroup_id, uint32_t uid)
{
	struct caps_entry *oldest = &caps[0], *mine = NULL;
	unsigned n_mine = 0;

	for (unsigned i = 0; i < ELICIT_CAPS_MAX; i++) {
		struct caps_entry *e = &caps[i];

		if (!e->session[0])
			return e;
		if (e->seq < oldest->seq)
			oldest = e;
		if (e->cgroup_id == cgroup_id && e->uid == uid) {
			n_mine++;
			if (!mine || e->seq < mine->seq)
				mine = e;
		}
	}
	return n_mine >= ELICIT_CAPS_AGENT_MAX ? mine : oldest;
}

void elicit_caps_note(const char *server, const char *session, size_t session_len, uint64_t cgroup_id,
		      uint32_t uid)
{
	struct caps_entry *e;

	if (!session_len || session_len >= sizeof(e->session))
		return;
	e = slot_for(cgroup_id, uid);
	snprintf(e->server, sizeof(e->server), "%s", server);
	memcpy(e->session, session, session_len);
	e->session[session_len] = '\0';
	e->cgroup_id = cgroup_id;
	e->uid = uid;
	e->seq = ++caps_seq;
}

bool elicit_caps_has(const char *server, const char *session, uint64_t cgroup_id, uint32_t uid)
{
	for (unsigned i = 0; i < ELICIT_CAPS_MAX; i++)
		if (caps[i].session[0] && caps[i].cgroup_id == cgroup_id && caps[i].uid == uid &&
		    !strcmp(caps[i].session, session) && !strcmp(caps[i].server, server))
			return true;
	return false;
}

int elicit_stream_event(struct bytebuf *out, const char *json, size_t len, bool last)
{
	struct bytebuf ev = BYTEBUF_INIT;
	int err = sse_format_event(&ev, "message", 7, NULL, 0, false, json, len) ||
		  http1_emit_chunk(out, ev.data, ev.len) || (last && http1_emit_last_chunk(out));

	bb_free(&ev);
	return err ? -1 : 0;
}

cJSON *elicit_params(const struct approval *a)
{
	const struct approval_subject *s = approval_subject_of(a);
	cJSON *params = cJSON_CreateObject(), *schema = cJSON_CreateObject();
	cJSON *props = cJSON_CreateObject(), *field = cJSON_CreateObject(), *required = cJSON_CreateArray();
	char msg[1024];

	if (!params || !schema || !props || !field || !required)
		goto fail;
	snprintf(msg, sizeof(msg),
		 "mcpfence: allow %s (pid %u, uid %u) to call tool \"%s\" on server \"%s\" with arguments %s? "
		 "No answer in %us means no.", s->comm, s->pid, s->uid, s->tool, s->server, s->summary, s->timeout_s);
	cJSON_AddStringToObject(field, "type", "boolean");
	cJSON_AddStringToObject(field, "title", "Allow this call");
	cJSON_AddStringToObject(field, "description", msg);
	cJSON_AddItemToObject(props, "approve", field);
	field = NULL;
	cJSON_AddStringToObject(schema, "type", "object");
	cJSON_AddItemToObject(schema, "properties", props);
	props = NULL;
	cJSON_AddItemToArray(required, cJSON_CreateString("approve"));
	cJSON_AddItemToObject(schema, "required", required);
	required = NULL;
	if (!cJSON_AddStringToObject(params, "message", msg))
		goto fail;
	cJSON_AddItemToObject(params, "requestedSchema", schema);
	return params;
fail:
	cJSON_Delete(params);
	cJSON_Delete(schema);
	cJSON_Delete(props);
	cJSON_Delete(field);
	cJSON_Delete(required);
	return NULL;
}

int elicit_stream_start(struct bytebuf *out, const struct approval *a, bool keep_alive)
{
	cJSON *req = cJSON_CreateObject(), *params = elicit_params(a);
	char id[sizeof(ELICIT_ID_PREFIX) + APPROVAL_ID_LEN];
	char *text = NULL;
	int err = -1;

	if (!req || !params)
		goto out;
	snprintf(id, sizeof(id), ELICIT_ID_PREFIX "%s", approval_id(a));
	cJSON_AddStringToObject(req, "jsonrpc", "2.0");
	cJSON_AddStringToObject(req, "id", id);
	cJSON_AddStringToObject(req, "method", "elicitation/create");
	cJSON_AddItemToObject(req, "params", params);
	params = NULL;
	text = cJSON_PrintUnformatted(req);
	if (!text)
		goto out;
	if (bb_printf(out, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
			   "Transfer-Encoding: chunked\r\n%s\r\n", keep_alive ? "" : "Connection: close\r\n") < 0)
		goto out;
	err = elicit_stream_event(out, text, strlen(text), false);
out:
	cJSON_free(text);
	cJSON_Delete(req);
	cJSON_Delete(params);
	return err;
}

bool elicit_accepted(const cJSON *result)
{
	const cJSON *action = cJSON_GetObjectItemCaseSensitive(result, "action");
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(result, "content");

	return cJSON_IsString(action) && !strcmp(action->valuestring, "accept") &&
	       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(content, "approve"));
}
