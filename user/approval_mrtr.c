#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "approval_elicit.h"
#include "approval_mrtr.h"
#include "json_number.h"
#include "policy_abi.h"   /* MCPF_VIA_* */
#include "common.h"
#include "sha256.h"

#define MAC_LEN 16                   /* bytes of HMAC-SHA256 kept: 32 hex digits */
#define META_VERSION "io.modelcontextprotocol/protocolVersion"
#define META_CAPS "io.modelcontextprotocol/clientCapabilities"

/* ---- requestState ---- */

static void hmac_sha256(const unsigned char key[32], const void *data, size_t len, unsigned char out[SHA256_LEN])
{
	unsigned char pad[64], inner[SHA256_LEN];
	struct sha256 s;

	memset(pad, 0x36, sizeof(pad));
	for (int i = 0; i < 32; i++)
		pad[i] ^= key[i];
	sha256_init(&s);
	sha256_update(&s, pad, sizeof(pad));
	sha256_update(&s, data, len);
	sha256_final(&s, inner);
	memset(pad, 0x5c, sizeof(pad));
	for (int i = 0; i < 32; i++)
		pad[i] ^= key[i];
	sha256_init(&s);
	sha256_update(&s, pad, sizeof(pad));
	sha256_update(&s, inner, sizeof(inner));
	sha256_final(&s, out);
}

/* The MAC of a binding (and the carried text), as 32 hex digits. Every
 * variable-length field ends with a NUL: no two bindings share an input. */
