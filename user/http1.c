/* Incremental HTTP/1.1 parsing on libhttp-parser; see http1.h for the API. */
#include "http1.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "hex_digit.h"

enum phase { PH_HEAD, PH_BODY, PH_DONE, PH_ERROR, PH_CLOSED };

/* Chunk framing may add overhead to the body; bounded so a stream of tiny
 * chunks cannot make the raw copy grow without limit. */
#define RAW_SLACK(limit) ((limit) + (64u << 10))

static struct http1_parser *owner(http_parser *hp)
{
	return hp->data;
}

static enum http1_status fail(struct http1_parser *p, enum http1_error err, const char *text)
{
	if (p->err == HTTP1_E_NONE) {
		p->err = err;
		p->err_text = text;
	}
	p->phase = PH_ERROR;
	return HTTP1_ERROR;
}

/* Callback failures have already recorded why; map the parser's own errors. */
static enum http1_status fail_from_parser(struct http1_parser *p)
{
	enum http_errno e = HTTP_PARSER_ERRNO(&p->hp);
	const char *text = http_errno_description(e);

	switch (e) {
	case HPE_HEADER_OVERFLOW:
		return fail(p, HTTP1_E_HEAD_TOO_LARGE, "request head too large");
	case HPE_UNEXPECTED_CONTENT_LENGTH:
		return fail(p, HTTP1_E_FRAMING, "duplicate Content-Length, or Content-Length with Transfer-Encoding");
	case HPE_INVALID_CONTENT_LENGTH:
	case HPE_INVALID_TRANSFER_ENCODING:
		return fail(p, HTTP1_E_FRAMING, text);
	case HPE_INVALID_EOF_STATE:
		return fail(p, HTTP1_E_TRUNCATED, "connection closed in the middle of a message");
	default:
		return fail(p, HTTP1_E_MALFORMED, text);
	}
}

static size_t head_offset(struct http1_parser *p, const char *at)
{
	return p->exec_base + (size_t)(at - p->exec_data);
}

static int on_url(http_parser *hp, const char *at, size_t len)
{
	struct http1_parser *p = owner(hp);

	if (p->target_len == 0)
		p->target_off = head_offset(p, at);
	p->target_len += len;
	return 0;
}

static int on_header_field(http_parser *hp, const char *at, size_t len)
{
	struct http1_parser *p = owner(hp);

	if (p->phase != PH_HEAD)
		return 0; /* trailer fields: kept in the raw body, not interpreted */
	size_t off = head_offset(p, at);
	if (p->n_offs && p->offs[p->n_offs - 1].name_off + p->offs[p->n_offs - 1].name_len == off) {
		p->offs[p->n_offs - 1].name_len += len; /* same name, split across inputs */
		return 0;
	}
	if (p->n_offs == HTTP1_MAX_HEADERS) {
		fail(p, HTTP1_E_HEAD_TOO_LARGE, "too many header fields");
		return -1;
	}
	p->offs[p->n_offs].name_off = off;
	p->offs[p->n_offs].name_len = len;
	p->offs[p->n_offs].value_off = off + len;
	p->offs[p->n_offs].value_len = 0;
	p->n_offs++;
	return 0;
}

static int on_header_value(http_parser *hp, const char *at, size_t len)
{
	struct http1_parser *p = owner(hp);

	if (p->phase != PH_HEAD || !p->n_offs)
		return 0;
	size_t off = head_offset(p, at);
	struct http1_field_offsets *h = &p->offs[p->n_offs - 1];
	/* The span runs from the first to the last piece; a folded value thus
	 * spans a line break, which finish_head refuses. */
	if (h->value_len == 0)
		h->value_off = off;
	h->value_len = off + len - h->value_off;
	return 0;
}

