#include "common.h"
#include "redact.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "linregex.h"

#define SECRET_WORDS \
	"password|passwd|secret|token|api[_-]?key|access[_-]?key|authorization|credential|private[_-]?key|cookie"

/* Linear-time matching (linregex.h): the values are the agent's. */
static struct linregex *key_re, *assign_re, *url_re, *pem_re;
static bool regex_ok;
static pthread_once_t regex_once = PTHREAD_ONCE_INIT;

static void compile_regexes(void)
{
	char err[128];

	regex_ok = !linregex_compile(&key_re, SECRET_WORDS, LINREGEX_ICASE, err, sizeof(err)) &&
		   !linregex_compile(&assign_re, "(" SECRET_WORDS ")[\"']?[[:space:]]*[=:][[:space:]]*[^[:space:]]",
				     LINREGEX_ICASE, err, sizeof(err)) &&
		   !linregex_compile(&url_re, "[a-z][a-z0-9+.-]*://[^/@[:space:]]+:[^/@[:space:]]+@", LINREGEX_ICASE,
				     err, sizeof(err)) &&
		   !linregex_compile(&pem_re, "-----BEGIN [A-Z0-9 ]*PRIVATE KEY", LINREGEX_ICASE, err, sizeof(err));
}

/* A regex that failed to compile matches everything: fail closed. */
static bool matches(struct linregex **re, const char *s)
{
	pthread_once(&regex_once, compile_regexes);
	return !regex_ok || linregex_match(*re, s);
}

bool redact_secret_key(const char *key)
{
	return matches(&key_re, key);
}

static bool is_token68(int c)
{
	return isalnum(c) || (c && strchr("-._~+/=", c));
}

static bool is_secret_char(int c)
{
	return isalnum(c) || (c && strchr("+/=_.-", c));
}

static double entropy_bits(const char *w, size_t n)
{
	unsigned int count[256] = { 0 };
	double h = 0, p;
	size_t i;

	for (i = 0; i < n; i++)
		count[(unsigned char)w[i]]++;
	for (i = 0; i < 256; i++) {
		if (!count[i])
			continue;
		p = (double)count[i] / (double)n;
		h -= p * log2(p);
	}
	return h;
}

static bool high_entropy_word(const char *w, size_t n)
{
	bool letter = false, digit = false;
	size_t i;

	if (n < 32)
		return false;
	for (i = 0; i < n; i++) {
		if (!is_secret_char((unsigned char)w[i]))
			return false;
		letter |= isalpha((unsigned char)w[i]) != 0;
		digit |= isdigit((unsigned char)w[i]) != 0;
	}
	return letter && digit && entropy_bits(w, n) >= 4.0;
}

static bool credential_after_scheme(const char *w, size_t n)
{
	bool special = false;
	size_t i;

	if (n < 8)
		return false;
	for (i = 0; i < n; i++) {
		if (!is_token68((unsigned char)w[i]))
			return false;
		special |= !isalpha((unsigned char)w[i]);
	}
	return special;
}

static bool aws_key_id(const char *w, size_t n)
{
	static const char *const prefixes[] = {
		"AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AIPA", "ANPA", "ANVA", "AROA", "APKA", "ASCA",
	};
	size_t i, p, j;

	for (i = 0; i + 20 <= n; i++) {
		for (p = 0; p < ARRAY_SIZE(prefixes); p++) {
			if (strncmp(w + i, prefixes[p], 4))
				continue;
			for (j = 4; j < 20; j++)
				if (!isupper((unsigned char)w[i + j]) && !isdigit((unsigned char)w[i + j]))
					break;
			if (j == 20)
				return true;
		}
	}
	return false;
}

static bool known_token(const char *w, size_t n)
{
	static const char *const prefixes[] = {
		"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-", "xoxa-", "xoxb-",
		"xoxp-", "xoxr-", "xoxs-", "sk-", "sk_live_", "rk_live_", "AIza",
	};
	const char *dot;
	size_t i, len, rest, j;

	for (i = 0; i < ARRAY_SIZE(prefixes); i++) {
		len = strlen(prefixes[i]);
		if (n < len + 16 || strncmp(w, prefixes[i], len))
			continue;
		for (rest = 0, j = len; j < n && is_token68((unsigned char)w[j]); j++)
			rest++;
		if (rest >= 16)
			return true;
	}
	/* JWT: header.payload.signature, both JSON parts base64url of "{"" */
	if (n > 20 && !strncmp(w, "eyJ", 3)) {
		dot = memchr(w, '.', n);
		if (dot && (size_t)(dot - w) + 4 < n && !strncmp(dot + 1, "eyJ", 3) &&
		    memchr(dot + 1, '.', n - (size_t)(dot + 1 - w)))
			return true;
	}
	return false;
}

/* Words: maximal runs of non-space characters, with surrounding quotes
 * and brackets peeled off. */
static bool secret_words(const char *s)
{
	const char *w = s, *end, *prev = NULL;
	size_t prev_len = 0, n;

	for (;;) {
		while (*w && isspace((unsigned char)*w))
			w++;
		if (!*w)
			return false;
		end = w;
		while (*end && !isspace((unsigned char)*end))
			end++;
		while (w < end && strchr("\"'([{<,;", *w))
			w++;
		n = (size_t)(end - w);
		while (n && strchr("\"')]}>,;", w[n - 1]))
			n--;
		if (prev && ((prev_len == 6 && !strncasecmp(prev, "bearer", 6)) ||
			     (prev_len == 5 && !strncasecmp(prev, "basic", 5))) &&
		    credential_after_scheme(w, n))
			return true;
		if (aws_key_id(w, n) || known_token(w, n) || high_entropy_word(w, n))
			return true;
		prev = w;
		prev_len = n;
		w = end;
	}
}

bool redact_secret_value(const char *s)
{
	return secret_words(s) || matches(&pem_re, s) || matches(&url_re, s) ||
	       matches(&assign_re, s);
}

/* Replace child by "[REDACTED]" under the same key (if any). */
static int replace(cJSON *parent, cJSON *child)
{
	cJSON *r = cJSON_CreateString(REDACTED);

	if (!r)
		return -1;
	if (child->string) {
		r->string = strdup(child->string);  /* cJSON's default hooks: malloc/free */
		if (!r->string) {
			cJSON_Delete(r);
			return -1;
		}
	}
	cJSON_ReplaceItemViaPointer(parent, child, r);
	return 1;
}

static int redact_children(cJSON *node)
{
	cJSON *child, *next;
	int total = 0, n;

	for (child = node->child; child; child = next) {
		next = child->next;
		if (cJSON_IsObject(node) && child->string && redact_secret_key(child->string))
			n = replace(node, child);
		else if (cJSON_IsString(child) && child->valuestring && redact_secret_value(child->valuestring))
			n = replace(node, child);
		else if (cJSON_IsObject(child) || cJSON_IsArray(child))
			n = redact_children(child);
		else
			n = 0;
		if (n < 0)
			return -1;
		total += n;
	}
	return total;
}

int redact_json(cJSON *node)
{
	if (cJSON_IsString(node) && node->valuestring && redact_secret_value(node->valuestring))
		return cJSON_SetValuestring(node, REDACTED) ? 1 : -1;
	if (cJSON_IsObject(node) || cJSON_IsArray(node))
		return redact_children(node);
	return 0;
}
