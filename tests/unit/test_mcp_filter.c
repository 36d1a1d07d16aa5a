/* Hidden entries removed from list results (tools, prompts, resources,
 * templates), JSON and SSE. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "http1.h"
#include "mcp_filter.h"

/* Hides "secret" and "exec" of any list; ctx counts the calls per list,
 * and in [4] those for lists whose id was not pending. */
static bool hide_secret(enum mcp_list list, const char *name, const cJSON *entry, bool asked, void *ctx)
{
	if (ctx)
		((int *)ctx)[asked ? list : 4]++;
	if (!cJSON_IsObject(entry))  /* every callback gets the whole entry */
		abort();
	return strcmp(name, "secret") == 0 || strcmp(name, "exec") == 0;
}

static const char tools_reply[] =
	"{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"tools\":["
	"{\"name\":\"echo\",\"inputSchema\":{\"type\":\"object\",\"properties\":{\"n\":{\"maximum\":12345678901234567890}}}},"
	" {\"name\":\"secret\",\"inputSchema\":{}} ,"
	"{\"name\":\"add\",\"inputSchema\":{}},{\"name\":\"exec\"}],\"nextCursor\":\"c\"}}";

static const char tools_filtered[] =
	"{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"tools\":["
	"{\"name\":\"echo\",\"inputSchema\":{\"type\":\"object\",\"properties\":{\"n\":{\"maximum\":12345678901234567890}}}},"
	"{\"name\":\"add\",\"inputSchema\":{}}],\"nextCursor\":\"c\"}}";

static void pend(struct mcp_idset *s, const char *id_json)
{
	cJSON *id = cJSON_Parse(id_json);
	mcp_idset_add(s, id, MCP_LIST_TOOLS);
	cJSON_Delete(id);
}

TEST(filter_tools_list_json_reply)
{
	struct mcp_idset pending;
	struct bytebuf out = BYTEBUF_INIT;

	mcp_idset_init(&pending);
	/* Not a pending tools/list id: left alone. */
	pend(&pending, "\"5\"");
	CHECK(mcp_filter_lists(tools_reply, sizeof(tools_reply) - 1, &pending, hide_secret, NULL, &out) == 0);
	CHECK_INT_EQ(pending.n, 1);
	pend(&pending, "5.0");
	CHECK(mcp_filter_lists(tools_reply, sizeof(tools_reply) - 1, &pending, hide_secret, NULL, &out) == 1);
	CHECK_STR_EQ(out.data, tools_filtered);
	CHECK_INT_EQ(pending.n, 1);
	/* The id was answered: a second identical reply is not a tools/list reply any more. */
	bb_reset(&out);
	CHECK(mcp_filter_lists(tools_reply, sizeof(tools_reply) - 1, &pending, hide_secret, NULL, &out) == 0);
	/* Nothing hidden in it: unchanged, and the id is still consumed. */
	static const char plain[] = "{\"jsonrpc\":\"2.0\",\"id\":\"5\",\"result\":{\"tools\":[{\"name\":\"echo\"}]}}";
	CHECK(mcp_filter_lists(plain, sizeof(plain) - 1, &pending, hide_secret, NULL, &out) == 0);
	CHECK_INT_EQ(pending.n, 0);
	CHECK(mcp_filter_lists("not json", 8, &pending, hide_secret, NULL, &out) == 0);
	mcp_idset_free(&pending);
	bb_free(&out);
}

