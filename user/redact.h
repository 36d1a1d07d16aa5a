/* Redaction of secret-looking values in logged tool arguments.
 *
 * The rule, applied to a JSON tree in place:
 *  1. A member whose key matches (case-insensitive, anywhere in the key)
 *       password|passwd|secret|token|api[_-]?key|access[_-]?key|
 *       authorization|credential|private[_-]?key|cookie
 *     has its whole value (of any type) replaced by "[REDACTED]". This
 *     over-redacts on purpose: "max_tokens" is hidden too.
 *  2. Any other string value is replaced by "[REDACTED]" when it contains:
 *     - "Bearer X" or "Basic X" where X is a token68 credential of 8+
 *       characters with a digit or one of + / = . _ ~ -;
 *     - an AWS access key id (AKIA/ASIA/... followed by 16 [A-Z0-9]);
 *     - a well-known token prefix (ghp_ gho_ ghu_ ghs_ ghr_ github_pat_
 *       glpat- xoxa- xoxb- xoxp- xoxr- xoxs- sk- sk_live_ rk_live_ AIza)
 *       followed by 16+ token characters, or a JWT (eyJ... with two dots);
 *     - a PEM private key block ("-----BEGIN ... PRIVATE KEY-----");
 *     - credentials in a URL (scheme://user:password@);
 *     - KEY=VALUE or KEY: VALUE with KEY matching rule 1's pattern;
 *     - a high-entropy word: 32+ characters from [A-Za-z0-9+/=_.-] with
 *       at least one letter and one digit and a Shannon entropy of at
 *       least 4.0 bits per character (random base64/base62 secrets score
 *       4.5-5; hex digests, UUIDs and ordinary words score below 4).
 *  Numbers, booleans and null outside rule 1 are kept.
 */
#ifndef MCPF_REDACT_H
#define MCPF_REDACT_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#define REDACTED "[REDACTED]"

bool redact_secret_key(const char *key);
bool redact_secret_value(const char *s);
/* Redact node and everything below it. Returns how many values were
 * replaced, or -1 when out of memory (node is then partly redacted and
 * must not be logged). */
int redact_json(cJSON *node);

#endif /* MCPF_REDACT_H */
