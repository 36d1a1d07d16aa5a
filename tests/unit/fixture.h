/* Shared test fixtures: the real metrics maps and a private bpffs. */
#ifndef MCPF_UNIT_FIXTURE_H
#define MCPF_UNIT_FIXTURE_H

#include <stddef.h>

#include "bytebuf.h"

/* CHECK returns from the function it fails in, so tests put their checks
 * in a body and let these run it between set-up and clean-up: the clean-up
 * happens whatever the body does. They return 0, or -1 if the set-up
 * failed (the body did not run). */

/* The maps of the real BPF object (via the skeleton, so BTF and sizes are
 * exactly the daemon's), created without loading any program, unpinned. */
int fixture_with_maps(void (*body)(int tool_fd, int daemon_fd));
/* Those maps pinned as tool_stats and daemon_stats in a fresh bpffs,
 * mounted on a temporary directory inside a private mount namespace of
 * this process (so it vanishes with the process even after a crash), the
 * overflow row prepared. */
int fixture_with_pinned_maps(void (*body)(int tool_fd, int daemon_fd, const char *bpffs));
/* A fresh temporary directory, removed with its files afterwards. */
int fixture_with_tmpdir(void (*body)(const char *dir));

/* Run fn(arg) in a child with stdout and stderr captured; returns the
 * child's exit status (or -1), the malloc'd stdout in *out and, if err is
 * not NULL, the malloc'd stderr in *err. */
int fixture_capture(int (*fn)(void *), void *arg, char **out, char **err);

/* Append in compressed with zlib: window 15+16 gzip, 15 zlib, -15 raw deflate. */
void fixture_compress(const char *in, size_t len, int window, struct bytebuf *out);

#endif /* MCPF_UNIT_FIXTURE_H */
