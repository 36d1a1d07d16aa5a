/*
 * json_sniff: could any JSON reader, lenient ones included, be reading an
 * object or array from these bytes? Decides, as a body streams in, when a
 * body that is not held whole can go on undecided: as soon as a byte shows
 * that no reader can be reading JSON (random binary does within a few
 * bytes), so large uploads stream instead of being held.
 *
 *   struct json_sniff s; json_sniff_init(&s);
 *   switch (json_sniff_feed(&s, buf, len, end)) {   // buf: everything so far
 *   case JSON_SNIFF_MORE:     still possible: hold and feed more
 *   case JSON_SNIFF_NOT_JSON: no reader gets an object or array: harmless
 *                             (so is a body that ends inside one: no reader
 *                             completes it)
 *   case JSON_SNIFF_UNSURE:   a reader may be reading JSON the sniffer cannot
 *                             follow (nesting past JSON_SNIFF_KINDS, a line
 *                             comment holding U+2028/2029, which JSON5 ends
 *                             it at): hold the body whole and decide it
 *   case JSON_SNIFF_VALUE:    a top-level object or array was closed: it is
 *                             buf[s.start..s.pos); feed again to go on
 *                             after it
 *   }
 *
 * The lexical superset it accepts covers strict JSON, JSON5, Jackson's
 * lenient features (comments, '#' comments, single quotes, unquoted
 * names, NaN, leading zeros, any escaped character, control characters in
 * strings), Go (invalid UTF-8 inside strings, data after the value) and
 * Python (NaN, Infinity) and cJSON (any byte up to 0x20, NUL included, is
 * whitespace): a byte outside a string that none of them allows (DEL,
 * invalid UTF-8, most ASCII punctuation), or a
 * top-level value that is not an object or array, a closing bracket of the
 * wrong kind, a member name not followed by ':', or a bare value spelled
 * with a letter first that is no literal (true, NaN, Infinity...) ends it. Readers of
 * other formats (YAML, Hjson, forms) are not covered.
 */
#ifndef MCPF_JSON_SNIFF_H
#define MCPF_JSON_SNIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "bytebuf.h"

enum json_sniff_result { JSON_SNIFF_MORE, JSON_SNIFF_NOT_JSON, JSON_SNIFF_VALUE, JSON_SNIFF_UNSURE };

#define JSON_SNIFF_KINDS 1024  /* levels whose kind (object/array) is tracked */

struct json_sniff {
	size_t pos;     /* bytes of the buffer already read */
	size_t start;   /* where the last top-level object or array began */
	size_t depth;
	int state;
	char quote;
	bool key_next;  /* in an object, where a member name must come */
	bool colon_next; /* a member name was read: ':' must come */
	bool word_value; /* the name or literal being read is a value */
	size_t word;     /* where it began */
	unsigned char kinds[JSON_SNIFF_KINDS / 8]; /* 1: object */
};

/* UTF-16 and UTF-32, as Python's json and Jackson detect them from the
 * first four bytes (a byte-order mark, or where the NULs are). A body in
 * one of them is sniffed on its UTF-8 transcoding (json_wide_to_utf8). */
enum json_wide { JSON_WIDE_NONE, JSON_WIDE_16BE, JSON_WIDE_16LE, JSON_WIDE_32BE, JSON_WIDE_32LE };

void json_sniff_init(struct json_sniff *s);
enum json_wide json_wide_detect(const char *buf, size_t len);
/* Appends the UTF-8 of the whole code units in buf[*pos..len) to out and
 * advances *pos; lone surrogates and values past U+10FFFF become U+FFFD. */
int json_wide_to_utf8(enum json_wide w, const char *buf, size_t len, size_t *pos, struct bytebuf *out);
/* buf holds every byte so far (it grows between calls); end: no more come. */
enum json_sniff_result json_sniff_feed(struct json_sniff *s, const char *buf, size_t len, bool end);

#endif /* MCPF_JSON_SNIFF_H */
