/* Minimal unit-test harness: TEST(name) defines and registers a test,
 * CHECK* record a failure and let the test continue (so clean-up code at
 * the end of a test still runs). main.c runs every registered test. */
#ifndef MCPF_UNIT_HARNESS_H
#define MCPF_UNIT_HARNESS_H

void unit_register(const char *name, void (*fn)(void));
void unit_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define TEST(name)                                                          \
	static void test_##name(void);                                      \
	__attribute__((constructor)) static void register_##name(void)      \
	{                                                                   \
		unit_register(#name, test_##name);                          \
	}                                                                   \
	static void test_##name(void)

#define CHECK(c)                                                            \
	do {                                                                \
		if (!(c))                                                   \
			unit_fail(__FILE__, __LINE__, "CHECK(%s)", #c);     \
	} while (0)

#define CHECK_EQ(a, b)                                                      \
	do {                                                                \
		long long a_ = (long long)(a), b_ = (long long)(b);         \
		if (a_ != b_)                                               \
			unit_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", \
				  #a, #b, a_, b_);                          \
	} while (0)

#define CHECK_STREQ(a, b)                                                   \
	do {                                                                \
		const char *a_ = (a), *b_ = (b);                            \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                      \
			unit_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", \
				  #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
	} while (0)

#include <string.h>

#endif /* MCPF_UNIT_HARNESS_H */
