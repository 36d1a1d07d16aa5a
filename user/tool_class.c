/* Tool categories and risk from declared metadata (tool_class.h). */
#include "tool_class.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const char *const category_names[] = {
	[MCPF_CATEGORY_UNKNOWN] = "unknown", [MCPF_CATEGORY_READ] = "read",
	[MCPF_CATEGORY_WRITE] = "write", [MCPF_CATEGORY_EXECUTE] = "execute",
	[MCPF_CATEGORY_FINANCIAL] = "financial", [MCPF_CATEGORY_DESTRUCTIVE] = "destructive",
};

static const char *const risk_names[] = {
	[MCPF_RISK_LOW] = "low", [MCPF_RISK_MEDIUM] = "medium",
	[MCPF_RISK_HIGH] = "high", [MCPF_RISK_CRITICAL] = "critical",
};

static const char *const why_names[TOOL_WHY_COUNT] = {
	"hint_read_only", "hint_destructive", "hint_additive", "hint_idempotent", "hint_open_world",
	"name_read", "name_write", "name_execute", "name_financial", "name_destructive",
	"description_execute", "description_financial", "description_destructive",
	"schema_code", "schema_query", "truncated",
};

/* Words, by the category they point to (whole tokens, lower case). */
static const char *const destructive_words[] = {
	"delete", "remove", "rm", "drop", "destroy", "purge", "truncate", "wipe", "erase", "kill",
	"terminate", "revoke", "unlink", "rmdir", "uninstall", "overwrite", "shred", NULL,
};
static const char *const financial_words[] = {
	"pay", "payment", "payments", "charge", "refund", "transfer", "invoice", "billing", "purchase",
	"checkout", "payout", "withdraw", "withdrawal", NULL,
};
static const char *const execute_words[] = {
	"exec", "execute", "run", "eval", "evaluate", "deploy", "spawn", "invoke", "launch", "trigger",
	"restart", NULL,
};
/* Nouns: in a name they say what the tool does ("shell", "run_command"),
 * in prose they are often only mentioned ("lists the commands"). */
static const char *const execute_name_words[] = { "shell", "bash", "sh", "command", "cmd", "script", NULL };
static const char *const write_words[] = {
	"write", "create", "update", "send", "set", "add", "post", "put", "edit", "modify", "insert",
	"upload", "move", "rename", "publish", "save", "patch", "append", "toggle", "push", "commit",
	"merge", "replace", "enable", "disable", "assign", "register", "upsert", "copy", NULL,
};
static const char *const read_words[] = {
	"get", "list", "read", "search", "find", "fetch", "show", "describe", "view", "query", "lookup",
	"browse", "count", "inspect", "download", "status", NULL,
};
/* Schema property names. */
static const char *const code_words[] = {
	"code", "command", "cmd", "script", "sql", "shell", "program", "bash", "javascript", "python",
	"js", "statement", "exec", NULL,
};
static const char *const query_words[] = {
	"query", "expression", "expr", "filter", "jq", "xpath", "selector", "cypher", NULL,
};

static bool in_list(const char *const *words, const char *tok, size_t len)
{
	for (; *words; words++)
		if (strlen(*words) == len && !strncmp(*words, tok, len))
			return true;
	return false;
}

/* The token, or the token without a plural or third-person "s"/"es"
 * ("removes", "runs", "pushes"), is one of words. */
static bool in_words(const char *const *words, const char *tok)
{
	size_t n = strlen(tok);

	return in_list(words, tok, n) ||
	       (n > 2 && tok[n - 1] == 's' && in_list(words, tok, n - 1)) ||
	       (n > 3 && tok[n - 1] == 's' && tok[n - 2] == 'e' && in_list(words, tok, n - 2));
}

