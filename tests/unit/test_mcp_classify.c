/* mcp_classify: which paths are MCP, the session key, and whether a body
 * could carry JSON-RPC for some reader (so it must be inspected). */
#include <string.h>
#include <zlib.h>

#include "common.h"
#include "fixture.h"
#include "harness.h"
#include "mcp_classify.h"

/* A whole request, headers (CRLF-separated lines, may be "") then body. */
static int parse(struct http1_parser *p, const char *target, const char *headers, const char *body, size_t len)
{
	struct bytebuf req = BYTEBUF_INIT;
	size_t used, head_len;
	int st;

	bb_printf(&req, "POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %zu\r\n\r\n", target, headers, len);
	head_len = req.len;
	bb_append(&req, body, len);
	http1_init(p, HTTP1_REQUEST, HTTP1_DEFAULT_BODY_LIMIT);
	st = http1_feed(p, req.data, head_len, &used);
	if (st == HTTP1_HEAD && !http1_set_body_mode(p, HTTP1_BODY_BUFFER))
		st = len ? http1_feed(p, req.data + head_len, len, &used) : HTTP1_MESSAGE_END;
	bb_free(&req);
	return st == HTTP1_MESSAGE_END ? 0 : -1;
}

static int needs_inspection(const char *headers, const char *body, size_t len)
{
	struct http1_parser p;
	int yes = -1;

	if (!parse(&p, "/mcp", headers, body, len))
		yes = mcp_body_needs_inspection(http1_msg(&p), 1 << 20);
	http1_free(&p);
	return yes;
}

TEST(mcp_classify_paths)
{
	const char *yes[] = { "/mcp", "/mcp/", "/mcp/x", "/sse", "/messages", "/messages/a", "/message", "/" };
	const char *no[] = { "/mcpx", "/ssex", "/foo", "/api/mcp", "" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		CHECK(mcp_path_is_mcp(yes[i]));
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		CHECK(!mcp_path_is_mcp(no[i]));
}

/* A legacy server reads the session from the target, whatever
 * Mcp-Session-Id the agent adds: the legacy id comes first. */
TEST(mcp_classify_session_key_prefers_the_legacy_id_then_the_header)
{
	struct http1_parser p;
	struct mcp_legacy_target t;
	char key[64];

	CHECK(parse(&p, "/messages?x=1&sessionId=abc", "Mcp-Session-Id: hdr\r\n", "", 0) == 0);
	CHECK_INT_EQ(mcp_legacy_session(http1_msg(&p), &t), 1);
	CHECK_STR_EQ(t.id, "abc");
	CHECK(!mcp_session_key(http1_msg(&p), t.id, "conn-1", key, sizeof(key)));
	CHECK_STR_EQ(key, "abc");
	CHECK(mcp_session_key(http1_msg(&p), NULL, "conn-1", key, sizeof(key)));  /* a Streamable HTTP session's */
	CHECK_STR_EQ(key, "hdr");
	http1_free(&p);

	CHECK(parse(&p, "/messages?sessionId=abc", "", "", 0) == 0);
	mcp_session_key(http1_msg(&p), "abc", "conn-1", key, sizeof(key));
	CHECK_STR_EQ(key, "abc");
	CHECK(!mcp_session_key(http1_msg(&p), NULL, "conn-1", key, sizeof(key)));
	CHECK_STR_EQ(key, "conn-1");
	http1_free(&p);

	CHECK(parse(&p, "/messages?sessionId=", "", "", 0) == 0);
	CHECK_INT_EQ(mcp_legacy_session(http1_msg(&p), &t), -1);
	http1_free(&p);
}

/* A session parameter is read as URLSearchParams, Express and Starlette
 * read it (percent-decoded, '+' a space), in the spellings SDKs announce
 * (sessionId, Python's session_id, Go's sessionid); a target they could
 * read otherwise is refused (-1), never matched on a raw key. */
TEST(mcp_classify_legacy_target_is_read_as_servers_read_it)
{
	static const struct {
		const char *target;
		int want;
		const char *path, *param, *id;
	} cases[] = {
		{ "/messages?sessionId=abc", 1, "/messages", "sessionId", "abc" },
		{ "/messages/?session_id=0f1e", 1, "/messages/", "session_id", "0f1e" },
		{ "/message?sessionid=a%62c", 1, "/message", "sessionid", "abc" },   /* values are decoded */
		{ "/m?x=%41&sessionId=a+b&y", 1, "/m", "sessionId", "a b" },
		{ "http://127.0.0.1:8000/messages/?session_id=ff", 1, "/messages/", "session_id", "ff" },
		{ "/messages%2Fx?sessionId=a", 1, "/messages/x", "sessionId", "a" },
		{ "/messages?x=1", 0, NULL, NULL, NULL },
		{ "/messages", 0, NULL, NULL, NULL },
		{ "/messages?sessionIdx=1", 0, NULL, NULL, NULL },
		{ "/messages?session%49d=abc", -1, NULL, NULL, NULL },     /* Express reads sessionId */
		{ "/messages?session%5Fid=abc", -1, NULL, NULL, NULL },
		{ "/messages?sessionId=a&sessionId=b", -1, NULL, NULL, NULL },
		{ "/messages?sessionId=a&session_id=a", -1, NULL, NULL, NULL },
		{ "/messages?sessionId[]=a", -1, NULL, NULL, NULL },          /* qs: an array */
		{ "/messages?SESSIONID=a&sessionId=a", -1, NULL, NULL, NULL },
		{ "/messages?sessionId=a%zz", -1, NULL, NULL, NULL },
		{ "/messages?sessionId=a%00", -1, NULL, NULL, NULL },
		{ "/messages?sessionId", -1, NULL, NULL, NULL },
		{ "/messages?%zz=1&sessionId=a", -1, NULL, NULL, NULL },      /* a name that cannot be read */
	};
	struct mcp_legacy_target t;
	char key[MCP_LEGACY_KEY_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int got = mcp_target_session(cases[i].target, strlen(cases[i].target), &t);

		CHECK_INT_EQ(got, cases[i].want);
		if (got == 1 && cases[i].want == 1) {
			CHECK_STR_EQ(t.path, cases[i].path);
			CHECK_STR_EQ(t.param, cases[i].param);
			CHECK_STR_EQ(t.id, cases[i].id);
		}
	}
	/* keyed as a router matches the path: case folded, one trailing '/' off */
	static const char *const variants[] = { "/messages/?session_id=ff", "/MESSAGES?session_id=ff",
						"/Messages/?session_id=ff", "/messages?session_id=ff" };

	for (size_t i = 0; i < ARRAY_SIZE(variants); i++) {
		CHECK_INT_EQ(mcp_target_session(variants[i], strlen(variants[i]), &t), 1);
		mcp_legacy_key(&t, key, sizeof(key));
		CHECK_STR_EQ(key, "/messages?session_id=ff");
	}
	CHECK_INT_EQ(mcp_target_session("/?sessionId=ff", 14, &t), 1);
	mcp_legacy_key(&t, key, sizeof(key));
	CHECK_STR_EQ(key, "/?sessionId=ff");          /* the root stays "/" */
	CHECK_INT_EQ(mcp_target_session("/mcp?sessionId=ff", 17, &t), 1);
	mcp_legacy_key(&t, key, sizeof(key));
	CHECK_STR_EQ(key, "/mcp?sessionId=ff");       /* another path is another session */
}

/* Routing a new connection (proxy.c) reads the session from the first
 * bytes of its first request, as the flow reads it from the parsed target. */
TEST(mcp_classify_session_from_the_first_request_line)
{
	static const struct {
		const char *head;
		int want;
		const char *id;
	} cases[] = {
		{ "POST /messages?sessionId=abc HTTP/1.1\r\nHost: x\r\n", 1, "abc" },
		{ "POST /messages?x=1&sessionId=abc&y=2 HTTP/1.1\r\n", 1, "abc" },
		{ "POST /messages/?session_id=abc HTTP/1.1\r\n", 1, "abc" },
		{ "POST /messages?session%49d=abc HTTP/1.1\r\n", -1, NULL },
		{ "POST /messages?sessionId=abc HTTP/1.1", 0, NULL },   /* line not whole yet */
		{ "POST /mcp HTTP/1.1\r\nX: ?sessionId=abc \r\n", 0, NULL },
		{ "POST /messages?sessionId= HTTP/1.1\r\n", -1, NULL },
		{ "POST /messages?sessionId=abc\r\n", 0, NULL },      /* no version: not a request line */
		{ "GET /sse HTTP/1.1\r\n", 0, NULL },
		{ "\r\n", 0, NULL },
	};
	struct mcp_legacy_target t;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int got = mcp_request_line_session(cases[i].head, strlen(cases[i].head), &t);

		CHECK_INT_EQ(got, cases[i].want);
		if (got == 1 && cases[i].want == 1)
			CHECK_STR_EQ(t.id, cases[i].id);
	}
}