static int state_mac(const unsigned char key[32], const struct mrtr_binding *b, const char *carried,
		     char hex[2 * MAC_LEN + 1])
{
	struct bytebuf in = BYTEBUF_INIT;
	unsigned char mac[SHA256_LEN];

	bb_printf(&in, "mcpf1%c%s%c%lld%c%s%c%s%c%llu%c%u%c%u%c%016llx%c%s", 0, b->id, 0, b->expires_s, 0, b->server,
		  0, b->tool, 0, b->cgroup_id, 0, b->uid, 0, b->pid, 0, (unsigned long long)b->args_hash,
		  carried ? 1 : 0, carried ? carried : "");
	if (in.failed) {
		bb_free(&in);
		return -ENOMEM;
	}
	hmac_sha256(key, in.data, in.len, mac);
	bb_free(&in);
	for (int i = 0; i < MAC_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
	return 0;
}

int mrtr_state_mint(const unsigned char key[32], const struct mrtr_binding *b, const char *carried,
		    struct bytebuf *out)
{
	char mac[2 * MAC_LEN + 1];

	if (state_mac(key, b, carried, mac))
		return -ENOMEM;
	if (bb_printf(out, MRTR_STATE_PREFIX "%s.%lld.%s", b->id, b->expires_s, mac) ||
	    (carried && bb_printf(out, ".%s", carried)))
		return -ENOMEM;
	return 0;
}

static bool lower_hex(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

int mrtr_state_verify(const unsigned char key[32], const char *state, struct mrtr_binding *expect,
		      long long now_s, const char **carried)
{
	const char *p = state, *end;
	char mac[2 * MAC_LEN + 1];
	unsigned char diff = 0;
	long long exp = 0;

	*carried = NULL;
	if (strncmp(p, MRTR_STATE_PREFIX, strlen(MRTR_STATE_PREFIX)))
		return -EBADMSG;
	p += strlen(MRTR_STATE_PREFIX);
	if (strlen(p) < APPROVAL_ID_LEN + 1 || !lower_hex(p, APPROVAL_ID_LEN) || p[APPROVAL_ID_LEN] != '.')
		return -EBADMSG;
	memcpy(expect->id, p, APPROVAL_ID_LEN);
	expect->id[APPROVAL_ID_LEN] = '\0';
	p += APPROVAL_ID_LEN + 1;
	for (end = p; *end >= '0' && *end <= '9' && end - p < 18; end++)
		exp = exp * 10 + (*end - '0');
	if (end == p || *end != '.')
		return -EBADMSG;
	expect->expires_s = exp;
	p = end + 1;
	if (strlen(p) < 2 * MAC_LEN || !lower_hex(p, 2 * MAC_LEN) || (p[2 * MAC_LEN] && p[2 * MAC_LEN] != '.'))
		return -EBADMSG;
	if (p[2 * MAC_LEN])
		*carried = p + 2 * MAC_LEN + 1;
	if (state_mac(key, expect, *carried, mac))
		return -ENOMEM;
	for (int i = 0; i < 2 * MAC_LEN; i++)   /* constant time */
		diff |= (unsigned char)(mac[i] ^ p[i]);
	if (diff) {
		*carried = NULL;
		return -EBADMSG;
	}
	return now_s > exp ? -ETIMEDOUT : 0;
}

/* ---- the calls asked this way ---- */

enum slot_state { SLOT_FREE, SLOT_PENDING, SLOT_DECIDED };

/* One call asked: pending in the store, then its decision until the
 * retry takes it (once) or its state expires. */
struct slot {
	enum slot_state state;
	char id[APPROVAL_ID_LEN + 1];
	long long expires_s;
	struct approval_result r;
};

static struct slot slots[MRTR_MAX];
static unsigned char mac_key[32];
static bool have_key;

static const unsigned char *key(void)
{
	if (!have_key && getrandom(mac_key, sizeof(mac_key), 0) == (ssize_t)sizeof(mac_key))
		have_key = true;
	return have_key ? mac_key : NULL;
}

static void slot_done(void *ctx, const struct approval_result *r)
{
	struct slot *sl = ctx;

	sl->r = *r;
	sl->state = SLOT_DECIDED;
}

static struct slot *slot_new(long long now)
{
	for (unsigned i = 0; i < MRTR_MAX; i++)
		if (slots[i].state == SLOT_FREE || (slots[i].state == SLOT_DECIDED && slots[i].expires_s < now))
			return &slots[i];
	return NULL;
}

static struct slot *slot_find(const char *id)
{
	for (unsigned i = 0; i < MRTR_MAX; i++)
		if (slots[i].state != SLOT_FREE && !strcmp(slots[i].id, id))
			return &slots[i];
	return NULL;
}

bool mrtr_client_can_elicit(const cJSON *params)
{
	const cJSON *meta = cJSON_GetObjectItemCaseSensitive(params, "_meta");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, META_VERSION);
	const cJSON *caps = cJSON_GetObjectItemCaseSensitive(meta, META_CAPS);
	const cJSON *el = cJSON_GetObjectItemCaseSensitive(caps, "elicitation");

	/* versions are dates: later ones sort after; an elicitation object
	 * naming only "url" mode cannot show a form */
	return cJSON_IsString(v) && strlen(v->valuestring) == strlen(MRTR_PROTOCOL) &&
	       strcmp(v->valuestring, MRTR_PROTOCOL) >= 0 && cJSON_IsObject(el) &&
	       (cJSON_HasObjectItem(el, "form") || !cJSON_HasObjectItem(el, "url"));
}

static bool own_state(const cJSON *state)
{
	return cJSON_IsString(state) &&
	       !strncmp(state->valuestring, MRTR_STATE_PREFIX, strlen(MRTR_STATE_PREFIX));
}

bool mrtr_carries_own(const cJSON *params)
{
	return own_state(cJSON_GetObjectItemCaseSensitive(params, "requestState")) ||
	       cJSON_HasObjectItem(cJSON_GetObjectItemCaseSensitive(params, "inputResponses"), MRTR_KEY);
}

/* The server's round in this request (its requestState, the answers to
 * its inputRequests), as JSON text to carry in the daemon's state; NULL
 * with *text NULL when there is none. */
static int server_round(const cJSON *params, char **text)
{
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(params, "requestState");
	const cJSON *resp = cJSON_GetObjectItemCaseSensitive(params, "inputResponses");
	cJSON *round = NULL, *answers = NULL;
	const cJSON *it;

	*text = NULL;
	if (!cJSON_IsObject(resp))
		resp = NULL;
	if (state && !own_state(state)) {
		round = cJSON_CreateObject();
		if (!round || !cJSON_AddItemToObject(round, "requestState", cJSON_Duplicate(state, true)))
			goto fail;
	}
	cJSON_ArrayForEach(it, resp) {
		if (!strcmp(it->string, MRTR_KEY))
			continue;
		round = round ? round : cJSON_CreateObject();
		answers = answers ? answers : cJSON_AddObjectToObject(round, "inputResponses");
		if (!answers || !cJSON_AddItemToObject(answers, it->string, cJSON_Duplicate(it, true)))
			goto fail;
	}
	if (round && !(*text = cJSON_PrintUnformatted(round)))
		goto fail;
	cJSON_Delete(round);
	return 0;
fail:
	cJSON_Delete(round);
	return -ENOMEM;
}

static struct mrtr_binding binding_of(const struct approval_subject *s)
{
	return (struct mrtr_binding){ .server = s->server, .tool = s->tool, .cgroup_id = s->cgroup_id,
				      .uid = s->uid, .pid = s->identity_pid, .args_hash = s->args_hash };
}

int mrtr_ask(struct approval_store *st, const struct approval_subject *s, const cJSON *params, cJSON **result)
{
	long long now = monotonic_s();
	struct slot *sl = slot_new(now);
	struct mrtr_binding b = binding_of(s);
	struct bytebuf state = BYTEBUF_INIT;
	struct approval *a;
	char *carried = NULL;
	cJSON *r = NULL, *ask;
	int err;

	*result = NULL;
	if (!key())
		return -EIO;
	if (!sl) {
		st->refused_full_total++;
		return -ENOSPC;
	}
	err = approval_submit(st, s, slot_done, sl, &a);
	if (err)
		return err;
	sl->state = SLOT_PENDING;
	snprintf(sl->id, sizeof(sl->id), "%s", approval_id(a));
	sl->expires_s = now + (s->timeout_s ? s->timeout_s : 1);
	snprintf(b.id, sizeof(b.id), "%s", sl->id);
	b.expires_s = sl->expires_s;
	err = -ENOMEM;
	if (server_round(params, &carried) || mrtr_state_mint(key(), &b, carried, &state))
		goto fail;
	r = cJSON_CreateObject();
	ask = cJSON_AddObjectToObject(cJSON_AddObjectToObject(r, "inputRequests"), MRTR_KEY);
	if (!r || !ask || !cJSON_AddStringToObject(r, "resultType", "input_required") ||
	    !cJSON_AddStringToObject(ask, "method", "elicitation/create") ||
	    !cJSON_AddItemToObject(ask, "params", elicit_params(a)) ||
	    !cJSON_AddStringToObject(r, "requestState", state.data))
		goto fail;
	cJSON_free(carried);
	bb_free(&state);
	*result = r;
	return 0;
fail:
	cJSON_free(carried);
	bb_free(&state);
	cJSON_Delete(r);
	approval_cancel(st, a);
	sl->state = SLOT_FREE;
	return err;
}

static void verdict(struct mrtr_verdict *out, enum mcpf_decision d, const char *by, const char *reason)
{
	out->decision = d;
	snprintf(out->by, sizeof(out->by), "%s", by);
	snprintf(out->reason, sizeof(out->reason), "%s", reason);
}

int mrtr_retry(struct approval_store *st, const struct approval_subject *s, const cJSON *params,
	       struct mrtr_verdict *out)
{
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(params, "requestState");
	const cJSON *answer = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(params, "inputResponses"), MRTR_KEY);
	struct mrtr_binding b = binding_of(s);
	const char *carried;
	struct slot *sl;
	bool accepted = elicit_accepted(answer);
	int err;

	memset(out, 0, sizeof(*out));
	if (!own_state(state) || !cJSON_IsObject(answer)) {
		verdict(out, MCPF_DECISION_INVALID, "", "a retry answering an mcpfence approval must carry its "
			"requestState and an answer for \"" MRTR_KEY "\" in inputResponses");
		return 0;
	}
	err = key() ? mrtr_state_verify(key(), state->valuestring, &b, monotonic_s(), &carried) : -EIO;
	if (err == -ENOMEM || err == -EIO)
		return err;
	if (err == -ETIMEDOUT) {
		unsigned t = s->timeout_s;
		char why[64];

		snprintf(why, sizeof(why), t % 60 ? "no answer in %us" : "no answer in %um", t % 60 ? t : t / 60);
		verdict(out, MCPF_DECISION_APPROVAL_TIMEOUT, "timeout", why);
		return 0;
	}
	sl = err ? NULL : slot_find(b.id);
	if (err) {
		verdict(out, MCPF_DECISION_INVALID, "", "requestState was not issued by this mcpfence for this call "
			"(the same agent, server, tool and arguments)");
		return 0;
	}
	if (!sl) {
		verdict(out, MCPF_DECISION_INVALID, "", "this approval was already used, or this mcpfence never held it");
		return 0;
	}
	if (sl->state == SLOT_PENDING && !(s->via & MCPF_VIA_ELICITATION)) {
		/* the policy was reloaded since it asked: the client's answer no
		 * longer counts; the call stays pending, and this state good */
		verdict(out, MCPF_DECISION_DENY, "", "the policy now lets only an operator approve this call: "
			"the client's answer was not taken");
		return 0;
	}
	if (sl->state == SLOT_PENDING)
		approval_decide(st, sl->id, accepted, -1, "elicitation", "declined by user");  /* slot_done runs */
	if (sl->r.outcome == APPROVAL_APPROVED && !accepted)
		verdict(out, MCPF_DECISION_DECLINED, "elicitation", "declined by user");  /* either human can refuse */
	else if (sl->r.outcome == APPROVAL_APPROVED)
		verdict(out, MCPF_DECISION_ALLOW, sl->r.by, "");
	else
		verdict(out, sl->r.outcome == APPROVAL_TIMEOUT ? MCPF_DECISION_APPROVAL_TIMEOUT : MCPF_DECISION_DECLINED,
			sl->r.by, sl->r.reason);
	sl->state = SLOT_FREE;  /* a state is good for one retry */
	if (out->decision == MCPF_DECISION_ALLOW && carried && !(out->carried = cJSON_Parse(carried)))
		return -ENOMEM;
	return 0;
}

