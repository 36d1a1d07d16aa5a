/* The tree-free reading of a plain tools/call (jsonrpc_quick.h) against
 * the cJSON one, on the same bodies: whenever it reads a body, the tree
 * must accept that body and give the same method, tool name, id and
 * arguments verdict; adversarial bodies must go to the tree. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "jsonrpc.h"
#include "jsonrpc_quick.h"

/* NULL when the two readings agree, else what differs. *quick: the body
 * was read without a tree. */
static const char *differ(const char *text, size_t len, bool *quick)
{
	struct jsonrpc_body q, t;
	struct jsonrpc_refusal wq, wt;
	int rq = jsonrpc_parse_quick(text, len, &q, &wq), rt = jsonrpc_parse(text, len, &t, &wt);
	const char *bad = NULL;

	*quick = rq == 0 && q.quick;
	if (rq < 0 || rt < 0) {
		if (rq != rt || wq.http_status != wt.http_status || strcmp(wq.reason, wt.reason))
			bad = "refused differently";
		goto out;
	}
	if (!*quick)
		goto out;  /* the tree read it both times */
	const struct jsonrpc_msg *a = &q.msgs[0], *b = &t.msgs[0];

	if (t.batch || t.count != 1 || q.count != 1)
		bad = "not one message";
	else if (b->kind != JSONRPC_REQUEST || a->kind != JSONRPC_REQUEST || !b->is_tools_call || !a->is_tools_call)
		bad = "not a tools/call request";
	else if (strcmp(a->method, b->method) || !a->tool_name || !b->tool_name || strcmp(a->tool_name, b->tool_name))
		bad = "method or name differ";
	else if (a->id_raw_len != b->id_raw_len || memcmp(a->id_raw, b->id_raw, a->id_raw_len) ||
		 !cJSON_Compare(a->id, b->id, true) || a->id->type != b->id->type)
		bad = "id differs";
	else if (b->params == NULL || (cJSON_GetObjectItemCaseSensitive(b->params, "arguments") && !b->arguments))
		bad = "arguments the tree refuses";
	else if (!a->args_unread || a->arguments || a->params || b->args_unread)
		bad = "arguments marked wrong";
	else if (a->span.off != b->span.off || a->span.len != b->span.len || a->verdict != b->verdict)
		bad = "span or verdict differ";
out:
	if (rq == 0)
		jsonrpc_body_free(&q);
	if (rt == 0)
		jsonrpc_body_free(&t);
	return bad;
}

static bool read_quick(const char *body)
{
	bool quick;
	const char *bad = differ(body, strlen(body), &quick);

	if (bad) {
		fprintf(stderr, "  %s: %s\n", bad, body);
		return false;
	}
	return quick;
}

/* Agrees with the tree, and went to it. */
static bool to_tree(const char *body)
{
	bool quick;
	const char *bad = differ(body, strlen(body), &quick);

	if (bad)
		fprintf(stderr, "  %s: %s\n", bad, body);
	return !bad && !quick;
}

#define CALL(id, params) "{\"jsonrpc\":\"2.0\",\"id\":" id ",\"method\":\"tools/call\",\"params\":" params "}"

TEST(jsonrpc_quick_reads_plain_calls)
{
	CHECK(read_quick(CALL("1", "{\"name\":\"echo\",\"arguments\":{\"message\":\"hi\"}}")));
	CHECK(read_quick(CALL("\"a-1\"", "{\"name\":\"echo\"}")));
	CHECK(read_quick(CALL("-9007199254740991", "{\"name\":\"echo\",\"arguments\":{}}")));
	CHECK(read_quick(CALL("9007199254740991", "{\"name\":\"echo\",\"arguments\":{}}")));
	CHECK(read_quick(" \r\n{ \"params\" : { \"arguments\" : { \"a\" : [ 1 , { \"b\" : null } ] , \"A_\" : true } ,"
			 " \"name\" : \"r\xc3\xa9sum\xc3\xa9\" } , \"method\":\"tools/call\", \"id\" : 0 ,"
			 " \"jsonrpc\" : \"2.0\" , \"x-extra\" : \"kept\" } \n"));
	CHECK(read_quick(CALL("7", "{\"name\":\"echo\",\"_meta\":{\"progressToken\":3},"
			      "\"arguments\":{\"s\":\"esc \\\" \\\\ \\u00e9 \\ud83d\\ude00\",\"n\":-1.5e-300}}")));
	/* the parsed message is the same as the tree's */
	struct jsonrpc_body b;
	struct jsonrpc_refusal why;
	static const char body[] = CALL("42", "{\"name\":\"echo\",\"arguments\":{\"m\":1}}");

	CHECK_INT_EQ(jsonrpc_parse_quick(body, sizeof(body) - 1, &b, &why), 0);
	CHECK(b.quick && b.root == NULL && b.count == 1 && !b.batch);
	CHECK_STR_EQ(b.msgs[0].tool_name, "echo");
	CHECK_INT_EQ((int)b.msgs[0].id->valuedouble, 42);
	CHECK(b.msgs[0].id_raw_len == 2 && !memcmp(b.msgs[0].id_raw, "42", 2));
	CHECK_INT_EQ(jsonrpc_forwarded_count(&b), 1);
	jsonrpc_body_free(&b);
}

