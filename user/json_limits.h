/*
 * json_limits: what one JSON document may cost before a cJSON tree is built
 * for it. cJSON spends about a hundred bytes per value, so a 1 MB body of
 * tiny values ("[0,0,0,...]", "[[[[...") costs hundreds of MB and seconds
 * of the event loop; one linear pass over the text that allocates nothing
 * refuses such documents first.
 *
 *   enum json_limit_hit hit = json_limits_check(text, len, json_limits_for_requests());
 *   if (hit != JSON_WITHIN)
 *       refuse with json_limit_text(hit) (413 for size-like limits, see jsonrpc.c)
 *
 * Counted: nodes = every value and every member name (an upper bound on
 * cJSON's nodes); depth = open arrays/objects; batch = elements of a
 * top-level array. The pass does not validate: malformed text within the
 * limits is left for the parser to refuse.
 *
 * Two sets, configured once at start-up (`mcpfence run` flags): one for
 * what agents send, one for answers the daemon holds and parses (tools/list
 * results, batches it merges its own answers into); servers legitimately
 * send larger documents than agents.
 */
#ifndef MCPF_JSON_LIMITS_H
#define MCPF_JSON_LIMITS_H

#include <stddef.h>

struct json_limits {
	size_t max_depth;
	size_t max_nodes;
	size_t max_batch;
};

#define JSON_DEFAULT_MAX_DEPTH 64
#define JSON_DEFAULT_MAX_NODES 50000
#define JSON_DEFAULT_MAX_BATCH 100
/* answers: tools/list results with thousands of tools and their schemas */
#define JSON_ANSWER_MAX_NODES 1000000

enum json_limit_hit { JSON_WITHIN, JSON_TOO_DEEP, JSON_TOO_MANY_NODES, JSON_BATCH_TOO_LONG };

enum json_limit_hit json_limits_check(const char *text, size_t len, const struct json_limits *lim);
const char *json_limit_text(enum json_limit_hit hit);

const struct json_limits *json_limits_for_requests(void);
const struct json_limits *json_limits_for_answers(void);
/* Start-up only. Answers get the same depth and batch limits and at least
 * JSON_ANSWER_MAX_NODES nodes. */
void json_limits_configure(const struct json_limits *requests);

/* What a cJSON tree the daemon keeps holds on the heap, about: its nodes,
 * their strings, malloc's headers. For the memory budget (the calls
 * awaiting their answers keep their ids and arguments as trees). */
struct cJSON;
size_t json_tree_bytes(const struct cJSON *tree);

#endif