static int on_headers_complete(http_parser *hp)
{
	struct http1_parser *p = owner(hp);
	int ret = 0;

	if (p->dir == HTTP1_RESPONSE) {
		enum http_method m = p->n_pending ? p->pending[0] : HTTP_GET;
		unsigned st = hp->status_code;
		if (st >= 200 || st == 101) {
			if (p->n_pending) {
				memmove(p->pending, p->pending + 1, (p->n_pending - 1) * sizeof(p->pending[0]));
				p->n_pending--;
			}
		}
		if (m == HTTP_HEAD)
			ret = 1; /* no body, whatever the headers say */
		if (m == HTTP_CONNECT && st >= 200 && st < 300)
			ret = 2; /* tunnel established */
		p->msg.method = m;
	}
	/* Stop here so http1_feed can report the head before any body byte. */
	http_parser_pause(hp, 1);
	return ret;
}

static int on_body(http_parser *hp, const char *at, size_t len)
{
	struct http1_parser *p = owner(hp);

	if (p->mode == HTTP1_BODY_STREAM && p->body_fn) {
		p->body_fn(p->body_ctx, at, len);
	} else if (p->mode == HTTP1_BODY_SSE) {
		if (sse_push(&p->sse, at, len) < 0) {
			fail(p, HTTP1_E_NOMEM, "out of memory");
			return -1;
		}
	} else if (p->mode == HTTP1_BODY_BUFFER && p->msg.framing == HTTP1_FRAMING_CHUNKED) {
		if (len > p->body_limit - p->body.len) {
			fail(p, HTTP1_E_BODY_TOO_LARGE, "body larger than the limit");
			return -1;
		}
		if (bb_append(&p->body, at, len) < 0) {
			fail(p, HTTP1_E_NOMEM, "out of memory");
			return -1;
		}
	}
	return 0;
}

static int on_message_complete(http_parser *hp)
{
	struct http1_parser *p = owner(hp);

	p->msg_done = true;
	http_parser_pause(hp, 1);
	return 0;
}

static void reset_message(struct http1_parser *p)
{
	bb_reset(&p->head);
	bb_reset(&p->raw);
	bb_reset(&p->body);
	sse_reset(&p->sse);
	memset(&p->msg, 0, offsetof(struct http1_msg, headers));
	p->msg.content_length = -1;
	p->n_offs = 0;
	p->target_off = p->target_len = 0;
	p->mode = HTTP1_BODY_STREAM;
	p->body_fn = NULL;
	p->body_ctx = NULL;
	p->lf_owed = p->msg_done = false;
	p->phase = PH_HEAD;
}

void http1_init(struct http1_parser *p, enum http1_dir dir, size_t body_limit)
{
	memset(p, 0, sizeof(*p));
	p->dir = dir;
	p->body_limit = body_limit;
	http_parser_init(&p->hp, dir == HTTP1_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE);
	p->hp.data = p;
	http_parser_settings_init(&p->settings);
	p->settings.on_url = on_url;
	p->settings.on_header_field = on_header_field;
	p->settings.on_header_value = on_header_value;
	p->settings.on_headers_complete = on_headers_complete;
	p->settings.on_body = on_body;
	p->settings.on_message_complete = on_message_complete;
	sse_init(&p->sse, body_limit);
	reset_message(p);
}

void http1_free(struct http1_parser *p)
{
	bb_free(&p->head);
	bb_free(&p->raw);
	bb_free(&p->body);
	sse_free(&p->sse);
}

static bool value_is(const char *v, size_t len, const char *want)
{
	return len == strlen(want) && strncasecmp(v, want, len) == 0;
}

size_t http1_find_header(const struct http1_msg *m, const char *name, const char **value, size_t *len)
{
	size_t count = 0, name_len = strlen(name);

	for (size_t i = 0; i < m->n_headers; i++) {
		const struct http1_header *h = &m->headers[i];
		if (h->name_len != name_len || strncasecmp(h->name, name, name_len))
			continue;
		if (count++ == 0) {
			if (value)
				*value = h->value;
			if (len)
				*len = h->value_len;
		}
	}
	return count;
}

