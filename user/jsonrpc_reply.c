/* Replies the proxy sends itself; see jsonrpc_reply.h. */
#include "jsonrpc_reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json_limits.h"
#include "json_span.h"
#include "sse.h"

/* {"jsonrpc":"2.0","id":<exact id text or null>} */
static cJSON *reply_base(const struct jsonrpc_msg *m)
{
	cJSON *obj = cJSON_CreateObject();
	cJSON *id = NULL;

	if (!obj || !cJSON_AddStringToObject(obj, "jsonrpc", "2.0"))
		goto fail;
	if (m && m->id_raw) {
		char *raw = strndup(m->id_raw, m->id_raw_len);
		id = raw ? cJSON_CreateRaw(raw) : NULL;
		free(raw);
	} else {
		id = cJSON_CreateNull();
	}
	if (!id || !cJSON_AddItemToObject(obj, "id", id)) {
		cJSON_Delete(id);
		goto fail;
	}
	return obj;
fail:
	cJSON_Delete(obj);
	return NULL;
}

cJSON *jsonrpc_denial(const struct jsonrpc_msg *m, const char *rule, const char *reason, long retry_after_s)
{
	struct bytebuf text = BYTEBUF_INIT;
	cJSON *obj = reply_base(m);

	if (!obj || bb_printf(&text, "Blocked by mcpfence: %s: %s", rule, reason) < 0 ||
	    (retry_after_s >= 0 && bb_printf(&text, "; retry after %ld s", retry_after_s) < 0))
		goto fail;
	cJSON *result = cJSON_AddObjectToObject(obj, "result");
	cJSON *content = result ? cJSON_AddArrayToObject(result, "content") : NULL;
	cJSON *item = cJSON_CreateObject();
	if (!content || !item || !cJSON_AddItemToArray(content, item)) {
		cJSON_Delete(item);
		goto fail;
	}
	if (!cJSON_AddStringToObject(item, "type", "text") || !cJSON_AddStringToObject(item, "text", text.data) ||
	    !cJSON_AddTrueToObject(result, "isError"))
		goto fail;
	bb_free(&text);
	return obj;
fail:
	bb_free(&text);
	cJSON_Delete(obj);
	return NULL;
}

