/*
 * jsonrpc_quick: the common request, one plain tools/call, read without a
 * cJSON tree (issue 14). A tree costs about twenty mallocs per call; this
 * reads what the decision needs (method, id, params.name, whether
 * arguments are an object) in one pass that allocates nothing but the id.
 *
 *   (jsonrpc_parse runs it when asked, after its checks that build no
 *   tree: NUL bytes, \u0000, a BOM, json_limits, json_strict)
 *   switch (jsonrpc_quick_read(text, len, out)) {
 *   case 1:  out->quick, out->msgs[0] is a REQUEST for tools/call, with
 *            params and arguments NULL and args_unread set
 *   case 0:  not such a body, or not one this reader is sure of: read it
 *            with the tree (nothing to free)
 *   case -1: no memory
 *   }
 *
 * It answers 1 only when the tree would give the same message and accept
 * the body: so it answers 0 (and the tree decides, or refuses) for any
 * object key with an escape, a non-ASCII byte or a control character
 * (duplicates after unescaping, json_fold's case variants); two keys of
 * one object equal but for ASCII case (duplicates, json_fold collisions);
 * a message or params key that is a case variant of a member (json_fold's
 * near misses); more than JSONRPC_QUICK_KEYS keys in an object, nesting
 * deeper than JSONRPC_QUICK_DEPTH; a number longer than cJSON reads (63
 * characters); a batch; any method but "tools/call" written plainly;
 * "jsonrpc" not written "2.0"; result or error present; an id that is
 * absent, null, a string with an escape or longer than
 * JSONRPC_QUICK_ID_LEN, or a number outside jsonrpc_id_number_exact;
 * params not an object, or with a key other than name, arguments and
 * _meta (MRTR's requestState / inputResponses, tasks: the tree's);
 * params.name not a string, with an escape, or of MCPF_NAME_LEN * 2
 * bytes or more; arguments present and not an object. A caller that must
 * read the arguments (conditions, approvals, the audit log) reads the
 * body again with the tree.
 */
#ifndef MCPF_JSONRPC_QUICK_H
#define MCPF_JSONRPC_QUICK_H

#include <stdbool.h>
#include <stddef.h>

#define JSONRPC_QUICK_KEYS 24
#define JSONRPC_QUICK_DEPTH 16
#define JSONRPC_QUICK_ID_LEN 128

struct jsonrpc_body;

int jsonrpc_quick_read(const char *text, size_t len, struct jsonrpc_body *out);

/* An id number every stack reads as the same integer: no fraction or
 * exponent (1e400 is infinity to some, an error to others), not -0, and
 * within 2^53 - 1, the largest integer JavaScript holds exactly. */
bool jsonrpc_id_number_exact(const char *raw, size_t len);

#endif
