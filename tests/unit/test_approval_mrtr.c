/* Approvals the 2026-07-28 way (approval_mrtr.h): the requestState's
 * mint/verify (binding, forgery, expiry, carried server round), the
 * _meta capability test, ask -> retry through the approval store, and
 * the body that goes upstream. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "approval_mrtr.h"
#include "harness.h"
#include "loop.h"
#include "policy_abi.h"

static const unsigned char KEY[32] = "0123456789abcdef0123456789abcdef";

static struct mrtr_binding binding(void)
{
	struct mrtr_binding b = { .id = "00112233445566778899aabbccddeeff", .server = "fs", .tool = "rm",
				  .cgroup_id = 7, .uid = 1000, .pid = 42, .args_hash = 0x1234, .expires_s = 100 };
	return b;
}

static int verify(const char *state, struct mrtr_binding e, long long now, const char **carried)
{
	return mrtr_state_verify(KEY, state, &e, now, carried);
}

TEST(mrtr_state_is_bound_to_the_call_and_expires)
{
	struct bytebuf st = BYTEBUF_INIT, tampered = BYTEBUF_INIT;
	struct mrtr_binding b = binding(), e = binding();
	unsigned char other_key[32] = { 1 };
	const char *carried;

	CHECK_INT_EQ(mrtr_state_mint(KEY, &b, NULL, &st), 0);
	CHECK(!strncmp(st.data, "mcpf1.00112233445566778899aabbccddeeff.100.", 43));
	memset(e.id, 'x', sizeof(e.id) - 1);  /* filled from the state */
	e.expires_s = 0;
	CHECK_INT_EQ(mrtr_state_verify(KEY, st.data, &e, 100, &carried), 0);
	CHECK_STR_EQ(e.id, b.id);
	CHECK_INT_EQ(e.expires_s, 100);
	CHECK(carried == NULL);
	CHECK_INT_EQ(verify(st.data, binding(), 101, &carried), -ETIMEDOUT);

	/* another call, agent, server, tool or key: not valid */
	e = binding(); e.args_hash = 0x1235;
	CHECK_INT_EQ(verify(st.data, e, 50, &carried), -EBADMSG);
	e = binding(); e.cgroup_id = 8;
	CHECK_INT_EQ(verify(st.data, e, 50, &carried), -EBADMSG);
	e = binding(); e.uid = 0;
	CHECK_INT_EQ(verify(st.data, e, 50, &carried), -EBADMSG);
	e = binding(); e.pid = 43;
	CHECK_INT_EQ(verify(st.data, e, 50, &carried), -EBADMSG);
	e = binding(); e.tool = "rmdir";
	CHECK_INT_EQ(verify(st.data, e, 50, &carried), -EBADMSG);
	e = binding(); e.server = "fs2";
	CHECK_INT_EQ(verify(st.data, e, 50, &carried), -EBADMSG);
	CHECK_INT_EQ(mrtr_state_verify(other_key, st.data, &e, 50, &carried), -EBADMSG);

	/* a later expiry, another id, a flipped MAC digit, junk: not valid */
	bb_printf(&tampered, "%.39s999%s", st.data, st.data + 42);
	CHECK_INT_EQ(verify(tampered.data, binding(), 50, &carried), -EBADMSG);
	bb_reset(&tampered);
	bb_printf(&tampered, "%s", st.data);
	tampered.data[6] = tampered.data[6] == '0' ? '1' : '0';
	CHECK_INT_EQ(verify(tampered.data, binding(), 50, &carried), -EBADMSG);
	bb_reset(&tampered);
	bb_printf(&tampered, "%s", st.data);
	tampered.data[tampered.len - 1] = tampered.data[tampered.len - 1] == 'a' ? 'b' : 'a';
	CHECK_INT_EQ(verify(tampered.data, binding(), 50, &carried), -EBADMSG);
	bb_reset(&tampered);
	bb_printf(&tampered, "%s.{}", st.data);  /* a carried part it was not minted with */
	CHECK_INT_EQ(verify(tampered.data, binding(), 50, &carried), -EBADMSG);
	CHECK_INT_EQ(verify("", binding(), 50, &carried), -EBADMSG);
	CHECK_INT_EQ(verify("mcpf1.", binding(), 50, &carried), -EBADMSG);
	CHECK_INT_EQ(verify("mcpf1.00112233445566778899aabbccddeeff..", binding(), 50, &carried), -EBADMSG);
	CHECK_INT_EQ(verify("mcpf1.00112233445566778899AABBCCDDEEFF.100.00", binding(), 50, &carried), -EBADMSG);

	/* the server's round carried along, covered by the MAC */
	bb_reset(&st);
	CHECK_INT_EQ(mrtr_state_mint(KEY, &b, "{\"requestState\":\"s1\"}", &st), 0);
	CHECK_INT_EQ(verify(st.data, binding(), 50, &carried), 0);
	CHECK_STR_EQ(carried, "{\"requestState\":\"s1\"}");
	bb_reset(&tampered);
	bb_printf(&tampered, "%s", st.data);
	tampered.data[tampered.len - 3] = '2';
	CHECK_INT_EQ(verify(tampered.data, binding(), 50, &carried), -EBADMSG);
	CHECK(carried == NULL);
	bb_free(&st);
	bb_free(&tampered);
}

