/* JSON-RPC inspection: classification, refusals, encodings, MCP headers. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common.h"
#include "fixture.h"
#include "harness.h"
#include "jsonrpc.h"

#define LIMIT 4096

/* A buffered POST /mcp with extra header lines `headers` and `body`. */
static bool load(struct http1_parser *p, const char *headers, const char *body, size_t body_len)
{
	struct bytebuf req = BYTEBUF_INIT;
	size_t used;
	bool ok = false;

	bb_printf(&req, "POST /mcp HTTP/1.1\r\nHost: a\r\n%sContent-Length: %zu\r\n\r\n", headers, body_len);
	bb_append(&req, body, body_len);
	http1_init(p, HTTP1_REQUEST, LIMIT);
	if (http1_feed(p, req.data, req.len, &used) == HTTP1_HEAD && http1_set_body_mode(p, HTTP1_BODY_BUFFER) == 0)
		ok = http1_feed(p, req.data + used, req.len - used, &used) == HTTP1_MESSAGE_END;
	bb_free(&req);
	return ok;
}

/* Inspects `body` sent with `headers`; returns the refusal reason or "ok". */
static bool quick_reads;  /* verdict() reads as the daemon's quick path does */

static const char *verdict(const char *headers, const char *body, size_t len, struct jsonrpc_refusal *why)
{
	static char reason[256];
	struct http1_parser p;
	struct jsonrpc_body b;

	if (!load(&p, headers, body, len))
		return "http error";
	int r = jsonrpc_inspect_request(http1_msg(&p), LIMIT, quick_reads, &b, why);
	snprintf(reason, sizeof(reason), "%s", r < 0 ? why->reason : "ok");
	if (r == 0)
		jsonrpc_body_free(&b);
	http1_free(&p);
	return reason;
}

static const char *refusal_of(const char *body)
{
	struct jsonrpc_refusal why;
	return verdict("", body, strlen(body), &why);
}

TEST(jsonrpc_single_tools_call)
{
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\","
				   "\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"hi\"}}}";
	struct jsonrpc_body b;
	struct jsonrpc_refusal why;

	CHECK(jsonrpc_parse(body, sizeof(body) - 1, &b, &why) == 0);
	CHECK(!b.batch && b.count == 1);
	struct jsonrpc_msg *m = &b.msgs[0];
	CHECK(m->kind == JSONRPC_REQUEST);
	CHECK_STR_EQ(m->method, "tools/call");
	CHECK(m->is_tools_call);
	CHECK_STR_EQ(m->tool_name, "echo");
	CHECK_STR_EQ(cJSON_GetObjectItemCaseSensitive(m->arguments, "text")->valuestring, "hi");
	CHECK(m->id_raw_len == 1 && m->id_raw[0] == '7');
	CHECK(m->verdict == JSONRPC_FORWARD);
	CHECK_INT_EQ(jsonrpc_forwarded_count(&b), 1);
	jsonrpc_body_free(&b);
}

