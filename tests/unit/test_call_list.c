/* call_list: an answer's raw id finds the call it answers, as cJSON_Compare
 * would match the parsed id, with or without the no-parse fast path. */
#include <cjson/cJSON.h>

#include "harness.h"
#include "../../user/call_list.h"

static void add(struct call_list *l, const char *id_json, unsigned exchange)
{
	struct pending_call c = { .id = cJSON_Parse(id_json), .exchange = exchange };

	call_list_add(l, &c);
}

static int take(struct call_list *l, const char *raw)
{
	struct pending_call c;
	int exchange;

	if (!call_list_take_raw(l, raw, strlen(raw), &c))
		return -1;
	exchange = (int)c.exchange;
	call_free(&c);
	return exchange;
}

TEST(call_list_take_raw_matches_like_the_parsed_id)
{
	struct call_list l = { 0 };

	add(&l, "1", 1);
	add(&l, "\"1\"", 2);
	add(&l, "-7", 3);
	add(&l, "\"a\\u0062c\"", 4);
	add(&l, "1e2", 5);
	add(&l, "\"x\\\"y\"", 6);
	add(&l, "12345678901234567", 7);
	CHECK_INT_EQ(take(&l, "\"1\""), 2);   /* a string id is not the number */
	CHECK_INT_EQ(take(&l, "1"), 1);
	CHECK_INT_EQ(take(&l, "1"), -1);      /* taken once */
	CHECK_INT_EQ(take(&l, "-7"), 3);
	CHECK_INT_EQ(take(&l, "\"abc\""), 4); /* escaped when sent, plain in the answer */
	CHECK_INT_EQ(take(&l, "100"), 5);     /* 1e2 */
	CHECK_INT_EQ(take(&l, "\"x\\\"y\""), 6);
	CHECK_INT_EQ(take(&l, "12345678901234567"), 7);
	CHECK_INT_EQ(take(&l, "null"), -1);
	CHECK_INT_EQ(take(&l, "01"), -1);
	CHECK_INT_EQ((int)l.n, 0);
	call_list_clear(&l);
}

/* What the calls hold (ids, arguments kept for the audit log) is counted
 * for the memory budget, and no longer once they are taken. */
TEST(call_list_counts_what_its_calls_hold)
{
	struct call_list l = { 0 };
	struct pending_call c = { .id = cJSON_CreateString("an id"), .exchange = 1 };
	char big[5000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	c.arguments = cJSON_CreateObject();
	cJSON_AddStringToObject(c.arguments, "text", big);
	CHECK_INT_EQ(call_list_add(&l, &c), 0);
	add(&l, "\"another\"", 2);
	CHECK(l.bytes >= sizeof(big) + 2 * sizeof(cJSON));
	CHECK_INT_EQ(take(&l, "\"an id\""), 1);
	CHECK(l.bytes > 0 && l.bytes < 1000);
	call_list_clear(&l);
	CHECK_INT_EQ(l.bytes, 0);
}
