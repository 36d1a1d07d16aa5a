/* A plain tools/call read without a tree; see jsonrpc_quick.h. */
#include "jsonrpc_quick.h"

#include <string.h>

#include "common.h"
#include "jsonrpc.h"

/* the quick reader takes no id the tree refuses (jsonrpc.c: JSONRPC_ID_MAX) */
_Static_assert(JSONRPC_QUICK_ID_LEN + 2 <= JSONRPC_ID_MAX, "a quick id fits the id limit");

/* cJSON copies a number into a 64-byte buffer: longer ones it cannot read */
#define CJSON_NUMBER_MAX 63

struct member {
	struct json_span key;   /* inside the quotes */
	struct json_span value;
};

struct scan {
	const char *t;
	size_t len;
};

struct object {
	struct member m[JSONRPC_QUICK_KEYS];
	size_t n;
	struct object *params;  /* the top level: where its params object's members go */
};

static bool ascii_case_equal(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char x = a[i], y = b[i];

		x = x >= 'A' && x <= 'Z' ? (char)(x + 32) : x;
		y = y >= 'A' && y <= 'Z' ? (char)(y + 32) : y;
		if (x != y)
			return false;
	}
	return true;
}

static bool key_is(const struct scan *s, struct json_span k, const char *name)
{
	return k.len == strlen(name) && !memcmp(s->t + k.off, name, k.len);
}

static inline size_t ws(const struct scan *s, size_t i)
{
	while (i < s->len && (s->t[i] == ' ' || s->t[i] == '\t' || s->t[i] == '\n' || s->t[i] == '\r'))
		i++;
	return i;
}

static int value(const struct scan *s, size_t *i, unsigned depth);

/* The object at *i: every key plain printable ASCII, none equal to another
 * but for case. 1 read, 0 not sure, -1 no memory. */
static int object(const struct scan *s, size_t *i, unsigned depth, struct object *o)
{
	const char *t = s->t;
	size_t p = ws(s, *i + 1);

	o->n = 0;
	if (depth >= JSONRPC_QUICK_DEPTH)
		return 0;
	if (p < s->len && t[p] == '}') {
		*i = p + 1;
		return 1;
	}
	for (;;) {
		struct member *m = &o->m[o->n];
		size_t k;

		if (o->n == JSONRPC_QUICK_KEYS || p >= s->len || t[p] != '"')
			return 0;
		for (k = p + 1; k < s->len && t[k] != '"'; k++)
			if (t[k] == '\\' || (unsigned char)t[k] < 0x20 || (unsigned char)t[k] >= 0x7f)
				return 0;
		if (k >= s->len)
			return 0;
		m->key = (struct json_span){ .off = p + 1, .len = k - p - 1 };
		for (size_t j = 0; j < o->n; j++)
			if (o->m[j].key.len == m->key.len && ascii_case_equal(t + o->m[j].key.off, t + m->key.off, m->key.len))
				return 0;
		p = ws(s, k + 1);
		if (p >= s->len || t[p] != ':')
			return 0;
		p = ws(s, p + 1);
		m->value.off = p;
		int r;
		if (o->params && key_is(s, m->key, "params") && p < s->len && t[p] == '{') {
			r = object(s, &p, depth + 1, o->params);
		} else {
			r = value(s, &p, depth + 1);
		}
		if (r != 1)
			return r;
		m->value.len = p - m->value.off;
		o->n++;
		p = ws(s, p);
		if (p < s->len && t[p] == '}') {
			*i = p + 1;
			return 1;
		}
		if (p >= s->len || t[p] != ',')
			return 0;
		p = ws(s, p + 1);
	}
}

static int array(const struct scan *s, size_t *i, unsigned depth)
{
	size_t p = ws(s, *i + 1);

	if (depth >= JSONRPC_QUICK_DEPTH)
		return 0;
	if (p < s->len && s->t[p] == ']') {
		*i = p + 1;
		return 1;
	}
	for (;;) {
		int r = value(s, &p, depth + 1);

		if (r != 1)
			return r;
		p = ws(s, p);
		if (p < s->len && s->t[p] == ']') {
			*i = p + 1;
			return 1;
		}
		if (p >= s->len || s->t[p] != ',')
			return 0;
		p = ws(s, p + 1);
	}
}

static int value(const struct scan *s, size_t *i, unsigned depth)
{
	const char *t = s->t;
	size_t p = *i;

	if (p >= s->len)
		return 0;
	switch (t[p]) {
	case '{': {
		struct object inner;  /* no initializer: 800 bytes not cleared per object */

		inner.params = NULL;
		return object(s, i, depth, &inner);
	}
	case '[':
		return array(s, i, depth);
	case '"':
		p = json_string_end(t, s->len, p);
		if (!p)
			return 0;
		*i = p;
		return 1;
	case 't':
	case 'f':
	case 'n': {
		const char *lit = t[p] == 't' ? "true" : t[p] == 'f' ? "false" : "null";
		size_t n = strlen(lit);

		if (s->len - p < n || memcmp(t + p, lit, n))
			return 0;
		*i = p + n;
		return 1;
	}
	default:
		while (p < s->len && t[p] && strchr("0123456789+-.eE", t[p]))
			p++;
		if (p == *i || p - *i > CJSON_NUMBER_MAX)
			return 0;
		*i = p;
		return 1;
	}
}

struct name {
	const char *s;
	size_t len;
};
#define NAME(s) { s, sizeof(s) - 1 }

