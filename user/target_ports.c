#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "log.h"
#include "mcpfence_abi.h"
#include "target_ports.h"

struct port_entry {
	__u16 port;
	struct mcpf_port_addrs addrs;
};

static struct port_entry *entry_for(struct port_entry **v, size_t *n, __u16 port)
{
	struct port_entry *p;

	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].port == port)
			return &(*v)[i];
	p = reallocarray(*v, *n + 1, sizeof(**v));
	if (!p)
		return NULL;
	*v = p;
	p = &p[(*n)++];
	memset(p, 0, sizeof(*p));
	p->port = port;
	return p;
}

static bool is_wildcard(const struct mcpf_endpoint *ep)
{
	static const unsigned char zero[16];

	return !memcmp(ep->addr.b, zero, sizeof(zero));
}

int target_ports_sync(int targets_fd, int ports_fd)
{
	struct mcpf_endpoint key, next;
	struct port_entry *v = NULL, *e;
	size_t n = 0;
	void *prev = NULL;
	__u16 port, pnext;
	int err = 0;

	while (!bpf_map_get_next_key(targets_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (is_wildcard(&key))
			continue;  /* matched for every address already */
		if (!(e = entry_for(&v, &n, key.port))) {
			err = -ENOMEM;
			goto out;
		}
		if (e->addrs.count == MCPF_PORT_ADDRS) {
			log_warn("port %u: more than %d registered addresses; the others match only exactly",
				 key.port, MCPF_PORT_ADDRS);
			continue;
		}
		e->addrs.addr[e->addrs.count++] = key.addr;
	}
	for (size_t i = 0; i < n; i++)
		if (bpf_map_update_elem(ports_fd, &v[i].port, &v[i].addrs, BPF_ANY)) {
			err = -errno;
			goto out;
		}
	/* ports no target uses any more */
	prev = NULL;
	while (!bpf_map_get_next_key(ports_fd, prev, &pnext)) {
		bool used = false;

		for (size_t i = 0; i < n && !used; i++)
			used = v[i].port == pnext;
		if (!used && !bpf_map_delete_elem(ports_fd, &pnext))
			continue;  /* deleted: restart from the same predecessor */
		port = pnext;
		prev = &port;
	}
out:
	free(v);
	return err;
}
