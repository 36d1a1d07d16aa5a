/* Server-Sent Events splitting and re-emission; see sse.h. */
#include "sse.h"

#include <string.h>

void sse_init(struct sse_splitter *s, size_t limit)
{
	memset(s, 0, sizeof(*s));
	s->limit = limit;
	s->line_empty = true;
	s->at_stream_start = true;
}

void sse_reset(struct sse_splitter *s)
{
	struct bytebuf in = s->in, data = s->data;
	size_t limit = s->limit;

	bb_reset(&in);
	bb_reset(&data);
	sse_init(s, limit);
	s->in = in;
	s->data = data;
}

void sse_free(struct sse_splitter *s)
{
	bb_free(&s->in);
	bb_free(&s->data);
}

/* Drop the bytes of events already returned; their pointers die here. */
static void compact(struct sse_splitter *s)
{
	if (!s->consumed)
		return;
	bb_consume(&s->in, s->consumed);
	s->start -= s->consumed;
	s->scan -= s->consumed;
	s->consumed = 0;
}

int sse_push(struct sse_splitter *s, const char *bytes, size_t len)
{
	compact(s);
	return bb_append(&s->in, bytes, len);
}

static bool field_is(const char *name, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(name, want, len) == 0;
}

/* Interpret the lines of one block (WHATWG field rules) into ev. */
static int parse_block(struct sse_splitter *s, const char *p, size_t len, struct sse_event *ev)
{
	size_t i = 0;

	bb_reset(&s->data);
	if (s->at_stream_start) {
		if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
			i = 3;
		s->at_stream_start = false;
	}
	memset(ev, 0, sizeof(*ev));
	ev->raw = p;
	ev->raw_len = len;
	while (i < len) {
		size_t line = i;
		while (i < len && p[i] != '\r' && p[i] != '\n')
			i++;
		size_t line_len = i - line;
		if (i < len && p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
			i++;
		if (i < len)
			i++;
		if (line_len == 0 || p[line] == ':')
			continue;
		const char *name = p + line;
		const char *colon = memchr(name, ':', line_len);
		size_t name_len = colon ? (size_t)(colon - name) : line_len;
		const char *value = colon ? colon + 1 : name + line_len;
		size_t value_len = line_len - (size_t)(value - name);
		if (value_len && *value == ' ') {
			value++;
			value_len--;
		}
		if (field_is(name, name_len, "data")) {
			if (bb_append(&s->data, value, value_len) < 0 || bb_append(&s->data, "\n", 1) < 0)
				return -1;
			ev->has_data = true;
		} else if (field_is(name, name_len, "event")) {
			ev->type = value;
			ev->type_len = value_len;
		} else if (field_is(name, name_len, "id") && !memchr(value, '\0', value_len)) {
			ev->has_id = true;
			ev->id = value;
			ev->id_len = value_len;
		}
	}
	if (ev->has_data) {
		ev->data = s->data.data;
		ev->data_len = s->data.len - 1; /* the last "\n" is not part of the data */
	}
	return 0;
}

int sse_next(struct sse_splitter *s, struct sse_event *ev)
{
	compact(s);
	const char *p = s->in.data;
	for (size_t i = s->scan; i < s->in.len; i++) {
		char c = p[i];
		if (c == '\n' && s->prev_cr) {
			s->prev_cr = false;
			continue;
		}
		if (c != '\r' && c != '\n') {
			s->prev_cr = false;
			s->line_empty = false;
			continue;
		}
		s->prev_cr = c == '\r';
		if (!s->line_empty) {
			s->line_empty = true;
			continue;
		}
		/* Blank line: the block ends after its terminator (the whole CRLF when here). */
		size_t end = i + 1;
		if (c == '\r' && end < s->in.len && p[end] == '\n') {
			end++;
			s->prev_cr = false;
		}
		size_t start = s->start;
		s->start = s->scan = s->consumed = end;
		if (parse_block(s, p + start, end - start, ev) < 0)
			return -1;
		ev->complete = true;
		return 1;
	}
	s->scan = s->in.len;
	return s->in.len - s->start > s->limit ? -1 : 0;
}

int sse_flush(struct sse_splitter *s, struct sse_event *ev)
{
	compact(s);
	if (s->start == s->in.len)
		return 0;
	size_t start = s->start;
	s->start = s->scan = s->consumed = s->in.len;
	if (parse_block(s, s->in.data + start, s->in.len - start, ev) < 0)
		return -1;
	ev->complete = false;
	return 1;
}

static bool has_line_break(const char *p, size_t len)
{
	return len && (memchr(p, '\r', len) || memchr(p, '\n', len)); /* p may be NULL when len is 0 */
}

int sse_format_event(struct bytebuf *out, const char *type, size_t type_len,
		     const char *id, size_t id_len, bool has_id,
		     const char *data, size_t data_len)
{
	if (has_line_break(type, type_len) || (has_id && has_line_break(id, id_len)))
		return -1;
	if (type_len && (bb_append_str(out, "event: ") < 0 || bb_append(out, type, type_len) < 0 ||
			 bb_append(out, "\n", 1) < 0))
		return -1;
	if (has_id && (bb_append_str(out, "id: ") < 0 || bb_append(out, id, id_len) < 0 ||
		       bb_append(out, "\n", 1) < 0))
		return -1;
	/* Every line of the data becomes its own data: line; the reader joins them with "\n". */
	size_t i = 0;
	do {
		size_t line = i;
		while (i < data_len && data[i] != '\r' && data[i] != '\n')
			i++;
		if (bb_append_str(out, "data: ") < 0 || bb_append(out, data + line, i - line) < 0 ||
		    bb_append(out, "\n", 1) < 0)
			return -1;
		if (i < data_len && data[i] == '\r' && i + 1 < data_len && data[i + 1] == '\n')
			i++;
	} while (i++ < data_len);
	return bb_append(out, "\n", 1);
}
