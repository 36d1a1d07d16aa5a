/* Glob matching in O(len(glob) * len(text)); see glob.h. */
#include <stddef.h>

#include "glob.h"

/* Does the single-byte token at *g match c? Moves *g past the token. */
static bool token_matches(const char **g, unsigned char c)
{
	const char *p = *g;

	if (*p == '?') {
		*g = p + 1;
		return true;
	}
	if (*p == '[') {
		const char *q = p + 1;
		bool negate = *q == '!' || *q == '^', found = false;

		if (negate)
			q++;
		const char *first = q;

		while (*q && (*q != ']' || q == first)) {
			unsigned char lo = (unsigned char)*q, hi = lo;

			if (q[1] == '-' && q[2] && q[2] != ']') {
				hi = (unsigned char)q[2];
				q += 2;
			}
			found |= c >= lo && c <= hi;
			q++;
		}
		if (*q == ']') {
			*g = q + 1;
			return found != negate;
		}
		/* no closing ']': a literal '[' */
	}
	if (*p == '\\' && p[1])
		p++;
	*g = p + 1;
	return (unsigned char)*p == c;
}

bool glob_match(const char *glob, const char *text)
{
	const char *g = glob, *t = text, *star_g = NULL, *star_t = NULL;

	while (*t) {
		const char *next = g;

		if (*g == '*') {
			while (*g == '*')
				g++;
			star_g = g;     /* retry from here ... */
			star_t = t;     /* ... with the star taking one byte more */
			continue;
		}
		if (*g && token_matches(&next, (unsigned char)*t)) {
			g = next;
			t++;
			continue;
		}
		if (!star_g)
			return false;
		g = star_g;
		t = ++star_t;
	}
	while (*g == '*')
		g++;
	return !*g;
}
