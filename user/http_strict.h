/*
 * http_strict: request framing and labelling that some server stack could
 * read differently from libhttp-parser (lax in the build Debian ships), so
 * that what the daemon decides on is what the server would have read. The
 * daemon re-frames what it forwards (its own Content-Length), so these
 * checks keep the agent's framing and labels from meaning two things.
 *
 *   http_strict_head(msg, &why)       0, or -1: a repeated Host,
 *       Content-Type or Mcp-Session-Id (servers take the first, the last or
 *       both), or a field
 *       name that is a framing or routing header spelled with '_' (CGI-style
 *       stacks map '_' to '-').
 *   http_strict_chunked(raw, len, &why)
 *       0, or -1 unless raw is chunked framing in the strict RFC 9112
 *       grammar: 1*HEXDIG CRLF, exactly that many bytes, CRLF; a last chunk
 *       of zeros, CRLF, then CRLF. Chunk extensions and trailer fields are
 *       refused (no MCP client sends them; stacks disagree on both), as is
 *       a bare LF or any whitespace (Go <= 1.24.1 took a bare LF as a line
 *       end: CVE-2025-22871).
 *       The same, incrementally, for a body streamed as it comes:
 *         struct http_chunk_check c; http_chunk_check_init(&c);
 *         http_chunk_check_feed(&c, raw, n, &why) per piece (0 / -1),
 *         http_chunk_check_end(&c, &why) at the message end (0 / -1).
 *   http_strict_charset(msg, body, len, &why)
 *       0, or -1 when Content-Type has a charset other than UTF-8 (Node's
 *       raw-body decodes the body in any iconv-lite charset, UTF-7 and
 *       UTF-16 included, before JSON.parse), names charset twice, or says
 *       us-ascii for bytes that are not ASCII.
 */
#ifndef MCPF_HTTP_STRICT_H
#define MCPF_HTTP_STRICT_H

#include <stddef.h>
#include <stdint.h>

#include "http1.h"

int http_strict_head(const struct http1_msg *m, const char **why);
int http_strict_chunked(const char *raw, size_t len, const char **why);

struct http_chunk_check {
	int state;
	unsigned digits;
	uint64_t left;
};
void http_chunk_check_init(struct http_chunk_check *c);
int http_chunk_check_feed(struct http_chunk_check *c, const char *raw, size_t len, const char **why);
int http_chunk_check_end(const struct http_chunk_check *c, const char **why);
int http_strict_charset(const struct http1_msg *m, const char *body, size_t len, const char **why);

#endif /* MCPF_HTTP_STRICT_H */
