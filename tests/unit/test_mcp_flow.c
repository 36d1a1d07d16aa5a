/* mcp_flow: bytes in, bytes out, decided from real policy maps (the
 * skeleton's, in a private bpffs): what reaches the server and what the
 * agent gets back for a denial, a partial batch, a refusal with a request
 * pipelined behind it, and a server that cannot be reached. */
#include <string.h>
#include <bpf/libbpf.h>

#include "acct.h"
#include "mcp_flow.h"
#include "mcpfence.skel.h"
#include "common.h"
#include "session_ids.h"
#include "policy_fixture.h"
#include "tool_names.h"

static const char policy[] =
	"{'version':'1','servers':{'fs':{'default':'deny','hide':['secret'],'tools':{"
	"'echo':{'action':'allow'},'rm':{'action':'deny','reason':'no deleting'}}}}}";

static const struct mcpf_conn origin = { .pid = 4242, .uid = 1000, .cgroup_id = 77, .comm = "agent", .server = "fs" };

struct flow_case {
	struct enforce enf;
	struct mcp_flow flow;
	struct bytebuf up, client;
	struct flow_io io;
};

static void no_kick(void *conn)
{
	(void)conn;
}

static int flow_open(struct policy_fixture *f, struct flow_case *t)
{
	memset(t, 0, sizeof(*t));
	if (fixture_compile(f, policy))
		return -1;
	t->enf = (struct enforce){
		.policy = &f->maps,
		.acct = acct_new(bpf_map__fd(f->skel->maps.tool_stats), bpf_map__fd(f->skel->maps.daemon_stats),
				 NULL, -1),
		.body_limit = 64 << 10,
		.listed = tool_names_new(TOOL_NAMES_DEFAULT_MAX),
	};
	t->io = (struct flow_io){ .to_upstream = &t->up, .to_client = &t->client };
	if (!t->enf.listed || !t->enf.acct || acct_prepare(t->enf.acct, true))
		return -1;
	return mcp_flow_init(&t->flow, &t->enf, &origin, 1, no_kick, NULL);
}

static void flow_close(struct flow_case *t)
{
	mcp_flow_free(&t->flow);
	tool_names_free(t->enf.listed);
	acct_free(t->enf.acct);
	bb_free(&t->up);
	bb_free(&t->client);
}

/* A POST /mcp of body, as an SDK client sends it. */
static void post(struct bytebuf *out, const char *body)
{
	bb_printf(out, "POST /mcp HTTP/1.1\r\nHost: fs\r\nContent-Type: application/json\r\n"
		       "Accept: application/json, text/event-stream\r\nContent-Length: %zu\r\n\r\n%s",
		  strlen(body), body);
}

static int from_agent(struct flow_case *t, const char *body)
{
	struct bytebuf req = BYTEBUF_INIT;
	int rc;

	post(&req, body);
	rc = mcp_flow_client_data(&t->flow, req.data, req.len, &t->io);
	bb_free(&req);
	return rc;
}

static int from_server(struct flow_case *t, const char *body)
{
	struct bytebuf resp = BYTEBUF_INIT;
	int rc;

	bb_printf(&resp, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		  strlen(body), body);
	rc = mcp_flow_upstream_data(&t->flow, resp.data, resp.len, &t->io);
	bb_free(&resp);
	return rc;
}

#define CALL(id, tool) \
	"{\"jsonrpc\":\"2.0\",\"id\":" #id ",\"method\":\"tools/call\",\"params\":{\"name\":\"" tool "\",\"arguments\":{}}}"

static bool has(const struct bytebuf *b, const char *text)
{
	return b->len && memmem(b->data, b->len, text, strlen(text));
}

/* Where text starts in b, or -1. */
static long at(const struct bytebuf *b, const char *text)
{
	const char *p = b->len ? memmem(b->data, b->len, text, strlen(text)) : NULL;

	return p ? p - b->data : -1;
}

