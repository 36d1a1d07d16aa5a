/* Linear-time regexes: the dialect (POSIX ERE as glibc read it, minus what
 * TRE reads otherwise) and time linear in the subject on the red team's
 * inputs, through both users (policy conditions, audit redaction). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "../../user/common.h"
#include "../../user/linregex.h"
#include "../../user/policy_conditions.h"
#include "../../user/redact.h"

/* Before: glibc's regexec, O(n^2) on these (4.5 s at P = 32,000 for the
 * redaction one, 17.5 s at 128,000 for the condition one): hours at
 * P = 2^20. Linear matching takes tens of milliseconds; the bound is
 * generous for a loaded machine and sanitizer builds. */
#define BIG_P (1u << 20)
#define BOUND_NS (10 * NS_PER_SEC)

static char *repeat(char c, size_t n, const char *tail)
{
	char *s = malloc(n + strlen(tail) + 1);

	if (s) {
		memset(s, c, n);
		strcpy(s + n, tail);
	}
	return s;
}

static bool match(const char *pattern, int flags, const char *s)
{
	struct linregex *re;
	char err[128];
	bool m;

	if (linregex_compile(&re, pattern, flags, err, sizeof(err)))
		return false;
	m = linregex_match(re, s);
	linregex_free(re);
	return m;
}

/* What glibc's regexec answered for these, unchanged. */
TEST(linregex_matches_as_before)
{
	static const struct {
		const char *pattern, *subject;
		int flags;
		bool want;
	} cases[] = {
		{ "^/srv/[a-z]+$", "/srv/data", 0, true },
		{ "^/srv/[a-z]+$", "/srv/../etc", 0, false },
		{ "srv", "/srv/x", 0, true },
		{ "^/srv/[a-z0-9]{1,64}(/[a-z0-9._-]{1,255})*$", "/srv/a1/b.c/d", 0, true },
		{ "^(ab|c\\+)+[]x]{3}$", "abc+]x]", 0, true },
		{ "^(ab|c\\+)+[]x]{3}$", "abc]x]", 0, false },
		{ "[^]a]", "a]", 0, false },
		{ "[\\d]", "\\", 0, true },   /* '\' in brackets is literal */
		{ "[\\d]", "1", 0, false },
		{ "a|", "zzz", 0, true },
		{ "\\.txt$", "a.txt", 0, true },
		{ "\\.txt$", "atxt", 0, false },
		{ "^[[:digit:]]{3}-[[:alpha:]]+$", "123-abc", 0, true },
		{ "[A-Z]+@corp", "bob@corp", LINREGEX_ICASE, true },
		{ "[A-Z]+@corp", "bob@corp", 0, false },
		{ "^a.c$", "a\nc", 0, true },  /* no REG_NEWLINE: '.' takes a newline */
		{ "x$", "x\n", 0, false },
		{ "\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9", 0, true },  /* bytes, C locale */
	};
	int wrong = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (match(cases[i].pattern, cases[i].flags, cases[i].subject) != cases[i].want) {
			printf("  %s on \"%s\": want %d\n", cases[i].pattern, cases[i].subject, cases[i].want);
			wrong++;
		}
	CHECK_INT_EQ(wrong, 0);
}

TEST(linregex_refuses_backtracking_and_foreign_syntax)
{
	static const char *const refused[] = {
		"(a)\\1", "a\\d", "\\w+", "\\bx", "\\<a", "a\\>", "\\`a", "a\\'", "\\x41", "\\t",
		"(?i)a", "a{,2}", "x{256}", "a{~1}", "(unclosed",
		"((a?){0,31}){0,31}b", "(a{1,80}){1,80}b",  /* too many transitions */
	};
	struct linregex *re;
	char err[128];
	int accepted = 0;

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		err[0] = '\0';
		if (linregex_compile(&re, refused[i], 0, err, sizeof(err)) != -EINVAL || !err[0]) {
			printf("  not refused: %s\n", refused[i]);
			accepted++;
		}
	}
	CHECK_INT_EQ(accepted, 0);
}

/* F3: a policy regex condition on the agent's argument ran under the
 * decision lock. */
TEST(condition_regex_is_linear_in_the_argument)
{
	struct compiled_cond c = { .cond = { .op = MCPF_OP_REGEX, .path = "args.q",
					     .value = "\"[a-z]+@corp\\\\.example$\"" } };
	char *big = repeat('a', BIG_P, ""), *hit = repeat('a', BIG_P, "@corp.example");
	cJSON *miss_args = cJSON_CreateObject(), *hit_args = cJSON_CreateObject();
	unsigned long long t0;
	enum cond_result miss_r, hit_r;

	CHECK(big && hit && miss_args && hit_args);
	CHECK(cJSON_AddStringToObject(miss_args, "q", big) && cJSON_AddStringToObject(hit_args, "q", hit));
	condition_compile(&c);
	CHECK(c.usable);
	t0 = monotonic_ns();
	miss_r = condition_eval(&c, miss_args);
	hit_r = condition_eval(&c, hit_args);
	CHECK(monotonic_ns() - t0 < BOUND_NS);
	CHECK_INT_EQ(miss_r, COND_FAILS);
	CHECK_INT_EQ(hit_r, COND_HOLDS);
	condition_release(&c);
	cJSON_Delete(miss_args);
	cJSON_Delete(hit_args);
	free(big);
	free(hit);
}

/* "a"*P "://" "x"*P, then tail. */
static char *scheme_value(size_t p, const char *tail)
{
	char *s = malloc(2 * p + 3 + strlen(tail) + 1);

	if (s) {
		memset(s, 'a', p);
		memcpy(s + p, "://", 3);
		memset(s + p + 3, 'x', p);
		strcpy(s + 2 * p + 3, tail);
	}
	return s;
}

/* F2: with --audit-args every string argument is matched against the URL
 * credential pattern (and the others), under the audit log's lock. */
TEST(redaction_is_linear_in_the_value)
{
	char *miss = scheme_value(BIG_P, ""), *hit = scheme_value(BIG_P, ":pw@host");
	unsigned long long t0;
	bool miss_r, hit_r;

	CHECK(miss && hit);
	t0 = monotonic_ns();
	miss_r = redact_secret_value(miss);
	hit_r = redact_secret_value(hit);
	CHECK(monotonic_ns() - t0 < BOUND_NS);
	CHECK(!miss_r);
	CHECK(hit_r);
	free(miss);
	free(hit);
}
