/* The daemon's one door to BPF maps (like libbpf-tools' map_helpers.c):
 * single-entry access with 0 / -errno, a prune and a dump over whole maps,
 * and the connection maps the proxy asks about by meaning, not by fd. */
#ifndef MCPF_KERN_MAPS_H
#define MCPF_KERN_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/bpf.h>   /* BPF_ANY, BPF_NOEXIST, BPF_F_LOCK */
#include "mcpfence_abi.h"

int kern_map_lookup(int fd, const void *key, void *value);
/* BPF_F_LOCK: the value is copied under its bpf_spin_lock. */
int kern_map_lookup_locked(int fd, const void *key, void *value);
int kern_map_update(int fd, const void *key, const void *value, __u64 flags);
int kern_map_delete(int fd, const void *key);

/* Every key, copied into *keys (malloc'd, caller frees): a snapshot, since
 * deleting while walking a hash map can restart the walk. Count or -errno. */
ssize_t kern_map_keys(int fd, size_t key_size, void **keys);
/* Deletes each key drop() picks from a snapshot of the keys. 0, or the
 * -errno of the first delete that failed (a key gone meanwhile is fine). */
int kern_map_prune(int fd, size_t key_size, bool (*drop)(const void *key, void *ctx), void *ctx);
/* fn(key, value, ctx) for every entry, read in batches where the kernel
 * can (BPF_MAP_LOOKUP_BATCH), key by key otherwise. elem_flags: 0 or
 * BPF_F_LOCK. Stops at fn's first non-zero return and returns it. */
int kern_map_dump(int fd, size_t key_size, size_t value_size, __u64 elem_flags,
		  int (*fn)(const void *key, const void *value, void *ctx), void *ctx);
/* The entries keep() picks, dumped as above, copied into rows of row_size
 * bytes (the key at offset 0, the value at value_offset) in *rows:
 * malloc'd, the caller frees, NULL when none. Count or -errno. */
ssize_t kern_map_rows(int fd, size_t key_size, size_t value_size, __u64 elem_flags,
		      bool (*keep)(const void *key, const void *value, void *ctx), void *ctx,
		      size_t row_size, size_t value_offset, void **rows);

/* The map pinned as bpffs/name, checked to have the key and value sizes
 * this binary was built with: an fd, -EPROTO for another layout (pinned
 * by another mcpfence version), -errno. */
int kern_map_open_pinned(const char *bpffs, const char *name, size_t key_size, size_t value_size);
/* The map's kernel id (ids start at 1); 0 if fd is not a map. */
__u32 kern_map_id(int fd);
/* A new, empty, unpinned map with fd's type, sizes, flags and BTF (so a
 * value with a bpf_spin_lock is accepted): an fd or -errno. */
int kern_map_clone_empty(int fd, const char *name);

/* A reader of a BPF_MAP_TYPE_RINGBUF map: kern_ring_consume calls
 * fn(ctx, data, size) for each record there (a non-zero return stops it);
 * kern_ring_fd is an fd to poll for EPOLLIN, owned by the reader. */
struct kern_ring;
int kern_ring_open(int map_fd, int (*fn)(void *ctx, void *data, size_t size), void *ctx,
		   struct kern_ring **out);
int kern_ring_fd(struct kern_ring *r);
/* Records read, or -errno. */
int kern_ring_consume(struct kern_ring *r);
void kern_ring_close(struct kern_ring *r);  /* NULL is fine */

/* The maps of intercepted connections, as the proxy uses them. */
struct kern_conns {
	int conns_fd;   /* conns: agent address -> struct mcpf_conn */
	int socks_fd;   /* daemon_socks: sockets the daemon owns */
};

/* The record the kernel wrote for an accepted agent connection. */
int kern_conn_lookup(const struct kern_conns *k, const struct mcpf_conn_key *key, struct mcpf_conn *out);
/* The connection is over: its record goes (a dump shows those in flight). */
void kern_conn_forget(const struct kern_conns *k, const struct mcpf_conn_key *key);
/* An upstream socket of the daemon's: connect4/6 never redirect it (the loop guard). */
int kern_mark_upstream(const struct kern_conns *k, int sock);
/* Marks a socket of the daemon's (MCPF_SOCK_LISTENER / _UPSTREAM) in daemon_socks. */
int kern_sock_mark(int socks_fd, int sock, __u32 mark);

#endif
