/*
 * sse: incremental Server-Sent Events splitter (WHATWG "event stream
 * interpretation") over an already de-chunked response body, and the
 * serializer to re-emit one event.
 *
 *   struct sse_splitter s;
 *   sse_init(&s, limit);                 // limit: max bytes of one event block
 *   sse_push(&s, bytes, n);              // any split: mid-line, mid-CRLF, ...
 *   struct sse_event ev;
 *   while ((r = sse_next(&s, &ev)) > 0)  // 1 event, 0 need more, -1 block > limit
 *       forward ev.raw (unchanged) or a rewritten event;
 *   at end of stream: sse_flush(&s, &ev) returns 1 once for an unterminated
 *       tail block (ev.complete == false: clients discard it, forward raw only)
 *   sse_free(&s);
 *
 *   sse_format_event(&out, type, type_len, id, id_len, has_id, data, data_len)
 *       appends "event: ...\nid: ...\ndata: <line>\n...\n\n" (0, or -1 when a
 *       field would inject a line break).
 *
 * An event ends at the first blank line; lines end in CRLF, LF or CR. An
 * event is reported as soon as its blank line is seen, with no look-ahead: a
 * CR that ends it may be followed by the LF of a CRLF, which is then the first
 * raw byte of the next block and is ignored there, so ev.raw blocks
 * concatenate to exactly the stream. Comments and `retry:` stay in ev.raw.
 * Pointers in an event are valid until the next call on the splitter.
 */
#ifndef MCPF_SSE_H
#define MCPF_SSE_H

#include <stdbool.h>
#include <stddef.h>

#include "bytebuf.h"

struct sse_event {
	const char *raw;	/* the exact bytes of the block, blank line included */
	size_t raw_len;
	bool complete;		/* false only for a tail flushed at end of stream */
	bool has_data;		/* at least one data: line */
	const char *data;	/* data: values joined with "\n" */
	size_t data_len;
	const char *type;	/* last event: value; type_len 0 means "message" */
	size_t type_len;
	bool has_id;		/* an id: line without NUL */
	const char *id;
	size_t id_len;
};

struct sse_splitter {
	struct bytebuf in;	/* stream bytes not yet returned as events */
	size_t start;		/* start of the pending block in `in` */
	size_t scan;		/* next byte of `in` to examine */
	size_t consumed;	/* bytes before `start` to drop at the next call */
	size_t limit;
	bool prev_cr;		/* last examined byte was a CR ending a line */
	bool line_empty;	/* current line has no content yet */
	bool at_stream_start;	/* a UTF-8 BOM here is not part of any field */
	struct bytebuf data;	/* decoded data of the last returned event */
};

void sse_init(struct sse_splitter *s, size_t limit);
int sse_push(struct sse_splitter *s, const char *bytes, size_t len);
int sse_next(struct sse_splitter *s, struct sse_event *ev);
int sse_flush(struct sse_splitter *s, struct sse_event *ev);
/* Drops every pending byte and starts a new stream. */
void sse_reset(struct sse_splitter *s);
void sse_free(struct sse_splitter *s);

int sse_format_event(struct bytebuf *out, const char *type, size_t type_len,
		     const char *id, size_t id_len, bool has_id,
		     const char *data, size_t data_len);

#endif /* MCPF_SSE_H */
