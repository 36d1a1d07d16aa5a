#include "gzip_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <zlib.h>

int gzip_file(const char *src, const char *dst)
{
	char tmp[PATH_MAX], buf[1 << 16];
	int in, out, sync_fd, err = 0;
	gzFile gz;
	ssize_t n;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", dst) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		err = -errno;
		close(in);
		return err;
	}
	sync_fd = dup(out);  /* gzclose closes out; fsync needs a descriptor after it */
	gz = sync_fd < 0 ? NULL : gzdopen(out, "wb6");
	if (!gz) {
		err = sync_fd < 0 ? -errno : -ENOMEM;
		close(out);
		goto fail;
	}
	for (;;) {
		n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		if (gzwrite(gz, buf, (unsigned int)n) != (int)n) {
			err = -EIO;
			break;
		}
	}
	if (gzclose(gz) != Z_OK && !err)
		err = -EIO;
	if (!err && fsync(sync_fd))
		err = -errno;
	if (!err && rename(tmp, dst))
		err = -errno;
fail:
	if (sync_fd >= 0)
		close(sync_fd);
	close(in);
	if (err)
		unlink(tmp);
	return err;
}
