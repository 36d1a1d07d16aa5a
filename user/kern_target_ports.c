#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "kern_maps.h"
#include "log.h"
#include "mcpfence_abi.h"
#include "kern_target_ports.h"

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

struct ports {
	struct port_entry *v;
	size_t n;
};

static bool unused_port(const void *port, void *ctx)
{
	const struct ports *p = ctx;

	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].port == *(const __u16 *)port)
			return false;
	return true;
}

int kern_target_ports_sync(int targets_fd, int ports_fd)
{
	struct mcpf_endpoint *keys;
	struct ports p = { 0 };
	struct port_entry *e;
	ssize_t n = kern_map_keys(targets_fd, sizeof(*keys), (void **)&keys);
	int err = 0;

	if (n < 0)
		return n;
	for (ssize_t i = 0; i < n; i++) {
		if (is_wildcard(&keys[i]))
			continue;  /* matched for every address already */
		if (!(e = entry_for(&p.v, &p.n, keys[i].port))) {
			err = -ENOMEM;
			goto out;
		}
		if (e->addrs.count == MCPF_PORT_ADDRS) {
			log_warn("port %u: more than %d registered addresses; the others match only exactly",
				 keys[i].port, MCPF_PORT_ADDRS);
			continue;
		}
		e->addrs.addr[e->addrs.count++] = keys[i].addr;
	}
	for (size_t i = 0; i < p.n && !err; i++)
		err = kern_map_update(ports_fd, &p.v[i].port, &p.v[i].addrs, BPF_ANY);
	if (!err)  /* ports no target uses any more */
		err = kern_map_prune(ports_fd, sizeof(__u16), unused_port, &p);
out:
	free(keys);
	free(p.v);
	return err;
}
