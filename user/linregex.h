/* Regular expressions matched in time linear in the subject's length.
 *
 * glibc's regexec retries an unanchored pattern from every start position
 * and backtracks: "[a-z]+@x$" on 128,000 'a's took 17 s, and the subjects
 * here (tool arguments in policy conditions and audit redaction) come
 * from the agent. TRE's parallel matcher (a tagged NFA simulation) runs
 * one pass over the subject, each byte costing at most one look at every
 * transition of the automaton: O(len(subject) * transitions). Nested or
 * chained optional repeats make transitions grow as the square of the
 * pattern ("((a?){0,31}){0,31}b": 1.85 million, 1 ms per byte), so a
 * pattern with more than LINREGEX_MAX_TRANSITIONS is refused. Measured:
 * about 1 ns per transition per byte when every state stays reached, so
 * up to 15 s per MiB of subject near the limit ("(a{1,60}){1,60}b", 14,283);
 * policies' patterns have tens to a few hundred, and an anchored one
 * reaches few states ("^/srv/[a-z0-9]{1,64}(/[a-z0-9._-]{1,255})*$":
 * 10,824 transitions, 18 ms per MiB).
 *
 * The dialect is POSIX ERE as glibc reads it, minus what TRE reads
 * otherwise or matches by backtracking; linregex_compile refuses:
 *   - '\' before a letter or digit (back-references \1-\9, which only a
 *     backtracking matcher handles; \d \w \b \t \x41 ... are classes,
 *     escapes or assertions that differ between engines or are not ERE),
 *     or before '<' '>' '`' '\'' (GNU anchors; TRE misreads "\>|")
 *   - "(?" (TRE's inline flags) and "{," (glibc: {0,n}; TRE: no match)
 *   - anything TRE compiles to a backtracking or approximate matcher, or
 *     to more than LINREGEX_MAX_TRANSITIONS transitions.
 * A '\' inside a bracket expression is a literal, as POSIX says. */
#ifndef MCPF_LINREGEX_H
#define MCPF_LINREGEX_H

#include <stdbool.h>
#include <stddef.h>

#define LINREGEX_ICASE 1
#define LINREGEX_MAX_TRANSITIONS 16384

struct linregex;

/* 0 and *out, -EINVAL with why in err (NUL-terminated, cut to errlen),
 * or -ENOMEM. */
int linregex_compile(struct linregex **out, const char *pattern, int flags, char *err, size_t errlen);
/* Does the pattern match somewhere in s? */
bool linregex_match(const struct linregex *re, const char *s);
void linregex_free(struct linregex *re);
/* The end of the bracket expression opening at p ('['), or NULL when it
 * has none. "]" first (after an optional '^') is literal; [:x:] [.x.]
 * [=x=] nest. */
const char *linregex_bracket_end(const char *p);

#endif /* MCPF_LINREGEX_H */
