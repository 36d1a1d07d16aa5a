/* http_strict: chunk framing in the strict RFC 9112 grammar, charsets,
 * and heads some stack would read differently. */
#include <string.h>

#include "harness.h"
#include "http_strict.h"

static const char *chunked(const char *raw)
{
	const char *why = NULL;

	return http_strict_chunked(raw, strlen(raw), &why) == 0 ? "ok" : why ? why : "no reason";
}

TEST(http_strict_chunked_accepts_the_strict_grammar)
{
	CHECK_STR_EQ(chunked("0\r\n\r\n"), "ok");
	CHECK_STR_EQ(chunked("5\r\nhello\r\n0\r\n\r\n"), "ok");
	CHECK_STR_EQ(chunked("A\r\n0123456789\r\n1\r\n\n\r\n000\r\n\r\n"), "ok"); /* LF as data is data */
	CHECK_STR_EQ(chunked("0005\r\nhello\r\n0\r\n\r\n"), "ok");
}

TEST(http_strict_chunked_refuses_everything_else)
{
	static const char *const bad[] = {
		"5\nhello\r\n0\r\n\r\n",         /* bare LF after the size (CVE-2025-22871) */
		"5\r\nhello\n0\r\n\r\n",         /* bare LF after the data */
		"5\r\nhello\r\n0\n\r\n",
		"5\r\nhello\r\n0\r\n\n",
		"5;x=1\r\nhello\r\n0\r\n\r\n",   /* chunk extension */
		"5 \r\nhello\r\n0\r\n\r\n",      /* whitespace */
		" 5\r\nhello\r\n0\r\n\r\n",
		"5\t;x\r\nhello\r\n0\r\n\r\n",
		"0x5\r\nhello\r\n0\r\n\r\n",
		"+5\r\nhello\r\n0\r\n\r\n",
		"-5\r\nhello\r\n0\r\n\r\n",
		"\r\nhello\r\n0\r\n\r\n",
		"5\r\nhello!\r\n0\r\n\r\n",      /* longer than its size */
		"5\r\nhell\r\n0\r\n\r\n",        /* shorter */
		"5\r\nhelloXY0\r\n\r\n",
		"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", /* trailer field */
		"5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n", /* anything after the end */
		"5\r\nhello\r\n0\r\n",           /* no final CRLF */
		"10000000000000000\r\n",         /* size overflow */
		"",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!strcmp(chunked(bad[i]), "ok"))
			unit_fail(__FILE__, __LINE__, "accepted: %zu", i);
}

/* A request head parsed by http1, extra header lines `headers`. */
static bool head_of(struct http1_parser *p, const char *headers)
{
	char req[1024];
	size_t used;

	snprintf(req, sizeof(req), "POST /mcp HTTP/1.1\r\n%s\r\n", headers);
	http1_init(p, HTTP1_REQUEST, 4096);
	return http1_feed(p, req, strlen(req), &used) == HTTP1_HEAD;
}

static const char *head_verdict(const char *headers)
{
	struct http1_parser p;
	const char *why = "no reason";
	const char *r = "http error";

	if (head_of(&p, headers))
		r = http_strict_head(http1_msg(&p), &why) == 0 ? "ok" : why;
	http1_free(&p);
	return r;
}

TEST(http_strict_head_refuses_what_servers_read_two_ways)
{
	CHECK_STR_EQ(head_verdict("Host: a\r\nContent-Type: application/json\r\n"), "ok");
	CHECK_STR_EQ(head_verdict("Host: a\r\nHost: b\r\n"), "repeated Host header");
	CHECK_STR_EQ(head_verdict("Host: a\r\nContent-Type: text/plain\r\ncontent-type: application/json\r\n"),
		     "repeated Content-Type header");
	/* Node joins a repeated Mcp-Session-Id as "S, S", Starlette and Go take
	 * the first: the call would run in a session the daemon did not count */
	CHECK_STR_EQ(head_verdict("Host: a\r\nMcp-Session-Id: s1\r\n"), "ok");
	CHECK_STR_EQ(head_verdict("Host: a\r\nMcp-Session-Id: s1\r\nmcp-session-id: s1\r\n"),
		     "repeated Mcp-Session-Id header");
	CHECK_STR_EQ(head_verdict("Host: a\r\nMcp-Session-Id: s1\r\nMcp-Session-Id: s2\r\n"),
		     "repeated Mcp-Session-Id header");
	/* list headers the daemon reads as a list, or does not read */
	CHECK_STR_EQ(head_verdict("Host: a\r\nAccept: application/json\r\nAccept: text/event-stream\r\n"
				  "Content-Encoding: identity\r\nContent-Encoding: identity\r\n"), "ok");
	static const char *const underscored[] = { "Content_Length: 5\r\n", "transfer_encoding: chunked\r\n",
						   "Content_Type: application/json\r\n", "MCP_SESSION_ID: x\r\n",
						   "Mcp_Method: tools/list\r\n" };
	for (size_t i = 0; i < sizeof(underscored) / sizeof(underscored[0]); i++)
		CHECK_STR_EQ(head_verdict(underscored[i]), "header name spelled with '_' where a server may read '-'");
	CHECK_STR_EQ(head_verdict("X_Trace_Id: 1\r\n"), "ok");
}