TEST(jsonrpc_batch_with_mixed_elements)
{
	static const char body[] =
		"[{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"tools/list\"},"
		" {\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
		" {\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"action\":\"accept\"}},"
		" {\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":-1,\"message\":\"no\"}},"
		" {\"jsonrpc\":\"1.0\",\"id\":5,\"method\":\"ping\"},"
		" {\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":[\"x\"]}},"
		" {\"jsonrpc\":\"2.0\",\"id\":{\"x\":1},\"method\":\"ping\"},"
		" 42,"
		" {\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"rm\"}}]";
	struct jsonrpc_body b;
	struct jsonrpc_refusal why;

	CHECK(jsonrpc_parse(body, sizeof(body) - 1, &b, &why) == 0);
	CHECK(b.batch);
	CHECK_INT_EQ(b.count, 9);
	static const enum jsonrpc_kind want[] = {
		JSONRPC_REQUEST, JSONRPC_NOTIFICATION, JSONRPC_RESPONSE, JSONRPC_RESPONSE, JSONRPC_INVALID,
		JSONRPC_INVALID, JSONRPC_INVALID, JSONRPC_INVALID, JSONRPC_REQUEST,
	};
	for (size_t i = 0; i < b.count; i++) {
		CHECK_INT_EQ(b.msgs[i].kind, want[i]);
		CHECK_INT_EQ(b.msgs[i].verdict, want[i] == JSONRPC_INVALID ? JSONRPC_ANSWERED : JSONRPC_FORWARD);
	}
	CHECK_STR_EQ(b.msgs[4].invalid_reason, "jsonrpc must be \"2.0\"");
	CHECK_STR_EQ(b.msgs[5].invalid_reason, "tools/call params.name must be a string");
	CHECK(b.msgs[5].id_raw && b.msgs[5].id_raw[0] == '6');
	CHECK_STR_EQ(b.msgs[8].tool_name, "rm");
	CHECK(b.msgs[8].arguments == NULL);

	/* The policy denies the last call: the forwarded batch keeps the other bytes as sent. */
	b.msgs[8].verdict = JSONRPC_ANSWERED;
	struct bytebuf out = BYTEBUF_INIT;
	CHECK_INT_EQ(jsonrpc_forwarded_count(&b), 4);
	CHECK(jsonrpc_forward_body(&b, &out) == 0);
	CHECK_STR_EQ(out.data, "[{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"tools/list\"},"
			       "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
			       "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"action\":\"accept\"}},"
			       "{\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":-1,\"message\":\"no\"}}]");
	bb_free(&out);
	jsonrpc_body_free(&b);
}

TEST(jsonrpc_duplicate_keys_refused_at_every_level)
{
	static const char *const bodies[] = {
		"{\"jsonrpc\":\"2.0\",\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"ping\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\",\"method\":\"tools/call\","
		"\"params\":{\"name\":\"a\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\"},"
		"\"params\":{\"name\":\"b\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"safe\",\"name\":\"rm\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\","
		"\"arguments\":{},\"arguments\":{\"x\":1}}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\","
		"\"arguments\":{\"path\":\"/tmp\",\"path\":\"/etc\"}}}",
		/* The same key spelled with an escape is the same key. */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\",\"n\\u0061me\":\"b\"}}",
		"[{\"jsonrpc\":\"2.0\",\"method\":\"x\"},{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"method\":\"y\"}]",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		CHECK_STR_EQ(refusal_of(bodies[i]), "duplicate object key");
	/* Keys differing only in case are one key to Go's encoding/json:
	 * refused too, see test_json_fold.c. */
	CHECK_STR_EQ(refusal_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"Method\":\"x\"}"),
		     "object keys that differ only in case (or Unicode case folding)");
}

/* An invalid tools/call still names its tool when it can, for the counters. */
TEST(jsonrpc_invalid_call_keeps_its_tool_name)
{
	static const char body[] =
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":[1]}}";
	struct jsonrpc_body b;
	struct jsonrpc_refusal why;

	CHECK(jsonrpc_parse(body, sizeof(body) - 1, &b, &why) == 0);
	CHECK_INT_EQ(b.msgs[0].kind, JSONRPC_INVALID);
	CHECK_STR_EQ(b.msgs[0].invalid_reason, "tools/call params.arguments must be an object");
	CHECK_STR_EQ(b.msgs[0].tool_name, "echo");
	CHECK(b.msgs[0].arguments == NULL);
	jsonrpc_body_free(&b);
}

TEST(jsonrpc_escaped_names_are_decoded)
{
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"m\\u0065thod\":\"tools\\/call\","
				   "\"params\":{\"name\":\"exec\\u0075te\"}}";
	struct jsonrpc_body b;
	struct jsonrpc_refusal why;

	CHECK(jsonrpc_parse(body, sizeof(body) - 1, &b, &why) == 0);
	CHECK(b.msgs[0].is_tools_call);
	CHECK_STR_EQ(b.msgs[0].tool_name, "execute");
	jsonrpc_body_free(&b);
	/* A NUL would cut the name short for cJSON but not for the server. */
	CHECK_STR_EQ(refusal_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
				"\"params\":{\"name\":\"read\\u0000; rm\"}}"),
		     "a string contains \\u0000, which cannot be matched reliably");
	CHECK_STR_EQ(refusal_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
				"\"params\":{\"name\":\"a\",\"arguments\":{\"x\":\"\\\\u0000\"}}}"),
		     "ok");
}