bool http1_content_type_is(const struct http1_msg *m, const char *type)
{
	const char *v;
	size_t len;

	if (http1_find_header(m, "content-type", &v, &len) != 1)
		return false;
	const char *semi = memchr(v, ';', len);
	if (semi)
		len = (size_t)(semi - v);
	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	return value_is(v, len, type);
}

static enum http1_framing response_framing(const struct http1_parser *p)
{
	const struct http1_msg *m = &p->msg;

	if ((m->status >= 100 && m->status < 200) || m->status == 204 || m->status == 304 ||
	    m->method == HTTP_HEAD || m->upgrade)
		return HTTP1_FRAMING_NONE;
	if (p->hp.flags & F_CHUNKED)
		return HTTP1_FRAMING_CHUNKED;
	if (m->content_length >= 0)
		return m->content_length ? HTTP1_FRAMING_LENGTH : HTTP1_FRAMING_NONE;
	return HTTP1_FRAMING_CLOSE;
}

/* RFC 9110 token characters: a field name with anything else (a space
 * before the colon, say) may be read differently by the server. */
/* RFC 9110 tchar, by table: every header name of every message is checked */
static const bool tchar_table[256] = {
	['0' ... '9'] = true, ['A' ... 'Z'] = true, ['a' ... 'z'] = true,
	['!'] = true, ['#'] = true, ['$'] = true, ['%'] = true, ['&'] = true, ['\''] = true, ['*'] = true,
	['+'] = true, ['-'] = true, ['.'] = true, ['^'] = true, ['_'] = true, ['`'] = true, ['|'] = true,
	['~'] = true,
};

static bool tchar(unsigned char c)
{
	return tchar_table[c];
}

static bool is_token(const char *s, size_t len)
{
	if (!len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!tchar((unsigned char)s[i]))
			return false;
	return true;
}

static bool has_control_char(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return true;
	}
	return false;
}

/* http_parser takes a bare LF as a line end, and (not strict) a CR followed
 * by any byte; a server that does not would see other headers, and so
 * another message framing. */
static bool has_bare_lf(const char *s, size_t len)
{
	const char *p = s, *end = s + len;
	size_t lf = 0, cr = 0;

	/* every LF after a CR, and no other CR: as many CRs as LFs */
	while ((p = memchr(p, '\n', (size_t)(end - p)))) {
		if (p == s || p[-1] != '\r')
			return true;
		lf++;
		p++;
	}
	for (p = s; (p = memchr(p, '\r', (size_t)(end - p))); p++)
		cr++;
	return cr != lf;
}

static enum http1_status finish_head(struct http1_parser *p)
{
	struct http1_msg *m = &p->msg;
	size_t n_cl = 0, n_te = 0;

	if (has_bare_lf(p->head.data, p->head.len))
		return fail(p, HTTP1_E_MALFORMED, "line ending other than CRLF in the head");

