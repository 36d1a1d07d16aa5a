/* utf8_display: what an agent or a server chose, made safe to show. */
#include <string.h>

#include "harness.h"
#include "utf8.h"

TEST(utf8_display_replaces_controls_and_stray_bytes)
{
	char in_place[] = "a\x1b[2J\xc2\x9b" "b\x9b" "c\xc3\xa9\x7f\n";
	char cut[8];

	/* ESC, C1 CSI (two bytes, one '?'), a lone 0x9b, DEL, LF; é kept */
	CHECK_STR_EQ(utf8_display(in_place, in_place, sizeof(in_place)), "a?[2J?b?c\xc3\xa9??");
	/* cut at a character, never inside one */
	CHECK_STR_EQ(utf8_display("abcdef\xc3\xa9", cut, sizeof(cut)), "abcdef");
}