cJSON *jsonrpc_error_reply(const struct jsonrpc_msg *m, int code, const char *message)
{
	cJSON *obj = reply_base(m);
	cJSON *err = obj ? cJSON_AddObjectToObject(obj, "error") : NULL;

	if (!err || !cJSON_AddNumberToObject(err, "code", code) || !cJSON_AddStringToObject(err, "message", message)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

/* q-value (0..1000) the Accept header gives `type`: the most specific matching range wins. */
static int accept_q(const char *v, size_t len, const char *type)
{
	const char *slash = strchr(type, '/');
	size_t major_len = (size_t)(slash - type);
	int best_specificity = -1, q_best = 0;

	for (const char *end = v + len; v < end;) {
		const char *comma = memchr(v, ',', (size_t)(end - v));
		const char *range_end = comma ? comma : end;
		while (v < range_end && (*v == ' ' || *v == '\t'))
			v++;
		const char *semi = memchr(v, ';', (size_t)(range_end - v));
		size_t mlen = (size_t)((semi ? semi : range_end) - v);
		while (mlen && (v[mlen - 1] == ' ' || v[mlen - 1] == '\t'))
			mlen--;
		int specificity = -1;
		if (mlen == strlen(type) && strncasecmp(v, type, mlen) == 0)
			specificity = 2;
		else if (mlen == major_len + 2 && strncasecmp(v, type, major_len + 1) == 0 && v[mlen - 1] == '*')
			specificity = 1;
		else if (mlen == 3 && memcmp(v, "*/*", 3) == 0)
			specificity = 0;
		if (specificity > best_specificity) {
			int q = 1000;
			for (const char *p = semi; p && p < range_end; p = memchr(p + 1, ';', (size_t)(range_end - p - 1))) {
				const char *s = p + 1;
				while (s < range_end && (*s == ' ' || *s == '\t'))
					s++;
				if (range_end - s >= 2 && (s[0] == 'q' || s[0] == 'Q') && s[1] == '=')
					q = (int)(strtod(s + 2, NULL) * 1000);
			}
			best_specificity = specificity;
			q_best = q < 0 ? 0 : q > 1000 ? 1000 : q;
		}
		v = comma ? comma + 1 : end;
	}
	return q_best;
}

enum jsonrpc_shape jsonrpc_reply_shape(const struct http1_msg *req)
{
	const char *v;
	size_t len;

	if (http1_find_header(req, "accept", &v, &len) != 1)
		return JSONRPC_SHAPE_JSON;
	int json = accept_q(v, len, "application/json"), sse = accept_q(v, len, "text/event-stream");
	return sse > json ? JSONRPC_SHAPE_SSE : JSONRPC_SHAPE_JSON;
}

static int http_response(struct bytebuf *out, int status, const char *content_type, const char *extra_headers,
			 const char *body, size_t body_len, bool keep_alive)
{
	if (bb_printf(out, "HTTP/1.1 %d %s\r\n", status, http_status_str((enum http_status)status)) < 0)
		return -1;
	if (content_type && bb_printf(out, "Content-Type: %s\r\n", content_type) < 0)
		return -1;
	if (bb_append_str(out, extra_headers) < 0 || bb_printf(out, "Content-Length: %zu\r\n", body_len) < 0 ||
	    (!keep_alive && bb_append_str(out, "Connection: close\r\n") < 0) || bb_append_str(out, "\r\n") < 0)
		return -1;
	return bb_append(out, body, body_len);
}

static int print_json(const cJSON *item, struct bytebuf *out)
{
	char *s = cJSON_PrintUnformatted(item);
	int r = s ? bb_append_str(out, s) : -1;
	free(s);
	return r;
}

int jsonrpc_sse_events(const cJSON *replies, struct bytebuf *out)
{
	struct bytebuf json = BYTEBUF_INIT;
	const cJSON *item = cJSON_IsArray(replies) ? replies->child : replies;
	int r = 0;

	for (; item && r == 0; item = cJSON_IsArray(replies) ? item->next : NULL) {
		bb_reset(&json);
		r = print_json(item, &json);
		if (r == 0)
			r = sse_format_event(out, "message", 7, NULL, 0, false, json.data, json.len);
	}
	bb_free(&json);
	return r;
}

int jsonrpc_http_reply(struct bytebuf *out, enum jsonrpc_shape shape, const cJSON *payload, bool keep_alive)
{
	struct bytebuf body = BYTEBUF_INIT;
	int r;

	if (!payload)
		return http_response(out, 202, NULL, "", "", 0, keep_alive);
	if (shape == JSONRPC_SHAPE_SSE) {
		r = jsonrpc_sse_events(payload, &body);
		if (r == 0)
			r = http_response(out, 200, "text/event-stream", "Cache-Control: no-cache\r\n", body.data,
					  body.len, keep_alive);
	} else {
		r = print_json(payload, &body);
		if (r == 0)
			r = http_response(out, 200, "application/json", "", body.data, body.len, keep_alive);
	}
	bb_free(&body);
	return r;
}

int jsonrpc_http_error(struct bytebuf *out, int status, int code, const char *message, bool keep_alive)
{
	return jsonrpc_http_error_retry(out, status, code, message, keep_alive, 0);
}

int jsonrpc_http_error_retry(struct bytebuf *out, int status, int code, const char *message, bool keep_alive,
			     unsigned retry_after_s)
{
	struct bytebuf body = BYTEBUF_INIT;
	cJSON *err = jsonrpc_error_reply(NULL, code, message);
	int r = err ? print_json(err, &body) : -1;
	char retry[48] = "";

	if (retry_after_s)
		snprintf(retry, sizeof(retry), "Retry-After: %u\r\n", retry_after_s);
	if (r == 0)
		r = http_response(out, status, "application/json", retry, body.data, body.len, keep_alive);
	cJSON_Delete(err);
	bb_free(&body);
	return r;
}

int jsonrpc_http_refusal(struct bytebuf *out, const struct jsonrpc_refusal *why, bool keep_alive)
{
	return jsonrpc_http_error(out, why->http_status, why->code, why->reason, keep_alive);
}

int jsonrpc_merge_json(const char *upstream, size_t len, const cJSON *replies, struct bytebuf *out)
{
	struct json_span whole;
	const char *end = NULL;
	cJSON *parsed = json_limits_check(upstream, len, json_limits_for_answers()) == JSON_WITHIN
				? cJSON_ParseWithLengthOpts(upstream, len, &end, 0) : NULL;
	bool is_array = cJSON_IsArray(parsed), empty = is_array && !parsed->child;
	bool ok = parsed && (is_array || cJSON_IsObject(parsed)) && json_value_span(upstream, len, 0, &whole) == 0;

	cJSON_Delete(parsed);
	if (!ok)
		return -1;
	/* Keep upstream's bytes: everything up to its closing bracket, then ours. */
	if (is_array) {
		if (bb_append(out, upstream + whole.off, whole.len - 1) < 0)
			return -1;
	} else if (bb_append(out, "[", 1) < 0 || bb_append(out, upstream + whole.off, whole.len) < 0) {
		return -1;
	}
	bool first = empty;
	for (const cJSON *item = cJSON_IsArray(replies) ? replies->child : replies; item;
	     item = cJSON_IsArray(replies) ? item->next : NULL) {
		if ((!first && bb_append(out, ",", 1) < 0) || print_json(item, out) < 0)
			return -1;
		first = false;
	}
	return bb_append(out, "]", 1);
}
