/* The one list shape (dlist.h): zeroed memory, order, deletion while walking. */
#include <string.h>

#include "harness.h"
#include "../../user/common.h"
#include "../../user/dlist.h"

struct item {
	int v;
	struct dlist link;
};

/* The values on head, in order, as a string ("1,2,3"). */
static const char *walk(const struct dlist *head)
{
	static char out[64];
	struct dlist *n, *next;

	out[0] = 0;
	dlist_for_each_safe(n, next, head)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%d", out[0] ? "," : "",
			 container_of(n, struct item, link)->v);
	return out;
}

TEST(dlist_zeroed_head_and_node_need_no_setup)
{
	struct dlist head;
	struct item a;

	memset(&head, 0, sizeof(head));
	memset(&a, 0, sizeof(a));
	CHECK(dlist_empty(&head));
	CHECK(!dlist_first(&head));
	CHECK_STR_EQ(walk(&head), "");
	CHECK(!dlist_linked(&a.link));
	dlist_del(&a.link);             /* on no list: nothing happens */
	a.v = 7;
	dlist_add_tail(&head, &a.link);
	CHECK(dlist_linked(&a.link));
	CHECK_STR_EQ(walk(&head), "7");
	dlist_del(&a.link);
	dlist_del(&a.link);             /* twice: harmless */
	CHECK(!dlist_linked(&a.link));
	CHECK(dlist_empty(&head));
}

TEST(dlist_keeps_order_and_survives_deleting_while_walking)
{
	struct item it[5] = { 0 };
	struct dlist head, *n, *next;

	dlist_init(&head);
	for (int i = 0; i < 5; i++) {
		it[i].v = i;
		if (i % 2)
			dlist_add_head(&head, &it[i].link);
		else
			dlist_add_tail(&head, &it[i].link);
	}
	CHECK_STR_EQ(walk(&head), "3,1,0,2,4");
	CHECK(dlist_first(&head) == &it[3].link);
	CHECK(dlist_next(&head, &it[0].link) == &it[2].link);
	CHECK(!dlist_next(&head, &it[4].link));
	dlist_for_each_safe(n, next, &head)
		if (container_of(n, struct item, link)->v % 2 == 0)
			dlist_del(n);
	CHECK_STR_EQ(walk(&head), "3,1");
	CHECK(!dlist_linked(&it[0].link) && !dlist_linked(&it[2].link) && !dlist_linked(&it[4].link));
	dlist_del(&it[3].link);
	dlist_del(&it[1].link);
	CHECK(dlist_empty(&head));
}
