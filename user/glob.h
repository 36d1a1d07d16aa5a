/* Shell-style globs for resource URI rules: '*' any run of bytes ('/'
 * included), '?' any one byte, "[...]" a set ("[!...]" or "[^...]" its
 * complement, "a-z" ranges, a ']' first is literal), '\' makes the next
 * byte literal; a '[' without its ']' is literal. fnmatch(3) with no
 * flags reads these the same way, but backtracks without bound: the URI
 * comes from the agent, so matching here is O(len(glob) * len(text)). */
#ifndef MCPF_GLOB_H
#define MCPF_GLOB_H

#include <stdbool.h>

bool glob_match(const char *glob, const char *text);

#endif /* MCPF_GLOB_H */
