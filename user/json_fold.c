/* Case-folded member names; see json_fold.h. */
#include "json_fold.h"

#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "bytebuf.h"
#include "utf8.h"

static locale_t utf8_locale;
static pthread_once_t locale_once = PTHREAD_ONCE_INIT;

static void open_locale(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static uint32_t fold_rune(uint32_t c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	switch (c) {
	case 0x017f: return 's';  /* long s: upper case S */
	case 0x212a: return 'k';  /* Kelvin sign: lower case k */
	case 0x0131: return 'i';  /* dotless i: upper case I */
	case 0x0130: return 'i';  /* I with dot: lower case i */
	}
	pthread_once(&locale_once, open_locale);  /* proxy workers fold at once */
	if (!utf8_locale)
		return c;
	return (uint32_t)towlower_l(towupper_l((wint_t)c, utf8_locale), utf8_locale);
}

/* The next folded code point of s[*i..len); a byte that is not UTF-8
 * stands for itself, above the Unicode range so it equals no code point. */
static uint32_t next_folded(const char *s, size_t len, size_t *i)
{
	unsigned int cp;
	size_t n = utf8_sequence((const unsigned char *)s + *i, len - *i, &cp);

	if (!n) {
		return 0x110000u + (unsigned char)s[(*i)++];
	}
	*i += n;
	return fold_rune(cp);
}

bool json_fold_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i = 0, j = 0;

	while (i < alen && j < blen)
		if (next_folded(a, alen, &i) != next_folded(b, blen, &j))
			return false;
	return i == alen && j == blen;
}

/* A name that some stack reads differently than byte for byte: it has an
 * upper-case ASCII letter or a non-ASCII character. */
static bool foldable(const char *s)
{
	for (; *s; s++)
		if ((*s >= 'A' && *s <= 'Z') || (unsigned char)*s >= 0x80)
			return true;
	return false;
}

static int fold_key(const char *s, struct bytebuf *out)
{
	size_t len = strlen(s), i = 0;

	while (i < len) {
		uint32_t c = next_folded(s, len, &i);
		if (bb_append(out, &c, sizeof(c)) < 0)
			return -1;
	}
	return 0;
}

struct folded {
	const struct bytebuf *buf;
	size_t off, len;
};

static int cmp_folded(const void *pa, const void *pb)
{
	const struct folded *a = pa, *b = pb;
	size_t n = a->len < b->len ? a->len : b->len;
	int r = memcmp(a->buf->data + a->off, b->buf->data + b->off, n);

	return r ? r : (a->len > b->len) - (a->len < b->len);
}

/* 1 when two members of obj fold to one name. Exact repeats are refused
 * before this runs, so with no foldable name there is nothing to find. */
static int object_collides(const cJSON *obj)
{
	size_t n = 0, k = 0;
	bool any = false;
	int r = 0;

	for (const cJSON *c = obj->child; c; c = c->next, n++)
		any = any || foldable(c->string);
	if (!any || n < 2)
		return 0;
	if (n <= 8) {
		/* the usual small object: compare pairs, allocate nothing */
		for (const cJSON *a = obj->child; a; a = a->next)
			for (const cJSON *b = a->next; b; b = b->next)
				if (json_fold_equal(a->string, strlen(a->string), b->string, strlen(b->string)))
					return 1;
		return 0;
	}
	struct bytebuf buf = BYTEBUF_INIT;
	struct folded *keys = calloc(n, sizeof(*keys));
	if (!keys)
		return -1;
	for (const cJSON *c = obj->child; c; c = c->next, k++) {
		keys[k].buf = &buf;
		keys[k].off = buf.len;
		if (fold_key(c->string, &buf) < 0) {
			r = -1;
			goto out;
		}
		keys[k].len = buf.len - keys[k].off;
	}
	qsort(keys, n, sizeof(*keys), cmp_folded);
	for (k = 1; k < n && !r; k++)
		r = cmp_folded(&keys[k - 1], &keys[k]) == 0;
out:
	free(keys);
	bb_free(&buf);
	return r;
}

static int collisions(const cJSON *node)
{
	if (cJSON_IsObject(node)) {
		int r = object_collides(node);
		if (r)
			return r;
	}
	if (cJSON_IsObject(node) || cJSON_IsArray(node))
		for (const cJSON *c = node->child; c; c = c->next) {
			int r = collisions(c);
			if (r)
				return r;
		}
	return 0;
}

/* A member of obj that folds to one of names[] without being it. */
static bool near_miss(const cJSON *obj, const char *const *names)
{
	for (const cJSON *c = obj->child; c; c = c->next) {
		if (!foldable(c->string))
			continue;
		for (const char *const *n = names; *n; n++)
			if (strcmp(c->string, *n) && json_fold_equal(c->string, strlen(c->string), *n, strlen(*n)))
				return true;
	}
	return false;
}

static bool message_near_miss(const cJSON *msg)
{
	static const char *const members[] = { "jsonrpc", "id", "method", "params", "result", "error", NULL };
	/* what the policy reads and servers dispatch on, for every method */
	static const char *const params[] = { "name", "arguments", "uri", "_meta", "cursor", "ref", "argument",
					      "task", "level", "progressToken", "requestId", NULL };
	const cJSON *p;

	if (!cJSON_IsObject(msg))
		return false;
	if (near_miss(msg, members))
		return true;
	p = cJSON_GetObjectItemCaseSensitive(msg, "params");
	return cJSON_IsObject(p) && near_miss(p, params);
}

int json_fold_check(const cJSON *root, const char **why)
{
	int r = collisions(root);

	if (r) {
		*why = "object keys that differ only in case (or Unicode case folding)";
		return r;
	}
	if (cJSON_IsArray(root)) {
		for (const cJSON *m = root->child; m; m = m->next)
			r = r || message_near_miss(m);
	} else {
		r = message_near_miss(root);
	}
	if (r)
		*why = "a member name that is a case variant of a JSON-RPC or MCP member";
	return r;
}
