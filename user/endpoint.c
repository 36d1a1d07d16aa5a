#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
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

void endpoint_from_sockaddr(struct mcpf_endpoint *ep, const struct sockaddr_storage *ss)
{
	memset(ep, 0, sizeof(*ep));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		memcpy(ep->addr, v4mapped_prefix, sizeof(v4mapped_prefix));
		memcpy(ep->addr + 12, &in->sin_addr, 4);
		ep->port = ntohs(in->sin_port);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		memcpy(ep->addr, &in6->sin6_addr, 16);
		ep->port = ntohs(in6->sin6_port);
	}
}

socklen_t endpoint_to_sockaddr(const struct mcpf_endpoint *ep, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (is_v4mapped(ep->addr)) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, ep->addr + 12, 4);
		in->sin_port = htons(ep->port);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	in6->sin6_family = AF_INET6;
	memcpy(&in6->sin6_addr, ep->addr, 16);
	in6->sin6_port = htons(ep->port);
	return sizeof(*in6);
}

const char *endpoint_str(const struct mcpf_endpoint *ep, char buf[ENDPOINT_STRLEN])
{
	char a[INET6_ADDRSTRLEN];
	unsigned port = ep->port;

	if (is_any(ep->addr))
		snprintf(buf, ENDPOINT_STRLEN, "*:%u", port);
	else if (is_v4mapped(ep->addr))
		snprintf(buf, ENDPOINT_STRLEN, "%s:%u", inet_ntop(AF_INET, ep->addr + 12, a, sizeof(a)), port);
	else
		snprintf(buf, ENDPOINT_STRLEN, "[%s]:%u", inet_ntop(AF_INET6, ep->addr, a, sizeof(a)), port);
	return buf;
}

static int parse_port(const char *s, unsigned short *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (unsigned short)v;
	return 0;
}

int endpoint_parse(const char *text, struct mcpf_endpoint *out, int max, char *err, size_t errlen)
{
	char host[256];
	const char *colon, *port_s;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	unsigned short port;
	int n = 0, rc;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':' || (size_t)(close - text - 1) >= sizeof(host)) {
			snprintf(err, errlen, "expected \"[IPv6]:port\"");
			return -1;
		}
		memcpy(host, text + 1, close - text - 1);
		host[close - text - 1] = '\0';
		port_s = close + 2;
		hints.ai_flags = AI_NUMERICHOST;
		hints.ai_family = AF_INET6;
	} else {
		colon = strrchr(text, ':');
		if (!colon || (size_t)(colon - text) >= sizeof(host) || strchr(text, ':') != colon) {
			snprintf(err, errlen, "expected \"host:port\", \"[IPv6]:port\" or \":port\"");
			return -1;
		}
		memcpy(host, text, colon - text);
		host[colon - text] = '\0';
		port_s = colon + 1;
	}
	if (parse_port(port_s, &port)) {
		snprintf(err, errlen, "port \"%s\" is not a number from 1 to 65535", port_s);
		return -1;
	}
	if (host[0] == '\0') {
		if (max < 1) {
			snprintf(err, errlen, "too many endpoints");
			return -1;
		}
		memset(&out[0], 0, sizeof(out[0]));
		out[0].port = port;
		return 1;
	}
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "cannot resolve \"%s\": %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct sockaddr_storage ss = { 0 };
		struct mcpf_endpoint ep;
		int dup = 0;

		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		endpoint_from_sockaddr(&ep, &ss);
		ep.port = port;
		for (int i = 0; i < n; i++)
			dup |= memcmp(&out[i], &ep, sizeof(ep)) == 0;
		if (dup)
			continue;
		if (n == max) {
			freeaddrinfo(res);
			snprintf(err, errlen, "\"%s\" resolves to too many addresses", host);
			return -1;
		}
		out[n++] = ep;
	}
	freeaddrinfo(res);
	if (n == 0) {
		snprintf(err, errlen, "\"%s\" has no IPv4 or IPv6 address", host);
		return -1;
	}
	return n;
}
