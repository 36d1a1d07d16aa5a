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
	return end ? JSON_SNIFF_VALUE : JSON_SNIFF_MORE;
}