TEST(filter_tools_list_in_a_batch_reply)
{
	struct mcp_idset pending;
	struct bytebuf out = BYTEBUF_INIT, in = BYTEBUF_INIT, want = BYTEBUF_INIT;

	mcp_idset_init(&pending);
	pend(&pending, "5");
	pend(&pending, "\"e\"");
	bb_printf(&in, "[{\"jsonrpc\":\"2.0\",\"id\":\"e\",\"error\":{\"code\":1,\"message\":\"x\"}},%s,"
		       "{\"jsonrpc\":\"2.0\",\"id\":6,\"result\":{\"tools\":[{\"name\":\"exec\"}]}}]", tools_reply);
	bb_printf(&want, "[{\"jsonrpc\":\"2.0\",\"id\":\"e\",\"error\":{\"code\":1,\"message\":\"x\"}},%s,"
			 "{\"jsonrpc\":\"2.0\",\"id\":6,\"result\":{\"tools\":[{\"name\":\"exec\"}]}}]", tools_filtered);
	CHECK(mcp_filter_lists(in.data, in.len, &pending, hide_secret, NULL, &out) == 1);
	CHECK_STR_EQ(out.data, want.data);
	CHECK_INT_EQ(pending.n, 0);
	mcp_idset_free(&pending);
	bb_free(&out);
	bb_free(&in);
	bb_free(&want);
}

