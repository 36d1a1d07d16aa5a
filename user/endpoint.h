/* Endpoints as the kernel keys them (struct mcpf_endpoint): parsing the
 * policy's "host:port" strings and printing addresses back. */
#ifndef MCPF_ENDPOINT_H
#define MCPF_ENDPOINT_H

#include <stddef.h>
#include <sys/socket.h>
#include "mcpfence_abi.h"

#define ENDPOINT_STRLEN 64 /* "[v6]:port" with room to spare */

/* Parse "1.2.3.4:80", "[::1]:80", "host:80" (all addresses it resolves to)
 * or ":80" (any address). Fills up to max endpoints; returns how many, or
 * -1 with a reason in err. */
int endpoint_parse(const char *text, struct mcpf_endpoint *out, int max, char *err, size_t errlen);

/* The same syntax without resolving: 1 and *out set for an address or
 * ":PORT", 0 with the name in host and out->port set for "NAME:PORT",
 * -1 with a reason in err. */
int endpoint_split(const char *text, struct mcpf_endpoint *out, char *host, size_t hostlen,
		   char *err, size_t errlen);

/* The IPv4 and IPv6 addresses of a getaddrinfo answer, with port, each
 * once: how many, or -1 when there are more than max. */
struct addrinfo;
int endpoints_from_addrinfo(const struct addrinfo *res, unsigned short port,
			    struct mcpf_endpoint *out, int max);

/* "127.0.0.1:3002" / "[::1]:3002" / "*:9000" */
const char *endpoint_str(const struct mcpf_endpoint *ep, char buf[ENDPOINT_STRLEN]);

/* sockaddr (AF_INET or AF_INET6) <-> endpoint, v4 as v4-mapped. */
void endpoint_from_sockaddr(struct mcpf_endpoint *ep, const struct sockaddr_storage *ss);
socklen_t endpoint_to_sockaddr(const struct mcpf_endpoint *ep, struct sockaddr_storage *ss);

#endif
