/*
 * json_strict: is this text one JSON value in the strict grammar of
 * RFC 8259, the one every server stack agrees on? cJSON is more lenient
 * (raw control characters in strings, "+1", "01", invalid UTF-8 copied
 * through), and lenient server modes (Jackson features, JSON5) read other
 * extensions; the daemon decides only on text outside every such
 * difference.
 *
 *   const char *why;
 *   switch (json_strict_check(text, len, &why)) {
 *   case JSON_STRICT_OK:        exactly one value, then only JSON whitespace
 *   case JSON_STRICT_TRUNCATED: a strict prefix that ends inside a value:
 *                               no parser reads a complete value from it
 *   case JSON_STRICT_BAD:       anything else (why says what)
 *   }
 *
 * Refused as BAD: invalid UTF-8 anywhere (overlong, surrogates, stray
 * bytes), a \u escape naming a lone surrogate, raw control characters in a
 * string, comments, trailing commas, single quotes, NaN/Infinity, numbers
 * outside the grammar (+1, 01, 1., .5), a second value after the first,
 * nesting deeper than JSON_STRICT_MAX_DEPTH (cJSON's own limit). One pass,
 * no allocation.
 */
#ifndef MCPF_JSON_STRICT_H
#define MCPF_JSON_STRICT_H

#include <stdbool.h>
#include <stddef.h>

struct json_limits;

#define JSON_STRICT_MAX_DEPTH 1000

enum json_strict { JSON_STRICT_OK, JSON_STRICT_TRUNCATED, JSON_STRICT_BAD };

enum json_strict json_strict_check(const char *text, size_t len, const char **why);

/* The common case in the same one pass: strict JSON (JSON_STRICT_OK),
 * within lim (json_limits_check's JSON_WITHIN) and no \u0000 in a string
 * (json_has_nul_escape). false says only that one of them fails: ask
 * those functions which, and why. */
bool json_strict_within(const char *text, size_t len, const struct json_limits *lim);

#endif /* MCPF_JSON_STRICT_H */