/* The most severe category a token names, with its name-reason bit. */
static enum mcpf_tool_category token_category(const char *tok, bool all, unsigned int *why, bool name)
{
	if (in_words(destructive_words, tok)) {
		*why |= name ? TOOL_WHY_NAME_DESTRUCTIVE : TOOL_WHY_DESC_DESTRUCTIVE;
		return MCPF_CATEGORY_DESTRUCTIVE;
	}
	if (in_words(financial_words, tok)) {
		*why |= name ? TOOL_WHY_NAME_FINANCIAL : TOOL_WHY_DESC_FINANCIAL;
		return MCPF_CATEGORY_FINANCIAL;
	}
	if (in_words(execute_words, tok) || (name && in_words(execute_name_words, tok))) {
		*why |= name ? TOOL_WHY_NAME_EXECUTE : TOOL_WHY_DESC_EXECUTE;
		return MCPF_CATEGORY_EXECUTE;
	}
	if (all && in_words(write_words, tok)) {
		*why |= TOOL_WHY_NAME_WRITE;
		return MCPF_CATEGORY_WRITE;
	}
	if (all && in_words(read_words, tok)) {
		*why |= TOOL_WHY_NAME_READ;
		return MCPF_CATEGORY_READ;
	}
	return MCPF_CATEGORY_UNKNOWN;
}

typedef void (*token_fn)(const char *tok, void *ctx);

/* Calls fn for each token of the first `scan` bytes of text: runs of
 * ASCII letters and digits, split again where a lower-case letter or a
 * digit meets an upper-case one (camelCase), lower-cased. Tokens longer
 * than any word are skipped. True when text went past scan. */
static bool tokens(const char *text, size_t scan, token_fn fn, void *ctx)
{
	char tok[32];
	size_t n = 0, i;
	bool too_long = false;

	if (!text)
		return false;
	for (i = 0; i <= scan; i++) {
		unsigned char c = i < scan ? (unsigned char)text[i] : 0;
		bool alnum = c < 0x80 && isalnum(c);
		bool split = alnum && n && isupper(c) && (islower((unsigned char)text[i - 1]) ||
							   isdigit((unsigned char)text[i - 1]));

		if (n && (!alnum || split)) {
			tok[n < sizeof(tok) ? n : 0] = '\0';
			if (!too_long)
				fn(tok, ctx);
			n = 0;
			too_long = false;
		}
		if (!c)
			break;
		if (alnum) {
			if (n < sizeof(tok) - 1)
				tok[n] = (char)tolower(c);
			else
				too_long = true;
			n++;
		}
	}
	return i == scan && text[scan] != '\0';
}

struct evidence {
	enum mcpf_tool_category category;
	unsigned int why;
	bool all;   /* read and write words count (names), or not (prose) */
	bool name;
};

static void weigh_token(const char *tok, void *ctx)
{
	struct evidence *e = ctx;
	enum mcpf_tool_category c = token_category(tok, e->all, &e->why, e->name);

	if (c > e->category)
		e->category = c;
}

static void property_token(const char *tok, void *ctx)
{
	unsigned int *flags = ctx;

	if (in_words(code_words, tok))
		*flags |= TOOL_WHY_SCHEMA_CODE;
	else if (in_words(query_words, tok))
		*flags |= TOOL_WHY_SCHEMA_QUERY;
}

/* A schema a string of any content matches: type string (alone or among
 * others) or no type, and nothing that narrows it. */
static bool free_form_string(const cJSON *s)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
	bool string = !type;

	if (cJSON_IsString(type))
		string = !strcmp(type->valuestring, "string");
	else if (cJSON_IsArray(type))
		for (const cJSON *t = type->child; t; t = t->next)
			string |= cJSON_IsString(t) && !strcmp(t->valuestring, "string");
	return string && !cJSON_GetObjectItemCaseSensitive(s, "enum") &&
	       !cJSON_GetObjectItemCaseSensitive(s, "const") &&
	       !cJSON_GetObjectItemCaseSensitive(s, "pattern") &&
	       !cJSON_GetObjectItemCaseSensitive(s, "format");
}