static void next_round(struct flow_case *t)
{
	bb_reset(&t->up);
	bb_reset(&t->client);
}

MAPS_TEST(mcp_flow_denied_call_is_answered_here)
{
	struct flow_case t;

	CHECK(flow_open(f, &t) == 0);
	CHECK_INT_EQ(from_agent(&t, CALL(1, "rm")), 0);
	CHECK_INT_EQ(t.up.len, 0);
	CHECK(has(&t.client, "HTTP/1.1 200 OK\r\n"));
	CHECK(has(&t.client, "\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":"
			     "\"Blocked by mcpfence: tools.rm.action: no deleting\"}],\"isError\":true}"));
	CHECK(!t.io.finished);
	next_round(&t);
	/* the connection goes on: an allowed call is forwarded as it came */
	CHECK_INT_EQ(from_agent(&t, CALL(2, "echo")), 0);
	CHECK(has(&t.up, CALL(2, "echo")));
	CHECK_INT_EQ(t.client.len, 0);
	flow_close(&t);
}

MAPS_TEST(mcp_flow_partial_batch_forwards_the_allowed_and_merges_the_answers)
{
	struct flow_case t;

	CHECK(flow_open(f, &t) == 0);
	CHECK_INT_EQ(from_agent(&t, "[" CALL(2, "echo") "," CALL(3, "rm") "]"), 0);
	CHECK(has(&t.up, "Content-Length: 88\r\n\r\n[" CALL(2, "echo") "]"));
	CHECK(!has(&t.up, "\"rm\""));
	CHECK_INT_EQ(t.client.len, 0);  /* the denial waits for the server's part */
	next_round(&t);
	CHECK_INT_EQ(from_server(&t, "[{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"content\":[]}}]"), 0);
	CHECK_INT_EQ(t.up.len, 0);
	CHECK(has(&t.client, "Content-Length: 188\r\n\r\n[{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"content\":[]}},"
			     "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"content\":[{\"type\":\"text\",\"text\":"
			     "\"Blocked by mcpfence: tools.rm.action: no deleting\"}],\"isError\":true}}]"));
	flow_close(&t);
}

MAPS_TEST(mcp_flow_refusal_stops_reading_and_answers_in_order)
{
	struct bytebuf three = BYTEBUF_INIT;
	struct flow_case t;

	CHECK(flow_open(f, &t) == 0);
	post(&three, CALL(4, "echo"));
	bb_append_str(&three, "POST /mcp HTTP/1.1\r\nHost: fs\r\nUpgrade: websocket\r\nContent-Length: 2\r\n\r\n{}");
	post(&three, CALL(5, "echo"));
	CHECK_INT_EQ(mcp_flow_client_data(&t.flow, three.data, three.len, &t.io), 0);
	bb_free(&three);
	/* the first went on; nothing after the refused one was read */
	CHECK(has(&t.up, CALL(4, "echo")));
	CHECK(!has(&t.up, "websocket"));
	CHECK(!has(&t.up, "\"id\":5"));
	CHECK_INT_EQ(t.client.len, 0);  /* the refusal waits for the answer owed before it */
	CHECK(!t.io.finished);
	next_round(&t);
	CHECK_INT_EQ(from_server(&t, "{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{\"content\":[]}}"), 0);
	long answer = at(&t.client, "\"id\":4,\"result\""), refusal = at(&t.client, "HTTP/1.1 403 Forbidden\r\n");
	CHECK(answer >= 0 && refusal > answer);
	CHECK(t.io.finished);
	flow_close(&t);
}

