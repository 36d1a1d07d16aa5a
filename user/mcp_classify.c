/* Which requests are MCP: pure functions of a request's path, head and body. */
#include <stdio.h>
#include <string.h>

#include "bytebuf.h"
#include "common.h"
#include "content_decode.h"
#include "json_fold.h"
#include "json_span.h"
#include "json_strict.h"
#include "mcp_classify.h"

void mcp_session_key(const struct http1_msg *m, const char *legacy_id, const char *conn_session,
		     char *out, size_t len)
{
	const char *v;
	size_t vlen;

	if (http1_find_header(m, "Mcp-Session-Id", &v, &vlen) == 1)
		snprintf(out, len, "%.*s", (int)vlen, v);
	else
		copy_cut(out, len, legacy_id ? legacy_id : conn_session);
}

bool mcp_path_is_mcp(const char *path)
{
	static const char *const paths[] = { "/mcp", "/sse", "/messages", "/message", "/" };

	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		size_t n = strlen(paths[i]);

		if (!strcmp(path, paths[i]) || (n > 1 && !strncmp(path, paths[i], n) && path[n] == '/'))
			return true;
	}
	return false;
}

bool mcp_legacy_session_id(const struct http1_msg *m, char *out, size_t len)
{
	return mcp_target_session_id(m->target, m->target_len, out, len);
}

bool mcp_request_line_session_id(const char *head, size_t n, char *out, size_t len)
{
	const char *eol = memchr(head, '\n', n), *sp, *target, *end;

	if (!eol || !(sp = memchr(head, ' ', eol - head)))
		return false;
	target = sp + 1;
	end = memchr(target, ' ', eol - target);
	return end && mcp_target_session_id(target, end - target, out, len);
}

bool mcp_target_session_id(const char *target, size_t target_len, char *out, size_t len)
{
	const char *q = memchr(target, '?', target_len), *end = target + target_len;

	while (q && q < end) {
		const char *p = q + 1, *amp = memchr(p, '&', end - p);
		size_t plen = (amp ? amp : end) - p;

		if (plen > 10 && !strncmp(p, "sessionId=", 10)) {
			snprintf(out, len, "%.*s", (int)(plen - 10), p + 10);
			return true;
		}
		q = amp;
	}
	return false;
}

/* JSON that cJSON cannot read but a server decoding charsets might: a
 * UTF-8, UTF-16 or UTF-32 byte-order mark, or UTF-16/32 without one (a NUL
 * among the first four bytes, the rest of them starting a JSON value). */
static bool bom_or_wide_json(const unsigned char *t, size_t len)
{
	size_t n = len < 4 ? len : 4, i = 0;

	if ((len >= 3 && !memcmp(t, "\xef\xbb\xbf", 3)) ||
	    (len >= 2 && ((t[0] == 0xfe && t[1] == 0xff) || (t[0] == 0xff && t[1] == 0xfe))))
		return true;
	if (!memchr(t, '\0', n))
		return false;
	while (i < n && t[i] == '\0')
		i++;
	return i < n && memchr("{[ \t\r\n", t[i], 6);
}

/* Does this object have a member a server reads as "jsonrpc" or "method"?
 * Names are compared as written, case-folded as Go's encoding/json does
 * (json_fold.h); one with escapes might be either, and a malformed object
 * cannot be ruled out: both count as yes. */
static bool names_jsonrpc(const char *t, struct json_span obj)
{
	struct json_members it;
	int r;

	json_members_begin(&it, t, obj);
	while ((r = json_members_next(&it)) == 1) {
		const char *name = t + it.key.off + 1;
		size_t n = it.key.len - 2;

		if (memchr(name, '\\', n) || json_fold_equal(name, n, "jsonrpc", 7) ||
		    json_fold_equal(name, n, "method", 6))
			return true;
	}
	return r < 0;
}

/* A top-level value json_sniff found, text[0..len): could a reader take it
 * for JSON-RPC? Yes unless it is strict JSON (json_strict.h) naming no
 * "jsonrpc" or "method", in any case, at its top or in an element. */
static bool value_may_be_jsonrpc(const char *text, size_t len)
{
	const char *why;
	struct json_span root;
	struct json_members it;
	bool yes = false;
	int r = 0;

	if (json_strict_check(text, len, &why) != JSON_STRICT_OK || json_value_span(text, len, 0, &root) < 0)
		return true;
	if (text[root.off] == '{')
		return names_jsonrpc(text, root);
	json_members_begin(&it, text, root);
	while (!yes && (r = json_members_next(&it)) == 1)
		yes = text[it.value.off] == '{' && names_jsonrpc(text, it.value);
	return yes || r < 0;
}

/* json_sniff reads it as lenient readers would; every top-level object or
 * array in it must be harmless, the ones after the first too (Go's
 * json.Decoder in a loop reads them). */
int mcp_sniff_text(struct json_sniff *sn, const char *text, size_t len, bool end)
{
	for (;;) {
		switch (json_sniff_feed(sn, text, len, end)) {
		case JSON_SNIFF_NOT_JSON:
			return 1;
		case JSON_SNIFF_MORE:
			return -1;
		case JSON_SNIFF_UNSURE:
			return 0;
		case JSON_SNIFF_VALUE:
			if (value_may_be_jsonrpc(text + sn->start, sn->pos - sn->start))
				return 0;
			break;
		}
	}
}

/* Read as the server would read it: Content-Encoding undone first. Only
 * top-level names are looked at, without building a tree: a JSON-RPC body
 * is parsed once, by the inspection. */
bool mcp_body_needs_inspection(const struct http1_msg *m, size_t limit)
{
	struct bytebuf decoded = BYTEBUF_INIT;
	const char *text;
	size_t len;
	struct json_sniff sn;
	bool yes;
	enum content_coding_status st = content_decode_text(m, m->body ? m->body : "", m->body_len, limit,
							    &decoded, &text, &len);

	if (st != CODING_IDENTITY && st != CODING_DECODED) {
		bb_free(&decoded); /* what was decoded before it failed */
		return true;
	}
	json_sniff_init(&sn);
	yes = bom_or_wide_json((const unsigned char *)text, len) || mcp_sniff_text(&sn, text, len, true) != 1;
	bb_free(&decoded);
	return yes;
}
