/* endpoint_parse: the one parser of "host:port" (policy endpoints and
 * --metrics), keyed the way connect4/6 look targets up. */
#include <netinet/in.h>
#include "endpoint.h"
#include "harness.h"

static const unsigned char v4_loopback[16] = { [10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1 };
static const unsigned char v6_loopback[16] = { [15] = 1 };
static const unsigned char any[16];

TEST(endpoint_ports_are_host_order_and_v4_is_mapped)
{
	struct mcpf_endpoint ep[4];
	char err[256], text[ENDPOINT_STRLEN];

	CHECK_INT_EQ(endpoint_parse("127.0.0.1:3002", ep, 4, err, sizeof(err)), 1);
	CHECK(!memcmp(ep[0].addr.b, v4_loopback, 16));
	CHECK_INT_EQ(ep[0].port, 3002);
	CHECK_STR_EQ(endpoint_str(&ep[0], text), "127.0.0.1:3002");
	CHECK_INT_EQ(endpoint_parse("[::1]:80", ep, 4, err, sizeof(err)), 1);
	CHECK(!memcmp(ep[0].addr.b, v6_loopback, 16) && ep[0].port == 80);
	CHECK_STR_EQ(endpoint_str(&ep[0], text), "[::1]:80");
	CHECK_INT_EQ(endpoint_parse(":9000", ep, 4, err, sizeof(err)), 1);
	CHECK(!memcmp(ep[0].addr.b, any, 16) && ep[0].port == 9000);
	CHECK_STR_EQ(endpoint_str(&ep[0], text), "*:9000");
}

TEST(endpoint_names_resolve_to_every_address_once)
{
	struct mcpf_endpoint ep[8];
	char err[256];
	int n = endpoint_parse("localhost:8080", ep, 8, err, sizeof(err)), v4 = 0;

	CHECK(n >= 1);
	for (int i = 0; i < n; i++) {
		CHECK_INT_EQ(ep[i].port, 8080);
		v4 += !memcmp(ep[i].addr.b, v4_loopback, 16);
	}
	CHECK_INT_EQ(v4, 1);
	CHECK_INT_EQ(endpoint_parse("localhost:8080", ep, 0, err, sizeof(err)), -1);
}

TEST(endpoint_errors_quote_the_text)
{
	struct mcpf_endpoint ep[1];
	char err[256];

	CHECK_INT_EQ(endpoint_parse("::1:80", ep, 1, err, sizeof(err)), -1);
	CHECK_STR_EQ(err, "\"::1:80\": IPv6 addresses need brackets, as in [::1]:PORT");
	CHECK_INT_EQ(endpoint_parse("1.2.3.4:65536", ep, 1, err, sizeof(err)), -1);
	CHECK_STR_EQ(err, "\"1.2.3.4:65536\": port must be 1-65535");
}

TEST(endpoint_sockaddr_round_trip)
{
	struct mcpf_endpoint ep, back;
	struct sockaddr_storage ss;
	char err[256];

	CHECK_INT_EQ(endpoint_parse("127.0.0.1:443", &ep, 1, err, sizeof(err)), 1);
	CHECK_INT_EQ(endpoint_to_sockaddr(&ep, &ss), sizeof(struct sockaddr_in));
	endpoint_from_sockaddr(&back, &ss);
	CHECK(!memcmp(&ep, &back, sizeof(ep)));
}
