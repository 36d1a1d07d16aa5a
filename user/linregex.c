/* Linear-time regex matching with TRE; see linregex.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tre/tre.h>

#include "linregex.h"

struct linregex {
	regex_t re;
};

/* The head of TRE's compiled automaton (struct tnfa in tre-internal.h;
 * the same in 0.8.0 and upstream since): it does not export the size. */
struct tre_tnfa_head {
	void *transitions;
	unsigned int num_transitions;
};

const char *linregex_bracket_end(const char *p)
{
	p += p[1] == '^' ? 2 : 1;
	if (*p == ']')
		p++;
	for (; *p && *p != ']'; p++)
		if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			const char *close = strchr(p + 2, p[1]);

			if (!close || close[1] != ']')
				return NULL;
			p = close + 1;
		}
	return *p ? p : NULL;
}

/* What in pattern the engines read differently, or NULL. */
static const char *unportable(const char *p)
{
	for (; *p; p++) {
		if (*p == '[') {
			const char *end = linregex_bracket_end(p);

			if (!end)
				return NULL;  /* unbalanced: the compiler refuses it */
			p = end;
		} else if (*p == '\\') {
			unsigned char c = (unsigned char)p[1];

			if (isalnum(c))
				return "'\\' before a letter or digit (a back-reference, or an escape that is not POSIX ERE: "
				       "write [0-9], [[:alnum:]_], [[:space:]] ...)";
			if (c && strchr("<>`'", c))
				return "'\\' before < > ` or ' (GNU anchors, not POSIX ERE)";
			if (c)
				p++;
		} else if (*p == '(' && p[1] == '?') {
			return "\"(?\" (inline flags are not POSIX ERE)";
		} else if (*p == '{' && p[1] == ',') {
			return "\"{,\" (write {0,n})";
		}
	}
	return NULL;
}

int linregex_compile(struct linregex **out, const char *pattern, int flags, char *err, size_t errlen)
{
	struct linregex *re;
	const char *why = unportable(pattern);
	int rc;

	if (why) {
		snprintf(err, errlen, "%s", why);
		return -EINVAL;
	}
	re = malloc(sizeof(*re));
	if (!re)
		return -ENOMEM;
	rc = tre_regcomp(&re->re, pattern, REG_EXTENDED | REG_NOSUB | (flags & LINREGEX_ICASE ? REG_ICASE : 0));
	if (rc) {
		tre_regerror(rc, &re->re, err, errlen);
		free(re);
		return rc == REG_ESPACE ? -ENOMEM : -EINVAL;
	}
	/* either would run a matcher that is not linear in the subject */
	if (tre_have_backrefs(&re->re) || tre_have_approx(&re->re)) {
		snprintf(err, errlen, "needs a backtracking or approximate matcher");
		linregex_free(re);
		return -EINVAL;
	}
	/* each subject byte may look at every transition once */
	if (((const struct tre_tnfa_head *)re->re.value)->num_transitions > LINREGEX_MAX_TRANSITIONS) {
		snprintf(err, errlen, "too costly to match (over %d automaton transitions)", LINREGEX_MAX_TRANSITIONS);
		linregex_free(re);
		return -EINVAL;
	}
	*out = re;
	return 0;
}

bool linregex_match(const struct linregex *re, const char *s)
{
	return tre_regexec(&re->re, s, 0, NULL, 0) == REG_OK;
}

void linregex_free(struct linregex *re)
{
	if (!re)
		return;
	tre_regfree(&re->re);
	free(re);
}
