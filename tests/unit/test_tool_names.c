/* tool_names bounds what servers can make the daemon remember; siphash
 * matches the reference vectors (fallback session keys depend on it). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "siphash.h"
#include "tool_names.h"

TEST(tool_names_keeps_names_per_server_up_to_max)
{
	struct tool_names *n = tool_names_new(3);
	char big[TOOL_NAMES_MAX_LEN + 2];

	CHECK(n != NULL);
	CHECK_INT_EQ(tool_names_add(n, "fs", "read"), 0);
	CHECK_INT_EQ(tool_names_add(n, "fs", "read"), 0);  /* again: no new entry */
	CHECK_INT_EQ(tool_names_add(n, "git", "read"), 0);
	CHECK(tool_names_has(n, "fs", "read"));
	CHECK(!tool_names_has(n, "fs", "write"));
	/* server and tool are not one string: "f"+"sread" is not "fs"+"read" */
	CHECK(!tool_names_has(n, "f", "sread"));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT_EQ(tool_names_add(n, "fs", big), -ENAMETOOLONG);
	CHECK_INT_EQ(tool_names_add(n, "fs", "write"), 0);
	CHECK_INT_EQ(tool_names_add(n, "fs", "delete"), -ENOSPC);  /* full */
	CHECK(!tool_names_has(n, "fs", "delete"));
	CHECK(tool_names_has(n, "fs", "write"));
	CHECK(!tool_names_has(NULL, "fs", "write"));
	tool_names_free(n);
}

TEST(tool_names_many_names_stay_findable)
{
	struct tool_names *n = tool_names_new(5000);
	char name[32];

	CHECK(n != NULL);
	for (int i = 0; i < 6000; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		CHECK_INT_EQ(tool_names_add(n, "s", name), i < 5000 ? 0 : -ENOSPC);
	}
	for (int i = 0; i < 6000; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		CHECK(tool_names_has(n, "s", name) == (i < 5000));
	}
	tool_names_free(n);
}

TEST(siphash24_reference_vectors)
{
	unsigned char key[16], msg[64];

	for (int i = 0; i < 16; i++)
		key[i] = (unsigned char)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (unsigned char)i;
	/* from the SipHash paper's test vectors (vectors.h) */
	CHECK(siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
	CHECK(siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL);
	CHECK(siphash24(key, msg, 8) == 0x93f5f5799a932462ULL);
}
