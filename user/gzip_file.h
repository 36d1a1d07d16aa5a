/* Compress one file into a gzip file with zlib. */
#ifndef MCPF_GZIP_FILE_H
#define MCPF_GZIP_FILE_H

/* Write src gzip-compressed to dst: through dst.tmp, fsync'd and renamed,
 * so dst is either absent or complete. src is left in place. 0 or -errno. */
int gzip_file(const char *src, const char *dst);

#endif /* MCPF_GZIP_FILE_H */