MAPS_TEST(mcp_flow_unreachable_server_answers_502)
{
	struct flow_case t;

	CHECK(flow_open(f, &t) == 0);
	/* nothing asked yet: nothing to answer */
	CHECK_INT_EQ(mcp_flow_upstream_failed(&t.flow, "Connection refused", &t.io), 0);
	CHECK(!t.io.finished);
	CHECK_INT_EQ(t.client.len, 0);
	/* asked: answered here, and the connection ends */
	CHECK_INT_EQ(from_agent(&t, CALL(6, "echo")), 0);
	CHECK(t.io.finished);
	CHECK(has(&t.client, "HTTP/1.1 502 Bad Gateway\r\n"));
	CHECK(has(&t.client, "mcpfence: server fs is unreachable: Connection refused"));
	flow_close(&t);

	CHECK(flow_open(f, &t) == 0);
	CHECK_INT_EQ(from_agent(&t, CALL(7, "echo")), 0);
	CHECK(has(&t.up, CALL(7, "echo")));
	next_round(&t);
	CHECK_INT_EQ(mcp_flow_upstream_failed(&t.flow, "Connection refused", &t.io), 0);
	CHECK(t.io.finished);
	CHECK(has(&t.client, "HTTP/1.1 502 Bad Gateway\r\n"));
	CHECK(has(&t.client, "Connection: close\r\n"));
	flow_close(&t);
}

/* A POST of body in the Streamable HTTP session sid. */
static int from_agent_in(struct mcp_flow *flow, struct flow_io *io, const char *sid, const char *body)
{
	struct bytebuf req = BYTEBUF_INIT;
	int rc;

	bb_printf(&req, "POST /mcp HTTP/1.1\r\nHost: fs\r\nContent-Type: application/json\r\nMcp-Session-Id: %s\r\n"
			"Accept: application/json, text/event-stream\r\nContent-Length: %zu\r\n\r\n%s",
		  sid, strlen(body), body);
	rc = mcp_flow_client_data(flow, req.data, req.len, io);
	bb_free(&req);
	return rc;
}

#define REFUSED_ID "the id of a request still awaiting its answer"

/* Another connection of the same agent, on t's enforcement. */
struct peer {
	struct mcp_flow flow;
	struct bytebuf up, client;
	struct flow_io io;
};

static int peer_open(struct peer *p, struct flow_case *t, unsigned long long conn_id)
{
	memset(p, 0, sizeof(*p));
	p->io = (struct flow_io){ .to_upstream = &p->up, .to_client = &p->client };
	return mcp_flow_init(&p->flow, &t->enf, &origin, conn_id, no_kick, NULL);
}

static void peer_close(struct peer *p)
{
	mcp_flow_free(&p->flow);
	bb_free(&p->up);
	bb_free(&p->client);
}

/* Servers route an answer to the connection that last sent its id in the
 * session: a second connection's request reusing an id in flight is
 * refused (7 and "7" alike) before it is forwarded, until the first's
 * answer is through or it was answered here; a forwarded request whose
 * connection ends first keeps its id, since the server may still answer. */