struct schema_walk {
	unsigned int why;
	unsigned int nodes;
};

static void walk_schema(const cJSON *s, unsigned int depth, struct schema_walk *w);

/* Past the node cap nothing more is read, not even names. */
static bool schema_full(struct schema_walk *w)
{
	if (w->nodes < TOOL_CLASS_SCHEMA_NODES)
		return false;
	w->why |= TOOL_WHY_TRUNCATED;
	return true;
}

static void walk_children(const cJSON *list, unsigned int depth, struct schema_walk *w)
{
	for (const cJSON *c = list ? list->child : NULL; c && !schema_full(w); c = c->next)
		walk_schema(c, depth + 1, w);
}

static void walk_schema(const cJSON *s, unsigned int depth, struct schema_walk *w)
{
	const cJSON *props;

	if (!cJSON_IsObject(s))
		return;
	if (schema_full(w))
		return;
	if (depth > TOOL_CLASS_SCHEMA_DEPTH) {
		w->why |= TOOL_WHY_TRUNCATED;
		return;
	}
	w->nodes++;
	props = cJSON_GetObjectItemCaseSensitive(s, "properties");
	for (const cJSON *p = cJSON_IsObject(props) ? props->child : NULL; p && !schema_full(w); p = p->next) {
		unsigned int named = 0;

		if (cJSON_IsObject(p) && p->string) {
			if (tokens(p->string, strnlen(p->string, TOOL_CLASS_NAME_SCAN), property_token, &named))
				w->why |= TOOL_WHY_TRUNCATED;
			if (named && free_form_string(p))
				w->why |= named;
		}
		walk_schema(p, depth + 1, w);
	}
	walk_schema(cJSON_GetObjectItemCaseSensitive(s, "items"), depth + 1, w);
	walk_children(cJSON_GetObjectItemCaseSensitive(s, "anyOf"), depth, w);
	walk_children(cJSON_GetObjectItemCaseSensitive(s, "oneOf"), depth, w);
	walk_children(cJSON_GetObjectItemCaseSensitive(s, "allOf"), depth, w);
}

static enum mcpf_hint hint_of(const cJSON *annotations, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(annotations, key);

	return cJSON_IsTrue(v) ? MCPF_HINT_TRUE : cJSON_IsFalse(v) ? MCPF_HINT_FALSE : MCPF_HINT_UNSET;
}

void tool_hints_read(const cJSON *annotations, struct tool_hints *out)
{
	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(annotations))
		return;
	out->read_only = hint_of(annotations, "readOnlyHint");
	out->destructive = hint_of(annotations, "destructiveHint");
	out->idempotent = hint_of(annotations, "idempotentHint");
	out->open_world = hint_of(annotations, "openWorldHint");
}

/* The category the annotations claim, with their reason bits. */
static enum mcpf_tool_category hint_category(const struct tool_hints *h, unsigned int *why)
{
	if (h->idempotent == MCPF_HINT_TRUE)
		*why |= TOOL_WHY_HINT_IDEMPOTENT;
	if (h->open_world == MCPF_HINT_TRUE)
		*why |= TOOL_WHY_HINT_OPEN_WORLD;
	if (h->read_only == MCPF_HINT_TRUE) {
		*why |= TOOL_WHY_HINT_READ_ONLY;
		return MCPF_CATEGORY_READ;
	}
	if (h->read_only == MCPF_HINT_UNSET && h->destructive == MCPF_HINT_UNSET)
		return MCPF_CATEGORY_UNKNOWN;
	if (h->destructive == MCPF_HINT_FALSE) {
		*why |= TOOL_WHY_HINT_ADDITIVE;
		return MCPF_CATEGORY_WRITE;
	}
	*why |= TOOL_WHY_HINT_DESTRUCTIVE;   /* the spec's default when not read-only */
	return MCPF_CATEGORY_DESTRUCTIVE;
}

