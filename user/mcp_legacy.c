#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "http1.h"
#include "jsonrpc_reply.h"
#include "log.h"
#include "mcp_flow.h"
#include "mcp_legacy.h"
#include "mcp_session.h"

/* Denials queued on a legacy SSE stream its agent does not read: past
 * this, the POST that would add one is refused. */
#define STREAM_QUEUE_MAX (1u << 20)

struct mcp_session *mcp_legacy_endpoint(struct mcp_flow *stream, const struct sse_event *ev)
{
	const char *id;
	struct mcp_session *s;
	char sid[128];
	size_t n;

	if (ev->type_len != 8 || memcmp(ev->type, "endpoint", 8) || !ev->has_data ||
	    !(id = memmem(ev->data, ev->data_len, "sessionId=", 10)))
		return NULL;
	id += 10;
	for (n = 0; id + n < ev->data + ev->data_len && !strchr("&\r\n", id[n]); n++)
		;
	snprintf(sid, sizeof(sid), "%.*s", (int)n, id);
	s = mcp_session_open(stream->origin->server, sid, stream);
	if (!s)
		log_warn("legacy SSE session %s: out of memory; its denials cannot be delivered", sid);
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