	m->head = p->head.data;
	m->head_len = p->head.len;
	if (p->dir == HTTP1_REQUEST)
		m->method = p->hp.method;
	m->status = p->hp.status_code;
	m->http_major = p->hp.http_major;
	m->http_minor = p->hp.http_minor;
	m->target = p->head.data + p->target_off;
	m->target_len = p->target_len;
	m->keep_alive = http_should_keep_alive(&p->hp);
	m->upgrade = p->hp.upgrade;
	/* counted as each is filled and checked: the array is not cleared per
	 * message, so a failed head never shows the previous message's entries */
	m->n_headers = 0;
	for (size_t i = 0; i < p->n_offs; i++) {
		struct http1_header *h = &m->headers[m->n_headers++];
		h->name = p->head.data + p->offs[i].name_off;
		h->name_len = p->offs[i].name_len;
		h->value = p->head.data + p->offs[i].value_off;
		h->value_len = p->offs[i].value_len;
		while (h->value_len && (h->value[h->value_len - 1] == ' ' || h->value[h->value_len - 1] == '\t'))
			h->value_len--;
		size_t span = (size_t)(h->value + h->value_len - h->name);
		if (memchr(h->name, '\r', span) || memchr(h->name, '\n', span))
			return fail(p, HTTP1_E_FRAMING, "obsolete header line folding");
		if (!is_token(h->name, h->name_len))
			return fail(p, HTTP1_E_MALFORMED, "invalid header field name");
		if (has_control_char(h->value, h->value_len))
			return fail(p, HTTP1_E_MALFORMED, "control character in a header field value");
		if (value_is(h->name, h->name_len, "content-length"))
			n_cl++;
		else if (value_is(h->name, h->name_len, "transfer-encoding")) {
			n_te++;
			if (!value_is(h->value, h->value_len, "chunked"))
				return fail(p, HTTP1_E_FRAMING, "Transfer-Encoding other than chunked");
		} else if (value_is(h->name, h->name_len, "expect") && value_is(h->value, h->value_len, "100-continue"))
			m->expect_continue = true;
	}
	if (n_cl > 1)
		return fail(p, HTTP1_E_FRAMING, "duplicate Content-Length");
	if (n_te > 1)
		return fail(p, HTTP1_E_FRAMING, "duplicate Transfer-Encoding");
	if (n_cl && n_te)
		return fail(p, HTTP1_E_FRAMING, "Content-Length together with Transfer-Encoding");
	if (n_te && m->http_major == 1 && m->http_minor == 0)
		return fail(p, HTTP1_E_FRAMING, "Transfer-Encoding in an HTTP/1.0 message");
	if (p->hp.flags & F_CONTENTLENGTH)
		m->content_length = (int64_t)p->hp.content_length;
	if (p->dir == HTTP1_RESPONSE)
		m->framing = response_framing(p);
	else if (p->hp.flags & F_CHUNKED)
		m->framing = HTTP1_FRAMING_CHUNKED;
	else
		m->framing = m->content_length > 0 ? HTTP1_FRAMING_LENGTH : HTTP1_FRAMING_NONE;
	p->phase = PH_BODY;
	return HTTP1_HEAD;
}

static enum http1_status feed_head(struct http1_parser *p, const char *data, size_t len, size_t *used)
{
	size_t skip = 0;

	if (p->eof) {
		if (p->head.len)
			return fail(p, HTTP1_E_TRUNCATED, "connection closed in the middle of a head");
		p->phase = PH_CLOSED;
		return HTTP1_CLOSED;
	}
	/* Empty lines between messages belong to no message (RFC 9112 2.2). */
	while (p->head.len == 0 && skip < len && (data[skip] == '\r' || data[skip] == '\n'))
		skip++;
	*used = skip;
	if (skip == len)
		return HTTP1_NEED_MORE; /* before data + skip: data may be NULL */
	data += skip;
	len -= skip;
	p->exec_data = data;
	p->exec_base = p->head.len;
	size_t n = http_parser_execute(&p->hp, &p->settings, data, len);
	bool head_done = HTTP_PARSER_ERRNO(&p->hp) == HPE_PAUSED;
	if (!head_done && HTTP_PARSER_ERRNO(&p->hp) != HPE_OK)
		return fail_from_parser(p);
	/* Paused on the last LF of the head, which http_parser has not consumed:
	 * it is part of the head, and is executed before the body (lf_owed). */
	if (head_done)
		n++;
	if (p->head.len + n > HTTP1_HEAD_MAX)
		return fail(p, HTTP1_E_HEAD_TOO_LARGE, "message head too large");
	if (bb_append(&p->head, data, n) < 0)
		return fail(p, HTTP1_E_NOMEM, "out of memory");
	*used += n;
	if (!head_done)
		return HTTP1_NEED_MORE;
	http_parser_pause(&p->hp, 0);
	p->lf_owed = true;
	return finish_head(p);
}

static enum http1_status message_end(struct http1_parser *p)
{
	struct http1_msg *m = &p->msg;

