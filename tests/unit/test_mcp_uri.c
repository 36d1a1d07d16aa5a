/* Resource URIs: decided only in the form every server reads them (mcp_uri.h). */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "../../user/mcp_method.h"
#include "../../user/mcp_uri.h"

static const struct {
	const char *uri, *form;      /* form NULL: refused */
} cases[] = {
	{ "demo://resource/static/document/1", "demo://resource/static/document/1" },
	{ "file:///home/me/notes.txt", "file:///home/me/notes.txt" },
	{ "file:///my%20docs/r%C3%A9sum%C3%A9.pdf", "file:///my docs/r\xc3\xa9sum\xc3\xa9.pdf" },
	{ "file:///my docs/a", "file:///my docs/a" },
	{ "https://example.com/a?q=../x", "https://example.com/a?q=../x" },
	{ "https://127.0.0.1:8443/x", "https://127.0.0.1:8443/x" },
	{ "urn:isbn:0451450523", "urn:isbn:0451450523" },
	{ "demo://Resource/x", "demo://Resource/x" },         /* not special: hosts keep their case */
	{ "pipelines://logs/2026-12-02", "pipelines://logs/2026-12-02" },
	/* what the red team sent past raw matching */
	{ "demo://resource/static/document/../../dynamic/text/1", NULL },
	{ "demo://resource/static/document/%2e%2e/%2E%2E/dynamic/text/2", NULL },
	{ "DEMO://resource/dynamic/text/1", NULL },
	{ "demo://resource/dyn\tamic/text/1", NULL },
	{ " demo://resource/dynamic/text/1", NULL },
	{ "demo://resource/dynamic/text/1 ", NULL },
	{ "de\nmo://resource/dynamic/blob/1", NULL },
	/* the rest of the class */
	{ "demo://resource/./x", NULL },
	{ "demo://resource/x/..", NULL },
	{ "demo:..", NULL },
	{ "demo://resource/%73ecret", NULL },
	{ "demo://resource/a%2Fb", NULL },
	{ "demo://resource/a%5Cb", NULL },
	{ "demo://resource/a%25b", NULL },
	{ "demo://resource/a%3fb", NULL },
	{ "demo://resource/a%00b", NULL },
	{ "demo://resource/a%zz", NULL },
	{ "demo://resource/a%2", NULL },
	{ "demo://resource/a\\b", NULL },
	{ "demo://resource/a#frag", NULL },
	{ "demo://resource/a\x7f", NULL },
	{ "no-scheme/at/all", NULL },
	{ "1demo://x/y", NULL },
	{ "HTTPS://example.com/a", NULL },
	{ "https://Example.com/a", NULL },
	{ "https://example.com:443/a", NULL },
	{ "http://example.com:080/a", NULL },
	{ "http://example.com:/a", NULL },
	{ "https://example.com", NULL },
	{ "https://example.com?x", NULL },
	{ "https:example.com/a", NULL },
	{ "https://ex%41mple.com/a", NULL },
	{ "https://[::1]/a", NULL },
	{ "http://0x7f.1/a", NULL },
	{ "http://2130706433/a", NULL },
	{ "http://127.0.0.01/a", NULL },
	{ "http://127.1/a", NULL },
	{ "http://1.2.3.4./a", NULL },
	{ "file://localhost/etc/passwd", NULL },
	{ "file:/etc/passwd", NULL },
	{ "file://", NULL },
	{ "https://bücher.example/a", NULL },
	/* a second review: the authority of every scheme, empty segments, no scheme at all */
	{ "demo://resource:/dynamic/text/1", NULL },
	{ "demo://@resource/dynamic/text/1", NULL },
	{ "demo://:@resource/dynamic/text/1", NULL },
	{ "demo://user@resource/x", NULL },
	{ "custom://h:080/x", NULL },
	{ "custom://h:8o/x", NULL },
	{ "custom://[0:0::1]/x", NULL },
	{ "custom://h:8080/x", "custom://h:8080/x" },
	{ "http:///h/x", NULL },
	{ "http:////h/x", NULL },
	{ "ws:///h/x", NULL },
	{ "file:///etc//shadow", NULL },
	{ "file:////etc/shadow", NULL },
	{ "demo://resource/a//b", NULL },
	{ "x:a//b", NULL },
	{ "file:///etc/", "file:///etc/" },           /* a trailing '/' names the directory */
	{ "x:/a/b", "x:/a/b" },
	{ "abc", NULL },
	{ "a+b.c-d", NULL },
	{ "", NULL },
};