MAPS_TEST(mcp_flow_id_in_flight_on_another_connection_of_the_session_is_refused)
{
	struct flow_case t;
	struct peer b, c;

	CHECK(flow_open(f, &t) == 0);
	CHECK(peer_open(&b, &t, 2) == 0);
	CHECK_INT_EQ(from_agent_in(&t.flow, &t.io, "S", CALL(7, "echo")), 0);
	CHECK(has(&t.up, CALL(7, "echo")));
	CHECK_INT_EQ(from_agent_in(&b.flow, &b.io, "S", CALL("7", "echo")), 0);
	CHECK_INT_EQ(b.up.len, 0);
	CHECK(has(&b.client, REFUSED_ID));
	CHECK(has(&b.client, "\"id\":\"7\""));
	/* a call the quick read does not allow is read again whole: its id,
	 * taken by the quick read, was given back, and it is denied as such */
	CHECK_INT_EQ(from_agent_in(&b.flow, &b.io, "S", CALL(9, "rm")), 0);
	CHECK(has(&b.client, "no deleting"));
	CHECK(!has(&b.client, "\"id\":9,\"error\""));
	bb_reset(&b.client);
	/* another session is another id space */
	CHECK_INT_EQ(from_agent_in(&b.flow, &b.io, "T", CALL(7, "echo")), 0);
	CHECK(has(&b.up, CALL(7, "echo")));
	bb_reset(&b.up);
	/* an element of a batch is refused alone */
	CHECK_INT_EQ(from_agent_in(&b.flow, &b.io, "S", "[" CALL(8, "echo") "," CALL(7, "echo") "]"), 0);
	CHECK(has(&b.up, "[" CALL(8, "echo") "]"));
	peer_close(&b);
	/* answered: the id is free again */
	next_round(&t);
	CHECK_INT_EQ(from_server(&t, "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"content\":[]}}"), 0);
	CHECK(peer_open(&c, &t, 3) == 0);
	CHECK_INT_EQ(from_agent_in(&c.flow, &c.io, "S", CALL(7, "echo")), 0);
	CHECK(has(&c.up, CALL(7, "echo")));
	/* ... its connection ends without its answer: still taken, in that
	 * session only */
	peer_close(&c);
	CHECK_INT_EQ(from_agent_in(&t.flow, &t.io, "S", CALL(7, "echo")), 0);
	CHECK_INT_EQ(t.up.len, 0);
	CHECK(has(&t.client, REFUSED_ID));
	next_round(&t);
	CHECK_INT_EQ(from_agent_in(&t.flow, &t.io, "U", CALL(7, "echo")), 0);
	CHECK(has(&t.up, CALL(7, "echo")));
	/* ... the server cannot be reached (answered here): free again */
	CHECK_INT_EQ(mcp_flow_upstream_failed(&t.flow, "Connection refused", &t.io), 0);
	CHECK(peer_open(&c, &t, 4) == 0);
	CHECK_INT_EQ(from_agent_in(&c.flow, &c.io, "U", CALL(7, "echo")), 0);
	CHECK(has(&c.up, CALL(7, "echo")));
	peer_close(&c);
	flow_close(&t);
}

/* Raw bytes from the server, as they come. */
static int from_server_raw(struct flow_case *t, const char *raw)
{
	return mcp_flow_upstream_data(&t->flow, raw, strlen(raw), &t->io);
}

/* One SSE event of data, the whole reply. */
static int from_server_sse(struct flow_case *t, const char *data)
{
	struct bytebuf resp = BYTEBUF_INIT;
	int rc;

	bb_printf(&resp, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: %zu\r\n\r\n"
			 "data: %s\n\n", strlen(data) + 8, data);
	rc = mcp_flow_upstream_data(&t->flow, resp.data, resp.len, &t->io);
	bb_free(&resp);
	return rc;
}

#define LIST_ANSWER(id) \
	"{\"jsonrpc\":\"2.0\",\"id\":" #id ",\"result\":{\"tools\":[{\"name\":\"echo\"},{\"name\":\"secret\"}]}}"

/* A server routes an answer by its id alone: a call or a ping reusing the
 * id of another connection's tools/list can get the list. Hidden entries
 * go by the answer's shape: filtered on an event stream and in a held
 * reply, and a streamed JSON reply is cut before the list goes out. */