TEST(jsonrpc_quick_leaves_adversarial_bodies_to_the_tree)
{
	static const char *const bodies[] = {
		/* duplicates, escapes and case variants of keys anywhere */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\",\"name\":\"b\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"a\"}}",
		CALL("1", "{\"name\":\"a\",\"na\\u006de\":\"b\"}"),
		CALL("1", "{\"name\":\"a\",\"NAME\":\"b\"}"),
		CALL("1", "{\"Name\":\"b\"}"),
		CALL("1", "{\"name\":\"a\",\"arguments\":{\"p\":1,\"P\":2}}"),
		CALL("1", "{\"name\":\"a\",\"arguments\":{\"p\":{\"q\":1,\"q\":2}}}"),
		CALL("1", "{\"name\":\"a\",\"arguments\":{\"pa\\u0074h\":1}}"),
		CALL("1", "{\"name\":\"a\",\"arguments\":{\"\xc5\xbf\":1}}"),
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"Method\":\"x\",\"params\":{\"name\":\"a\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"param\xc5\xbf\":{},\"params\":{\"name\":\"a\"}}",
		/* escapes in values the decision reads */
		CALL("1", "{\"name\":\"ech\\u006f\"}"),
		"{\"jsonrpc\":\"2\\u002e0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools\\/call\",\"params\":{\"name\":\"a\"}}",
		CALL("\"\\u0061\"", "{\"name\":\"a\"}"),
		/* ids the tree refuses or reads otherwise */
		CALL("null", "{\"name\":\"a\"}"), CALL("1.5", "{\"name\":\"a\"}"), CALL("1e3", "{\"name\":\"a\"}"),
		CALL("-0", "{\"name\":\"a\"}"), CALL("9007199254740992", "{\"name\":\"a\"}"),
		CALL("true", "{\"name\":\"a\"}"), CALL("{}", "{\"name\":\"a\"}"), CALL("[1]", "{\"name\":\"a\"}"),
		"{\"jsonrpc\":\"2.0\",\"method\":\"tools/call\",\"params\":{\"name\":\"a\"}}",
		/* shapes other than one plain call */
		"[" CALL("1", "{\"name\":\"a\"}") "]",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"result\":{},\"params\":{\"name\":\"a\"}}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":[\"a\"]}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\"}",
		CALL("1", "{\"name\":7}"), CALL("1", "{\"arguments\":{}}"),
		CALL("1", "{\"name\":\"a\",\"arguments\":\"x\"}"), CALL("1", "{\"name\":\"a\",\"arguments\":[]}"),
		CALL("1", "{\"name\":\"a\",\"arguments\":null}"),
		CALL("1", "{\"name\":\"a\",\"requestState\":\"s\"}"),
		CALL("1", "{\"name\":\"a\",\"inputResponses\":{}}"),
		"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\"}}",
		/* what the tree's parser or the strict grammar refuses */
		CALL("1", "{\"name\":\"a\",\"arguments\":{\"n\":1234567890123456789012345678901234567890"
			  "123456789012345678901234567890}}"),
		"\xef\xbb\xbf" CALL("1", "{\"name\":\"a\"}"),
		CALL("1", "{\"name\":\"a\"}") "x",
		CALL("1", "{\"name\":\"a\",}"),
		CALL("1", "{\"name\":\"a\" /* c */}"),
		CALL("1", "{\"name\":\"a\\ud800\"}"),
		CALL("1", "{\"name\":\"a\\u0000b\"}"),
		CALL("1", "{\"name\":\"a\",\"arguments\":{\"n\":01}}"),
	};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		if (!to_tree(bodies[i]))
			fprintf(stderr, "  body %zu\n", i);
		CHECK(to_tree(bodies[i]));
	}
	/* long names and ids, wide and deep objects: the tree's too */
	char big[4096];
	snprintf(big, sizeof(big), CALL("1", "{\"name\":\"%0128d\"}"), 0);
	CHECK(to_tree(big));
	snprintf(big, sizeof(big), CALL("\"%0129d\"", "{\"name\":\"a\"}"), 0);
	CHECK(to_tree(big));
	size_t n = (size_t)snprintf(big, sizeof(big), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
				    "\"params\":{\"name\":\"a\",\"arguments\":{");
	for (int k = 0; k <= JSONRPC_QUICK_KEYS; k++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"k%d\":%d", k ? "," : "", k, k);
	snprintf(big + n, sizeof(big) - n, "}}}");
	CHECK(to_tree(big));
	n = (size_t)snprintf(big, sizeof(big), "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
			     "\"params\":{\"name\":\"a\",\"arguments\":");
	for (int k = 0; k < JSONRPC_QUICK_DEPTH; k++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "{\"d\":");
	n += (size_t)snprintf(big + n, sizeof(big) - n, "1");
	for (int k = 0; k < JSONRPC_QUICK_DEPTH; k++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "}");
	snprintf(big + n, sizeof(big) - n, "}}");
	CHECK(to_tree(big));
}