static bool can_elicit(const char *params)
{
	cJSON *p = cJSON_Parse(params);
	bool r = mrtr_client_can_elicit(p);

	cJSON_Delete(p);
	return r;
}

TEST(mrtr_client_declares_elicitation_in_meta)
{
#define META(v, caps) "{\"name\":\"rm\",\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"" v "\"," \
		      "\"io.modelcontextprotocol/clientCapabilities\":" caps "}}"
	CHECK(can_elicit(META("2026-07-28", "{\"elicitation\":{}}")));
	CHECK(can_elicit(META("2027-01-01", "{\"elicitation\":{\"form\":{}}}")));
	CHECK(can_elicit(META("2026-07-28", "{\"elicitation\":{\"form\":{},\"url\":{}}}")));
	CHECK(!can_elicit(META("2026-07-28", "{\"elicitation\":{\"url\":{}}}")));  /* no form */
	CHECK(!can_elicit(META("2026-07-28", "{}")));
	CHECK(!can_elicit(META("2026-07-28", "{\"elicitation\":true}")));
	CHECK(!can_elicit(META("2025-11-25", "{\"elicitation\":{}}")));
	CHECK(!can_elicit(META("2026-07-28x", "{\"elicitation\":{}}")));
	CHECK(!can_elicit("{\"name\":\"rm\",\"capabilities\":{\"elicitation\":{}}}"));
	CHECK(!can_elicit(NULL));
#undef META
}

static struct approval_subject subject(uint64_t hash)
{
	struct approval_subject s = { .cgroup_id = 7, .uid = 1000, .pid = 42, .identity_pid = 42,
				      .args_hash = hash, .timeout_s = 30, .via = MCPF_VIA_ELICITATION | MCPF_VIA_OPERATOR };

	strcpy(s.server, "fs");
	strcpy(s.tool, "rm");
	strcpy(s.summary, "{\"path\":\"/x\"}");
	strcpy(s.comm, "agent");
	return s;
}

/* The retry's params: the daemon's state echoed, an answer, and more. */
static cJSON *retry_params(const cJSON *asked, const char *action, bool approve, const char *extra_key)
{
	cJSON *p = cJSON_CreateObject(), *resp = cJSON_AddObjectToObject(p, "inputResponses");
	cJSON *ans = cJSON_AddObjectToObject(resp, MRTR_KEY);

	cJSON_AddStringToObject(p, "name", "rm");
	cJSON_AddStringToObject(p, "requestState",
				cJSON_GetObjectItemCaseSensitive(asked, "requestState")->valuestring);
	cJSON_AddStringToObject(ans, "action", action);
	cJSON_AddBoolToObject(cJSON_AddObjectToObject(ans, "content"), "approve", approve);
	if (extra_key)
		cJSON_AddStringToObject(resp, extra_key, "theirs");
	return p;
}