TEST(jsonrpc_refuses_what_it_cannot_interpret)
{
	struct jsonrpc_refusal why;

	CHECK_STR_EQ(verdict("", "{\"jsonrpc\":", 11, &why), "invalid JSON");
	CHECK_INT_EQ(why.code, JSONRPC_PARSE_ERROR);
	CHECK_INT_EQ(why.http_status, 400);
	CHECK_STR_EQ(refusal_of("{\"jsonrpc\":\"2.0\",\"method\":\"ping\"} {\"x\":1}"), "trailing data after the JSON value");
	CHECK_STR_EQ(refusal_of("{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}\r\n"), "ok");
	CHECK_STR_EQ(refusal_of("\"tools/call\""), "body is neither a JSON-RPC message nor a batch");
	CHECK_STR_EQ(refusal_of("[]"), "empty batch");
	CHECK_STR_EQ(refusal_of(""), "invalid JSON");
	CHECK_STR_EQ(verdict("", "{\"a\":\"b\0\"}", 10, &why), "NUL byte in the body");
	/* after a backslash too, and on the quick path, which skips the NUL
	 * search when its one walk finds strict JSON */
	static const char esc_nul[] = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\","
				      "\"params\":{\"name\":\"echo\",\"arguments\":{\"a\":\"\\\0\"}}}";
	for (int quick = 0; quick <= 1; quick++) {
		quick_reads = quick;
		CHECK_STR_EQ(verdict("", esc_nul, sizeof(esc_nul) - 1, &why), "NUL byte in the body");
	}
	quick_reads = false;
	CHECK_STR_EQ(refusal_of("\xef\xbb\xbf{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}"),
		     "byte-order mark before the JSON text");
}


static const char call[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\"}}";

static const char *encoded_verdict(const char *encoding, int window, struct jsonrpc_refusal *why)
{
	struct bytebuf body = BYTEBUF_INIT, headers = BYTEBUF_INIT;
	static char result[128];

	fixture_compress(call, sizeof(call) - 1, window, &body);
	bb_printf(&headers, "Content-Encoding: %s\r\n", encoding);
	snprintf(result, sizeof(result), "%s", verdict(headers.data, body.data, body.len, why));
	bb_free(&body);
	bb_free(&headers);
	return result;
}

TEST(jsonrpc_gzip_and_deflate_bodies_are_decoded)
{
	struct jsonrpc_refusal why;
	struct http1_parser p;
	struct jsonrpc_body b;
	struct bytebuf body = BYTEBUF_INIT;

	CHECK_STR_EQ(encoded_verdict("gzip", 16 + MAX_WBITS, &why), "ok");
	CHECK_STR_EQ(encoded_verdict("x-gzip", 16 + MAX_WBITS, &why), "ok");
	CHECK_STR_EQ(encoded_verdict("deflate", MAX_WBITS, &why), "ok");
	CHECK_STR_EQ(encoded_verdict("deflate", -MAX_WBITS, &why), "ok");
	CHECK_STR_EQ(encoded_verdict("identity, GZIP", 16 + MAX_WBITS, &why), "ok");
	CHECK_STR_EQ(encoded_verdict("deflate", 16 + MAX_WBITS, &why), "corrupt or truncated compressed body");
	CHECK_STR_EQ(encoded_verdict("br", 16 + MAX_WBITS, &why), "unsupported Content-Encoding");
	CHECK_INT_EQ(why.http_status, 415);

	/* The decoded text is what gets inspected, and a rebuilt body must drop the encoding. */
	fixture_compress(call, sizeof(call) - 1, 16 + MAX_WBITS, &body);
	CHECK(load(&p, "Content-Encoding: gzip\r\n", body.data, body.len));
	CHECK(jsonrpc_inspect_request(http1_msg(&p), LIMIT, false, &b, &why) == 0);
	CHECK(b.decoded_body);
	CHECK_STR_EQ(b.msgs[0].tool_name, "echo");
	jsonrpc_body_free(&b);
	http1_free(&p);

	/* Truncated stream. */
	body.len -= 6;
	CHECK(load(&p, "Content-Encoding: gzip\r\n", body.data, body.len));
	CHECK(jsonrpc_inspect_request(http1_msg(&p), LIMIT, false, &b, &why) == -1);
	CHECK_INT_EQ(why.http_status, 400);
	http1_free(&p);
	bb_free(&body);
}

TEST(jsonrpc_gzip_bomb_over_the_limit_is_refused)
{
	struct jsonrpc_refusal why;
	struct bytebuf body = BYTEBUF_INIT;
	/* 1 MiB of spaces compresses to about 1 KiB, well under the 4 KiB body limit. */
	size_t big = 1 << 20;
	char *plain = malloc(big);
	CHECK(plain != NULL);
	memset(plain, ' ', big);
	plain[0] = '[';
	plain[big - 1] = ']';
	fixture_compress(plain, big, 16 + MAX_WBITS, &body);
	free(plain);
	CHECK(body.len < LIMIT);
	CHECK_STR_EQ(verdict("Content-Encoding: gzip\r\n", body.data, body.len, &why),
		     "decoded body larger than the limit");
	CHECK_INT_EQ(why.http_status, 413);
	bb_free(&body);
}

TEST(jsonrpc_mcp_headers_must_agree_with_the_body)
{
	struct jsonrpc_refusal why;
	const size_t n = sizeof(call) - 1;

	CHECK_STR_EQ(verdict("Mcp-Method: tools/call\r\nMcp-Name: echo\r\n", call, n, &why), "ok");
	/* "echo" in base64 */
	CHECK_STR_EQ(verdict("Mcp-Method: tools/call\r\nMcp-Name: =?base64?ZWNobw==?=\r\n", call, n, &why), "ok");
	CHECK_STR_EQ(verdict("Mcp-Name: =?base64?ZWNobw?=\r\n", call, n, &why), "ok");
	CHECK_STR_EQ(verdict("Mcp-Name: read_file\r\n", call, n, &why), "Mcp-Name header does not match the body");
	/* "read" in base64 */
	CHECK_STR_EQ(verdict("Mcp-Name: =?base64?cmVhZA==?=\r\n", call, n, &why),
		     "Mcp-Name header does not match the body");
	/* Markers are case-sensitive: this is the literal value, which does not match. */
	CHECK_STR_EQ(verdict("Mcp-Name: =?BASE64?ZWNobw==?=\r\n", call, n, &why),
		     "Mcp-Name header does not match the body");
	CHECK_STR_EQ(verdict("Mcp-Name: =?base64?ZW*obw==?=\r\n", call, n, &why), "Mcp-Name header is not valid base64");
	CHECK_STR_EQ(verdict("Mcp-Method: tools/list\r\n", call, n, &why), "Mcp-Method header does not match the body");
	CHECK_STR_EQ(verdict("Mcp-Name: echo\r\nMcp-Name: echo\r\n", call, n, &why), "repeated Mcp-Name header");
	CHECK_INT_EQ(why.http_status, 400);
	CHECK_INT_EQ(why.code, JSONRPC_INVALID_REQUEST);
	static const char read[] = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/read\",\"params\":{\"uri\":\"file:///a\"}}";
	CHECK_STR_EQ(verdict("Mcp-Method: resources/read\r\nMcp-Name: file:///a\r\n", read, sizeof(read) - 1, &why), "ok");
	static const char ping[] = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}";
	CHECK_STR_EQ(verdict("Mcp-Name: echo\r\n", ping, sizeof(ping) - 1, &why), "Mcp-Name header does not match the body");
}

