/* session_ids: a request id in flight in a session is refused to every
 * other exchange of that session until released, compared as the Python
 * SDK does (str(id)), and nothing is kept once released. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "harness.h"
#include "../../user/session_ids.h"

static int claim(struct session_id **chain, const char *server, const char *session, const char *id_json)
{
	cJSON *id = cJSON_Parse(id_json);
	int r = session_ids_claim(chain, server, session, id);

	cJSON_Delete(id);
	return r;
}

static bool busy(const char *server, const char *session, const char *id_json)
{
	cJSON *id = cJSON_Parse(id_json);
	bool r = session_ids_busy(server, session, id);

	cJSON_Delete(id);
	return r;
}

TEST(session_ids_refuse_an_id_in_flight_on_another_exchange)
{
	struct session_id *a = NULL, *b = NULL;
	size_t before = session_ids_count();

	CHECK_INT_EQ(claim(&a, "srv", "S1", "7"), 0);
	CHECK(busy("srv", "S1", "7"));
	CHECK_INT_EQ(claim(&b, "srv", "S1", "7"), -EEXIST);
	CHECK(b == NULL);
	/* another id, session or server is another key */
	CHECK_INT_EQ(claim(&b, "srv", "S1", "8"), 0);
	CHECK_INT_EQ(claim(&b, "srv", "S2", "7"), 0);
	CHECK_INT_EQ(claim(&b, "other", "S1", "7"), 0);
	CHECK_INT_EQ(session_ids_count(), before + 4);
	session_ids_release(&a);
	CHECK(a == NULL);
	CHECK(!busy("srv", "S1", "7"));
	CHECK_INT_EQ(claim(&b, "srv", "S1", "7"), 0);
	session_ids_release(&b);
	CHECK(!busy("srv", "S1", "8") && !busy("srv", "S2", "7") && !busy("other", "S1", "7"));
	CHECK_INT_EQ(session_ids_count(), before);
}

TEST(session_ids_compare_ids_as_their_text)
{
	struct session_id *a = NULL, *b = NULL;

	/* an id longer than the digest's stack buffer is one key all the same */
	char long_id[2000];
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[0] = long_id[sizeof(long_id) - 2] = '"';
	long_id[sizeof(long_id) - 1] = '\0';
	CHECK_INT_EQ(claim(&a, "srv", "S", long_id), 0);
	CHECK_INT_EQ(claim(&b, "srv", "S", long_id), -EEXIST);
	long_id[1] = 'y';
	CHECK_INT_EQ(claim(&b, "srv", "S", long_id), 0);
	session_ids_release(&b);
	/* Python's _request_streams[str(id)]: 7 and "7" are one id */
	CHECK_INT_EQ(claim(&a, "srv", "S", "7"), 0);
	CHECK_INT_EQ(claim(&b, "srv", "S", "\"7\""), -EEXIST);
	CHECK_INT_EQ(claim(&a, "srv", "S", "\"\\u0061b\""), 0);
	CHECK_INT_EQ(claim(&b, "srv", "S", "\"ab\""), -EEXIST);
	CHECK_INT_EQ(claim(&a, "srv", "S", "-9007199254740991"), 0);
	CHECK_INT_EQ(claim(&b, "srv", "S", "\"-9007199254740991\""), -EEXIST);
	/* NUL-separated parts: no shift between server, session and id */
	CHECK_INT_EQ(claim(&b, "sr", "vS", "7"), 0);
	CHECK_INT_EQ(claim(&b, "srv", "S7", "\"\""), 0);
	CHECK_INT_EQ(claim(&b, "srv", "S", "\"7 \""), 0);
	CHECK_INT_EQ(claim(&b, "srv", "S", "null"), -EINVAL);
	session_ids_release(&a);
	session_ids_release(&b);
	session_ids_release(&b);  /* an empty chain */
	CHECK(!busy("srv", "S", "7"));
}

/* An abandoned exchange's claims stay until their time is up, owned by
 * no exchange; the oldest go first past the count kept. */