TEST(filter_tools_list_sse_reply_event_by_event)
{
	struct mcp_idset pending;
	struct http1_parser p;
	struct bytebuf resp = BYTEBUF_INIT, body = BYTEBUF_INIT, out = BYTEBUF_INIT, data = BYTEBUF_INIT;
	size_t used;

	mcp_idset_init(&pending);
	pend(&pending, "5");
	bb_append_str(&body, "event: message\nid: ev-1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n");
	bb_printf(&body, "event: message\r\nid: ev-2\r\ndata: %s\r\n\r\n", tools_reply);
	bb_append_str(&resp, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
	http1_emit_chunk(&resp, body.data, body.len);
	http1_emit_last_chunk(&resp);

	/* The proxy side: forward events as they come, rewrite the tools/list one. */
	http1_init(&p, HTTP1_RESPONSE, 1 << 20);
	http1_expect_response(&p, HTTP_POST);
	const char *in = resp.data;
	size_t len = resp.len;
	int events = 0, rewritten = 0;
	for (;;) {
		enum http1_status st = http1_feed(&p, in, len, &used);
		in += used;
		len -= used;
		if (st == HTTP1_NEED_MORE || st == HTTP1_ERROR)
			break;
		if (st == HTTP1_HEAD) {
			CHECK(http1_content_type_is(http1_msg(&p), "text/event-stream"));
			CHECK(http1_set_body_mode(&p, HTTP1_BODY_SSE) == 0);
		} else if (st == HTTP1_SSE_EVENT) {
			const struct sse_event *ev = http1_event(&p);
			events++;
			bb_reset(&data);
			if (ev->has_data &&
			    mcp_filter_lists(ev->data, ev->data_len, &pending, hide_secret, NULL, &data) == 1) {
				rewritten++;
				CHECK(sse_format_event(&out, ev->type, ev->type_len, ev->id, ev->id_len, ev->has_id,
						       data.data, data.len) == 0);
			} else {
				bb_append(&out, ev->raw, ev->raw_len);
			}
		}
	}
	CHECK_INT_EQ(events, 2);
	CHECK_INT_EQ(rewritten, 1);
	struct bytebuf want = BYTEBUF_INIT;
	bb_append_str(&want, "event: message\nid: ev-1\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n");
	bb_printf(&want, "event: message\nid: ev-2\ndata: %s\n\n", tools_filtered);
	CHECK_STR_EQ(out.data, want.data);
	bb_free(&want);
	http1_free(&p);
	mcp_idset_free(&pending);
	bb_free(&resp);
	bb_free(&body);
	bb_free(&out);
	bb_free(&data);
}

TEST(filter_idset_is_bounded)
{
	struct mcp_idset s;
	cJSON *id = cJSON_CreateNumber(1);

	mcp_idset_init(&s);
	for (int i = 0; i < MCP_IDSET_MAX; i++)
		CHECK(mcp_idset_add(&s, id, MCP_LIST_PROMPTS) == 0);
	CHECK(mcp_idset_add(&s, id, MCP_LIST_PROMPTS) == -1);
	CHECK_INT_EQ(mcp_idset_take(&s, id), MCP_LIST_PROMPTS);
	CHECK_INT_EQ(s.n, MCP_IDSET_MAX - 1);
	cJSON *b = cJSON_CreateTrue();
	CHECK(mcp_idset_add(&s, b, MCP_LIST_TOOLS) == -1);
	cJSON_Delete(b);
	cJSON_Delete(id);
	mcp_idset_free(&s);
}

/* Each pending id filters the list it asked for, by that list's key:
 * prompts by name, resources by uri, templates by uriTemplate; a result
 * carrying another list's array is left alone. */
TEST(filter_prompts_resources_and_templates_by_their_keys)
{
	static const char reply[] =
		"[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"prompts\":[{\"name\":\"secret\"},{\"name\":\"ok\"}]}},"
		"{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"resources\":[{\"uri\":\"exec\",\"name\":\"x\"},"
		"{\"uri\":\"a\",\"name\":\"secret\"}]}},"
		"{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"resourceTemplates\":[{\"uriTemplate\":\"secret\"}]}},"
		"{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"tools\":[{\"name\":\"secret\"}]}}]";
	static const char want[] =
		"[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"prompts\":[{\"name\":\"ok\"}]}},"
		"{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"resources\":[{\"uri\":\"a\",\"name\":\"secret\"}]}},"
		"{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"resourceTemplates\":[]}},"
		"{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"tools\":[{\"name\":\"secret\"}]}}]";
	static const enum mcp_list kinds[] = { MCP_LIST_PROMPTS, MCP_LIST_RESOURCES, MCP_LIST_TEMPLATES,
					       MCP_LIST_PROMPTS };
	struct mcp_idset pending;
	struct bytebuf out = BYTEBUF_INIT;
	int calls[5] = { 0 };

	mcp_idset_init(&pending);
	for (int i = 0; i < 4; i++) {
		cJSON *id = cJSON_CreateNumber(i + 1);

		CHECK(mcp_idset_add(&pending, id, kinds[i]) == 0);
		cJSON_Delete(id);
	}
	CHECK(mcp_filter_lists(reply, sizeof(reply) - 1, &pending, hide_secret, calls, &out) == 1);
	CHECK_STR_EQ(out.data, want);
	CHECK_INT_EQ(calls[MCP_LIST_TOOLS], 0);
	CHECK_INT_EQ(calls[MCP_LIST_PROMPTS], 2);
	CHECK_INT_EQ(calls[MCP_LIST_RESOURCES], 2);
	CHECK_INT_EQ(calls[MCP_LIST_TEMPLATES], 1);
	CHECK_INT_EQ(pending.n, 0);
	bb_free(&out);
	mcp_idset_free(&pending);
}

/* What the filter and the tool inventory read of an entry must be what the
 * client reads: cJSON takes the first of a repeated member, JSON.parse the
 * last, and a \u0000 ends cJSON's copy of a string. A server could
 * otherwise change a description the client shows while the inventory's
 * digest stays the same, or show a hidden tool. Such answers are refused;
 * a \u0000 elsewhere in the document is not the filter's concern. */
TEST(filter_refuses_entries_read_differently_by_clients)
{
	static const char *const bad[] = {
		"{\"name\":\"echo\",\"description\":\"benign\",\"description\":\"evil\"}",
		"{\"name\":\"echo\",\"name\":\"secret\"}",
		"{\"name\":\"echo\",\"inputSchema\":{},\"inputSchema\":{\"type\":\"object\"}}",
		"{\"name\":\"echo\",\"annotations\":{\"readOnlyHint\":true,\"readOnlyHint\":false}}",
		"{\"name\":\"echo\",\"description\":\"benign\\u0000 evil\"}",
		"{\"name\":\"echo\\u0000x\"}",
		"{\"name\":\"echo\",\"description\":\"a\"},{\"name\":\"add\"},{\"name\":\"echo\",\"description\":\"b\"}",
	};
	struct bytebuf out = BYTEBUF_INIT;
	struct mcp_idset pending;
	char reply[512];

	mcp_idset_init(&pending);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(reply, sizeof(reply), "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"tools\":[%s]}}", bad[i]);
		pend(&pending, "5");
		int calls[5] = { 0 };

		CHECK_INT_EQ(mcp_filter_lists(reply, strlen(reply), &pending, hide_secret, calls, &out), -1);
		CHECK_INT_EQ(calls[MCP_LIST_TOOLS], 0);  /* nothing of it was passed on */
		mcp_idset_free(&pending);
	}
	snprintf(reply, sizeof(reply), "[{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"content\":[{\"text\":\"a\\u0000b\"}]}},"
		 "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"tools\":[{\"name\":\"echo\",\"description\":\"d\","
		 "\"annotations\":{\"title\":\"t\"}},{\"name\":\"secret\"}]}}]");
	pend(&pending, "5");
	CHECK_INT_EQ(mcp_filter_lists(reply, strlen(reply), &pending, hide_secret, NULL, &out), 1);
	CHECK(strstr(out.data, "\\u0000") && !strstr(out.data, "secret"));
	bb_free(&out);
	mcp_idset_free(&pending);
}