MAPS_TEST(mcp_flow_a_list_answer_to_a_call_is_filtered_or_cut)
{
	struct flow_case t;

	/* event stream */
	CHECK(flow_open(f, &t) == 0);
	CHECK_INT_EQ(from_agent_in(&t.flow, &t.io, "L1", CALL(7, "echo")), 0);
	CHECK(has(&t.up, CALL(7, "echo")));
	next_round(&t);
	CHECK_INT_EQ(from_server_sse(&t, LIST_ANSWER(7)), 0);
	CHECK(has(&t.client, "{\"name\":\"echo\"}"));
	CHECK(!has(&t.client, "secret"));
	CHECK(!t.io.finished);
	/* not known to be what the server lists: a tool's result can hold anything */
	CHECK(!tool_names_has(t.enf.listed, "fs", "secret"));
	flow_close(&t);

	/* a tools/list's own answer is */
	CHECK(flow_open(f, &t) == 0);
	CHECK_INT_EQ(from_agent_in(&t.flow, &t.io, "L9", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\"}"), 0);
	next_round(&t);
	CHECK_INT_EQ(from_server_sse(&t, LIST_ANSWER(7)), 0);
	CHECK(!has(&t.client, "secret"));
	CHECK(tool_names_has(t.enf.listed, "fs", "secret"));
	flow_close(&t);

	/* held whole (a denial to join) */
	CHECK(flow_open(f, &t) == 0);
	CHECK_INT_EQ(from_agent(&t, "[" CALL(2, "echo") "," CALL(3, "rm") "]"), 0);
	next_round(&t);
	CHECK_INT_EQ(from_server(&t, "[" LIST_ANSWER(2) "]"), 0);
	CHECK(has(&t.client, "{\"name\":\"echo\"}"));
	CHECK(has(&t.client, "no deleting"));
	CHECK(!has(&t.client, "secret"));
	flow_close(&t);

	/* streamed JSON, whole in one read: the head only */
	CHECK(flow_open(f, &t) == 0);
	CHECK_INT_EQ(from_agent_in(&t.flow, &t.io, "L2", CALL(7, "echo")), 0);
	next_round(&t);
	CHECK_INT_EQ(from_server(&t, LIST_ANSWER(7)), 0);
	CHECK(t.io.finished);
	CHECK(!has(&t.client, "tools"));
	CHECK(!has(&t.client, "secret"));
	flow_close(&t);

	/* streamed JSON, chunked: what came before the list's name goes on */
	CHECK(flow_open(f, &t) == 0);
	CHECK_INT_EQ(from_agent_in(&t.flow, &t.io, "L3", CALL(7, "echo")), 0);
	next_round(&t);
	CHECK_INT_EQ(from_server_raw(&t, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
					 "Transfer-Encoding: chunked\r\n\r\n22\r\n{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\r\n"),
		     0);
	CHECK(has(&t.client, "\"id\":7,\"result\":{"));
	CHECK(!t.io.finished);
	bb_reset(&t.client);
	CHECK_INT_EQ(from_server_raw(&t, "8\r\n\"tools\":\r\n"), 0);
	CHECK(t.io.finished);
	CHECK_INT_EQ(t.client.len, 0);
	flow_close(&t);
}

MAPS_TEST(mcp_flow_a_list_answer_to_a_ping_is_filtered_or_cut)
{
	static const char ping[] = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}";
	struct flow_case t;

	CHECK(flow_open(f, &t) == 0);
	CHECK_INT_EQ(from_agent_in(&t.flow, &t.io, "L4", ping), 0);
	CHECK(has(&t.up, ping));
	next_round(&t);
	CHECK_INT_EQ(from_server(&t, LIST_ANSWER(7)), 0);
	CHECK(t.io.finished);
	CHECK(!has(&t.client, "secret"));
	flow_close(&t);

	CHECK(flow_open(f, &t) == 0);
	CHECK_INT_EQ(from_agent_in(&t.flow, &t.io, "L5", ping), 0);
	next_round(&t);
	CHECK_INT_EQ(from_server_sse(&t, LIST_ANSWER(7)), 0);
	CHECK(has(&t.client, "{\"name\":\"echo\"}"));
	CHECK(!has(&t.client, "secret"));
	flow_close(&t);

	/* a call's own answer still streams through whole */
	CHECK(flow_open(f, &t) == 0);
	CHECK_INT_EQ(from_agent_in(&t.flow, &t.io, "L6", CALL(8, "echo")), 0);
	next_round(&t);
	CHECK_INT_EQ(from_server(&t, "{\"jsonrpc\":\"2.0\",\"id\":8,\"result\":{\"content\":[{\"type\":\"text\","
				     "\"text\":\"tools\"}],\"structuredContent\":{\"tools\":[]}}}"),
		     0);
	CHECK(!t.io.finished);
	CHECK(has(&t.client, "\"structuredContent\":{\"tools\":[]}}}"));
	flow_close(&t);
}

