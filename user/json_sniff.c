/* Lenient lexical sniffing of a body's first bytes; see json_sniff.h. */
#include "common.h"
#include "json_sniff.h"

#include <string.h>

#include "utf8.h"

enum { SN_TOKENS, SN_STRING, SN_ESCAPE, SN_SLASH, SN_LINE_COMMENT, SN_BLOCK_COMMENT, SN_BLOCK_STAR, SN_SCALAR };

void json_sniff_init(struct json_sniff *s)
{
	memset(s, 0, sizeof(*s));
}

/* Characters a lenient reader takes outside strings as part of a name,
 * number or literal (JSON5 identifiers, 0x10, +Infinity, .5, \u escapes). */
static bool scalar_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c && strchr("_$+-.\\", c));
}

static bool in_object(const struct json_sniff *s)
{
	size_t d = s->depth - 1;

	return d < JSON_SNIFF_KINDS && (s->kinds[d / 8] >> (d % 8) & 1);
}

/* A value spelled with a letter first: only these words, in some reader. */
static bool literal_word(const unsigned char *w, size_t n)
{
	static const char *const words[] = { "true", "false", "null", "NaN", "Infinity", "INF", "undefined" };

	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (n == strlen(words[i]) && !memcmp(w, words[i], n))
			return true;
	return false;
}

/* A name, string or literal just ended (t[s->word..s->pos) for a name or
 * literal): at a member name's place ':' must follow; a value spelled with
 * a letter first must be a literal. false: no reader reads this. */
static bool token_done(struct json_sniff *s, const unsigned char *t)
{
	if (s->word_value && !literal_word(t + s->word, s->pos - s->word))
		return false;
	s->word_value = false;
	s->colon_next = s->key_next;
	s->key_next = false;
	return true;
}