/* While a list answer is awaited, text that is not exactly one JSON
 * value cJSON reads is refused: a lone surrogate escape (JSON.parse and
 * Python's json accept it; cJSON does not), SSE text a client reads under
 * a Content-Type the daemon reads otherwise, or a JSON value with such
 * text after it. Empty text has nothing to filter. */
TEST(filter_refuses_text_only_a_client_reads)
{
	static const char *const bad[] = {
		("{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"tools\":[{\"name\":\"echo\",\"description\":\"\\udc00\"},"
		 "{\"name\":\"secret\"}]}}"),
		"data: {\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"tools\":[{\"name\":\"secret\"}]}}\n\n",
		"{}\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"tools\":[{\"name\":\"secret\"}]}}\n\n",
		" [1,",
	};
	struct bytebuf out = BYTEBUF_INIT;
	struct mcp_idset pending;

	mcp_idset_init(&pending);
	pend(&pending, "5");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT_EQ(mcp_filter_lists(bad[i], strlen(bad[i]), &pending, hide_secret, NULL, &out), -1);
	CHECK_INT_EQ(mcp_filter_lists("", 0, &pending, hide_secret, NULL, &out), 0);
	CHECK_INT_EQ(mcp_filter_lists(" \r\n", 3, &pending, hide_secret, NULL, &out), 0);
	CHECK_INT_EQ(mcp_filter_lists("{} ", 3, &pending, hide_secret, NULL, &out), 0);
	CHECK_INT_EQ(pending.n, 1);
	mcp_idset_free(&pending);
	bb_free(&out);
}

/* Answers whose requests were not seen (a GET stream, a replay after
 * Last-Event-ID): every list-shaped result is filtered whatever its id,
 * each array of a result holding several, in document order; text
 * that is not one JSON value is refused even with nothing pending. */