/* A key of o that is a case variant of one of names without being it. */
static bool near_miss(const struct scan *s, const struct object *o, const struct name *names, size_t n)
{
	for (size_t i = 0; i < o->n; i++)
		for (size_t k = 0; k < n; k++)
			if (o->m[i].key.len == names[k].len &&
			    ascii_case_equal(s->t + o->m[i].key.off, names[k].s, names[k].len) &&
			    memcmp(s->t + o->m[i].key.off, names[k].s, names[k].len))
				return true;
	return false;
}

static const struct member *find(const struct scan *s, const struct object *o, const char *name)
{
	for (size_t i = 0; i < o->n; i++)
		if (key_is(s, o->m[i].key, name))
			return &o->m[i];
	return NULL;
}

static bool value_is(const struct scan *s, const struct member *m, const char *text)
{
	return m && m->value.len == strlen(text) && !memcmp(s->t + m->value.off, text, m->value.len);
}

/* A string value written without escapes: its bytes, inside the quotes. */
static bool plain_string(const struct scan *s, const struct member *m, struct json_span *inner)
{
	if (!m || m->value.len < 2 || s->t[m->value.off] != '"')
		return false;
	*inner = (struct json_span){ .off = m->value.off + 1, .len = m->value.len - 2 };
	return !memchr(s->t + inner->off, '\\', inner->len);
}

bool jsonrpc_id_number_exact(const char *raw, size_t len)
{
	unsigned long long v = 0;
	size_t i = raw[0] == '-';

	if (i == len || len - i > 16 || (i && len == 2 && raw[1] == '0'))
		return false;
	for (; i < len; i++) {
		if (raw[i] < '0' || raw[i] > '9')
			return false;
		v = v * 10 + (unsigned)(raw[i] - '0');
	}
	return v <= 9007199254740991ull;
}

/* The id as the tree holds it, a string or an exact integer, into *node:
 * 1, 0 not such an id, -1 no memory. */
static int id_node(const struct scan *s, const struct member *id, cJSON **node)
{
	const char *raw = s->t + id->value.off;
	struct json_span in;

	if (plain_string(s, id, &in)) {
		char copy[JSONRPC_QUICK_ID_LEN + 1];

		if (in.len > JSONRPC_QUICK_ID_LEN)
			return 0;
		memcpy(copy, s->t + in.off, in.len);
		copy[in.len] = '\0';
		*node = cJSON_CreateString(copy);
	} else if (raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')) {
		if (!jsonrpc_id_number_exact(raw, id->value.len))
			return 0;
		long long v = 0;

		for (size_t k = raw[0] == '-'; k < id->value.len; k++)
			v = v * 10 + (raw[k] - '0');
		/* exact in a double: what cJSON's strtod gives */
		*node = cJSON_CreateNumber((double)(raw[0] == '-' ? -v : v));
	} else {
		return 0;
	}
	return *node ? 1 : -1;
}

int jsonrpc_quick_read(const char *text, size_t len, struct jsonrpc_body *out)
{
	/* json_fold's lists (message_near_miss) */
	static const struct name members[] = { NAME("jsonrpc"), NAME("id"), NAME("method"), NAME("params"),
					       NAME("result"), NAME("error") };
	static const struct name params_members[] = { NAME("name"), NAME("arguments"), NAME("uri"), NAME("_meta"),
						      NAME("cursor"), NAME("ref"), NAME("argument"), NAME("task"),
						      NAME("level"), NAME("progressToken"), NAME("requestId") };
	const struct scan s = { .t = text, .len = len };
	struct object top, params;
	size_t start = json_skip_ws(text, len, 0), i = start;
	struct json_span name;
	int r;

	top.params = &params;
	params.params = NULL;
	params.n = (size_t)-1;  /* stays so when there is no params object */
	if (i >= len || text[i] != '{')
		return 0;
	r = object(&s, &i, 0, &top);
	if (r != 1)
		return r;
	if (json_skip_ws(text, len, i) != len || near_miss(&s, &top, members, sizeof(members) / sizeof(members[0])))
		return 0;
	const struct member *id = find(&s, &top, "id"), *method = find(&s, &top, "method");
	const struct member *p = find(&s, &top, "params");

	if (find(&s, &top, "result") || find(&s, &top, "error") || !id ||
	    !value_is(&s, find(&s, &top, "jsonrpc"), "\"2.0\"") || !value_is(&s, method, "\"tools/call\"") ||
	    !p || params.n == (size_t)-1 || near_miss(&s, &params, params_members, sizeof(params_members) / sizeof(params_members[0])))
		return 0;
	for (size_t k = 0; k < params.n; k++)
		if (!key_is(&s, params.m[k].key, "name") && !key_is(&s, params.m[k].key, "arguments") &&
		    !key_is(&s, params.m[k].key, "_meta"))
			return 0;
	const struct member *args = find(&s, &params, "arguments");

	if (!plain_string(&s, find(&s, &params, "name"), &name) || name.len >= sizeof(out->name) ||
	    (args && text[args->value.off] != '{'))
		return 0;
	cJSON *idn = NULL;

	r = id_node(&s, id, &idn);
	if (r != 1)
		return r;

	memset(out, 0, sizeof(*out));
	out->text = text;
	out->text_len = len;
	out->quick = true;
	out->id_node = idn;
	memcpy(out->name, text + name.off, name.len);
	out->name[name.len] = '\0';
	out->count = 1;
	out->msgs = &out->one;
	out->one = (struct jsonrpc_msg){
		.kind = JSONRPC_REQUEST, .span = { .off = start, .len = i - start }, .method = "tools/call",
		.id = idn, .id_raw = text + id->value.off, .id_raw_len = id->value.len, .is_tools_call = true,
		.tool_name = out->name, .args_unread = true, .verdict = JSONRPC_FORWARD,
	};
	return 1;
}