/* Mcp-Param-{name} mirrors argument {name}: a gateway may route on it,
 * so it must say what the body says, or the request goes nowhere. */
TEST(jsonrpc_mcp_param_headers_must_agree_with_the_arguments)
{
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"q\","
				   "\"arguments\":{\"Region\":\"eu-west\",\"n\":42,\"big\":9007199254740993,"
				   "\"dry\":true,\"city\":\"K\u00f6ln\",\"f\":1.5,\"o\":{\"a\":1},\"z\":null}}}";
	static const char ping[] = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}";
	static const char batch[] = "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"q\","
				    "\"arguments\":{\"region\":\"eu\"}}},{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\","
				    "\"params\":{\"name\":\"q\",\"arguments\":{\"region\":\"us\"}}}]";
	static const struct { const char *headers, *want; } cases[] = {
		{ "Mcp-Param-Region: eu-west\r\n", "ok" },
		{ "mcp-param-region: eu-west\r\n", "ok" },
		{ "Mcp-Param-n: 42\r\nMcp-Param-Dry: true\r\n", "ok" },
		{ "Mcp-Param-City: =?base64?S8O2bG4=?=\r\n", "ok" },              /* "Köln" */
		{ "Mcp-Param-Region: us-east\r\n", "Mcp-Param header does not match the argument it names" },
		{ "Mcp-Param-Region: =?base64?dXMtZWFzdA==?=\r\n", "Mcp-Param header does not match the argument it names" },
		{ "Mcp-Param-n: 042\r\n", "Mcp-Param header does not match the argument it names" },
		{ "Mcp-Param-n: 43\r\n", "Mcp-Param header does not match the argument it names" },
		{ "Mcp-Param-Dry: 1\r\n", "Mcp-Param header does not match the argument it names" },
		{ "Mcp-Param-Big: 9007199254740993\r\n", "Mcp-Param header does not match the argument it names" },
		{ "Mcp-Param-F: 1.5\r\n", "Mcp-Param header does not match the argument it names" },
		{ "Mcp-Param-O: x\r\n", "Mcp-Param header does not match the argument it names" },
		{ "Mcp-Param-Z: null\r\n", "Mcp-Param header does not match the argument it names" },
		{ "Mcp-Param-Tenant: acme\r\n", "Mcp-Param header names no argument of the call "
						"(Mcp-Param-{name} is checked against the top-level argument {name})" },
		{ "Mcp-Param-Region: eu-west\r\nMcp-Param-region: eu-west\r\n", "repeated Mcp-Param header" },
		{ "Mcp-Param-Region: eu-west\r\nMcp_Param_Region: us\r\n", "repeated Mcp-Param header" },
		{ "Mcp_Param_Region: us\r\n", "Mcp-Param header spelled with '_' where a server may read '-'" },
		{ "Mcp-Param-Region: =?base64?ZX*=?=\r\n", "Mcp-Param header is not valid base64" },
		{ "Mcp-Param-City: K\xc3\xb6ln\r\n", "Mcp-Param header is neither printable ASCII nor base64-encoded" },
	};
	struct jsonrpc_refusal why;

	for (int quick = 0; quick <= 1; quick++) {
		quick_reads = quick;
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const char *got = verdict(cases[i].headers, body, sizeof(body) - 1, &why);

			if (strcmp(got, cases[i].want)) {
				printf("  case %zu (quick %d): %s-> %s\n", i, quick, cases[i].headers, got);
				CHECK(!"Mcp-Param verdict");
			}
			if (strcmp(got, "ok"))
				CHECK(why.http_status == 400 && why.code == JSONRPC_INVALID_REQUEST);
		}
		CHECK_STR_EQ(verdict("Mcp-Param-Region: eu\r\n", ping, sizeof(ping) - 1, &why),
			     "Mcp-Param header on a message that is not a tools/call");
		/* every element of a batch must agree */
		CHECK_STR_EQ(verdict("Mcp-Param-Region: eu\r\n", batch, sizeof(batch) - 1, &why),
			     "Mcp-Param header does not match the argument it names");
	}
	quick_reads = false;
}

