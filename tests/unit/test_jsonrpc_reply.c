/* Replies the proxy sends itself: denial shape, error replies, framing, merging. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "jsonrpc_reply.h"

static const char batch[] = "[{\"jsonrpc\":\"2.0\",\"id\":\"call-1\",\"method\":\"tools/call\",\"params\":{\"name\":\"rm\"}},"
			    "{\"jsonrpc\":\"2.0\",\"id\":12345678901234567890,\"method\":\"tools/call\",\"params\":{\"name\":\"rm\"}},"
			    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":7}}]";

static char *print(const cJSON *j)
{
	return cJSON_PrintUnformatted(j);
}

TEST(reply_denial_echoes_id_and_names_rule_and_reason)
{
	struct jsonrpc_body b;
	struct jsonrpc_refusal why;

	CHECK(jsonrpc_parse(batch, sizeof(batch) - 1, &b, &why) == 0);
	cJSON *d = jsonrpc_denial(&b.msgs[0], "tools.rm", "deleting is not allowed", -1);
	char *s = print(d);
	CHECK_STR_EQ(s, "{\"jsonrpc\":\"2.0\",\"id\":\"call-1\",\"result\":{\"content\":[{\"type\":\"text\","
			"\"text\":\"Blocked by mcpfence: tools.rm: deleting is not allowed\"}],\"isError\":true}}");
	free(s);
	cJSON_Delete(d);

	/* A number id beyond double precision comes back digit for digit. */
	d = jsonrpc_denial(&b.msgs[1], "tools.rm.rate_limit", "10 calls per 60 s", 42);
	s = print(d);
	CHECK_STR_EQ(s, "{\"jsonrpc\":\"2.0\",\"id\":12345678901234567890,\"result\":{\"content\":[{\"type\":\"text\","
			"\"text\":\"Blocked by mcpfence: tools.rm.rate_limit: 10 calls per 60 s; retry after 42 s\"}],"
			"\"isError\":true}}");
	free(s);
	cJSON_Delete(d);

	cJSON *e = jsonrpc_error_reply(&b.msgs[2], JSONRPC_INVALID_REQUEST, b.msgs[2].invalid_reason);
	s = print(e);
	CHECK_STR_EQ(s, "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32600,"
			"\"message\":\"tools/call params.name must be a string\"}}");
	free(s);
	cJSON_Delete(e);
	e = jsonrpc_error_reply(NULL, JSONRPC_PARSE_ERROR, "invalid JSON");
	s = print(e);
	CHECK_STR_EQ(s, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"invalid JSON\"}}");
	free(s);
	cJSON_Delete(e);
	jsonrpc_body_free(&b);
}

static enum jsonrpc_shape shape_for(const char *accept)
{
	struct http1_parser p;
	struct bytebuf req = BYTEBUF_INIT;
	size_t used;

	bb_printf(&req, "POST /mcp HTTP/1.1\r\n%s%s%s\r\n", accept ? "Accept: " : "", accept ? accept : "",
		  accept ? "\r\n" : "");
	http1_init(&p, HTTP1_REQUEST, 100);
	enum jsonrpc_shape s = http1_feed(&p, req.data, req.len, &used) == HTTP1_HEAD ? jsonrpc_reply_shape(http1_msg(&p))
										    : (enum jsonrpc_shape)-1;
	http1_free(&p);
	bb_free(&req);
	return s;
}

TEST(reply_shape_follows_accept)
{
	CHECK(shape_for(NULL) == JSONRPC_SHAPE_JSON);
	CHECK(shape_for("application/json, text/event-stream") == JSONRPC_SHAPE_JSON);
	CHECK(shape_for("text/event-stream, application/json") == JSONRPC_SHAPE_JSON);
	CHECK(shape_for("text/event-stream") == JSONRPC_SHAPE_SSE);
	CHECK(shape_for("application/json;q=0.5, text/event-stream") == JSONRPC_SHAPE_SSE);
	CHECK(shape_for("text/*, application/json; q=0.9") == JSONRPC_SHAPE_SSE);
	CHECK(shape_for("application/json, text/event-stream;q=0") == JSONRPC_SHAPE_JSON);
	CHECK(shape_for("*/*") == JSONRPC_SHAPE_JSON);
}

TEST(reply_http_framing_json_and_sse)
{
	struct bytebuf out = BYTEBUF_INIT;
	cJSON *obj = cJSON_Parse("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}");
	cJSON *arr = cJSON_Parse("[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}},{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}]");

	CHECK(jsonrpc_http_reply(&out, JSONRPC_SHAPE_JSON, obj, true) == 0);
	CHECK_STR_EQ(out.data, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 36\r\n\r\n"
			       "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}");
	bb_reset(&out);
	CHECK(jsonrpc_http_reply(&out, JSONRPC_SHAPE_SSE, arr, false) == 0);
	CHECK_STR_EQ(out.data, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
			       "Content-Length: 118\r\nConnection: close\r\n\r\n"
			       "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"
			       "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}\n\n");
	bb_reset(&out);
	CHECK(jsonrpc_http_reply(&out, JSONRPC_SHAPE_JSON, NULL, true) == 0);
	CHECK_STR_EQ(out.data, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
	bb_reset(&out);
	struct jsonrpc_refusal why = { 413, JSONRPC_INVALID_REQUEST, "body larger than the limit" };
	CHECK(jsonrpc_http_refusal(&out, &why, false) == 0);
	CHECK(strncmp(out.data, "HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n", 64) == 0);
	CHECK(strstr(out.data, "Connection: close\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,"
			       "\"message\":\"body larger than the limit\"}}") != NULL);
	bb_free(&out);
	cJSON_Delete(obj);
	cJSON_Delete(arr);
}

TEST(reply_merge_into_upstream_batch_reply)
{
	struct bytebuf out = BYTEBUF_INIT;
	cJSON *denials = cJSON_Parse("[{\"id\":9,\"result\":{\"isError\":true}}]");

	CHECK(jsonrpc_merge_json("[ {\"id\":1,\"result\":{\"n\":1e400}} ]\n", 34, denials, &out) == 0);
	CHECK_STR_EQ(out.data, "[ {\"id\":1,\"result\":{\"n\":1e400}} ,{\"id\":9,\"result\":{\"isError\":true}}]");
	bb_reset(&out);
	CHECK(jsonrpc_merge_json("{\"id\":1,\"result\":{}}", 20, denials, &out) == 0);
	CHECK_STR_EQ(out.data, "[{\"id\":1,\"result\":{}},{\"id\":9,\"result\":{\"isError\":true}}]");
	bb_reset(&out);
	CHECK(jsonrpc_merge_json("[]", 2, denials, &out) == 0);
	CHECK_STR_EQ(out.data, "[{\"id\":9,\"result\":{\"isError\":true}}]");
	bb_reset(&out);
	CHECK(jsonrpc_merge_json("not json", 8, denials, &out) == -1);
	CHECK(jsonrpc_sse_events(denials, &out) == 0);
	CHECK_STR_EQ(out.data, "event: message\ndata: {\"id\":9,\"result\":{\"isError\":true}}\n\n");
	bb_free(&out);
	cJSON_Delete(denials);
}