/* The server's own request on a call's stream, with the call's id (server
 * request ids start at 0 in each session), is no answer to it: the call's
 * id stays taken in the session when its stream ends without one. */
MAPS_TEST(mcp_flow_a_server_request_with_a_calls_id_does_not_free_it)
{
	struct flow_case t;
	struct peer b;

	CHECK(flow_open(f, &t) == 0);
	CHECK(peer_open(&b, &t, 2) == 0);
	CHECK_INT_EQ(from_agent_in(&t.flow, &t.io, "L7", CALL(0, "echo")), 0);
	next_round(&t);
	CHECK_INT_EQ(from_server_sse(&t, "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"ping\"}"), 0);
	CHECK(has(&t.client, "\"method\":\"ping\""));
	CHECK_INT_EQ(from_agent_in(&b.flow, &b.io, "L7", CALL(0, "echo")), 0);
	CHECK_INT_EQ(b.up.len, 0);
	CHECK(has(&b.client, REFUSED_ID));
	peer_close(&b);
	flow_close(&t);
}

/* A batch of n calls to tool, each with a string id of idlen bytes (its
 * JSON text), made distinct by tag; first, when not NULL, leads it. */
static void long_id_batch(struct bytebuf *b, const char *first, const char *tool, int n, size_t idlen, char tag)
{
	bb_append_str(b, "[");
	if (first)
		bb_printf(b, "%s,", first);
	for (int i = 0; i < n; i++) {
		bb_printf(b, "%s{\"jsonrpc\":\"2.0\",\"id\":\"%c%04d", i ? "," : "", tag, i);
		for (size_t k = 7; k < idlen; k++)
			bb_append(b, "x", 1);
		bb_printf(b, "\",\"method\":\"tools/call\",\"params\":{\"name\":\"%s\"}}", tool);
	}
	bb_append_str(b, "]");
}

/* What the daemon keeps for an agent counts in the memory budget
 * (mcp_flow_body_bytes): answers made here that wait behind a request
 * still unanswered, denials kept to join a server's batch answer, and
 * the ids claimed in the session; they go once the answer is through. */
MAPS_TEST(mcp_flow_counts_what_waits_behind_an_unanswered_request)
{
	struct bytebuf body = BYTEBUF_INIT;
	struct flow_case t;
	size_t before, denials, joined, claimed;

	CHECK(flow_open(f, &t) == 0);
	CHECK_INT_EQ(from_agent_in(&t.flow, &t.io, "S", CALL(1, "echo")), 0);
	CHECK(has(&t.up, CALL(1, "echo")));
	before = mcp_flow_body_bytes(&t.flow);
	/* denied, answered here, queued behind call 1 */
	long_id_batch(&body, NULL, "rm", 20, 200, 'a');
	CHECK_INT_EQ(from_agent_in(&t.flow, &t.io, "S", body.data), 0);
	CHECK_INT_EQ(t.client.len, 0);
	denials = mcp_flow_body_bytes(&t.flow);
	CHECK(denials >= before + 20 * 200);
	/* denied next to an allowed call: kept to join the server's answer */
	bb_reset(&body);
	long_id_batch(&body, CALL(2, "echo"), "rm", 20, 200, 'b');
	CHECK_INT_EQ(from_agent_in(&t.flow, &t.io, "S", body.data), 0);
	CHECK(has(&t.up, "[" CALL(2, "echo") "]"));
	joined = mcp_flow_body_bytes(&t.flow);
	CHECK(joined >= denials + 20 * 200);
	/* allowed, claimed in the session until answered */
	bb_reset(&body);
	long_id_batch(&body, NULL, "echo", 20, 8, 'c');
	CHECK_INT_EQ(from_agent_in(&t.flow, &t.io, "S", body.data), 0);
	claimed = mcp_flow_body_bytes(&t.flow);
	CHECK(claimed >= joined + 20 * SESSION_IDS_CLAIM_BYTES);
	CHECK(mcp_flow_queued_bytes(&t.flow) >= 2 * 20 * 200 + 20 * SESSION_IDS_CLAIM_BYTES);
	/* answered: the queued denials go out, and are no longer counted */
	next_round(&t);
	CHECK_INT_EQ(from_server(&t, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[]}}"), 0);
	CHECK(has(&t.client, "\"id\":\"a0019"));
	CHECK(mcp_flow_body_bytes(&t.flow) + 20 * 200 <= claimed);
	bb_free(&body);
	flow_close(&t);
}