	if (p->mode == HTTP1_BODY_BUFFER) {
		m->raw_body = p->raw.data ? p->raw.data : "";
		m->raw_body_len = p->raw.len;
		if (m->framing == HTTP1_FRAMING_CHUNKED) {
			m->body = p->body.data ? p->body.data : "";
			m->body_len = p->body.len;
		} else {
			m->body = m->raw_body;
			m->body_len = m->raw_body_len;
		}
	}
	p->phase = PH_DONE;
	return HTTP1_MESSAGE_END;
}

/* SSE mode: the next complete event, or the unterminated tail once the body ended. */
static bool next_event(struct http1_parser *p, enum http1_status *st)
{
	int r = sse_next(&p->sse, &p->event);
	if (r == 0 && p->msg_done)
		r = sse_flush(&p->sse, &p->event);
	if (r < 0)
		*st = fail(p, HTTP1_E_BODY_TOO_LARGE, "server-sent event larger than the limit");
	else if (r > 0)
		*st = HTTP1_SSE_EVENT;
	return r != 0;
}

/* Run http_parser over body bytes; a pause means the message is complete. */
static bool execute_body(struct http1_parser *p, const char *data, size_t len, size_t *n)
{
	p->exec_data = data;
	*n = http_parser_execute(&p->hp, &p->settings, data, len);
	enum http_errno e = HTTP_PARSER_ERRNO(&p->hp);
	return e == HPE_OK || (e == HPE_PAUSED && p->msg_done);
}

static enum http1_status feed_body(struct http1_parser *p, const char *data, size_t len, size_t *used)
{
	enum http1_status st;
	size_t n = 0;

	if (p->mode == HTTP1_BODY_SSE && next_event(p, &st))
		return st;
	if (p->lf_owed) {
		p->lf_owed = false;
		if (!execute_body(p, "\n", 1, &n))
			return fail_from_parser(p);
		n = 0;
	}
	if (!p->msg_done && (len || p->eof)) {
		if (!execute_body(p, p->eof ? NULL : data, p->eof ? 0 : len, &n))
			return fail_from_parser(p);
		if (p->eof && !p->msg_done)
			return fail(p, HTTP1_E_TRUNCATED, "connection closed in the middle of a body");
		if (p->mode == HTTP1_BODY_BUFFER && n) {
			size_t cap = p->msg.framing == HTTP1_FRAMING_CHUNKED ? RAW_SLACK(2 * p->body_limit)
									  : p->body_limit;
			if (n > cap - p->raw.len)
				return fail(p, HTTP1_E_BODY_TOO_LARGE, "body larger than the limit");
			if (bb_append(&p->raw, data, n) < 0)
				return fail(p, HTTP1_E_NOMEM, "out of memory");
		}
	}
	*used = n;
	if (p->mode == HTTP1_BODY_SSE && next_event(p, &st))
		return st;
	if (p->msg_done)
		return message_end(p);
	return p->mode == HTTP1_BODY_STREAM && n ? HTTP1_BODY : HTTP1_NEED_MORE;
}

/* After HTTP1_MESSAGE_END: what the connection carries next. After an
 * upgrade (or CONNECT) the bytes are no longer HTTP, and nothing here
 * follows them. */
static enum http1_status next_message(struct http1_parser *p)
{
	if (p->msg.upgrade)
		return fail(p, HTTP1_E_MALFORMED, "protocol switch: what follows is not HTTP");
	reset_message(p);
	http_parser_pause(&p->hp, 0);
	return HTTP1_NEED_MORE;
}

enum http1_status http1_feed(struct http1_parser *p, const char *data, size_t len, size_t *used)
{
	*used = 0;
	if (p->phase == PH_DONE && next_message(p) == HTTP1_ERROR)
		return HTTP1_ERROR;
	switch (p->phase) {
	case PH_HEAD:
		return feed_head(p, data, len, used);
	case PH_BODY:
		return feed_body(p, data, len, used);
	case PH_CLOSED:
		return HTTP1_CLOSED;
	default:
		return HTTP1_ERROR;
	}
}

enum http1_status http1_feed_eof(struct http1_parser *p)
{
	size_t used;

