/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Address normalisation: every IPv4 address becomes ::ffff:a.b.c.d so
 * that IPv4 sockets, IPv6 sockets and v4-mapped connections share keys. */
#ifndef MCPF_ADDR_H
#define MCPF_ADDR_H

static __always_inline void addr_from4(unsigned char out[16], __u32 ip4)
{
	__u32 *w = (__u32 *)out;

	w[0] = 0;
	w[1] = 0;
	w[2] = bpf_htonl(0xffff);
	w[3] = ip4;
}

static __always_inline void addr_from6(unsigned char out[16], const __u32 ip6[4])
{
	__u32 *w = (__u32 *)out;

	w[0] = ip6[0];
	w[1] = ip6[1];
	w[2] = ip6[2];
	w[3] = ip6[3];
}

static __always_inline bool addr_is_v4mapped(const __u32 w[4])
{
	return w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0xffff);
}

#endif /* MCPF_ADDR_H */
