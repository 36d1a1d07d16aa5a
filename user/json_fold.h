/*
 * json_fold: JSON member names as servers that match them case-insensitively
 * read them. Go's encoding/json matches a key to a struct field with Unicode
 * case folding ("Method", "NAME", "ſ" U+017F for s, "K" U+212A for k,
 * "ı" U+0131 for i: CVE-2026-27896 in the Go MCP SDK); Jackson does with
 * ACCEPT_CASE_INSENSITIVE_PROPERTIES. A body where such a reading differs
 * from the exact one that the policy decides on is refused.
 *
 *   json_fold_equal(a, alen, b, blen)   a and b are the same name once folded
 *   json_fold_check(root, &why)         0: fine; 1: refuse, why says why;
 *                                       -1: out of memory
 *
 * json_fold_check refuses (a) any two members of one object, anywhere in
 * the body, whose names fold equal; (b) in a JSON-RPC message (the root
 * object, or each object of a root array) a name that folds to a JSON-RPC
 * member ("jsonrpc", "id", "method", "params", "result", "error") without
 * being it; (c) likewise in its "params" object for the MCP members the
 * policy reads or a server dispatches on (name, arguments, uri, _meta, ...).
 * Names inside "arguments" are matched the same way where the policy looks
 * at them (policy_conditions.c).
 *
 * Folding: ASCII letters to lower case; U+017F, U+212A, U+0131, U+0130 to
 * the ASCII letter some stack reads them as; any other code point to
 * towlower(towupper(c)) in C.UTF-8 (simple case folding). Bytes that are
 * not UTF-8 fold to themselves (json_strict has refused them already).
 */
#ifndef MCPF_JSON_FOLD_H
#define MCPF_JSON_FOLD_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

bool json_fold_equal(const char *a, size_t alen, const char *b, size_t blen);
int json_fold_check(const cJSON *root, const char **why);

#endif /* MCPF_JSON_FOLD_H */
