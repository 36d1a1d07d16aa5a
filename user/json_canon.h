/* json_canon: SHA-256 of a JSON value in canonical form, so that two
 * spellings of the same value (key order, white space, escapes, 1.0 vs 1)
 * get one digest and any change of content gets another:
 *   objects: members sorted by name (bytes, strcmp order; a repeated name
 *            keeps every copy, in document order), no white space
 *   strings: the decoded bytes, escaped with \" \\ \b \f \n \r \t and
 *            \u00XX for other control bytes; everything else raw
 *   numbers: integers up to 2^53 in decimal, others as %.17g
 * A NULL value digests as `null`. The value was parsed by cJSON within
 * json_limits, so depth and size are already bounded. */
#ifndef MCPF_JSON_CANON_H
#define MCPF_JSON_CANON_H

#include <cjson/cJSON.h>
#include "sha256.h"

/* 0, or -ENOMEM. */
int json_canon_digest(const cJSON *value, unsigned char out[SHA256_LEN]);

#endif
