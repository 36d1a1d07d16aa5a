#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "endpoint.h"

static const unsigned char v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static int is_v4mapped(const unsigned char a[16])
{
	return memcmp(a, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0;
}

static int is_any(const unsigned char a[16])
{
	static const unsigned char zero[16];

	return memcmp(a, zero, sizeof(zero)) == 0;
}

static void set_v4mapped(struct mcpf_endpoint *ep, const void *in_addr)
{
	memcpy(ep->addr.b, v4mapped_prefix, sizeof(v4mapped_prefix));
	memcpy(&ep->addr.w[3], in_addr, 4);
}

void endpoint_from_sockaddr(struct mcpf_endpoint *ep, const struct sockaddr_storage *ss)
{
	memset(ep, 0, sizeof(*ep));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		set_v4mapped(ep, &in->sin_addr);
		ep->port = ntohs(in->sin_port);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		memcpy(ep->addr.b, &in6->sin6_addr, 16);
		ep->port = ntohs(in6->sin6_port);
	}
}

socklen_t endpoint_to_sockaddr(const struct mcpf_endpoint *ep, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (is_v4mapped(ep->addr.b)) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, &ep->addr.w[3], 4);
		in->sin_port = htons(ep->port);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	in6->sin6_family = AF_INET6;
	memcpy(&in6->sin6_addr, ep->addr.b, 16);
	in6->sin6_port = htons(ep->port);
	return sizeof(*in6);
}

const char *endpoint_str(const struct mcpf_endpoint *ep, char buf[ENDPOINT_STRLEN])
{
	char a[INET6_ADDRSTRLEN];
	unsigned port = ep->port;

	if (is_any(ep->addr.b))
		snprintf(buf, ENDPOINT_STRLEN, "*:%u", port);
	else if (is_v4mapped(ep->addr.b))
		snprintf(buf, ENDPOINT_STRLEN, "%s:%u", inet_ntop(AF_INET, &ep->addr.w[3], a, sizeof(a)), port);
	else
		snprintf(buf, ENDPOINT_STRLEN, "[%s]:%u", inet_ntop(AF_INET6, ep->addr.b, a, sizeof(a)), port);
	return buf;
}

/* Appends ep unless already there; -1 when out is full. */
static int add_unique(struct mcpf_endpoint *out, int *n, int max, const struct mcpf_endpoint *ep)
{
	for (int i = 0; i < *n; i++)
		if (!memcmp(&out[i], ep, sizeof(*ep)))
			return 0;
	if (*n == max)
		return -1;
	out[(*n)++] = *ep;
	return 0;
}

int endpoints_from_addrinfo(const struct addrinfo *res, unsigned short port,
			   struct mcpf_endpoint *out, int max)
{
	struct mcpf_endpoint ep = { .port = port };
	int n = 0;

	for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET)
			set_v4mapped(&ep, &((struct sockaddr_in *)ai->ai_addr)->sin_addr);
		else if (ai->ai_family == AF_INET6)
			memcpy(ep.addr.b, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, 16);
		else
			continue;
		if (add_unique(out, &n, max, &ep))
			return -1;
	}
	return n;
}

static int resolve(const char *text, const char *host, const struct mcpf_endpoint *ep,
		   struct mcpf_endpoint *out, int max, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
	int n, rc = getaddrinfo(host, NULL, &hints, &res);

	if (rc) {
		snprintf(err, errlen, "cannot resolve \"%s\": %s", host, gai_strerror(rc));
		return -1;
	}
	n = endpoints_from_addrinfo(res, ep->port, out, max);
	freeaddrinfo(res);
	if (n < 0)
		snprintf(err, errlen, "\"%s\": \"%s\" resolves to more than %d addresses", text, host, max);
	else if (n == 0) {
		snprintf(err, errlen, "\"%s\": \"%s\" has no IPv4 or IPv6 address", text, host);
		n = -1;
	}
	return n;
}

int endpoint_split(const char *text, struct mcpf_endpoint *out, char *host, size_t hostlen,
		   char *err, size_t errlen)
{
	const char *host_start = text, *colon, *port_text;
	struct mcpf_endpoint ep = { 0 };
	struct in_addr a4;
	char *end;
	unsigned long port;
	size_t host_len;
	bool bracketed = text[0] == '[';

	if (bracketed) {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':') {
			snprintf(err, errlen, "\"%s\": expected [IPV6]:PORT", text);
			return -1;
		}
		host_start = text + 1;
		host_len = close - host_start;
		colon = close + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon) {
			snprintf(err, errlen, "\"%s\": expected HOST:PORT, [IPV6]:PORT or :PORT", text);
			return -1;
		}
		host_len = colon - text;
		if (memchr(text, ':', host_len)) {
			snprintf(err, errlen, "\"%s\": IPv6 addresses need brackets, as in [::1]:PORT", text);
			return -1;
		}
	}
	if (host_len >= hostlen || (bracketed && !host_len)) {
		snprintf(err, errlen, "\"%s\": bad host", text);
		return -1;
	}
	memcpy(host, host_start, host_len);
	host[host_len] = '\0';
	port_text = colon + 1;
	errno = 0;
	port = strtoul(port_text, &end, 10);
	if (!isdigit((unsigned char)*port_text) || *end || errno || port < 1 || port > 65535) {
		snprintf(err, errlen, "\"%s\": port must be 1-65535", text);
		return -1;
	}
	ep.port = (unsigned short)port;
	*out = ep;
	if (!host_len)
		return 1;  /* all-zero address: any */
	if (bracketed) {
		if (inet_pton(AF_INET6, host, out->addr.b) != 1) {
			snprintf(err, errlen, "\"%s\": \"%s\" is not an IPv6 address", text, host);
			return -1;
		}
		return 1;
	}
	if (inet_pton(AF_INET, host, &a4) == 1) {
		set_v4mapped(out, &a4);
		return 1;
	}
	for (const char *c = host; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-' && *c != '.' && *c != '_') {
			snprintf(err, errlen, "\"%s\": \"%s\" is not a host name", text, host);
			return -1;
		}
	return 0;
}

int endpoint_parse(const char *text, struct mcpf_endpoint *out, int max, char *err, size_t errlen)
{
	char host[256];
	struct mcpf_endpoint ep;
	int rc;

	if (max < 1) {
		snprintf(err, errlen, "\"%s\": no room for an address", text);
		return -1;
	}
	rc = endpoint_split(text, &ep, host, sizeof(host), err, errlen);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		out[0] = ep;
		return 1;
	}
	return resolve(text, host, &ep, out, max, err, errlen);
}