TEST(filter_any_lists_filters_results_whatever_their_ids)
{
	struct mcp_idset pending;
	struct bytebuf out = BYTEBUF_INIT;
	int calls[5] = { 0 };

	mcp_idset_init(&pending);
	CHECK_INT_EQ(mcp_filter_any_lists(tools_reply, sizeof(tools_reply) - 1, &pending, hide_secret, NULL, &out), 1);
	CHECK_STR_EQ(out.data, tools_filtered);
	/* the plain filter leaves it: no id pending */
	bb_reset(&out);
	CHECK_INT_EQ(mcp_filter_lists(tools_reply, sizeof(tools_reply) - 1, &pending, hide_secret, NULL, &out), 0);

	static const char several[] =
		"[{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":{\"resources\":[{\"uri\":\"secret\"},{\"uri\":\"a\"}],"
		"\"prompts\":[{\"name\":\"exec\"},{\"name\":\"p\"}]}},"
		"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"},"
		"{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"resourceTemplates\":[{\"uriTemplate\":\"secret\"}]}}]";
	static const char several_filtered[] =
		"[{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":{\"resources\":[{\"uri\":\"a\"}],"
		"\"prompts\":[{\"name\":\"p\"}]}},"
		"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"},"
		"{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"resourceTemplates\":[]}}]";
	bb_reset(&out);
	CHECK_INT_EQ(mcp_filter_any_lists(several, sizeof(several) - 1, &pending, hide_secret, calls, &out), 1);
	CHECK_STR_EQ(out.data, several_filtered);
	/* by their shape alone: no list was asked for them */
	CHECK_INT_EQ(calls[4], 5);
	CHECK_INT_EQ(calls[MCP_LIST_PROMPTS] + calls[MCP_LIST_RESOURCES] + calls[MCP_LIST_TEMPLATES], 0);

	/* a pending id is still filtered as the list it asked for, and taken */
	static const char as_tools[] = "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{\"tools\":[{\"name\":\"exec\"}],"
				       "\"prompts\":[{\"name\":\"exec\"}]}}";
	pend(&pending, "9");
	bb_reset(&out);
	CHECK_INT_EQ(mcp_filter_any_lists(as_tools, sizeof(as_tools) - 1, &pending, hide_secret, calls, &out), 1);
	CHECK_STR_EQ(out.data, "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{\"tools\":[],\"prompts\":[{\"name\":\"exec\"}]}}");
	CHECK_INT_EQ(pending.n, 0);
	CHECK_INT_EQ(calls[MCP_LIST_TOOLS], 1);
	CHECK_INT_EQ(calls[4], 5);

	/* what a client could read otherwise: refused */
	static const char *const refused[] = {
		"{\"id\":1,\"result\":{\"tools\":[{\"name\":\"secret\"}]}} trailing",
		"{\"id\":1,\"result\":{\"t\\u006fols\":[{\"name\":\"secret\"}]}",
		"{\"id\":1,\"result\":{\"tools\":[{\"name\":\"secret\",\"description\":\"\\udc00\"}]}}",
		"{\"id\":1,\"result\":{\"tools\":[{\"name\":\"a\"}],\"tools\":[{\"name\":\"secret\"}]}}",
		"{\"id\":1,\"result\":{},\"result\":{\"tools\":[{\"name\":\"secret\"}]}}",
		"{\"id\":1,\"result\":{\"tools\":[{\"name\":\"secret\\u0000\"}]}}",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		bb_reset(&out);
		CHECK_INT_EQ(mcp_filter_any_lists(refused[i], strlen(refused[i]), &pending, hide_secret, NULL, &out), -1);
	}
	/* nothing to read, nothing list-shaped, or text no list can be read
	 * from: left alone */
	bb_reset(&out);
	CHECK_INT_EQ(mcp_filter_any_lists(" \n", 2, &pending, hide_secret, NULL, &out), 0);
	CHECK_INT_EQ(mcp_filter_any_lists("[DONE]", 6, &pending, hide_secret, NULL, &out), 0);
	CHECK_INT_EQ(mcp_filter_any_lists("not json", 8, &pending, hide_secret, NULL, &out), 0);
	static const char *const alone[] = { "{\"id\":1,\"result\":{\"content\":[]}}", "{\"id\":1,\"result\":{\"tools\":\"x\"}}",
					     "{\"id\":1,\"error\":{\"code\":1,\"message\":\"m\"}}" };
	for (size_t i = 0; i < sizeof(alone) / sizeof(alone[0]); i++)
		CHECK_INT_EQ(mcp_filter_any_lists(alone[i], strlen(alone[i]), &pending, hide_secret, NULL, &out), 0);
	bb_free(&out);
	mcp_idset_free(&pending);
}
