/* netns_addrs: a namespace's interface addresses in local_addrs, and
 * counted by address in local_addr_owners, which names the namespace that
 * has an address when one does (connect4/6 judge that address as the
 * registered server of that namespace). Two real namespaces, one address
 * on both, plain maps of the daemon's shapes. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#include <bpf/bpf.h>
#include "harness.h"
#include "kern_fixture.h"
#include "kern_maps.h"
#include "loop.h"
#include "netns_addrs.h"

#define SHARED "10.77.0.7"

/* A new namespace with SHARED on lo: a netlink socket made in it, and its
 * cookie; the thread goes back to *home. */
static int namespace_with_shared(int home, __u64 *cookie)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	struct sockaddr_in *in = (struct sockaddr_in *)&ifr.ifr_addr;
	int fd, nl = -1;

	if (unshare(CLONE_NEWNET))
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		in->sin_family = AF_INET;
		inet_pton(AF_INET, SHARED, &in->sin_addr);
		if (!ioctl(fd, SIOCSIFADDR, &ifr))
			nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
		*cookie = kern_netns_cookie(fd);
		close(fd);
	}
	if (setns(home, CLONE_NEWNET))
		return -errno;
	return nl;
}

static void owners_body(int home)
{
	int addrs = bpf_map_create(BPF_MAP_TYPE_HASH, NULL, sizeof(struct mcpf_local_addr), 1, 64, NULL);
	int owners = bpf_map_create(BPF_MAP_TYPE_HASH, NULL, sizeof(union mcpf_addr), sizeof(struct mcpf_addr_owners),
				    64, NULL);
	struct netns_addrs a = { 0 }, b = { 0 };
	struct mcpf_addr_owners got;
	union mcpf_addr key = { 0 };
	__u64 ca = 0, cb = 0;
	struct loop loop;
	int nla, nlb;

	CHECK(addrs >= 0 && owners >= 0);
	CHECK(loop_init(&loop) == 0);
	key.b[10] = key.b[11] = 0xff;
	inet_pton(AF_INET, SHARED, key.b + 12);
	CHECK((nla = namespace_with_shared(home, &ca)) >= 0);
	CHECK((nlb = namespace_with_shared(home, &cb)) >= 0);
	CHECK(netns_addrs_open(&a, &loop, addrs, owners, ca, nla) == 0);
	CHECK(kern_map_lookup(owners, &key, &got) == 0);
	CHECK(got.count == 1 && got.netns == ca);
	CHECK(netns_addrs_open(&b, &loop, addrs, owners, cb, nlb) == 0);
	CHECK(kern_map_lookup(owners, &key, &got) == 0);
	CHECK_INT_EQ(got.count, 2);
	/* the one it names goes: the other one is named */
	netns_addrs_close(&b, true);
	CHECK(kern_map_lookup(owners, &key, &got) == 0);
	CHECK_INT_EQ(got.count, 1);
	CHECK(got.netns == ca);
	netns_addrs_close(&a, true);
	CHECK_INT_EQ(kern_map_lookup(owners, &key, &got), -ENOENT);
	loop_fini(&loop);
	close(addrs);
	close(owners);
}

TEST(netns_addrs_owner_is_a_namespace_that_has_the_address)
{
	int home;

	if (!kern_require())
		return;
	home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	CHECK(home >= 0);
	owners_body(home);
	CHECK(setns(home, CLONE_NEWNET) == 0);
	close(home);
}
