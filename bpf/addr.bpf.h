/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Address normalisation: every IPv4 address becomes ::ffff:a.b.c.d so
 * that IPv4 sockets, IPv6 sockets and v4-mapped connections share keys. */
#ifndef MCPF_ADDR_BPF_H
#define MCPF_ADDR_BPF_H

#include "mcpfence_abi.h"

static __always_inline void addr_from4(union mcpf_addr *out, __be32 ip4)
{
	out->w[0] = 0;
	out->w[1] = 0;
	out->w[2] = bpf_htonl(0xffff);
	out->w[3] = ip4;
}

/* ip6: a copy of a context's words, never the context's own array. */
static __always_inline void addr_from6(union mcpf_addr *out, const __u32 ip6[4])
{
	out->w[0] = ip6[0];
	out->w[1] = ip6[1];
	out->w[2] = ip6[2];
	out->w[3] = ip6[3];
}

static __always_inline bool addr_is_v4mapped(const union mcpf_addr *a)
{
	return a->w[0] == 0 && a->w[1] == 0 && a->w[2] == bpf_htonl(0xffff);
}

#endif /* MCPF_ADDR_BPF_H */
