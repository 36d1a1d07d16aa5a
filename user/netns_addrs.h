/* The addresses configured in one network namespace, kept in the
 * local_addrs map from a netlink socket opened inside it: connect4/6 use
 * them to know that a destination is this namespace's own (and so reaches
 * a server listening on a wildcard address). */
#ifndef MCPF_NETNS_ADDRS_H
#define MCPF_NETNS_ADDRS_H

#include <stdbool.h>
#include <stddef.h>
#include "loop.h"
#include "mcpfence_abi.h"

struct netns_addrs {
	struct watch w;
	struct loop *loop;
	int map_fd;                  /* local_addrs */
	int owners_fd;               /* local_addr_owners: counts across namespaces */
	unsigned long long netns;
	unsigned char (*addrs)[16];  /* what we put in the map, to take out */
	size_t n, cap;
};

/* Track the addresses of the namespace that sock, a NETLINK_ROUTE socket,
 * was created in (it stays there), in local_addrs (map_fd) and counted by
 * address in local_addr_owners (owners_fd); takes sock over, even on
 * failure. */
int netns_addrs_open(struct netns_addrs *a, struct loop *loop, int map_fd, int owners_fd, unsigned long long netns,
		     int sock);
/* Close the socket; forget: also remove every address it added (not when
 * a successor daemon tracks the same namespace under the same keys; it
 * counts them in an owners map of its own). */
void netns_addrs_close(struct netns_addrs *a, bool forget);
/* Remove the entries of namespaces keep() does not vouch for (a previous
 * daemon's, for namespaces gone since). */
void netns_addrs_prune(int map_fd, bool (*keep)(void *ctx, unsigned long long netns), void *ctx);

#endif
