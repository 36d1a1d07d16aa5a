/* Regular expressions matched in time linear in the subject's length.
 *
 * glibc's regexec retries an unanchored pattern from every start position
 * and backtracks: "[a-z]+@x$" on 128,000 'a's took 17 s, and the subjects
 * here (tool arguments in policy conditions and audit redaction) come
 * from the agent. TRE's parallel matcher (a tagged NFA simulation) runs
 * one pass over the subject: O(len(subject) * size(pattern)), the pattern
 * being bounded by its author (policy.c: regex_nodes).
 *
 * The dialect is POSIX ERE as glibc reads it, minus what TRE reads
 * otherwise or matches by backtracking; linregex_compile refuses:
 *   - '\' before a letter or digit (back-references \1-\9, which only a
 *     backtracking matcher handles; \d \w \b \t \x41 ... are classes,
 *     escapes or assertions that differ between engines or are not ERE),
 *     or before '<' '>' '`' '\'' (GNU anchors; TRE misreads "\>|")
 *   - "(?" (TRE's inline flags) and "{," (glibc: {0,n}; TRE: no match)
 *   - anything TRE compiles to a backtracking or approximate matcher.
 * A '\' inside a bracket expression is a literal, as POSIX says. */
#ifndef MCPF_LINREGEX_H
#define MCPF_LINREGEX_H

#include <stdbool.h>
#include <stddef.h>

#define LINREGEX_ICASE 1

struct linregex;

/* 0 and *out, -EINVAL with why in err (NUL-terminated, cut to errlen),
 * or -ENOMEM. */
int linregex_compile(struct linregex **out, const char *pattern, int flags, char *err, size_t errlen);
/* Does the pattern match somewhere in s? */
bool linregex_match(const struct linregex *re, const char *s);
void linregex_free(struct linregex *re);

#endif /* MCPF_LINREGEX_H */
