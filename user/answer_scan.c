/* Incremental scan of JSON-RPC answers for accounting; see answer_scan.h. */
#include "answer_scan.h"

#include <string.h>

#include "hex_digit.h"
#include "json_span.h"
#include "mcp_method.h"

enum state {
	ST_VALUE,   /* a value comes next */
	ST_ITEM,    /* a value or ']': the first of an array */
	ST_KEY,     /* a member name comes next */
	ST_MEMBER,  /* a member name or '}': the first of an object */
	ST_COLON,
	ST_AFTER,   /* a value ended: ',' or a closing bracket */
	ST_STRING,
	ST_ESCAPE,
	ST_HEX,     /* inside \uXXXX */
	ST_SCALAR,  /* number, true, false, null */
	ST_DONE,    /* the top-level value is closed */
};

enum member { M_NONE, M_ID, M_ERROR, M_RESULT, M_METHOD, M_IS_ERROR };

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool top_is_object(const struct answer_scan *s)
{
	unsigned d = s->depth;

	return d && (s->is_object[d / 64] >> (d % 64)) & 1;
}

static void fail(struct answer_scan *s)
{
	s->failed = true;
}

static bool key_is(const struct answer_scan *s, const char *name)
{
	return s->key_len == strlen(name) && !memcmp(s->key, name, s->key_len);
}

/* Which member of interest a name just read is, given where it stands;
 * a list's array named at the top of a result is noted at once. */
static enum member classify_key(struct answer_scan *s)
{
	if (!top_is_object(s) || s->key_len > ANSWER_SCAN_KEY_MAX)
		return M_NONE;
	if (s->depth == s->msg_depth) {
		if (key_is(s, "id"))
			return M_ID;
		if (key_is(s, "error"))
			return M_ERROR;
		if (key_is(s, "result"))
			return M_RESULT;
		if (key_is(s, "method"))
			return M_METHOD;
	} else if (s->depth == s->msg_depth + 1 && s->in_result) {
		if (key_is(s, "isError"))
			return M_IS_ERROR;
		for (int l = MCP_LIST_TOOLS; l <= MCP_LIST_TEMPLATES; l++)
			if (key_is(s, mcp_list_array(l)))
				s->list_result |= 1u << l;  /* the name alone: before its value */
	}
	return M_NONE;
}

static void key_char(struct answer_scan *s, char c)
{
	if (s->key_len < ANSWER_SCAN_KEY_MAX)
		s->key[s->key_len] = c;
	if (s->key_len <= ANSWER_SCAN_KEY_MAX)
		s->key_len++;
}

static void capture_char(struct answer_scan *s, char c)
{
	if (s->value_len < ANSWER_SCAN_ID_MAX)
		s->value[s->value_len] = c;
	if (s->value_len <= ANSWER_SCAN_ID_MAX)
		s->value_len++;
}

static void begin_message(struct answer_scan *s)
{
	s->msg_error = s->msg_has_id = s->msg_answer = s->msg_method = s->in_result = s->result_opening = false;
	s->msg_id_len = 0;
}

/* Only responses are recorded: a message with a "method" is the server's
 * request or notification, whatever its id (server request ids start at 0
 * in each session: taken for answers, they would settle the agent's
 * requests with the same ids). */
static void end_message(struct answer_scan *s)
{
	unsigned char rec[4] = { s->msg_error, s->msg_has_id, s->msg_id_len & 0xff, s->msg_id_len >> 8 };

	if (!s->msg_answer || s->msg_method)
		return;
	if (bb_append(&s->answers, rec, sizeof(rec)) || bb_append(&s->answers, s->msg_id, s->msg_id_len))
		fail(s); /* out of memory: the answers already recorded still count */
}

/* A value starts: note what it means for the message it belongs to. */
static void begin_value(struct answer_scan *s, char c)
{
	bool container = c == '{' || c == '[';

	s->capture = false;
	switch (s->member) {
	case M_ID:
		s->capture = !container;  /* an id is never a container */
		break;
	case M_ERROR:
		s->msg_error = s->msg_answer = true;
		break;
	case M_RESULT:
		s->msg_answer = true;
		s->result_opening = c == '{';
		break;
	case M_METHOD:
		s->msg_method = true;
		break;
	case M_IS_ERROR:
		s->capture = !container;
		break;
	case M_NONE:
		break;
	}
	s->value_len = 0;
	if (s->capture)
		capture_char(s, c);
}

/* A string or scalar value ended. */
static void end_value(struct answer_scan *s)
{
	if (s->capture && s->value_len <= ANSWER_SCAN_ID_MAX) {
		if (s->member == M_ID) {
			memcpy(s->msg_id, s->value, s->value_len);
			s->msg_id_len = s->value_len;
			s->msg_has_id = true;
		} else if (s->member == M_IS_ERROR && s->value_len == 4 && !memcmp(s->value, "true", 4)) {
			s->msg_error = true;
		}
	}
	s->capture = false;
	s->member = M_NONE;
	s->state = ST_AFTER;
}

