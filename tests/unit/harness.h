/*
 * Unit-test harness: the whole API is TEST, CHECK, CHECK_INT_EQ, CHECK_STR_EQ
 * (and unit_skip, for a test this machine cannot run).
 *
 *   // tests/unit/test_policy.c -- every .c file in tests/unit/ is linked
 *   // into build/unit-tests with every user/ object except main.o
 *   #include "harness.h"
 *
 *   TEST(policy_rejects_negative_max)
 *   {
 *       struct thing *t = parse("...");
 *       CHECK(t != NULL);                 // on failure: report, stop this test
 *       CHECK_INT_EQ(t->max, 10);
 *       CHECK_STR_EQ(t->name, "echo");
 *       free_thing(t);
 *   }
 *
 * TEST(name) defines `static void name(void)` and registers it before main()
 * runs (constructor attribute), so a test file needs no table and no main.
 * A failing CHECK prints `FAIL file:line: test: expression` and returns from
 * the test function, so the rest of that test is skipped (no dereference of
 * a pointer that was just found NULL); helpers called from a test should
 * return a value and let the test CHECK it.
 *
 * build/unit-tests runs every test in registration order (file by file, in
 * source order) or, given arguments, only tests whose name contains one of
 * them; it prints `ok NAME` per passing test and ends with the line
 * `unit: N passed, N failed` (`, N skipped` when unit_skip was called);
 * exit status 1 if any failed. tests/run.sh adds that last line to the
 * integration counts (and a crash that prints no summary counts as a
 * failure).
 */
#ifndef MCPF_UNIT_HARNESS_H
#define MCPF_UNIT_HARNESS_H

#include <stdio.h>
#include <string.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
	struct unit_test *next;
};

void unit_register(struct unit_test *test);
/* Marks the running test failed and prints where. */
void unit_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Marks the running test skipped (counted apart, neither passed nor failed)
 * and prints why: only for what the machine lacks (tests/unit/kern_fixture.h
 * decides when that is allowed), never for a test's own failure. */
void unit_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define TEST(name)                                                        \
	static void name(void);                                           \
	static struct unit_test unit_test_##name = { #name, name, NULL }; \
	__attribute__((constructor)) static void unit_register_##name(void) \
	{                                                                 \
		unit_register(&unit_test_##name);                         \
	}                                                                 \
	static void name(void)

#define CHECK(cond)                                                       \
	do {                                                              \
		if (!(cond)) {                                            \
			unit_fail(__FILE__, __LINE__, "%s", #cond);       \
			return;                                           \
		}                                                         \
	} while (0)

#define CHECK_INT_EQ(actual, expected)                                    \
	do {                                                              \
		long long unit_a_ = (long long)(actual);                  \
		long long unit_e_ = (long long)(expected);                \
		if (unit_a_ != unit_e_) {                                 \
			unit_fail(__FILE__, __LINE__, "%s == %s (got %lld, want %lld)", \
				  #actual, #expected, unit_a_, unit_e_);  \
			return;                                           \
		}                                                         \
	} while (0)

#define CHECK_STR_EQ(actual, expected)                                    \
	do {                                                              \
		const char *unit_a_ = (actual);                           \
		const char *unit_e_ = (expected);                         \
		if (!unit_a_ || !unit_e_ || strcmp(unit_a_, unit_e_) != 0) { \
			unit_fail(__FILE__, __LINE__, "%s == %s (got \"%s\", want \"%s\")", \
				  #actual, #expected, unit_a_ ? unit_a_ : "(null)", \
				  unit_e_ ? unit_e_ : "(null)");          \
			return;                                           \
		}                                                         \
	} while (0)

#endif /* MCPF_UNIT_HARNESS_H */