TEST(session_ids_abandoned_claims_stay_for_their_time)
{
	struct session_id *a = NULL, *b = NULL;
	size_t before = session_ids_count();

	CHECK_INT_EQ(claim(&a, "srv", "A", "7"), 0);
	CHECK_INT_EQ(claim(&a, "srv", "A", "8"), 0);
	session_ids_abandon(&a, 50 * 1000000ULL);
	CHECK(a == NULL);
	CHECK(busy("srv", "A", "7") && busy("srv", "A", "\"8\""));
	CHECK_INT_EQ(claim(&b, "srv", "A", "7"), -EEXIST);
	usleep(80 * 1000);
	CHECK(!busy("srv", "A", "7") && !busy("srv", "A", "8"));
	CHECK_INT_EQ(claim(&b, "srv", "A", "7"), 0);
	session_ids_release(&b);
	/* past SESSION_IDS_TOMBS_MAX the oldest tombstone goes (those of
	 * earlier tests first, then this one's) */
	for (int i = 0; i <= SESSION_IDS_TOMBS_MAX; i++) {
		cJSON *id = cJSON_CreateNumber(i);

		CHECK_INT_EQ(session_ids_claim(&b, "srv", "flood", id), 0);
		cJSON_Delete(id);
		session_ids_abandon(&b, 60 * 1000000000ULL);
	}
	CHECK(!busy("srv", "flood", "0"));
	CHECK(busy("srv", "flood", "1") && busy("srv", "flood", "65536"));
	CHECK(session_ids_count() <= before + SESSION_IDS_TOMBS_MAX);
}

/* Two workers claiming the same ids: each is won by exactly one. */
struct racer {
	struct session_id *chain;
	int won;
};

static void *race(void *arg)
{
	struct racer *r = arg;

	for (int i = 0; i < 2000; i++) {
		cJSON *id = cJSON_CreateNumber(i);

		if (session_ids_claim(&r->chain, "srv", "race", id) == 0)
			r->won++;
		cJSON_Delete(id);
	}
	return NULL;
}

TEST(session_ids_one_claim_wins_across_threads)
{
	struct racer r[2] = { { 0 } };
	pthread_t t[2];
	size_t before = session_ids_count();

	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, race, &r[i]) == 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	CHECK_INT_EQ(r[0].won + r[1].won, 2000);
	CHECK_INT_EQ(session_ids_count(), before + 2000);
	session_ids_release(&r[0].chain);
	session_ids_release(&r[1].chain);
	CHECK_INT_EQ(session_ids_count(), before);
}

/* One session holds at most SESSION_IDS_PER_SESSION_MAX claims (whatever
 * its connections): past that a claim is refused (-EDQUOT) and counted,
 * until one ends; tombstones and other sessions are apart. */
TEST(session_ids_one_session_holds_a_bounded_number_of_claims)
{
	struct session_id *a = NULL, *b = NULL, *c = NULL;
	struct session_ids_stats before, st;
	cJSON *id;

	session_ids_stats(&before);
	for (int i = 0; i < SESSION_IDS_PER_SESSION_MAX; i++) {
		id = cJSON_CreateNumber(i);
		CHECK_INT_EQ(session_ids_claim(i % 2 ? &a : &b, "srv", "capped", id), 0);
		cJSON_Delete(id);
	}
	CHECK_INT_EQ(claim(&c, "srv", "capped", "\"one more\""), -EDQUOT);
	CHECK_INT_EQ(claim(&c, "srv", "capped", "1"), -EEXIST);  /* still told apart */
	CHECK_INT_EQ(claim(&c, "srv", "other", "\"one more\""), 0);
	CHECK_INT_EQ(claim(&c, "other", "capped", "\"one more\""), 0);
	session_ids_stats(&st);
	CHECK_INT_EQ(st.claims, before.claims + SESSION_IDS_PER_SESSION_MAX + 2);
	CHECK_INT_EQ(st.refused, before.refused + 1);
	/* the claims of an exchange that ends, answered or not, make room */
	session_ids_abandon(&a, 60 * 1000000000ULL);
	CHECK_INT_EQ(claim(&c, "srv", "capped", "\"one more\""), 0);
	CHECK_INT_EQ(claim(&c, "srv", "capped", "1"), -EEXIST);  /* a tombstone */
	session_ids_stats(&st);
	CHECK(st.tombstones > 0 && st.tombstones <= SESSION_IDS_TOMBS_MAX);
	session_ids_release(&b);
	session_ids_release(&c);
	session_ids_stats(&st);
	CHECK_INT_EQ(st.claims, before.claims);
}