static void open_container(struct answer_scan *s, char c)
{
	bool object = c == '{';
	unsigned d;

	if (s->depth + 1 >= ANSWER_SCAN_MAX_DEPTH) {
		fail(s);
		return;
	}
	d = ++s->depth;
	if (object)
		s->is_object[d / 64] |= 1ull << (d % 64);
	else
		s->is_object[d / 64] &= ~(1ull << (d % 64));
	if (d == 1)
		s->msg_depth = object ? 1 : 2;
	if (object && d == s->msg_depth)
		begin_message(s);
	else if (object && d == s->msg_depth + 1 && s->result_opening)
		s->in_result = true;
	s->result_opening = false;
	s->member = M_NONE;
	s->state = object ? ST_MEMBER : ST_ITEM;
}

static void close_container(struct answer_scan *s, char c)
{
	bool object = c == '}';

	if (!s->depth || object != top_is_object(s)) {
		fail(s);
		return;
	}
	if (object && s->depth == s->msg_depth)
		end_message(s);
	else if (object && s->depth == s->msg_depth + 1)
		s->in_result = false;
	s->depth--;
	s->state = s->depth ? ST_AFTER : ST_DONE;
}

/* One byte outside strings and scalars. */
static void structural(struct answer_scan *s, char c)
{
	if (is_ws(c))
		return;
	switch (s->state) {
	case ST_ITEM:
		if (c == ']') {
			close_container(s, c);
			return;
		}
		/* fall through */
	case ST_VALUE:
		if (!s->depth && c != '{' && c != '[') {
			fail(s);  /* a body that is not an object or a batch */
			return;
		}
		begin_value(s, c);
		if (c == '{' || c == '[')
			open_container(s, c);
		else if (c == '"')
			s->key_string = false, s->state = ST_STRING;
		else
			s->state = ST_SCALAR;
		return;
	case ST_MEMBER:
	case ST_KEY:
		if (c == '"') {
			s->key_string = true;
			s->key_len = 0;
			s->state = ST_STRING;
		} else if (c == '}' && s->state == ST_MEMBER) {
			close_container(s, c);
		} else {
			fail(s);
		}
		return;
	case ST_COLON:
		if (c == ':')
			s->state = ST_VALUE;
		else
			fail(s);
		return;
	case ST_AFTER:
		if (c == ',')
			s->state = top_is_object(s) ? ST_KEY : ST_VALUE;
		else if (c == '}' || c == ']')
			close_container(s, c);
		else
			fail(s);
		return;
	default:  /* ST_DONE: anything after the top-level value */
		fail(s);
		return;
	}
}

/* One byte inside a string; the raw bytes of a captured value are kept. */
static void string_byte(struct answer_scan *s, char c)
{
	int h;

	if (s->capture)
		capture_char(s, c);
	switch (s->state) {
	case ST_STRING:
		if (c == '\\') {
			s->state = ST_ESCAPE;
		} else if (c == '"') {
			if (!s->key_string) {
				end_value(s);
			} else {
				s->member = classify_key(s);
				s->state = ST_COLON;
			}
		} else if (s->key_string) {
			key_char(s, c);
		}
		return;
	case ST_ESCAPE:
		if (c == 'u') {
			s->hex_left = 4;
			s->hex_value = 0;
			s->state = ST_HEX;
			return;
		}
		if (s->key_string)
			s->key_len = ANSWER_SCAN_KEY_MAX + 1;  /* no name we look for has one */
		s->state = ST_STRING;
		return;
	default:  /* ST_HEX */
		h = hex_digit(c);
		if (h < 0) {
			fail(s);
			return;
		}
		s->hex_value = s->hex_value << 4 | (unsigned)h;
		if (--s->hex_left)
			return;
		if (s->key_string) {
			if (s->hex_value && s->hex_value < 0x80)
				key_char(s, (char)s->hex_value);
			else
				s->key_len = ANSWER_SCAN_KEY_MAX + 1;
		}
		s->state = ST_STRING;
		return;
	}
}

void answer_scan_feed(struct answer_scan *s, const char *data, size_t len)
{
	s->bytes += len;
	for (size_t i = 0; i < len && !s->failed; i++) {
		char c = data[i];

		switch (s->state) {
		case ST_STRING:
			if (!s->capture && !s->key_string) {
				/* bytes of a string no one reads */
				i += json_plain_run(data + i, len - i);
				if (i == len)
					return;
				c = data[i];
			}
			/* fall through */
		case ST_ESCAPE:
		case ST_HEX:
			string_byte(s, c);
			break;
		case ST_SCALAR:
			if (!is_ws(c) && !memchr(",]}:", c, 4)) {
				if (s->capture)
					capture_char(s, c);
				break;
			}
			end_value(s);
			structural(s, c);
			break;
		default:
			structural(s, c);
			break;
		}
	}
}

bool answer_scan_next(const struct answer_scan *s, size_t *pos, struct answer *out)
{
	const unsigned char *rec;

	if (*pos + 4 > s->answers.len)
		return false; /* before rec: data is NULL until the first answer */
	rec = (const unsigned char *)s->answers.data + *pos;
	out->error = rec[0];
	out->id_len = (size_t)rec[2] | (size_t)rec[3] << 8;
	out->id = rec[1] ? (const char *)rec + 4 : NULL;
	*pos += 4 + out->id_len;
	return true;
}

void answer_scan_init(struct answer_scan *s)
{
	memset(s, 0, sizeof(*s));
}

void answer_scan_reset(struct answer_scan *s)
{
	struct bytebuf answers = s->answers;

	bb_reset(&answers);
	answer_scan_init(s);
	s->answers = answers;
}

void answer_scan_free(struct answer_scan *s)
{
	bb_free(&s->answers);
	answer_scan_init(s);
}
