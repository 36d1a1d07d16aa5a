/* JSON-RPC inspection of MCP request bodies; see jsonrpc.h. */
#include "jsonrpc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>

#include "common.h"
#include "content_decode.h"
#include "json_limits.h"
#include "json_number.h"
#include "json_fold.h"
#include "json_strict.h"
#include "jsonrpc_quick.h"

static int refuse(struct jsonrpc_refusal *why, int status, int code, const char *reason)
{
	why->http_status = status;
	why->code = code;
	why->reason = reason;
	return -1;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* cJSON keeps every member of a repeated key; JavaScript servers keep the
 * last one and cJSON lookups find the first, so any repetition is ambiguous. */
static int has_duplicate_keys(const cJSON *node)
{
	if (cJSON_IsObject(node)) {
		size_t n = 0, i = 0;
		for (const cJSON *c = node->child; c; c = c->next)
			n++;
		if (n > 1) {
			/* MCP objects have a handful of keys: no malloc for those */
			const char *few[16];
			const char **keys = n <= 16 ? few : malloc(n * sizeof(*keys));
			if (!keys)
				return -1;
			for (const cJSON *c = node->child; c; c = c->next)
				keys[i++] = c->string;
			qsort(keys, n, sizeof(*keys), cmp_keys);
			int dup = 0;
			for (i = 1; i < n && !dup; i++)
				dup = strcmp(keys[i - 1], keys[i]) == 0;
			if (keys != few)
				free(keys);
			if (dup)
				return 1;
		}
	}
	if (cJSON_IsObject(node) || cJSON_IsArray(node)) {
		for (const cJSON *c = node->child; c; c = c->next) {
			int r = has_duplicate_keys(c);
			if (r)
				return r;
		}
	}
	return 0;
}

static const cJSON *member(const cJSON *obj, const char *name)
{
	return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
}

static void invalid(struct jsonrpc_msg *m, const char *reason)
{
	m->kind = JSONRPC_INVALID;
	m->invalid_reason = reason;
	/* Never forwarded, even by a caller that forgets to look. */
	m->verdict = JSONRPC_ANSWERED;
}

/* Numbers whose literal a double does not keep are flagged, for the
 * conditions that compare the arguments (json_number.h): the whole
 * message in one pass, cheaper than finding the arguments' bytes first. */
static int mark_numbers(const struct jsonrpc_body *b, const struct jsonrpc_msg *m)
{
	return json_numbers_mark((cJSON *)m->node, b->text, m->span);
}

static int classify(const struct jsonrpc_body *b, struct jsonrpc_msg *m)
{
	const cJSON *node = m->node;

	if (!cJSON_IsObject(node)) {
		invalid(m, "message is not a JSON object");
		return 0;
	}
	const cJSON *version = member(node, "jsonrpc"), *method = member(node, "method"), *id = member(node, "id");
	const cJSON *params = member(node, "params"), *result = member(node, "result"), *error = member(node, "error");

	/* The id first, so that even an invalid message can be answered under its id. */
	if (id && (cJSON_IsString(id) || cJSON_IsNumber(id))) {
		struct json_span id_span;
		if (json_child_span(b->text, m->span, node, id, &id_span) < 0)
			return -1;
		/* refused before anything keeps or echoes it (its answer's id is null) */
		if (id_span.len > JSONRPC_ID_MAX) {
			invalid(m, "id longer than " STR(JSONRPC_ID_MAX) " bytes");
			return 0;
		}
		m->id = id;
		m->id_raw = b->text + id_span.off;
		m->id_raw_len = id_span.len;
		if (cJSON_IsNumber(id) && !jsonrpc_id_number_exact(m->id_raw, m->id_raw_len)) {
			invalid(m, "id must be a string or an integer within 2^53 - 1");
			return 0;
		}
	} else if (id && !cJSON_IsNull(id)) {
		invalid(m, "id must be a string or a number");
		return 0;
	}
	if (!cJSON_IsString(version) || strcmp(version->valuestring, "2.0") != 0) {
		invalid(m, "jsonrpc must be \"2.0\"");
		return 0;
	}
	if (method) {
		if (!cJSON_IsString(method))
			invalid(m, "method must be a string");
		else if (result || error)
			invalid(m, "a message cannot carry both a method and a result or error");
		else if (id && !m->id)
			invalid(m, "request id must not be null");
		else if (params && !cJSON_IsObject(params) && !cJSON_IsArray(params))
			invalid(m, "params must be an object or an array");
		if (m->kind == JSONRPC_INVALID)
			return 0;
		m->method = method->valuestring;
		m->params = params;
		m->kind = id ? JSONRPC_REQUEST : JSONRPC_NOTIFICATION;
		if (strcmp(m->method, "tools/call") == 0) {
			m->is_tools_call = true;
			const cJSON *name = member(params, "name"), *args = member(params, "arguments");
			/* named even when invalid, so the refusal is counted for its tool */
			if (cJSON_IsString(name))
				m->tool_name = name->valuestring;
			if (!cJSON_IsObject(params))
				invalid(m, "tools/call params must be an object");
			else if (!m->tool_name)
				invalid(m, "tools/call params.name must be a string");
			else if (args && !cJSON_IsObject(args))
				invalid(m, "tools/call params.arguments must be an object");
			else
				m->arguments = args;
			if (m->arguments && mark_numbers(b, m) < 0)
				return -1;
		}
		return 0;
	}
	if ((result != NULL) == (error != NULL))
		invalid(m, "neither a request, a notification nor a response");
	else if (!id || (result && !m->id))
		invalid(m, "response without a usable id");
	else
		m->kind = JSONRPC_RESPONSE;
	return 0;
}

static int parse_text(const char *text, size_t len, bool quick, struct jsonrpc_body *out,
		      struct jsonrpc_refusal *why)
{
	const char *end = NULL;
	struct json_span root_span;

	memset(out, 0, sizeof(*out));
	out->text = text;
	out->text_len = len;
	/* The common request passes every check below in one walk (strict
	 * JSON has no NUL byte and no byte-order mark, and the walk counts
	 * what json_limits_check counts); other text takes them one by one,
	 * for the reason each gives. The quick reader takes strict JSON only. */
	bool strict = quick && json_strict_within(text, len, json_limits_for_requests());
	if (!strict) {
		if (memchr(text, '\0', len))
			return refuse(why, 400, JSONRPC_PARSE_ERROR, "NUL byte in the body");
		if (json_has_nul_escape(text, len))
			return refuse(why, 400, JSONRPC_INVALID_REQUEST,
				      "a string contains \\u0000, which cannot be matched reliably");
		/* cJSON skips a UTF-8 byte-order mark that a server's parser may not
		 * (or may, after its own charset decoding): neither is certain. */
		if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
			return refuse(why, 400, JSONRPC_PARSE_ERROR, "byte-order mark before the JSON text");
		/* before any tree: what a document may cost (json_limits.h) */
		enum json_limit_hit hit = json_limits_check(text, len, json_limits_for_requests());
		if (hit != JSON_WITHIN)
			return hit == JSON_TOO_DEEP ? refuse(why, 400, JSONRPC_PARSE_ERROR, json_limit_text(hit))
						    : refuse(why, 413, JSONRPC_INVALID_REQUEST, json_limit_text(hit));
	}
	const char *strict_why;
	if (strict) {
		int q = jsonrpc_quick_read(text, len, out);
		if (q)
			return q < 0 ? refuse(why, 500, JSONRPC_INVALID_REQUEST, "out of memory") : 0;
	}
	out->root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (!out->root)
		return refuse(why, 400, JSONRPC_PARSE_ERROR, "invalid JSON");
	while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end != text + len)
		return refuse(why, 400, JSONRPC_PARSE_ERROR, "trailing data after the JSON value");
	/* what cJSON reads leniently (raw control characters, invalid UTF-8,
	 * lone surrogates, "+1") other stacks read otherwise or refuse */
	if (!strict && json_strict_check(text, len, &strict_why) != JSON_STRICT_OK)
		return refuse(why, 400, JSONRPC_PARSE_ERROR, strict_why);
	if (!cJSON_IsObject(out->root) && !cJSON_IsArray(out->root))
		return refuse(why, 400, JSONRPC_INVALID_REQUEST, "body is neither a JSON-RPC message nor a batch");
	out->batch = cJSON_IsArray(out->root);
	out->count = out->batch ? (size_t)cJSON_GetArraySize(out->root) : 1;
	if (out->count == 0)
		return refuse(why, 400, JSONRPC_INVALID_REQUEST, "empty batch");
	int dup = has_duplicate_keys(out->root);
	if (dup)
		return dup < 0 ? refuse(why, 500, JSONRPC_INVALID_REQUEST, "out of memory")
			       : refuse(why, 400, JSONRPC_INVALID_REQUEST, "duplicate object key");
	dup = json_fold_check(out->root, &strict_why);
	if (dup)
		return dup < 0 ? refuse(why, 500, JSONRPC_INVALID_REQUEST, "out of memory")
			       : refuse(why, 400, JSONRPC_INVALID_REQUEST, strict_why);
	out->msgs = calloc(out->count, sizeof(*out->msgs));
	if (!out->msgs)
		return refuse(why, 500, JSONRPC_INVALID_REQUEST, "out of memory");
	if (json_value_span(text, len, 0, &root_span) < 0)
		return refuse(why, 400, JSONRPC_PARSE_ERROR, "invalid JSON");
	struct json_span *spans = malloc(out->count * sizeof(*spans));
	if (!spans)
		return refuse(why, 500, JSONRPC_INVALID_REQUEST, "out of memory");
	if (out->batch) {
		if (json_child_spans(text, root_span, spans, out->count) != (int)out->count) {
			free(spans);
			return refuse(why, 400, JSONRPC_PARSE_ERROR, "invalid JSON");
		}
	} else {
		spans[0] = root_span;
	}
	const cJSON *node = out->batch ? out->root->child : out->root;
	for (size_t i = 0; i < out->count; i++, node = node->next) {
		out->msgs[i].node = node;
		out->msgs[i].span = spans[i];
		if (classify(out, &out->msgs[i]) < 0) {
			free(spans);
			return refuse(why, 500, JSONRPC_INVALID_REQUEST, "out of memory");
		}
	}
	free(spans);
	return 0;
}