int mrtr_strip(const cJSON *request, const cJSON *carried, struct bytebuf *out)
{
	cJSON *req = cJSON_Duplicate(request, true);
	cJSON *params = cJSON_GetObjectItemCaseSensitive(req, "params");
	cJSON *resp = cJSON_GetObjectItemCaseSensitive(params, "inputResponses");
	const cJSON *state = cJSON_GetObjectItemCaseSensitive(carried, "requestState");
	const cJSON *it;
	char *text = NULL;
	int err = -ENOMEM;

	if (!req)
		return -ENOMEM;
	cJSON_DeleteItemFromObjectCaseSensitive(resp, MRTR_KEY);
	cJSON_DeleteItemFromObjectCaseSensitive(params, "requestState");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(carried, "inputResponses")) {
		if (!cJSON_IsObject(resp) && !(resp = cJSON_AddObjectToObject(params, "inputResponses")))
			goto out;
		if (!cJSON_HasObjectItem(resp, it->string) &&
		    !cJSON_AddItemToObject(resp, it->string, cJSON_Duplicate(it, true)))
			goto out;
	}
	if (cJSON_IsObject(resp) && !resp->child)
		cJSON_DeleteItemFromObjectCaseSensitive(params, "inputResponses");
	if (cJSON_IsString(state) && !cJSON_AddItemToObject(params, "requestState", cJSON_Duplicate(state, true)))
		goto out;
	/* the arguments go out as the decision read them: cJSON's own printing
	 * writes 0.10000000000000002 as 0.1 (within its epsilon) */
	if ((err = json_numbers_to_raw(req)))
		goto out;
	text = cJSON_PrintUnformatted(req);
	err = text && !bb_append(out, text, strlen(text)) ? 0 : -ENOMEM;
out:
	cJSON_free(text);
	cJSON_Delete(req);
	return err;
}