static unsigned next_random(unsigned *seed, unsigned k)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 16) % k;
}

/* Bodies built from pieces that differ from the plain call in one or more
 * places (keys, escapes, ids, nesting), and random byte edits of them:
 * every one the quick reader takes must be read the same by the tree. */
TEST(jsonrpc_quick_agrees_with_the_tree_on_random_bodies)
{
	static const char *const keys_top[] = { "\"jsonrpc\"", "\"id\"", "\"method\"", "\"params\"", "\"Id\"",
						"\"i\\u0064\"", "\"extra\"", "\"result\"", "\"\"" };
	static const char *const ids[] = { "1", "-3", "\"x\"", "\"\\u0078\"", "1.0", "null", "9007199254740993",
					   "\"\xc3\xa9\"", "0", "-0", "12345678901234567" };
	static const char *const names[] = { "\"echo\"", "\"ech\\u006f\"", "\"\"", "\"a b\"", "7",
					     "\"\xe2\x82\xac\"", "\"\\\"\"" };
	static const char *const args[] = { "{}", "{\"a\":1}", "{\"a\":1,\"A\":2}", "{\"a\":1,\"a\":2}", "[]",
					    "{\"x\":{\"y\":[{\"z\":\"\\u00e9\"}]}}", "\"s\"", "{\"k\\u0061\":1}",
					    "{\"n\":1e999}", "{\"t\":true,\"f\":false,\"z\":null}" };
	static const char *const pkeys[] = { "\"name\"", "\"arguments\"", "\"_meta\"", "\"NAME\"", "\"uri\"",
					     "\"requestState\"", "\"argument\"" };
	static const char edits[] = "{}[]\",:\\ a1eE-.u\x80\xc3", inserts[] = "\"{}[],:\\";
	unsigned seed = 14;
	size_t quick_count = 0;
	char body[1024];

	for (int iter = 0; iter < 60000; iter++) {
		size_t n = 0;
#define R(k) next_random(&seed, (unsigned)(k))
#define PICK(a) a[R(sizeof(a) / sizeof(a[0]))]
#define PUT(...) n += (size_t)snprintf(body + n, sizeof(body) - n, __VA_ARGS__)
		PUT("{");
		unsigned members = R(6) ? 4 : 3 + R(3);
		for (unsigned m = 0; m < members; m++) {
			unsigned which = R(8) == 0 ? 4 + R(5) : m % 4;
			if (m)
				PUT(R(10) ? "," : " ,\n");
			switch (which) {
			case 0: PUT("\"jsonrpc\":%s", R(12) ? "\"2.0\"" : "\"2.1\""); break;
			case 1: PUT("\"id\":%s", R(2) ? ids[R(3)] : PICK(ids)); break;
			case 2: PUT("\"method\":%s", R(10) ? "\"tools/call\"" : "\"tools/cal\\u006c\""); break;
			case 3: {
				unsigned pn = 1 + R(3);
				PUT("\"params\":{");
				for (unsigned k = 0; k < pn; k++) {
					const char *key = k == 0 && R(6) ? "\"name\"" : k == 1 && R(3) ? "\"arguments\""
												: PICK(pkeys);
					PUT("%s%s:%s", k ? "," : "", key,
					    !strcmp(key, "\"name\"") ? (R(2) ? names[0] : PICK(names))
					    : R(2) ? args[R(2)] : PICK(args));
				}
				PUT("}");
				break;
			}
			default: PUT("%s:%s", PICK(keys_top), PICK(ids)); break;
			}
		}
		PUT("}");
		for (unsigned e = R(4) == 0 ? 1 + R(3) : 0; e && n; e--) {
			size_t at = R((unsigned)n);
			switch (R(3)) {
			case 0: body[at] = edits[R(sizeof(edits) - 1)]; break;
			case 1: memmove(body + at, body + at + 1, n - at); n--; break;
			default:
				if (n + 1 < sizeof(body)) {
					memmove(body + at + 1, body + at, n - at + 1);
					body[at] = inserts[R(sizeof(inserts) - 1)];
					n++;
				}
			}
		}
		bool quick;
		const char *bad = differ(body, n, &quick);
		if (bad)
			fprintf(stderr, "  %s: %.*s\n", bad, (int)n, body);
		CHECK(!bad);
		quick_count += quick;
	}
	/* the test is not vacuous: plenty of bodies took the quick path */
	CHECK(quick_count > 3000);
}