TEST(jsonrpc_ids_keep_their_exact_text)
{
	static const char body[] = "[{\"jsonrpc\":\"2.0\",\"id\":\"req-\\u0031\",\"method\":\"ping\"},"
				   "{\"jsonrpc\":\"2.0\",\"id\" : 12345678901234567890 ,\"method\":\"ping\"},"
				   "{\"jsonrpc\":\"2.0\",\"id\":1.50,\"method\":\"ping\"},"
				   "{\"jsonrpc\":\"2.0\",\"method\":\"ping\"}]";
	struct jsonrpc_body b;
	struct jsonrpc_refusal why;

	CHECK(jsonrpc_parse(body, sizeof(body) - 1, &b, &why) == 0);
	CHECK_INT_EQ(b.msgs[0].id_raw_len, 12);
	CHECK(memcmp(b.msgs[0].id_raw, "\"req-\\u0031\"", 12) == 0);
	CHECK_INT_EQ(b.msgs[1].id_raw_len, 20);
	CHECK(memcmp(b.msgs[1].id_raw, "12345678901234567890", 20) == 0);
	CHECK(b.msgs[2].id_raw_len == 4 && memcmp(b.msgs[2].id_raw, "1.50", 4) == 0);
	CHECK(b.msgs[3].id_raw == NULL && b.msgs[3].kind == JSONRPC_NOTIFICATION);
	jsonrpc_body_free(&b);
}

/* Ids every stack reads as the same integer: 1e400 is infinity
 * to some readers and an error to others; 1.0, -0 and 2^53 are not exact
 * everywhere either. Such a message is answered as invalid, never forwarded. */