void tool_classify(const char *name, const char *description, const cJSON *schema,
		   const struct tool_hints *hints, struct tool_class *out)
{
	struct evidence by_name = { .all = true, .name = true }, by_desc = { 0 };
	struct schema_walk w = { 0 };
	enum mcpf_tool_category claimed, found;
	unsigned int why = 0;
	int risk;

	claimed = hint_category(hints, &why);
	if (name && tokens(name, strnlen(name, TOOL_CLASS_NAME_SCAN), weigh_token, &by_name))
		why |= TOOL_WHY_TRUNCATED;
	if (description && tokens(description, strnlen(description, TOOL_CLASS_DESC_SCAN), weigh_token, &by_desc))
		why |= TOOL_WHY_TRUNCATED;
	walk_schema(schema, 0, &w);
	why |= by_name.why | by_desc.why | w.why;

	found = tool_evidence_category(by_name.why | by_desc.why | w.why);
	out->category = claimed > found ? claimed : found;
	out->hints_only = claimed > found;
	out->reasons = why;

	switch (out->category) {
	case MCPF_CATEGORY_READ: risk = MCPF_RISK_LOW; break;
	case MCPF_CATEGORY_EXECUTE:
	case MCPF_CATEGORY_FINANCIAL: risk = MCPF_RISK_HIGH; break;
	case MCPF_CATEGORY_DESTRUCTIVE: risk = MCPF_RISK_CRITICAL; break;
	default: risk = MCPF_RISK_MEDIUM; break;
	}
	if (w.why & (TOOL_WHY_SCHEMA_CODE | TOOL_WHY_SCHEMA_QUERY) && risk < MCPF_RISK_CRITICAL)
		risk++;
	out->risk = risk;
}

enum mcpf_tool_category tool_evidence_category(unsigned int reasons)
{
	if (reasons & (TOOL_WHY_NAME_DESTRUCTIVE | TOOL_WHY_DESC_DESTRUCTIVE))
		return MCPF_CATEGORY_DESTRUCTIVE;
	if (reasons & (TOOL_WHY_NAME_FINANCIAL | TOOL_WHY_DESC_FINANCIAL))
		return MCPF_CATEGORY_FINANCIAL;
	if (reasons & (TOOL_WHY_NAME_EXECUTE | TOOL_WHY_DESC_EXECUTE | TOOL_WHY_SCHEMA_CODE))
		return MCPF_CATEGORY_EXECUTE;
	if (reasons & TOOL_WHY_NAME_WRITE)
		return MCPF_CATEGORY_WRITE;
	return reasons & TOOL_WHY_NAME_READ ? MCPF_CATEGORY_READ : MCPF_CATEGORY_UNKNOWN;
}

const char *tool_category_name(enum mcpf_tool_category c)
{
	return c <= MCPF_CATEGORY_DESTRUCTIVE ? category_names[c] : "?";
}

int tool_category_parse(const char *name)
{
	for (int c = MCPF_CATEGORY_READ; c <= MCPF_CATEGORY_DESTRUCTIVE; c++)
		if (!strcmp(name, category_names[c]))
			return c;
	return -1;
}

const char *tool_risk_name(enum mcpf_tool_risk r)
{
	return r <= MCPF_RISK_CRITICAL ? risk_names[r] : "?";
}

const char *tool_why_name(unsigned int bit_index)
{
	return bit_index < TOOL_WHY_COUNT ? why_names[bit_index] : NULL;
}

void tool_why_format(unsigned int reasons, const char *sep, char *out, size_t size)
{
	size_t used = 0;

	if (size)
		out[0] = '\0';
	for (unsigned int i = 0; i < TOOL_WHY_COUNT && used < size; i++)
		if (reasons & (1u << i)) {
			int n = snprintf(out + used, size - used, "%s%s", used ? sep : "", why_names[i]);

			used += n > 0 ? (size_t)n : 0;
		}
}
