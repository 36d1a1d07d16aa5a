/* jsonrpc: inspection of an MCP POST body (Content-Encoding, JSON-RPC
 * shape, duplicate keys, Mcp-Method/Mcp-Name headers), then what would be
 * forwarded. Input: header lines ("Name: value\n"...), a NUL, the body.
 * Without a NUL the whole input is the body. Each body is inspected twice,
 * with the tree and allowing the quick reader (jsonrpc_quick.h): a body
 * read quick must be accepted by the tree as the same tools/call. No
 * message keeps an id longer than JSONRPC_ID_MAX. */
#include "common.h"
#include "fuzz.h"
#include "jsonrpc.h"

/* The quick reading q against the tree's t of the same request. */
static void same_call(const struct jsonrpc_body *q, int rt, const struct jsonrpc_body *t)
{
	const struct jsonrpc_msg *a = &q->msgs[0], *b = &t->msgs[0];

	FUZZ_ASSERT(rt == 0 && !t->batch && t->count == 1 && q->count == 1);
	FUZZ_ASSERT(a->kind == JSONRPC_REQUEST && b->kind == JSONRPC_REQUEST && b->is_tools_call);
	FUZZ_ASSERT(!strcmp(a->method, b->method) && b->tool_name && !strcmp(a->tool_name, b->tool_name));
	FUZZ_ASSERT(a->id_raw_len == b->id_raw_len && !memcmp(a->id_raw, b->id_raw, a->id_raw_len));
	FUZZ_ASSERT(cJSON_Compare(a->id, b->id, true) && a->id->type == b->id->type);
	FUZZ_ASSERT(a->args_unread && !a->arguments && !b->args_unread);
	FUZZ_ASSERT(!cJSON_GetObjectItemCaseSensitive(b->params, "arguments") || b->arguments);
	FUZZ_ASSERT(a->span.off == b->span.off && a->span.len == b->span.len && a->verdict == b->verdict);
}

static void check(const struct jsonrpc_body *b)
{
	struct bytebuf out = BYTEBUF_INIT;

	size_t valid = 0;

	FUZZ_ASSERT(b->count > 0 && b->msgs);
	for (size_t i = 0; i < b->count; i++) {
		const struct jsonrpc_msg *m = &b->msgs[i];
		FUZZ_ASSERT(m->span.off + m->span.len <= b->text_len);
		if (m->kind == JSONRPC_INVALID)
			FUZZ_ASSERT(m->invalid_reason && m->verdict == JSONRPC_ANSWERED);
		else
			valid++;
		if (m->kind == JSONRPC_REQUEST || m->kind == JSONRPC_NOTIFICATION)
			FUZZ_ASSERT(m->method);
		if (m->is_tools_call && m->kind != JSONRPC_INVALID)
			FUZZ_ASSERT(m->tool_name);
		if (m->id_raw)
			FUZZ_ASSERT(m->id_raw >= b->text && m->id_raw + m->id_raw_len <= b->text + b->text_len);
		/* nothing keeps or echoes a longer id (common.h) */
		FUZZ_ASSERT(m->id_raw_len <= JSONRPC_ID_MAX && (m->kind == JSONRPC_INVALID || !m->id == !m->id_raw));
	}
	FUZZ_ASSERT(jsonrpc_forwarded_count(b) == valid);
	/* Forward every other element: what goes out must still be JSON. */
	for (size_t i = 0; i < b->count; i += 2)
		b->msgs[i].verdict = JSONRPC_ANSWERED;
	if (jsonrpc_forwarded_count(b) && jsonrpc_forward_body(b, &out) == 0) {
		cJSON *again = cJSON_ParseWithLength(out.data, out.len);
		FUZZ_ASSERT(again);
		cJSON_Delete(again);
	}
	bb_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *nul = memchr(in, '\0', size);
	size_t hlen = nul ? (size_t)(nul - in) : 0;
	const char *body = nul ? nul + 1 : in;
	size_t blen = size - (size_t)(body - in);
	char *scratch = malloc(hlen + 1), *copy = malloc(blen + 1);
	struct http1_msg msg;
	struct jsonrpc_body b;
	struct jsonrpc_refusal why;

	memcpy(copy, body, blen); /* exactly blen bytes: overreads are caught */
	fuzz_msg(&msg, scratch, in, hlen, copy, blen);
	struct jsonrpc_body q;
	struct jsonrpc_refusal wq;
	int rt = jsonrpc_inspect_request(&msg, 1 << 20, false, &b, &why);
	int rq = jsonrpc_inspect_request(&msg, 1 << 20, true, &q, &wq);

	if (rq == 0 && q.quick) {
		same_call(&q, rt, &b);
	} else {
		FUZZ_ASSERT(rq == rt);
		if (rq < 0)
			FUZZ_ASSERT(wq.http_status == why.http_status && !strcmp(wq.reason, why.reason));
	}
	if (rq == 0)
		jsonrpc_body_free(&q);
	if (rt == 0) {
		check(&b);
		jsonrpc_body_free(&b);
	} else {
		FUZZ_ASSERT(why.reason && why.http_status >= 400 && why.http_status < 600);
	}
	free(scratch);
	free(copy);
	return 0;
}
