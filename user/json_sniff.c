/* Lenient lexical sniffing of a body's first bytes; see json_sniff.h. */
#include "json_sniff.h"

#include <string.h>

#include "utf8.h"

enum { SN_TOKENS, SN_STRING, SN_ESCAPE, SN_SLASH, SN_LINE_COMMENT, SN_BLOCK_COMMENT, SN_BLOCK_STAR };

void json_sniff_init(struct json_sniff *s)
{
	memset(s, 0, sizeof(*s));
}

/* Characters a lenient reader takes outside strings as part of a name,
 * number or literal (JSON5 identifiers, 0x10, +Infinity, .5, \u escapes). */
static bool scalar_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("_$+-.\\", c);
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
			else if (c == (unsigned char)s->quote)
				s->state = SN_TOKENS;
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
			s->pos++;
			continue;
		case SN_BLOCK_COMMENT:
		case SN_BLOCK_STAR:
			s->state = c == '/' && s->state == SN_BLOCK_STAR ? SN_TOKENS
				   : c == '*'                             ? SN_BLOCK_STAR
									  : SN_BLOCK_COMMENT;
			s->pos++;
			continue;
		}
		/* between and inside tokens */
		if (c >= 0x80) {
			unsigned int cp;
			size_t n = utf8_sequence(t + s->pos, len - s->pos, &cp);
			if (!n && !end && len - s->pos < 4)
				return JSON_SNIFF_MORE; /* maybe a sequence cut short: wait */
			if (!n)
				return JSON_SNIFF_NOT_JSON;
			if (s->depth == 0 && cp != 0xa0 && cp != 0xfeff && cp != 0x1680 && !(cp >= 0x2000 && cp <= 0x200a) &&
			    cp != 0x2028 && cp != 0x2029 && cp != 0x202f && cp != 0x205f && cp != 0x3000)
				return JSON_SNIFF_NOT_JSON; /* a top-level name or literal */
			s->pos += n;
			continue;
		}
		if (c == '{' || c == '[') {
			s->depth++;
		} else if (c == '}' || c == ']') {
			if (s->depth == 0)
				return JSON_SNIFF_NOT_JSON;
			if (--s->depth == 0)
				return JSON_SNIFF_VALUE;
		} else if (c == '"' || c == '\'') {
			if (s->depth == 0)
				return JSON_SNIFF_NOT_JSON; /* a top-level string */
			s->quote = (char)c;
			s->state = SN_STRING;
		} else if (c == '/') {
			s->state = SN_SLASH;
		} else if (c == '#') {
			s->state = SN_LINE_COMMENT;
		} else if (strchr(" \t\r\n\v\f", c) && c) {
			/* whitespace */
		} else if (s->depth && (c == ':' || c == ',' || scalar_char(c))) {
			/* inside a value */
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
