/* Which requests are MCP: pure functions of a request's path, head and body. */
#include <stdio.h>
#include <string.h>

#include "bytebuf.h"
#include "common.h"
#include "content_decode.h"
#include "hex_digit.h"
#include "json_fold.h"
#include "json_span.h"
#include "json_strict.h"
#include "mcp_classify.h"

bool mcp_session_key(const struct http1_msg *m, const char *legacy_id, const char *conn_session,
		     char *out, size_t len)
{
	const char *v;
	size_t vlen;

	/* a legacy server reads its session from the target and never looks
	 * at Mcp-Session-Id, which the agent could then vary at will */
	if (legacy_id) {
		copy_cut(out, len, legacy_id);
		return false;
	}
	if (http1_find_header(m, "Mcp-Session-Id", &v, &vlen) == 1) {
		snprintf(out, len, "%.*s", (int)vlen, v);
		return true;
	}
	copy_cut(out, len, conn_session);
	return false;
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

/* Percent-decoded into out (cap bytes, NUL included), '+' as a space in
 * a query (URLSearchParams, Starlette's parse_qsl, Go's ParseQuery);
 * -1 for a bad escape (readers differ on it), a control byte (%00 among
 * them) or overflow. */
static int url_decode(const char *in, size_t n, bool query, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)in[i];

		if (c == '%') {
			int hi = i + 2 < n ? hex_digit(in[i + 1]) : -1, lo = i + 2 < n ? hex_digit(in[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+' && query) {
			c = ' ';
		}
		if (c < 0x20 || c == 0x7f || o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* A query parameter a server may read as the session's: its name, up to a
 * '[' (Express's qs reads "sessionId[]" as sessionId), lower-cased
 * without '_' and '-', is "sessionid". */
static bool names_session(const char *name)
{
	static const char want[] = "sessionid";
	size_t k = 0;

	for (; *name && *name != '['; name++) {
		char c = *name >= 'A' && *name <= 'Z' ? (char)(*name - 'A' + 'a') : *name;

		if (c == '_' || c == '-')
			continue;
		if (k == sizeof(want) - 1 || c != want[k++])
			return false;
	}
	return k == sizeof(want) - 1;
}

int mcp_target_session(const char *target, size_t target_len, struct mcp_legacy_target *out)
{
	const char *end = target + target_len, *q, *p;
	bool found = false;

	memset(out, 0, sizeof(*out));
	/* an absolute URL (an endpoint event may send one): its path on */
	if (target_len && target[0] != '/' && (p = memmem(target, target_len, "://", 3))) {
		p += 3;
		target = memchr(p, '/', end - p);
		if (!target)
			return 0;
	}
	q = memchr(target, '?', end - target);
	if (!q)
		return 0;
	if (url_decode(target, q - target, false, out->path, sizeof(out->path)) < 0)
		return -1;
	for (p = q + 1; p <= end; ) {
		const char *amp = memchr(p, '&', end - p), *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', stop - p);
		char name[64];

		if (url_decode(p, (eq ? eq : stop) - p, true, name, sizeof(name)) == 0 && !names_session(name)) {
			p = stop + 1;
			continue;
		}
		/* a session parameter (or one that cannot be read to tell): only
		 * one, spelled plainly, its value readable */
		if (found || !eq || memchr(p, '%', eq - p) || memchr(p, '+', eq - p) || memchr(p, '[', eq - p) ||
		    url_decode(p, eq - p, true, out->param, sizeof(out->param)) < 0 ||
		    url_decode(eq + 1, stop - eq - 1, true, out->id, sizeof(out->id)) < 0 || !out->id[0])
			return -1;
		found = true;
		p = stop + 1;
	}
	return found ? 1 : 0;
}

int mcp_legacy_session(const struct http1_msg *m, struct mcp_legacy_target *out)
{
	return mcp_target_session(m->target, m->target_len, out);
}

int mcp_request_line_session(const char *head, size_t n, struct mcp_legacy_target *out)
{
	const char *eol = memchr(head, '\n', n), *sp, *target, *end;

	if (!eol || !(sp = memchr(head, ' ', eol - head)))
		return 0;
	target = sp + 1;
	end = memchr(target, ' ', eol - target);
	return end ? mcp_target_session(target, end - target, out) : 0;
}

/* The path as routers match it: Express folds case and ignores one
 * trailing '/' by default (/MESSAGES/ is /messages), so the session a POST
 * names is found, and its denials go on its stream, whichever way the
 * agent spelled the path. */
void mcp_legacy_key(const struct mcp_legacy_target *t, char *out, size_t cap)
{
	char path[sizeof(t->path)];
	size_t n = strlen(t->path);

	if (n > 1 && t->path[n - 1] == '/')
		n--;
	for (size_t i = 0; i < n; i++)
		path[i] = (char)(t->path[i] >= 'A' && t->path[i] <= 'Z' ? t->path[i] + 32 : t->path[i]);
	path[n] = 0;
	snprintf(out, cap, "%s?%s=%s", path, t->param, t->id);
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
