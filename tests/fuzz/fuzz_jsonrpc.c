/* jsonrpc: inspection of an MCP POST body (Content-Encoding, JSON-RPC
 * shape, duplicate keys, Mcp-Method/Mcp-Name headers), then what would be
 * forwarded. Input: header lines ("Name: value\n"...), a NUL, the body.
 * Without a NUL the whole input is the body. */
#include "fuzz.h"
#include "jsonrpc.h"

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
	if (jsonrpc_inspect_request(&msg, 1 << 20, false, &b, &why) == 0) {
		check(&b);
		jsonrpc_body_free(&b);
	} else {
		FUZZ_ASSERT(why.reason && why.http_status >= 400 && why.http_status < 600);
	}
	free(scratch);
	free(copy);
	return 0;
}
