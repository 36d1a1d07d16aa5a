/* Strict request framing and labels; see http_strict.h. */
#include "common.h"
#include "http_strict.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "hex_digit.h"

static int refuse(const char **why, const char *text)
{
	*why = text;
	return -1;
}

/* name (which has a '_'), with '_' read as '-', equals want (case-insensitive) */
static bool underscore_spelling(const struct http1_header *h, const char *want)
{
	if (h->name_len != strlen(want))
		return false;
	for (size_t i = 0; i < h->name_len; i++) {
		char c = h->name[i] == '_' ? '-' : h->name[i];
		if ((c | 0x20) != (want[i] | 0x20))
			return false;
	}
	return true;
}

int http_strict_head(const struct http1_msg *m, const char **why)
{
	static const char *const guarded[] = { "content-length", "transfer-encoding", "content-type",
					       "content-encoding", "host", "mcp-session-id", "mcp-method", "mcp-name" };

	/* Headers the daemon reads for a decision or a key and servers read as
	 * one value, taking the first, the last or both joined ("S, S"):
	 * Host (routing, the endpoint), Content-Type (the body's media type and
	 * charset), Mcp-Session-Id (session-scoped limits, approvals and grants
	 * are keyed by it). Mcp-Method, Mcp-Name and Mcp-Param-* are checked
	 * against the body (jsonrpc.c). Not here: Accept (read only to shape
	 * the daemon's own answers and to offer elicitation, both skipped
	 * unless it is one header), Content-Encoding (a list: every header is
	 * decoded in order and the decoded body forwarded without it), and
	 * MCP-Protocol-Version, Last-Event-ID and Authorization, which the
	 * daemon does not read. */
	static const struct { const char *name, *why; } single[] = {
		{ "host", "repeated Host header" },
		{ "content-type", "repeated Content-Type header" },
		{ "mcp-session-id", "repeated Mcp-Session-Id header" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(single); i++)
		if (http1_find_header(m, single[i].name, NULL, NULL) > 1)
			return refuse(why, single[i].why);
	for (size_t i = 0; i < m->n_headers; i++) {
		if (!memchr(m->headers[i].name, '_', m->headers[i].name_len))
			continue;
		for (size_t g = 0; g < ARRAY_SIZE(guarded); g++)
			if (underscore_spelling(&m->headers[i], guarded[g]))
				return refuse(why, "header name spelled with '_' where a server may read '-'");
	}
	return 0;
}

enum { CK_SIZE, CK_SIZE_LF, CK_DATA, CK_DATA_CR, CK_DATA_LF, CK_LAST_CR, CK_LAST_LF, CK_DONE };

void http_chunk_check_init(struct http_chunk_check *c)
{
	memset(c, 0, sizeof(*c));
}

int http_chunk_check_feed(struct http_chunk_check *c, const char *raw, size_t len, const char **why)
{
	for (size_t i = 0; i < len; i++) {
		char ch = raw[i];
		int d;

		switch (c->state) {
		case CK_SIZE:
			if ((d = hex_digit(ch)) >= 0) {
				if (++c->digits > 15)
					return refuse(why, "chunk size too long");
				c->left = c->left * 16 + (uint64_t)d;
			} else if (ch == ';') {
				return refuse(why, "chunk extensions are refused");
			} else if (ch == '\r' && c->digits) {
				c->state = CK_SIZE_LF;
			} else {
				return refuse(why, ch == '\n' ? "bare LF in chunk framing" : "chunk size is not hexadecimal");
			}
			break;
		case CK_SIZE_LF:
			if (ch != '\n')
				return refuse(why, "chunk size line not ended by CRLF");
			c->state = c->left ? CK_DATA : CK_LAST_CR;
			break;
		case CK_DATA: {
			size_t n = len - i < c->left ? len - i : (size_t)c->left;
			c->left -= n;
			i += n - 1;
			if (!c->left)
				c->state = CK_DATA_CR;
			break;
		}
		case CK_DATA_CR:
		case CK_DATA_LF:
			if (ch != (c->state == CK_DATA_CR ? '\r' : '\n'))
				return refuse(why, "chunk data not followed by CRLF");
			if (c->state == CK_DATA_LF)
				c->digits = 0;
			c->state = c->state == CK_DATA_CR ? CK_DATA_LF : CK_SIZE;
			break;
		case CK_LAST_CR:
			if (ch != '\r')
				return refuse(why, "trailer fields after the last chunk are refused");
			c->state = CK_LAST_LF;
			break;
		case CK_LAST_LF:
			if (ch != '\n')
				return refuse(why, "last chunk not ended by CRLF");
			c->state = CK_DONE;
			break;
		default:
			return refuse(why, "data after the last chunk");
		}
	}
	return 0;
}

int http_chunk_check_end(const struct http_chunk_check *c, const char **why)
{
	return c->state == CK_DONE ? 0 : refuse(why, "chunked body cut short");
}

int http_strict_chunked(const char *raw, size_t len, const char **why)
{
	struct http_chunk_check c;

	http_chunk_check_init(&c);
	if (http_chunk_check_feed(&c, raw, len, why) < 0)
		return -1;
	return http_chunk_check_end(&c, why);
}

/* The charset parameter of Content-Type: 0 none, 1 found (*v, *vlen,
 * quotes removed), -1 more than one or malformed. */
static int charset_param(const char *ct, size_t len, const char **v, size_t *vlen)
{
	const char *p = memchr(ct, ';', len), *end = ct + len;
	int found = 0;

	while (p && p < end) {
		const char *s = p + 1, *semi = memchr(s, ';', (size_t)(end - s)), *e = semi ? semi : end;

		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		if ((size_t)(e - s) >= 8 && !strncasecmp(s, "charset", 7)) {
			const char *q = s + 7;
			while (q < e && (*q == ' ' || *q == '\t'))
				q++;
			if (q < e && *q == '=') {
				if (found++)
					return -1;
				q++;
				while (q < e && (*q == ' ' || *q == '\t'))
					q++;
				const char *qe = e;
				while (qe > q && (qe[-1] == ' ' || qe[-1] == '\t'))
					qe--;
				if (qe - q >= 2 && *q == '"' && qe[-1] == '"') {
					q++;
					qe--;
				}
				*v = q;
				*vlen = (size_t)(qe - q);
			}
		}
		p = semi;
	}
	return found;
}

static bool is(const char *v, size_t len, const char *want)
{
	return len == strlen(want) && !strncasecmp(v, want, len);
}

int http_strict_charset(const struct http1_msg *m, const char *body, size_t len, const char **why)
{
	const char *ct, *v = NULL;
	size_t ct_len, vlen = 0;
	int r;

	if (http1_find_header(m, "content-type", &ct, &ct_len) == 0)
		return 0;
	r = charset_param(ct, ct_len, &v, &vlen);
	if (r < 0)
		return refuse(why, "Content-Type names its charset twice");
	if (r == 0 || is(v, vlen, "utf-8") || is(v, vlen, "utf8"))
		return 0;
	if (is(v, vlen, "us-ascii") || is(v, vlen, "ascii")) {
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)body[i] >= 0x80)
				return refuse(why, "charset us-ascii with bytes that are not ASCII");
		return 0;
	}
	return refuse(why, "only UTF-8 request bodies are accepted (Content-Type charset)");
}