	p->eof = true;
	return http1_feed(p, NULL, 0, &used);
}

const struct http1_msg *http1_msg(const struct http1_parser *p)
{
	return &p->msg;
}

const struct sse_event *http1_event(const struct http1_parser *p)
{
	return &p->event;
}

int http1_set_body_mode(struct http1_parser *p, enum http1_body_mode mode)
{
	/* Only between HTTP1_HEAD and the first body byte. */
	if (p->phase != PH_BODY || !p->lf_owed)
		return -1;
	if (mode == HTTP1_BODY_BUFFER && p->msg.framing == HTTP1_FRAMING_LENGTH &&
	    (uint64_t)p->msg.content_length > p->body_limit) {
		fail(p, HTTP1_E_BODY_TOO_LARGE, "Content-Length larger than the limit");
		return -1;
	}
	p->mode = mode;
	return 0;
}

void http1_watch_body(struct http1_parser *p, http1_body_fn fn, void *ctx)
{
	p->body_fn = fn;
	p->body_ctx = ctx;
}

int http1_expect_response(struct http1_parser *resp, enum http_method request_method)
{
	if (resp->n_pending == HTTP1_MAX_PIPELINE)
		return -1;
	resp->pending[resp->n_pending++] = request_method;
	return 0;
}

enum http1_error http1_error(const struct http1_parser *p)
{
	return p->err;
}

const char *http1_error_text(const struct http1_parser *p)
{
	return p->err_text ? p->err_text : "no error";
}

int http1_error_status(enum http1_error err)
{
	switch (err) {
	case HTTP1_E_HEAD_TOO_LARGE:
		return 431;
	case HTTP1_E_BODY_TOO_LARGE:
		return 413;
	case HTTP1_E_NOMEM:
		return 500;
	default:
		return 400;
	}
}

static bool is_framing_header(const struct http1_header *h, bool drop_content_encoding)
{
	return value_is(h->name, h->name_len, "content-length") ||
	       value_is(h->name, h->name_len, "transfer-encoding") ||
	       (drop_content_encoding && value_is(h->name, h->name_len, "content-encoding"));
}

/* The head with its framing (and Content-Encoding, Accept-Encoding when
 * asked) replaced. body_len: Content-Length, -1 chunked, -2 none at all. */
static int head_rebuild(const struct http1_msg *m, int64_t body_len, bool drop_content_encoding,
			bool accept_identity, struct bytebuf *out)
{
	const char *h = m->head;
	size_t blank = m->head_len >= 2 && h[m->head_len - 2] == '\r' ? 2 : 1;
	size_t fields_end = m->head_len - blank;
	size_t line_end = m->n_headers ? (size_t)(m->headers[0].name - h) : fields_end;

	if (bb_append(out, h, line_end) < 0)
		return -1;
	for (size_t i = 0; i < m->n_headers; i++) {
		size_t start = (size_t)(m->headers[i].name - h);
		size_t end = i + 1 < m->n_headers ? (size_t)(m->headers[i + 1].name - h) : fields_end;
		if (!is_framing_header(&m->headers[i], drop_content_encoding) &&
		    !(accept_identity && value_is(m->headers[i].name, m->headers[i].name_len, "accept-encoding")) &&
		    bb_append(out, h + start, end - start) < 0)
			return -1;
	}
	int r = 0;

	if (accept_identity && bb_append_str(out, "Accept-Encoding: identity\r\n") < 0)
		return -1;
	if (body_len >= 0) {
		/* once per forwarded request: digits by hand, not bb_printf */
		char line[48], *d = line + sizeof(line);
		uint64_t v = (uint64_t)body_len;

		*--d = '\n';
		*--d = '\r';
		do
			*--d = (char)('0' + v % 10);
		while ((v /= 10) > 0);
		d -= 16;
		memcpy(d, "Content-Length: ", 16);
		r = bb_append(out, d, (size_t)(line + sizeof(line) - d));
	} else if (body_len == -1) {
		r = bb_append_str(out, "Transfer-Encoding: chunked\r\n");
	}
	if (r < 0)
		return -1;
	return bb_append(out, h + fields_end, blank);
}