TEST(mcp_classify_sniff_finds_jsonrpc_any_reader_could)
{
	static const struct { const char *text; bool end; int want; } cases[] = {
		{ "{\"a\":1}", true, 1 },
		{ "{\"method\":\"tools/call\"}", true, 0 },
		{ "{\"METHOD\":1}", true, 0 },             /* Go folds case */
		{ "{\"me\\u0074hod\":1}", true, 0 },       /* escaped name: might be */
		{ "[{\"jsonrpc\":\"2.0\"}]", true, 0 },    /* a batch element */
		{ "{\"a\":1}{\"method\":1}", true, 0 },    /* a second value */
		{ "hello", true, 1 },
		{ "42", true, 1 },
		{ "{\"a\":", false, -1 },                 /* more to come */
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct json_sniff sn;

		json_sniff_init(&sn);
		CHECK_INT_EQ(mcp_sniff_text(&sn, cases[i].text, strlen(cases[i].text), cases[i].end), cases[i].want);
	}
}

TEST(mcp_classify_bodies_that_must_be_inspected)
{
	struct bytebuf gz = BYTEBUF_INIT;

	CHECK_INT_EQ(needs_inspection("", "{\"a\":1}", 7), 0);
	CHECK_INT_EQ(needs_inspection("", "{\"method\":\"x\"}", 14), 1);
	CHECK_INT_EQ(needs_inspection("", "\xef\xbb\xbf{\"a\":1}", 10), 1);       /* UTF-8 BOM */
	CHECK_INT_EQ(needs_inspection("", "{\0\"\0a\0\"\0:\0001\0}\0", 14), 1); /* UTF-16LE */
	CHECK_INT_EQ(needs_inspection("Content-Encoding: gzip\r\n", "not gzip", 8), 1);
	fixture_compress("{\"a\":1}", 7, 16 + MAX_WBITS, &gz);
	CHECK_INT_EQ(needs_inspection("Content-Encoding: gzip\r\n", gz.data, gz.len), 0);
	bb_reset(&gz);
	fixture_compress("{\"method\":1}", 12, 16 + MAX_WBITS, &gz);
	CHECK_INT_EQ(needs_inspection("Content-Encoding: gzip\r\n", gz.data, gz.len), 1);
	bb_free(&gz);
}
