#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kern_maps.h"

#define DUMP_BATCH     128      /* entries per BPF_MAP_LOOKUP_BATCH */
#define DUMP_BATCH_MAX 65536    /* a hash bucket never holds more */

int kern_map_lookup(int fd, const void *key, void *value)
{
	return bpf_map_lookup_elem(fd, key, value) ? -errno : 0;
}

int kern_map_lookup_locked(int fd, const void *key, void *value)
{
	return bpf_map_lookup_elem_flags(fd, key, value, BPF_F_LOCK) ? -errno : 0;
}

int kern_map_update(int fd, const void *key, const void *value, __u64 flags)
{
	return bpf_map_update_elem(fd, key, value, flags) ? -errno : 0;
}

int kern_map_delete(int fd, const void *key)
{
	return bpf_map_delete_elem(fd, key) ? -errno : 0;
}

ssize_t kern_map_keys(int fd, size_t key_size, void **keys)
{
	unsigned char *all = NULL, *prev = NULL;
	size_t n = 0, cap = 0;

	for (;;) {
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			all = reallocarray(all, cap, key_size);
			if (!all)
				abort();
			prev = n ? all + (n - 1) * key_size : NULL;
		}
		if (bpf_map_get_next_key(fd, prev, all + n * key_size))
			break;
		prev = all + n++ * key_size;
	}
	if (errno != ENOENT) {
		free(all);
		return -errno;
	}
	*keys = all;
	return n;
}

int kern_map_prune(int fd, size_t key_size, bool (*drop)(const void *key, void *ctx), void *ctx)
{
	unsigned char *keys;
	ssize_t n = kern_map_keys(fd, key_size, (void **)&keys);
	int err = 0, rc;

	if (n < 0)
		return n;
	for (ssize_t i = 0; i < n; i++) {
		const void *key = keys + i * key_size;

		if (drop(key, ctx) && (rc = kern_map_delete(fd, key)) && rc != -ENOENT && !err)
			err = rc;
	}
	free(keys);
	return err;
}

static int dump_by_key(int fd, size_t key_size, size_t value_size, __u64 elem_flags,
		       int (*fn)(const void *key, const void *value, void *ctx), void *ctx)
{
	unsigned char *keys, *value = malloc(value_size);
	ssize_t n = kern_map_keys(fd, key_size, (void **)&keys);
	int rc = 0;

	if (!value)
		abort();
	if (n < 0) {
		free(value);
		return n;
	}
	for (ssize_t i = 0; i < n && !rc; i++) {
		const void *key = keys + i * key_size;

		if (!bpf_map_lookup_elem_flags(fd, key, value, elem_flags))  /* else deleted meanwhile */
			rc = fn(key, value, ctx);
	}
	free(keys);
	free(value);
	return rc;
}

int kern_map_dump(int fd, size_t key_size, size_t value_size, __u64 elem_flags,
		  int (*fn)(const void *key, const void *value, void *ctx), void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = elem_flags);
	unsigned char *keys = NULL, *values = NULL;
	__u64 in = 0, out = 0;  /* opaque batch positions (a bucket index for hash maps) */
	__u32 batch = DUMP_BATCH, count;
	bool first = true, last = false;
	int rc = 0;

	while (!last && !rc) {
		keys = reallocarray(keys, batch, key_size);
		values = reallocarray(values, batch, value_size);
		if (!keys || !values)
			abort();
		count = batch;
		if (bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, values, &count, &opts)) {
			if (errno == ENOSPC && batch < DUMP_BATCH_MAX) {
				batch *= 2;  /* one hash bucket holds more than a batch */
				continue;
			}
			if (first && errno != ENOENT) {  /* no batch ops for this map or kernel */
				rc = dump_by_key(fd, key_size, value_size, elem_flags, fn, ctx);
				break;
			}
			if (errno != ENOENT) {
				rc = -errno;
				break;
			}
			last = true;  /* ENOENT: these were the last entries */
		}
		for (__u32 i = 0; i < count && !rc; i++)
			rc = fn(keys + i * key_size, values + i * value_size, ctx);
		in = out;
		first = false;
	}
	free(keys);
	free(values);
	return rc;
}

struct rows_ctx {
	size_t key_size, value_size, row_size, value_offset;
	bool (*keep)(const void *key, const void *value, void *ctx);
	void *ctx;
	unsigned char *rows;
	size_t n, cap;
};

