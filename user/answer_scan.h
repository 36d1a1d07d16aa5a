/*
 * answer_scan: incremental scanner of the JSON-RPC answers a server sends,
 * for accounting only: for every response message (a "result" or an
 * "error" member, and no "method": the server's own requests and
 * notifications are never answers) it reports the raw text of its "id"
 * and whether it is an error (an "error" member, or a "result" whose
 * "isError" is true). It also notes which list arrays a message's result
 * holds at its top level ("tools", "prompts", "resources",
 * "resourceTemplates"), as soon as their member name is read, so that a
 * caller streaming the body can stop before relaying the piece holding
 * one. It looks at each byte once and keeps no more than the ids, so a
 * tool result of any size streams to the agent as it arrives instead of
 * being held and parsed whole.
 *
 *   struct answer_scan s;
 *   answer_scan_init(&s);
 *   answer_scan_feed(&s, piece, n);         as many times as the body comes
 *   struct answer a;
 *   for (size_t pos = 0; answer_scan_next(&s, &pos, &a);)
 *       ... a.id / a.id_len (raw JSON text of the id), a.error ...
 *   s.bytes                                  how much was fed
 *   s.list_result                            lists seen: 1 << enum mcp_list, or 0
 *   answer_scan_reset(&s);                  before the next body
 *   answer_scan_free(&s);
 *
 * The body is one message object or a batch array of them. Policy is never
 * decided here (requests are parsed whole with cJSON before they are
 * forwarded): text that is not JSON ends the scan with what was found so
 * far, and an answer it cannot read is an answer not found, which the
 * caller accounts as a failed call. Member names are matched after
 * decoding \u escapes, as cJSON would.
 */
#ifndef MCPF_ANSWER_SCAN_H
#define MCPF_ANSWER_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytebuf.h"
#include "common.h"

#define ANSWER_SCAN_MAX_DEPTH 1024  /* deeper than cJSON's own limit (1000) */
#define ANSWER_SCAN_ID_MAX JSONRPC_ID_MAX  /* longer ids are not matched (an agent's are refused) */
#define ANSWER_SCAN_KEY_MAX 17      /* the longest name looked for: "resourceTemplates" */

struct answer {
	const char *id;  /* raw JSON text: "abc", 7, null; NULL when the message had none */
	size_t id_len;
	bool error;
};

/* Private state: use the functions below. */
struct answer_scan {
	int state;
	bool failed;
	unsigned depth;                  /* containers open */
	unsigned msg_depth;              /* depth of a message's members: 1, or 2 in a batch */
	uint64_t is_object[ANSWER_SCAN_MAX_DEPTH / 64];
	int member;                      /* which name the value being read belongs to */
	bool key_string;                 /* the string being read is a member name */
	char key[ANSWER_SCAN_KEY_MAX];
	size_t key_len;                  /* > ANSWER_SCAN_KEY_MAX: not a name we look for */
	unsigned hex_left, hex_value;    /* inside a \uXXXX escape */
	bool capture;                    /* the value being read is kept in `value` */
	char value[ANSWER_SCAN_ID_MAX];
	size_t value_len;                /* > ANSWER_SCAN_ID_MAX: too long to keep */
	bool result_opening;             /* the next object opened is the message's result */
	bool in_result;
	bool msg_error, msg_has_id;
	bool msg_answer, msg_method;     /* a "result" or "error" member; a "method" one */
	char msg_id[ANSWER_SCAN_ID_MAX];
	size_t msg_id_len;
	struct bytebuf answers;          /* records: error byte, id length (2 bytes), id */
	uint64_t bytes;                  /* fed since the last reset */
	unsigned list_result;            /* since the last reset: 1 << enum mcp_list of each array
					    named at the top of a message's result */
};

void answer_scan_init(struct answer_scan *s);
void answer_scan_feed(struct answer_scan *s, const char *data, size_t len);
bool answer_scan_next(const struct answer_scan *s, size_t *pos, struct answer *out);
void answer_scan_reset(struct answer_scan *s);
void answer_scan_free(struct answer_scan *s);

#endif /* MCPF_ANSWER_SCAN_H */
