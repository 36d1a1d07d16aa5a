/*
 * mcp_uri: the resource a URI names, in the one form the policy's resource
 * patterns are matched against.
 *
 * Servers do not look resources up by the bytes an agent sends. The
 * TypeScript SDK reads `new URL(uri).toString()` (WHATWG: leading and
 * trailing C0 and spaces trimmed, TAB/CR/LF deleted, the scheme lowercased,
 * "." and ".." segments resolved, %2e included, '\' read as '/' and the
 * host lowercased for special schemes, default ports dropped); pydantic's
 * AnyUrl does the same through the Rust url crate; file servers
 * percent-decode the path and let the kernel resolve it; others compare
 * the raw string. Matching the raw text would let "x://a/ok/../secret",
 * "X://a/secret" or "x://a/%73ecret" past a pattern denying "x://a/secret".
 *
 * So a URI is decided only when every such reader agrees on what it names:
 *
 *   char form[MCP_TARGET_NAME_MAX + 1];
 *   if (mcp_uri_match_form(uri, form, sizeof(form), &why) < 0)
 *       refuse the request (invalid params, why says what)
 *   else
 *       match patterns against form: the scheme (lowercase) and the rest
 *       percent-decoded, so "%20" and a raw space are one
 *
 * Refused (-EINVAL): no scheme or one with upper case; C0 controls, DEL,
 * '\', '#', a leading or trailing space; a '%' not followed by two hex
 * digits, or one encoding what needs no encoding (letters, digits, "-._~")
 * or what changes the structure once decoded ('/', '\', '%', '?', '#',
 * controls); a "." or ".." segment; for the special schemes (http, https,
 * ws, wss, ftp, file) anything WHATWG would rewrite: no "//", upper case,
 * '%' or non-ASCII in the host, a default port, a non-canonical IPv4
 * number, an empty path, file://localhost.
 *
 * Policy patterns are put in the same form when the policy is loaded
 * (mcp_uri_pattern_form): scheme and special-scheme host lowercased,
 * percent-escapes decoded (a decoded glob character is escaped, so it
 * stays literal).
 */
#ifndef MCPF_MCP_URI_H
#define MCPF_MCP_URI_H

#include <stddef.h>

/* 0 with form (NUL-terminated, cap >= strlen(uri) + 1) set; -EINVAL with
 * *why; -ENOSPC when form is too small. */
int mcp_uri_match_form(const char *uri, char *form, size_t cap, const char **why);

/* The pattern as requests are matched (see above); 0 or -ENOSPC. */
int mcp_uri_pattern_form(const char *pattern, char *out, size_t cap);

#endif /* MCPF_MCP_URI_H */