int jsonrpc_parse(const char *text, size_t len, struct jsonrpc_body *out, struct jsonrpc_refusal *why)
{
	int r = parse_text(text, len, false, out, why);
	if (r < 0)
		jsonrpc_body_free(out);
	return r;
}

int jsonrpc_parse_quick(const char *text, size_t len, struct jsonrpc_body *out, struct jsonrpc_refusal *why)
{
	int r = parse_text(text, len, true, out, why);
	if (r < 0)
		jsonrpc_body_free(out);
	return r;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

static int base64_decode(const char *s, size_t len, struct bytebuf *out)
{
	unsigned acc = 0;
	int bits = 0;

	while (len && s[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(s[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			char byte = (char)((acc >> bits) & 0xff);
			if (bb_append(out, &byte, 1) < 0)
				return -1;
		}
	}
	return 0;
}

int mcp_header_decode(const char *value, size_t len, struct bytebuf *out)
{
	static const char prefix[] = "=?base64?", suffix[] = "?=";
	const size_t plen = sizeof(prefix) - 1, slen = sizeof(suffix) - 1;

	bb_reset(out);
	if (len >= plen + slen && memcmp(value, prefix, plen) == 0 && memcmp(value + len - slen, suffix, slen) == 0)
		return base64_decode(value + plen, len - plen - slen, out);
	return bb_append(out, value, len);
}

/* The body field an Mcp-Name header mirrors for this message, if any: a
 * tools/call's is its tool_name (also when read without a tree). */
static const char *named_field(const struct jsonrpc_msg *m)
{
	const cJSON *field = NULL;

	if (!m->method)
		return NULL;
	if (m->is_tools_call)
		return m->tool_name;
	if (strcmp(m->method, "prompts/get") == 0)
		field = member(m->params, "name");
	else if (strcmp(m->method, "resources/read") == 0)
		field = member(m->params, "uri");
	return cJSON_IsString(field) ? field->valuestring : NULL;
}

static bool same(const struct bytebuf *header, const char *s)
{
	return s && strlen(s) == header->len && memcmp(s, header->data, header->len) == 0;
}

#define PARAM_PREFIX "mcp-param-"
#define PARAM_PREFIX_LEN (sizeof(PARAM_PREFIX) - 1)

/* Header name bytes equal, case-insensitively and with '_' read as '-' (a
 * CGI-style server reads both as one name). */
static bool header_name_like(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char x = a[i] == '_' ? '-' : a[i], y = b[i] == '_' ? '-' : b[i];
		if ((x | 0x20) != (y | 0x20))
			return false;
	}
	return true;
}

static bool is_param_header(const struct http1_header *h)
{
	return h->name_len > PARAM_PREFIX_LEN && header_name_like(h->name, PARAM_PREFIX, PARAM_PREFIX_LEN);
}

/* The top-level argument an Mcp-Param-{name} header mirrors: the one named
 * {name}, case-insensitively (keys that differ only in case are refused
 * with the body). The daemon does not keep the tools' inputSchema, so a
 * header that x-mcp-header binds to another or a nested property is
 * mapped to nothing, and refused. */
static const cJSON *param_argument(const cJSON *args, const char *name, size_t len)
{
	for (const cJSON *c = args ? args->child : NULL; c; c = c->next)
		if (strlen(c->string) == len && !strncasecmp(c->string, name, len))
			return c;
	return NULL;
}

/* The header value (decoded) is what the client renders for arg
 * (MCP 2026-07-28): a string verbatim, an integer in decimal, a boolean
 * as true / false. Anything else has no rendering to compare. */
static bool param_matches(const struct bytebuf *hv, const cJSON *arg)
{
	char num[32];

	if (cJSON_IsString(arg))
		return same(hv, arg->valuestring);
	if (cJSON_IsBool(arg))
		return same(hv, cJSON_IsTrue(arg) ? "true" : "false");
	if (!cJSON_IsNumber(arg) || json_holds_inexact(arg) || arg->valuedouble != (double)(long long)arg->valuedouble)
		return false;
	snprintf(num, sizeof(num), "%lld", (long long)arg->valuedouble);
	return same(hv, num);
}

static bool plain_ascii(const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
			return false;
	return true;
}

/* Mcp-Param-* headers: a gateway or server may route on them, so each must
 * mirror the argument it names in every element, or the request is
 * refused; one the daemon cannot map to an argument is refused too. */
static int check_param_headers(const struct jsonrpc_body *b, const struct http1_msg *req,
			       struct jsonrpc_refusal *why)
{
	struct bytebuf decoded = BYTEBUF_INIT;
	int r = 0;

	for (size_t i = 0; r == 0 && i < req->n_headers; i++) {
		const struct http1_header *h = &req->headers[i];
		const char *name = h->name + PARAM_PREFIX_LEN;
		size_t len = h->name_len - PARAM_PREFIX_LEN;

		if (!is_param_header(h))
			continue;
		for (size_t k = 0; r == 0 && k < i; k++)
			if (req->headers[k].name_len == h->name_len &&
			    header_name_like(req->headers[k].name, h->name, h->name_len))
				r = refuse(why, 400, JSONRPC_INVALID_REQUEST, "repeated Mcp-Param header");
		if (r == 0 && memchr(h->name, '_', PARAM_PREFIX_LEN))
			r = refuse(why, 400, JSONRPC_INVALID_REQUEST,
				   "Mcp-Param header spelled with '_' where a server may read '-'");
		if (r == 0 && mcp_header_decode(h->value, h->value_len, &decoded) < 0)
			r = refuse(why, 400, JSONRPC_INVALID_REQUEST, "Mcp-Param header is not valid base64");
		if (r == 0 && decoded.len == h->value_len && !plain_ascii(h->value, h->value_len))
			r = refuse(why, 400, JSONRPC_INVALID_REQUEST,
				   "Mcp-Param header is neither printable ASCII nor base64-encoded");
		for (size_t m = 0; r == 0 && m < b->count; m++) {
			const struct jsonrpc_msg *msg = &b->msgs[m];
			const cJSON *arg;

			if (!msg->is_tools_call || msg->args_unread)
				r = refuse(why, 400, JSONRPC_INVALID_REQUEST,
					   "Mcp-Param header on a message that is not a tools/call");
			else if (!(arg = param_argument(msg->arguments, name, len)))
				r = refuse(why, 400, JSONRPC_INVALID_REQUEST,
					   "Mcp-Param header names no argument of the call (Mcp-Param-{name} "
					   "is checked against the top-level argument {name})");
			else if (!param_matches(&decoded, arg))
				r = refuse(why, 400, JSONRPC_INVALID_REQUEST,
					   "Mcp-Param header does not match the argument it names");
		}
	}
	bb_free(&decoded);
	return r;
}

bool jsonrpc_has_param_headers(const struct http1_msg *req)
{
	for (size_t i = 0; i < req->n_headers; i++)
		if (is_param_header(&req->headers[i]))
			return true;
	return false;
}

int jsonrpc_check_mcp_headers(const struct jsonrpc_body *b, const struct http1_msg *req,
			      struct jsonrpc_refusal *why)
{
	const char *v;
	size_t len;
	struct bytebuf decoded = BYTEBUF_INIT;
	int r = 0;

	size_t n = http1_find_header(req, "mcp-method", &v, &len);
	if (n > 1)
		r = refuse(why, 400, JSONRPC_INVALID_REQUEST, "repeated Mcp-Method header");
	else if (n == 1 && mcp_header_decode(v, len, &decoded) < 0)
		r = refuse(why, 400, JSONRPC_INVALID_REQUEST, "Mcp-Method header is not valid base64");
	for (size_t i = 0; n == 1 && r == 0 && i < b->count; i++)
		if (!same(&decoded, b->msgs[i].method))
			r = refuse(why, 400, JSONRPC_INVALID_REQUEST, "Mcp-Method header does not match the body");
	if (r == 0) {
		n = http1_find_header(req, "mcp-name", &v, &len);
		if (n > 1)
			r = refuse(why, 400, JSONRPC_INVALID_REQUEST, "repeated Mcp-Name header");
		else if (n == 1 && mcp_header_decode(v, len, &decoded) < 0)
			r = refuse(why, 400, JSONRPC_INVALID_REQUEST, "Mcp-Name header is not valid base64");
		for (size_t i = 0; n == 1 && r == 0 && i < b->count; i++) {
			if (!same(&decoded, named_field(&b->msgs[i])))
				r = refuse(why, 400, JSONRPC_INVALID_REQUEST, "Mcp-Name header does not match the body");
		}
	}
	bb_free(&decoded);
	return r ? r : check_param_headers(b, req, why);
}

int jsonrpc_inspect_request(const struct http1_msg *req, size_t limit, bool quick, struct jsonrpc_body *out,
			    struct jsonrpc_refusal *why)
{
	struct bytebuf decoded = BYTEBUF_INIT;
	const char *text;
	size_t len;
	enum content_coding_status st = content_decode_text(req, req->body ? req->body : "", req->body_len, limit,
							    &decoded, &text, &len);
	int r;

	switch (st) {
	case CODING_IDENTITY:
	case CODING_DECODED:
		/* Mcp-Param headers are checked against the arguments: the tree */
		r = quick && !jsonrpc_has_param_headers(req) ? jsonrpc_parse_quick(text, len, out, why)
							     : jsonrpc_parse(text, len, out, why);
		out->decoded_body = st == CODING_DECODED;
		break;
	case CODING_UNSUPPORTED:
		memset(out, 0, sizeof(*out));
		r = refuse(why, 415, JSONRPC_INVALID_REQUEST, content_coding_status_text(st));
		break;
	case CODING_TOO_LARGE:
		memset(out, 0, sizeof(*out));
		r = refuse(why, 413, JSONRPC_INVALID_REQUEST, content_coding_status_text(st));
		break;
	case CODING_CORRUPT:
		memset(out, 0, sizeof(*out));
		r = refuse(why, 400, JSONRPC_PARSE_ERROR, content_coding_status_text(st));
		break;
	default:
		memset(out, 0, sizeof(*out));
		r = refuse(why, 500, JSONRPC_INVALID_REQUEST, content_coding_status_text(st));
		break;
	}
	out->decoded = decoded; /* owns the text the spans point into */
	if (r == 0)
		r = jsonrpc_check_mcp_headers(out, req, why);
	if (r < 0)
		jsonrpc_body_free(out);
	return r;
}

size_t jsonrpc_forwarded_count(const struct jsonrpc_body *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->count; i++)
		n += b->msgs[i].verdict == JSONRPC_FORWARD;
	return n;
}

int jsonrpc_forward_body(const struct jsonrpc_body *b, struct bytebuf *out)
{
	bool first = true;

	if (!b->batch)
		return b->msgs[0].verdict == JSONRPC_FORWARD ? bb_append(out, b->text + b->msgs[0].span.off,
									  b->msgs[0].span.len)
							     : 0;
	if (bb_append(out, "[", 1) < 0)
		return -1;
	for (size_t i = 0; i < b->count; i++) {
		const struct jsonrpc_msg *m = &b->msgs[i];
		if (m->verdict != JSONRPC_FORWARD)
			continue;
		if ((!first && bb_append(out, ",", 1) < 0) || bb_append(out, b->text + m->span.off, m->span.len) < 0)
			return -1;
		first = false;
	}
	return bb_append(out, "]", 1);
}

void jsonrpc_body_free(struct jsonrpc_body *b)
{
	cJSON_Delete(b->root);
	cJSON_Delete(b->id_node);
	if (b->msgs != &b->one)
		free(b->msgs);
	bb_free(&b->decoded);
	memset(b, 0, sizeof(*b));
}
