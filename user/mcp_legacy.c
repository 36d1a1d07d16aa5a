#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "http1.h"
#include "jsonrpc_reply.h"
#include "log.h"
#include "mcp_flow.h"
#include "mcp_classify.h"
#include "mcp_legacy.h"
#include "mcp_session.h"

/* Denials queued on a legacy SSE stream its agent does not read: past
 * this, the POST that would add one is refused. */
#define STREAM_QUEUE_MAX (1u << 20)

struct mcp_session *mcp_legacy_endpoint(struct mcp_flow *stream, const struct sse_event *ev)
{
	struct mcp_legacy_target t;
	struct mcp_session *s;
	char key[MCP_LEGACY_KEY_MAX], data[1024];
	int r;

	if (ev->type_len != 8 || memcmp(ev->type, "endpoint", 8) || !ev->has_data)
		return NULL;
	/* the endpoint is one line of text */
	snprintf(data, sizeof(data), "%.*s", (int)ev->data_len, ev->data);
	r = ev->data_len < sizeof(data) && !memchr(ev->data, '\n', ev->data_len) &&
	    strlen(data) == ev->data_len ? mcp_target_session(data, ev->data_len, &t) : -1;
	if (r != 1) {
		/* its POSTs are then read as any other's; answers on this stream
		 * are filtered whatever their ids (mcp_answers.c) */
		log_warn("server %s: a legacy SSE endpoint naming no session parameter the daemon can read "
			 "(%.*s); its session's denials cannot be delivered on the stream",
			 stream->origin->server, (int)(ev->data_len < 200 ? ev->data_len : 200), ev->data);
		return NULL;
	}
	mcp_legacy_key(&t, key, sizeof(key));
	s = mcp_session_open(stream->origin->server, key, stream);
	if (!s)
		log_warn("legacy SSE session %s: out of memory; its denials cannot be delivered", t.id);
	return s;
}

int mcp_sse_append(struct bytebuf *out, bool chunked, const char *bytes, size_t n)
{
	struct bytebuf chunk = BYTEBUF_INIT;
	int err;

	if (!chunked)
		return bb_append(out, bytes, n);
	err = http1_emit_chunk(&chunk, bytes, n) || bb_append(out, chunk.data, chunk.len) ? -ENOMEM : 0;
	bb_free(&chunk);
	return err;
}

int mcp_legacy_deliver(struct mcp_session *s, const cJSON *replies)
{
	struct mcp_flow *sf = s->stream;
	struct bytebuf ev = BYTEBUF_INIT;
	int err;

	/* the stream's agent is not reading: refuse rather than queue without end */
	if (sf->client_out->len >= STREAM_QUEUE_MAX)
		return -ENOBUFS;
	err = jsonrpc_sse_events(replies, &ev) ? -ENOMEM : mcp_sse_append(sf->client_out, sf->sse_chunked, ev.data, ev.len);
	bb_free(&ev);
	if (!err)
		sf->kick(sf->conn);
	return err;
}