TEST(jsonrpc_ids_must_be_exact_integers)
{
	static const char *const odd[] = { "1e400", "1.0", "1.5", "-0", "1E2", "9007199254740992",
					   "-9007199254740992", "12345678901234567" };
	static const char *const fine[] = { "0", "7", "-7", "9007199254740991", "-9007199254740991", "\"1e400\"" };
	char body[256];
	struct jsonrpc_body b;
	struct jsonrpc_refusal why;

	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"tools/call\",\"params\":{\"name\":\"x\"}}",
			 odd[i]);
		CHECK(jsonrpc_parse(body, strlen(body), &b, &why) == 0);
		CHECK_INT_EQ(b.msgs[0].kind, JSONRPC_INVALID);
		CHECK_STR_EQ(b.msgs[0].invalid_reason, "id must be a string or an integer within 2^53 - 1");
		CHECK_INT_EQ(b.msgs[0].verdict, JSONRPC_ANSWERED);
		jsonrpc_body_free(&b);
	}
	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"ping\"}", fine[i]);
		CHECK(jsonrpc_parse(body, strlen(body), &b, &why) == 0);
		CHECK_INT_EQ(b.msgs[0].kind, JSONRPC_REQUEST);
		jsonrpc_body_free(&b);
	}
}

/* An id whose JSON text is over JSONRPC_ID_MAX bytes is refused before
 * anything keeps or echoes it (its answer goes out under id null): a
 * 256-byte one is read, 257 bytes (quotes and escapes count) are not,
 * in a batch too, read with the tree or allowing the quick reader. */
TEST(jsonrpc_ids_longer_than_the_limit_are_refused)
{
	char id[JSONRPC_ID_MAX + 8], body[2 * JSONRPC_ID_MAX + 256];
	struct jsonrpc_body b;
	struct jsonrpc_refusal why;

	for (int quick = 0; quick < 2; quick++) {
		for (size_t len = JSONRPC_ID_MAX - 1; len <= JSONRPC_ID_MAX + 1; len++) {
			/* "\u0041" and an A are one character to a reader: the text counts */
			memset(id, 'A', len);
			memcpy(id, "\"\\u0041", 7);
			id[len - 1] = '"';
			id[len] = '\0';
			snprintf(body, sizeof(body), "[{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"tools/call\","
				 "\"params\":{\"name\":\"x\"}},{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{}}]", id, id);
			CHECK((quick ? jsonrpc_parse_quick : jsonrpc_parse)(body, strlen(body), &b, &why) == 0);
			for (int i = 0; i < 2; i++) {
				if (len <= JSONRPC_ID_MAX) {
					CHECK(b.msgs[i].kind != JSONRPC_INVALID);
					CHECK_INT_EQ(b.msgs[i].id_raw_len, len);
					continue;
				}
				CHECK_INT_EQ(b.msgs[i].kind, JSONRPC_INVALID);
				CHECK_STR_EQ(b.msgs[i].invalid_reason, "id longer than 256 bytes");
				CHECK(b.msgs[i].id == NULL && b.msgs[i].id_raw == NULL);
				CHECK_INT_EQ(b.msgs[i].verdict, JSONRPC_ANSWERED);
			}
			jsonrpc_body_free(&b);
		}
	}
	/* alone, the quick reader leaves it to the tree, which refuses it */
	memset(id, 'A', JSONRPC_ID_MAX + 1);
	id[0] = id[JSONRPC_ID_MAX] = '"';
	id[JSONRPC_ID_MAX + 1] = '\0';
	snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"tools/call\",\"params\":{\"name\":\"x\"}}",
		 id);
	CHECK(jsonrpc_parse_quick(body, strlen(body), &b, &why) == 0);
	CHECK(!b.quick && b.msgs[0].kind == JSONRPC_INVALID && !b.msgs[0].id_raw);
	jsonrpc_body_free(&b);
}

/* What cJSON would read leniently is refused before anything is decided. */
TEST(jsonrpc_refuses_text_outside_the_strict_grammar)
{
	CHECK_STR_EQ(refusal_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"exec\xffute\"}}"),
		     "invalid UTF-8 in the JSON text");
	CHECK_STR_EQ(refusal_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"x\":\"a\nb\"}"),
		     "control character inside a JSON string");
	CHECK_STR_EQ(refusal_of("{\"jsonrpc\":\"2.0\",\"id\":1.,\"method\":\"ping\"}"), "invalid number");
	CHECK_STR_EQ(refusal_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"p\":1.e3}"), "invalid number");
	CHECK_STR_EQ(refusal_of("{\"jsonrpc\":\"2.0\",\"id\":01,\"method\":\"ping\"}"), "number with a leading zero");
	CHECK_STR_EQ(refusal_of("{\"jsonrpc\":\"2.0\",\"id\":1,\"Method\":\"tools/call\"}"),
		     "a member name that is a case variant of a JSON-RPC or MCP member");
}