/* A call awaiting its answer keeps its id (and, for the audit log, its
 * arguments): counted too, until the answer comes. */
MAPS_TEST(mcp_flow_counts_the_calls_awaiting_their_answers)
{
	struct bytebuf body = BYTEBUF_INIT;
	struct flow_case t;
	size_t before;

	CHECK(flow_open(f, &t) == 0);
	before = mcp_flow_body_bytes(&t.flow);
	long_id_batch(&body, NULL, "echo", 10, JSONRPC_ID_MAX, 'a');
	CHECK_INT_EQ(from_agent(&t, body.data), 0);
	CHECK(has(&t.up, "\"id\":\"a0009"));
	CHECK(mcp_flow_body_bytes(&t.flow) >= before + 10 * JSONRPC_ID_MAX);
	bb_free(&body);
	flow_close(&t);
}

/* An id over JSONRPC_ID_MAX bytes is refused, never echoed; a session
 * holding SESSION_IDS_PER_SESSION_MAX claims takes no more requests. */
MAPS_TEST(mcp_flow_refuses_long_ids_and_full_sessions)
{
	struct bytebuf body = BYTEBUF_INIT;
	struct session_id *held = NULL;
	struct session_ids_stats before, after;
	struct flow_case t;

	CHECK(flow_open(f, &t) == 0);
	long_id_batch(&body, NULL, "echo", 2, JSONRPC_ID_MAX + 1, 'a');
	CHECK_INT_EQ(from_agent_in(&t.flow, &t.io, "S", body.data), 0);
	CHECK_INT_EQ(t.up.len, 0);
	CHECK(has(&t.client, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":"
			     "\"id longer than 256 bytes\"}}"));
	CHECK(!has(&t.client, "xxxxxxxx"));
	next_round(&t);
	session_ids_stats(&before);
	for (int i = 0; i < SESSION_IDS_PER_SESSION_MAX; i++) {
		cJSON *id = cJSON_CreateNumber(1000 + i);

		CHECK_INT_EQ(session_ids_claim(&held, origin.server, "full", id), 0);
		cJSON_Delete(id);
	}
	CHECK_INT_EQ(from_agent_in(&t.flow, &t.io, "full", CALL(1, "echo")), 0);
	CHECK_INT_EQ(t.up.len, 0);
	CHECK(has(&t.client, "\"id\":1,\"error\":{\"code\":-32600,\"message\":"
			     "\"too many requests in flight in this session\"}"));
	session_ids_stats(&after);
	CHECK_INT_EQ(after.refused, before.refused + 1);  /* read quick, then with the tree: counted once */
	session_ids_release(&held);
	next_round(&t);
	CHECK_INT_EQ(from_agent_in(&t.flow, &t.io, "full", CALL(1, "echo")), 0);
	CHECK(has(&t.up, CALL(1, "echo")));
	bb_free(&body);
	flow_close(&t);
}