int http1_head_rebuild(const struct http1_msg *m, int64_t body_len, bool drop_content_encoding,
		       struct bytebuf *out)
{
	return head_rebuild(m, body_len < 0 ? -1 : body_len, drop_content_encoding, false, out);
}

int http1_request_rebuild(const struct http1_msg *m, int64_t body_len, bool drop_content_encoding,
			  struct bytebuf *out)
{
	return head_rebuild(m, body_len, drop_content_encoding, true, out);
}

int http1_emit_chunk(struct bytebuf *out, const void *data, size_t len)
{
	if (!len)
		return 0; /* a zero-size chunk would end the body */
	if (bb_printf(out, "%zx\r\n", len) < 0 || bb_append(out, data, len) < 0)
		return -1;
	return bb_append(out, "\r\n", 2);
}

int http1_emit_last_chunk(struct bytebuf *out)
{
	return bb_append_str(out, "0\r\n\r\n");
}

int http1_normalized_path(const struct http1_msg *m, char *out, size_t cap)
{
	struct http_parser_url u;
	const char *path = "/";
	size_t path_len = 1, o = 0;

	http_parser_url_init(&u);
	if (http_parser_parse_url(m->target, m->target_len, m->method == HTTP_CONNECT, &u) != 0)
		return -1;
	if (u.field_set & (1 << UF_PATH)) {
		path = m->target + u.field_data[UF_PATH].off;
		path_len = u.field_data[UF_PATH].len;
	}
	if (cap < 2)
		return -1;
	/* Segments are decoded, lower-cased (servers differ on case and on
	 * '\\'), "." dropped, ".." popped, empty ones (// or a trailing /) dropped,
	 * so every spelling a server may route to the same handler compares equal. */
	for (size_t i = 0; i < path_len;) {
		while (i < path_len && (path[i] == '/' || path[i] == '\\'))
			i++;
		if (i == path_len)
			break;
		size_t seg = o;
		if (o + 1 >= cap)
			return -1;
		out[o++] = '/';
		for (; i < path_len && path[i] != '/' && path[i] != '\\'; i++) {
			int c = (unsigned char)path[i];
			if (c == '%') {
				int hi = i + 2 < path_len ? hex_digit(path[i + 1]) : -1;
				int lo = hi >= 0 ? hex_digit(path[i + 2]) : -1;
				if (lo < 0)
					return -1;
				c = hi * 16 + lo;
				if (c == 0 || c == '/' || c == '\\')
					return -1;
				i += 2;
			}
			if (o + 1 >= cap)
				return -1;
			out[o++] = (char)tolower(c);
		}
		size_t seg_len = o - seg - 1;
		if (seg_len == 1 && out[seg + 1] == '.') {
			o = seg;
		} else if (seg_len == 2 && out[seg + 1] == '.' && out[seg + 2] == '.') {
			o = seg;
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		}
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return (int)o;
}

size_t http1_held_bytes(const struct http1_parser *p)
{
	return p->head.cap + p->raw.cap + p->body.cap + p->sse.in.cap + p->sse.data.cap;
}

bool http1_in_head(const struct http1_parser *p)
{
	return p->phase == PH_HEAD && p->head.len > 0;
}

bool http1_in_body(const struct http1_parser *p)
{
	return p->phase == PH_BODY;
}

void http1_shrink(struct http1_parser *p)
{
	/* between messages nothing points into the buffers */
	if (p->phase != PH_HEAD || p->head.len)
		return;
	if (p->raw.cap > HTTP1_KEEP_BUFFER)
		bb_free(&p->raw);
	if (p->body.cap > HTTP1_KEEP_BUFFER)
		bb_free(&p->body);
	if (p->head.cap > HTTP1_KEEP_BUFFER)
		bb_free(&p->head);
}
