/* Resource URI globs: the same answers as fnmatch(3) without flags, and
 * bounded time on hostile input. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "glob.h"
#include "harness.h"

TEST(glob_agrees_with_fnmatch)
{
	static const char *const globs[] = {
		"*", "demo://*", "demo://static/*", "*/doc/?", "file:///srv/[a-c]*", "file:///srv/[!a-c]*",
		"a\\*b", "a[]]b", "a[^x]b", "[", "a[b", "**x**", "demo://*/x/*.txt", "?", "",
	};
	static const char *const texts[] = {
		"", "demo://static/doc/1", "demo://x", "file:///srv/b/c", "file:///srv/z", "a*b", "aXb", "a]b",
		"axb", "[", "a[b", "yxy", "demo://a/x/b.txt", "demo://a/x/b.txtz", "x", "ab",
	};

	for (size_t i = 0; i < sizeof(globs) / sizeof(globs[0]); i++)
		for (size_t j = 0; j < sizeof(texts) / sizeof(texts[0]); j++)
			if (glob_match(globs[i], texts[j]) != !fnmatch(globs[i], texts[j], 0))
				CHECK_STR_EQ(globs[i], texts[j]);  /* names the disagreeing pair */
}

TEST(glob_takes_linear_time_on_hostile_text)
{
	size_t n = 1 << 20;
	char *text = malloc(n + 1);
	struct timespec a, b;

	memset(text, 'a', n);
	text[n] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK(!glob_match("*a*a*a*a*a*b", text));
	clock_gettime(CLOCK_MONOTONIC, &b);
	/* a backtracking matcher needs years here; this one a few ms */
	CHECK((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 500);
	free(text);
}