static const char *charset_verdict(const char *content_type, const char *body)
{
	struct http1_parser p;
	char headers[256];
	const char *why = "no reason", *r = "http error";

	snprintf(headers, sizeof(headers), "Host: a\r\nContent-Type: %s\r\n", content_type);
	if (head_of(&p, headers))
		r = http_strict_charset(http1_msg(&p), body, strlen(body), &why) == 0 ? "ok" : why;
	http1_free(&p);
	return r;
}

TEST(http_strict_charset_is_utf8_or_nothing)
{
	static const char *const ok[] = { "application/json", "application/json; charset=utf-8",
					  "application/json;charset=UTF-8", "application/json; charset=\"utf-8\"",
					  "text/plain; charset=utf8", "application/json; foo=bar" };
	static const char *const refused[] = { "application/json; charset=utf-7", "application/json; charset=utf-16le",
					       "application/json; charset=UTF-16", "application/json; charset=latin1",
					       "application/json; charset=\"iso-8859-1\"", "text/plain; charset=cp1252",
					       "application/json; charset=utf-32", "application/json; charset=" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CHECK_STR_EQ(charset_verdict(ok[i], "{\"a\":\"\xc3\xa9\"}"), "ok");
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		CHECK_STR_EQ(charset_verdict(refused[i], "{}"),
			     "only UTF-8 request bodies are accepted (Content-Type charset)");
	CHECK_STR_EQ(charset_verdict("application/json; charset=utf-8; charset=utf-7", "{}"),
		     "Content-Type names its charset twice");
	CHECK_STR_EQ(charset_verdict("application/json; charset=us-ascii", "{\"a\":1}"), "ok");
	CHECK_STR_EQ(charset_verdict("application/json; charset=US-ASCII", "{\"m\xe5thod\":1}"),
		     "charset us-ascii with bytes that are not ASCII");
}

/* Streamed chunk framing is checked as it comes: any split of the input
 * gives the verdict the whole input gives. */
TEST(http_strict_chunk_check_is_the_same_at_every_split)
{
	static const char *const inputs[] = { "5\r\nhello\r\n1A\r\n0123456789abcdefghijklmnop\r\n0\r\n\r\n",
					      "5\r\nhello\n0\r\n\r\n", "5;e\r\nhello\r\n0\r\n\r\n",
					      "5\r\nhello\r\n0\r\nT: 1\r\n\r\n", "5\r\nhello\r\n0\r\n" };
	for (size_t k = 0; k < sizeof(inputs) / sizeof(inputs[0]); k++) {
		const char *in = inputs[k], *why;
		size_t len = strlen(in);
		int whole = http_strict_chunked(in, len, &why);

		for (size_t cut = 0; cut <= len; cut++) {
			struct http_chunk_check c;
			int r;

			http_chunk_check_init(&c);
			r = http_chunk_check_feed(&c, in, cut, &why);
			if (r == 0)
				r = http_chunk_check_feed(&c, in + cut, len - cut, &why);
			if (r == 0)
				r = http_chunk_check_end(&c, &why);
			CHECK_INT_EQ(r, whole);
		}
	}
	CHECK_INT_EQ(http_strict_chunked(inputs[0], strlen(inputs[0]), &(const char *){ NULL }), 0);
}