/* A name or literal begins at s->pos. */
static void word_begins(struct json_sniff *s, unsigned char c)
{
	s->state = SN_SCALAR;
	s->word = s->pos;
	s->word_value = !s->key_next && !((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.');
}

enum json_sniff_result json_sniff_feed(struct json_sniff *s, const char *buf, size_t len, bool end)
{
	const unsigned char *t = (const unsigned char *)buf;

	while (s->pos < len) {
		unsigned char c = t[s->pos];

		switch (s->state) {
		case SN_STRING:
			if (c == '\\')
				s->state = SN_ESCAPE;
			else if (c == (unsigned char)s->quote) {
				s->state = SN_TOKENS;
				token_done(s, t);
			}
			s->pos++;
			continue;
		case SN_ESCAPE:
			s->state = SN_STRING;
			s->pos++;
			continue;
		case SN_SLASH:
			if (c != '/' && c != '*')
				return JSON_SNIFF_NOT_JSON;
			s->state = c == '/' ? SN_LINE_COMMENT : SN_BLOCK_COMMENT;
			s->pos++;
			continue;
		case SN_LINE_COMMENT:
			if (c == '\n' || c == '\r')
				s->state = SN_TOKENS;
			else if (c == 0xe2 && s->pos + 2 >= len && !end)
				return JSON_SNIFF_MORE;  /* maybe U+2028/2029 cut short: wait */
			else if (c == 0xe2 && s->pos + 2 < len && t[s->pos + 1] == 0x80 &&
				 (t[s->pos + 2] == 0xa8 || t[s->pos + 2] == 0xa9))
				return JSON_SNIFF_UNSURE;  /* JSON5 ends the comment here, Jackson does not */
			s->pos++;
			continue;
		case SN_BLOCK_COMMENT:
		case SN_BLOCK_STAR:
			s->state = c == '/' && s->state == SN_BLOCK_STAR ? SN_TOKENS
				   : c == '*'                             ? SN_BLOCK_STAR
									  : SN_BLOCK_COMMENT;
			s->pos++;
			continue;
		case SN_SCALAR:
			if (c < 0x80 && !scalar_char(c)) {
				s->state = SN_TOKENS; /* the byte is read again, between tokens */
				if (!token_done(s, t))
					return JSON_SNIFF_NOT_JSON;
				continue;
			}
			break;
		}
		/* between tokens, or inside a name or literal */
		if (c >= 0x80) {
			unsigned int cp;
			size_t n = utf8_sequence(t + s->pos, len - s->pos, &cp);
			if (!n && !end && len - s->pos < 4)
				return JSON_SNIFF_MORE; /* maybe a sequence cut short: wait */
			if (!n)
				return JSON_SNIFF_NOT_JSON;
			bool space = cp == 0xa0 || cp == 0xfeff || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
				     cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
			if (space && s->state == SN_SCALAR) {
				s->state = SN_TOKENS;
				if (!token_done(s, t))
					return JSON_SNIFF_NOT_JSON;
			} else if (!space) {
				/* a letter: of a member name only (no literal has one) */
				if (s->depth == 0 || s->colon_next || (s->state != SN_SCALAR && !s->key_next) ||
				    (s->state == SN_SCALAR && s->word_value))
					return JSON_SNIFF_NOT_JSON;
				if (s->state != SN_SCALAR)
					word_begins(s, 'a');
			}
			s->pos += n;
			continue;
		}
		if (s->state == SN_SCALAR) {
			s->pos++; /* a scalar_char: the name or literal goes on */
			continue;
		}
		/* cJSON (and C readers like it) skips every byte up to 0x20 as
		 * whitespace, NUL included */
		if (c <= 0x20) {
			s->pos++;
			continue;
		}
		if (c == '/' || c == '#') {
			s->state = c == '/' ? SN_SLASH : SN_LINE_COMMENT;
			s->pos++;
			continue;
		}
		/* a token: after a member name only ':' may come */
		if (s->colon_next != (c == ':'))
			return JSON_SNIFF_NOT_JSON;
		if (c == ':') {
			s->colon_next = false;
		} else if (c == '{' || c == '[') {
			if (s->key_next)
				return JSON_SNIFF_NOT_JSON;
			if (s->depth >= JSON_SNIFF_KINDS)
				return JSON_SNIFF_UNSURE;  /* kinds past here are not tracked */
			if (s->depth < JSON_SNIFF_KINDS) {
				unsigned char bit = (unsigned char)(1u << (s->depth % 8));
				s->kinds[s->depth / 8] = c == '{' ? s->kinds[s->depth / 8] | bit : s->kinds[s->depth / 8] & ~bit;
			}
			if (!s->depth++)
				s->start = s->pos;
			s->key_next = c == '{';
		} else if (c == '}' || c == ']') {
			if (s->depth == 0 || (s->depth <= JSON_SNIFF_KINDS && in_object(s) != (c == '}')))
				return JSON_SNIFF_NOT_JSON;
			s->key_next = false;
			if (--s->depth == 0) {
				s->pos++;
				return JSON_SNIFF_VALUE;
			}
		} else if (s->depth == 0) {
			return JSON_SNIFF_NOT_JSON; /* a top-level string, name or number */
		} else if (c == ',') {
			s->key_next = in_object(s);
		} else if (c == '"' || c == '\'') {
			s->quote = (char)c;
			s->state = SN_STRING;
		} else if (scalar_char(c)) {
			word_begins(s, c);
		} else {
			return JSON_SNIFF_NOT_JSON;
		}
		s->pos++;
	}
	/* at the end, a value still open is one no reader completes */
	return end ? JSON_SNIFF_NOT_JSON : JSON_SNIFF_MORE;
}

enum json_wide json_wide_detect(const char *buf, size_t len)
{
	const unsigned char *b = (const unsigned char *)buf;

	if (len >= 4 && !memcmp(b, "\0\0\xfe\xff", 4))
		return JSON_WIDE_32BE;
	if (len >= 4 && !memcmp(b, "\xff\xfe\0\0", 4))
		return JSON_WIDE_32LE;
	if (len >= 2 && b[0] == 0xfe && b[1] == 0xff)
		return JSON_WIDE_16BE;
	if (len >= 2 && b[0] == 0xff && b[1] == 0xfe)
		return JSON_WIDE_16LE;
	if (len < 4)
		return JSON_WIDE_NONE;
	if (!b[0])
		return b[1] ? JSON_WIDE_16BE : JSON_WIDE_32BE;
	if (!b[1])
		return b[2] || b[3] ? JSON_WIDE_16LE : JSON_WIDE_32LE;
	return JSON_WIDE_NONE;
}

static int put_utf8(struct bytebuf *out, unsigned long cp)
{
	char u[4];
	size_t n;

	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return bb_append(out, u, n);
}

static unsigned long unit(enum json_wide w, const unsigned char *b)
{
	switch (w) {
	case JSON_WIDE_16BE: return (unsigned long)b[0] << 8 | b[1];
	case JSON_WIDE_16LE: return (unsigned long)b[1] << 8 | b[0];
	case JSON_WIDE_32BE: return (unsigned long)b[0] << 24 | (unsigned long)b[1] << 16 | (unsigned long)b[2] << 8 | b[3];
	default: return (unsigned long)b[3] << 24 | (unsigned long)b[2] << 16 | (unsigned long)b[1] << 8 | b[0];
	}
}

int json_wide_to_utf8(enum json_wide w, const char *buf, size_t len, size_t *pos, struct bytebuf *out)
{
	const unsigned char *b = (const unsigned char *)buf;
	size_t size = w == JSON_WIDE_32BE || w == JSON_WIDE_32LE ? 4 : 2;

	while (len - *pos >= size) {
		unsigned long cp = unit(w, b + *pos);

		if (size == 2 && cp >= 0xd800 && cp <= 0xdbff) {
			if (len - *pos < 4)
				break; /* its pair may follow */
			unsigned long lo = unit(w, b + *pos + 2);
			if (lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				*pos += 2;
			}
		}
		*pos += size;
		if (put_utf8(out, cp) < 0)
			return -1;
	}
	return 0;
}