static int add_row(const void *key, const void *value, void *ctx)
{
	struct rows_ctx *c = ctx;
	unsigned char *grown, *row;

	if (!c->keep(key, value, c->ctx))
		return 0;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		if (!(grown = reallocarray(c->rows, c->cap, c->row_size)))
			return -ENOMEM;
		c->rows = grown;
	}
	row = c->rows + c->n++ * c->row_size;
	memcpy(row, key, c->key_size);
	memcpy(row + c->value_offset, value, c->value_size);
	return 0;
}

ssize_t kern_map_rows(int fd, size_t key_size, size_t value_size, __u64 elem_flags,
		      bool (*keep)(const void *key, const void *value, void *ctx), void *ctx,
		      size_t row_size, size_t value_offset, void **rows)
{
	struct rows_ctx c = { .key_size = key_size, .value_size = value_size, .row_size = row_size,
			      .value_offset = value_offset, .keep = keep, .ctx = ctx };
	int err = kern_map_dump(fd, key_size, value_size, elem_flags, add_row, &c);

	if (err) {
		free(c.rows);
		return err;
	}
	*rows = c.rows;
	return c.n;
}

static int map_info(int fd, struct bpf_map_info *info)
{
	__u32 len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len) ? -errno : 0;
}

int kern_map_open_pinned(const char *bpffs, const char *name, size_t key_size, size_t value_size)
{
	struct bpf_map_info info;
	char path[PATH_MAX];
	int fd, err;

	if (snprintf(path, sizeof(path), "%s/%s", bpffs, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if ((fd = bpf_obj_get(path)) < 0)
		return -errno;
	if ((err = map_info(fd, &info)) || info.key_size != key_size || info.value_size != value_size) {
		close(fd);
		return err ? err : -EPROTO;
	}
	return fd;
}

__u32 kern_map_id(int fd)
{
	struct bpf_map_info info;

	return map_info(fd, &info) ? 0 : info.id;
}

int kern_map_clone_empty(int fd, const char *name)
{
	struct bpf_map_info info;
	int btf = -1, clone, err;

	if ((err = map_info(fd, &info)))
		return err;
	if (info.btf_id && (btf = bpf_btf_get_fd_by_id(info.btf_id)) < 0)
		return -errno;
	LIBBPF_OPTS(bpf_map_create_opts, opts, .btf_fd = btf < 0 ? 0 : btf, .btf_key_type_id = info.btf_key_type_id,
		    .btf_value_type_id = info.btf_value_type_id, .map_flags = info.map_flags);
	clone = bpf_map_create(info.type, name, info.key_size, info.value_size, info.max_entries, &opts);
	err = clone < 0 ? -errno : clone;
	if (btf >= 0)
		close(btf);
	return err;
}

/* libbpf's reader is the kern_ring: the type stays opaque to callers */
int kern_ring_open(int map_fd, int (*fn)(void *ctx, void *data, size_t size), void *ctx,
		   struct kern_ring **out)
{
	struct ring_buffer *rb = ring_buffer__new(map_fd, fn, ctx, NULL);

	if (!rb)
		return -errno;
	*out = (struct kern_ring *)rb;
	return 0;
}

int kern_ring_fd(struct kern_ring *r)
{
	return ring_buffer__epoll_fd((struct ring_buffer *)r);
}

int kern_ring_consume(struct kern_ring *r)
{
	return ring_buffer__consume((struct ring_buffer *)r);
}

void kern_ring_close(struct kern_ring *r)
{
	ring_buffer__free((struct ring_buffer *)r);
}

int kern_conn_lookup(const struct kern_conns *k, const struct mcpf_conn_key *key, struct mcpf_conn *out)
{
	return kern_map_lookup(k->conns_fd, key, out);
}

void kern_conn_forget(const struct kern_conns *k, const struct mcpf_conn_key *key)
{
	kern_map_delete(k->conns_fd, key);
}

int kern_sock_mark(int socks_fd, int sock, __u32 mark)
{
	return kern_map_update(socks_fd, &sock, &mark, BPF_ANY);
}

int kern_mark_upstream(const struct kern_conns *k, int sock)
{
	return kern_sock_mark(k->socks_fd, sock, MCPF_SOCK_UPSTREAM);
}
