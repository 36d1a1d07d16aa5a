/* Runner for the unit tests registered with TEST() (see harness.h). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static struct unit_test *first_test;
static struct unit_test **last_link = &first_test;
static const char *running_test;
static bool running_failed;
static bool running_skipped;

void unit_register(struct unit_test *test)
{
	/* Append, so tests run in the order they appear in their file. */
	*last_link = test;
	last_link = &test->next;
}

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	running_failed = true;
	fprintf(stdout, "FAIL %s:%d: %s: ", file, line, running_test);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

void unit_skip(const char *fmt, ...)
{
	va_list ap;

	running_skipped = true;
	fprintf(stdout, "skip %s: ", running_test);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

static bool selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (strstr(name, argv[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0, skipped = 0;

	/* Keep FAIL lines and the summary in order with anything tests print. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (struct unit_test *t = first_test; t; t = t->next) {
		if (!selected(t->name, argc, argv))
			continue;
		running_test = t->name;
		running_failed = running_skipped = false;
		t->fn();
		if (running_failed) {
			failed++;
		} else if (running_skipped) {
			skipped++;
		} else {
			passed++;
			printf("ok %s\n", t->name);
		}
	}
	if (skipped)
		printf("unit: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
	else
		printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