TEST(mrtr_ask_then_retry_through_the_store)
{
	struct loop loop;
	struct timer_wheel tw = { 0 };
	struct approval_store *st = calloc(1, sizeof(*st));
	struct approval_subject s = subject(0x99);
	struct mrtr_verdict v;
	cJSON *asked = NULL, *p, *server = cJSON_Parse("{\"requestState\":\"srv-1\",\"inputResponses\":"
						      "{\"" MRTR_KEY "\":{},\"confirm\":{\"action\":\"accept\"}}}");

	CHECK(st != NULL);
	CHECK_INT_EQ(loop_init(&loop), 0);
	CHECK_INT_EQ(timer_wheel_init(&tw, &loop), 0);
	approval_store_init(st, &tw, 10);

	/* accept: allowed once, by elicitation; the server's round comes back */
	CHECK_INT_EQ(mrtr_ask(st, &s, server, &asked), 0);
	CHECK_INT_EQ(st->n_pending, 1);
	CHECK_STR_EQ(cJSON_GetObjectItemCaseSensitive(asked, "resultType")->valuestring, "input_required");
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(asked, "inputRequests"), MRTR_KEY);
	CHECK_STR_EQ(cJSON_GetObjectItemCaseSensitive(req, "method")->valuestring, "elicitation/create");
	CHECK(strstr(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(req, "params"), "message")->valuestring,
		     "tool \"rm\" on server \"fs\"") != NULL);
	p = retry_params(asked, "accept", true, NULL);
	CHECK(mrtr_carries_own(p));
	CHECK_INT_EQ(mrtr_retry(st, &s, p, &v), 0);
	CHECK_INT_EQ(v.decision, MCPF_DECISION_ALLOW);
	CHECK_STR_EQ(v.by, "elicitation");
	CHECK_INT_EQ(st->n_pending, 0);
	CHECK(v.carried != NULL);

	/* upstream: the daemon's key and state out, the server's back */
	struct bytebuf out = BYTEBUF_INIT;
	cJSON *call = cJSON_CreateObject();

	cJSON_AddStringToObject(call, "jsonrpc", "2.0");
	cJSON_AddNumberToObject(call, "id", 2);
	cJSON_AddStringToObject(call, "method", "tools/call");
	cJSON_AddItemToObject(call, "params", cJSON_Duplicate(p, true));
	CHECK_INT_EQ(mrtr_strip(call, v.carried, &out), 0);
	CHECK_STR_EQ(out.data, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{"
			       "\"inputResponses\":{\"confirm\":{\"action\":\"accept\"}},\"name\":\"rm\",\"requestState\":\"srv-1\"}}");
	bb_reset(&out);
	CHECK_INT_EQ(mrtr_strip(call, NULL, &out), 0);
	CHECK_STR_EQ(out.data, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"rm\"}}");
	/* arguments go out with the numbers the decision read, not cJSON's
	 * 15-digit print of them */
	cJSON *args = cJSON_Parse("{\"r\":0.10000000000000002,\"n\":4503599627370497,\"a\":[-0.5,1e300]}");
	CHECK(args != NULL);
	cJSON_AddItemToObject(cJSON_GetObjectItem(call, "params"), "arguments", args);
	bb_reset(&out);
	CHECK_INT_EQ(mrtr_strip(call, NULL, &out), 0);
	CHECK_STR_EQ(out.data, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"rm\","
			       "\"arguments\":{\"r\":0.10000000000000002,\"n\":4503599627370497,\"a\":[-0.5,1e+300]}}}");
	cJSON_GetArrayItem(cJSON_GetObjectItem(args, "a"), 1)->valuedouble = 1.0 / 0.0;  /* 1e999 reads so */
	bb_reset(&out);
	CHECK_INT_EQ(mrtr_strip(call, NULL, &out), -ERANGE);
	cJSON_Delete(v.carried);

	/* the same state again: used */
	CHECK_INT_EQ(mrtr_retry(st, &s, p, &v), 0);
	CHECK_INT_EQ(v.decision, MCPF_DECISION_INVALID);
	cJSON_Delete(p);
	cJSON_Delete(asked);

	/* decline; other arguments; no answer: refused, still pending */
	CHECK_INT_EQ(mrtr_ask(st, &s, NULL, &asked), 0);
	struct approval_subject other = subject(0x98);

	p = retry_params(asked, "accept", true, NULL);
	CHECK_INT_EQ(mrtr_retry(st, &other, p, &v), 0);
	CHECK_INT_EQ(v.decision, MCPF_DECISION_INVALID);
	CHECK(strstr(v.reason, "not issued") != NULL);
	cJSON_DeleteItemFromObject(p, "inputResponses");
	CHECK_INT_EQ(mrtr_retry(st, &s, p, &v), 0);
	CHECK_INT_EQ(v.decision, MCPF_DECISION_INVALID);
	CHECK_INT_EQ(st->n_pending, 1);
	cJSON_Delete(p);
	p = retry_params(asked, "accept", false, NULL);
	CHECK_INT_EQ(mrtr_retry(st, &s, p, &v), 0);
	CHECK_INT_EQ(v.decision, MCPF_DECISION_DECLINED);
	CHECK_STR_EQ(v.reason, "declined by user");
	CHECK(v.carried == NULL);
	cJSON_Delete(p);
	cJSON_Delete(asked);

	/* an operator decides first: the retry learns it (a "no" in the client still refuses) */
	CHECK_INT_EQ(mrtr_ask(st, &s, NULL, &asked), 0);
	CHECK_INT_EQ(approval_decide(st, approval_id(approval_first(st)), true, 0, "operator uid 0", NULL), 0);
	p = retry_params(asked, "decline", false, NULL);
	CHECK_INT_EQ(mrtr_retry(st, &s, p, &v), 0);
	CHECK_INT_EQ(v.decision, MCPF_DECISION_DECLINED);
	cJSON_Delete(p);
	cJSON_Delete(asked);
	CHECK_INT_EQ(mrtr_ask(st, &s, NULL, &asked), 0);
	CHECK_INT_EQ(approval_decide(st, approval_id(approval_first(st)), true, 0, "operator uid 0", NULL), 0);
	p = retry_params(asked, "accept", true, NULL);
	CHECK_INT_EQ(mrtr_retry(st, &s, p, &v), 0);
	CHECK_INT_EQ(v.decision, MCPF_DECISION_ALLOW);
	CHECK_STR_EQ(v.by, "operator uid 0");
	cJSON_Delete(p);
	cJSON_Delete(asked);

	/* the policy now lets only an operator approve (reloaded since it
	 * asked): the client's yes is not taken, the call stays pending and
	 * the state good; the operator's yes then counts */
	CHECK_INT_EQ(mrtr_ask(st, &s, NULL, &asked), 0);
	struct approval_subject now = s;

	now.via = MCPF_VIA_OPERATOR;
	p = retry_params(asked, "accept", true, NULL);
	CHECK_INT_EQ(mrtr_retry(st, &now, p, &v), 0);
	CHECK_INT_EQ(v.decision, MCPF_DECISION_DENY);
	CHECK(strstr(v.reason, "only an operator") != NULL);
	CHECK_INT_EQ(st->n_pending, 1);
	CHECK_INT_EQ(approval_decide(st, approval_id(approval_first(st)), true, 0, "operator uid 0", NULL), 0);
	CHECK_INT_EQ(mrtr_retry(st, &now, p, &v), 0);
	CHECK_INT_EQ(v.decision, MCPF_DECISION_ALLOW);
	CHECK_STR_EQ(v.by, "operator uid 0");
	cJSON_Delete(p);
	cJSON_Delete(asked);

	/* timeout in the store: the retry gets the reason */
	s.timeout_s = 2;
	CHECK_INT_EQ(mrtr_ask(st, &s, NULL, &asked), 0);
	for (long long t = tw.now_s + 1, end = tw.now_s + 4; t <= end; t++)
		timer_wheel_advance(&tw, t);
	CHECK_INT_EQ(st->n_pending, 0);
	p = retry_params(asked, "accept", true, NULL);
	CHECK_INT_EQ(mrtr_retry(st, &s, p, &v), 0);
	CHECK_INT_EQ(v.decision, MCPF_DECISION_APPROVAL_TIMEOUT);
	CHECK(strstr(v.reason, "no answer in") != NULL);
	cJSON_Delete(p);
	cJSON_Delete(asked);

	/* the store's bound holds */
	st->max_pending = 0;
	CHECK_INT_EQ(mrtr_ask(st, &s, NULL, &asked), -ENOSPC);
	CHECK(asked == NULL);

	bb_free(&out);
	cJSON_Delete(call);
	cJSON_Delete(server);
	approval_store_fini(st, "mcpfence is stopping");
	timer_wheel_fini(&tw);
	loop_fini(&loop);
	free(st);
}