TEST(mcp_uri_decides_only_what_every_reader_reads_alike)
{
	char form[MCP_TARGET_NAME_MAX + 1];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		int rc = mcp_uri_match_form(cases[i].uri, form, sizeof(form), &why);

		if (cases[i].form) {
			CHECK_INT_EQ(rc, 0);
			CHECK_STR_EQ(form, cases[i].form);
		} else {
			CHECK_INT_EQ(rc, -EINVAL);
			CHECK(why && *why);
		}
	}
	CHECK_INT_EQ(mcp_uri_match_form("demo://x/y", form, 4, &(const char *){ NULL }), -ENOSPC);
}

/* A scheme is read up to the text's end and no further (a review found
 * the NUL read as a scheme character, then the bytes after it). */
TEST(mcp_uri_scheme_stops_at_the_end_of_the_text)
{
	static const char text[] = "ab\0cdefgh:zz";  /* after the NUL: what a scan past it would take */
	char form[64], out[64];
	const char *why = NULL;

	CHECK_INT_EQ(mcp_uri_match_form(text, form, sizeof(form), &why), -EINVAL);
	CHECK(strstr(why, "scheme"));
	CHECK_INT_EQ(mcp_uri_pattern_form(text, out, sizeof(out)), 0);
	CHECK_STR_EQ(out, "ab");
}

TEST(mcp_uri_patterns_take_the_form_requests_are_matched_in)
{
	static const struct {
		const char *pattern, *form;
	} pats[] = {
		{ "demo://resource/dynamic/*", "demo://resource/dynamic/*" },
		{ "DEMO://resource/Dynamic/*", "demo://resource/Dynamic/*" },
		{ "HTTPS://Example.COM/Path/*", "https://example.com/Path/*" },
		{ "file:///my%20docs/*", "file:///my docs/*" },
		{ "file:///a%2Ab", "file:///a\\*b" },        /* a decoded glob character stays literal */
		{ "file:///a%00b", "file:///a%00b" },        /* never a NUL */
		{ "*", "*" },
		{ "*secret*", "*secret*" },
	};
	char out[256];

	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		CHECK_INT_EQ(mcp_uri_pattern_form(pats[i].pattern, out, sizeof(out)), 0);
		CHECK_STR_EQ(out, pats[i].form);
	}
	CHECK_INT_EQ(mcp_uri_pattern_form("demo://long/pattern", out, 8), -ENOSPC);
}

TEST(mcp_uri_resource_requests_carry_the_match_form)
{
	char form[MCP_TARGET_NAME_MAX + 1];
	struct mcp_method_target t;
	const char *why = NULL;
	cJSON *ok = cJSON_Parse("{\"uri\":\"file:///my%20docs/a\"}");
	cJSON *bad = cJSON_Parse("{\"uri\":\"demo://r/static/../dynamic/1\"}");
	cJSON *comp = cJSON_Parse("{\"ref\":{\"type\":\"ref/resource\",\"uri\":\"DEMO://r/x\"},"
				  "\"argument\":{\"name\":\"a\",\"value\":\"b\"}}");

	CHECK_INT_EQ(mcp_method_target("resources/read", ok, form, &t, &why), 0);
	CHECK_STR_EQ(t.name, "file:///my%20docs/a");     /* logged and forwarded as sent */
	CHECK_STR_EQ(t.match, "file:///my docs/a");
	CHECK_INT_EQ(mcp_method_target("resources/subscribe", bad, form, &t, &why), -1);
	CHECK(strstr(why, "segment"));
	CHECK_INT_EQ(mcp_method_target("completion/complete", comp, form, &t, &why), -1);
	CHECK(strstr(why, "scheme"));
	cJSON_Delete(ok);
	cJSON_Delete(bad);
	cJSON_Delete(comp);
}
