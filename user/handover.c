#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "common.h"
#include "handover.h"
#include "log.h"

#define HO_MAGIC 0x4d46484fu      /* "MFHO" */
#define HO_TIMEOUT_S 5            /* new daemon: the whole exchange */
#define HO_STALE_S 10             /* old daemon: a session this old gives way to a new one */

enum ho_type { HO_HELLO = 1, HO_ITEMS, HO_DONE, HO_TAKEN, HO_REFUSE };

struct ho_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t count;           /* ITEMS: items in this message; DONE: items in all */
	uint32_t len;             /* bytes after the header */
};

struct ho_wire_item {
	uint16_t kind;
	uint16_t family;
	uint8_t has_netns;        /* a netns fd follows the socket fd */
	uint8_t pad[3];
	uint64_t netns_cookie;
};

#define HO_MAX_BODY (HANDOVER_BATCH * sizeof(struct ho_wire_item) > 4096 ? \
		     HANDOVER_BATCH * sizeof(struct ho_wire_item) : 4096)
#define HO_MAX_FDS (2 * HANDOVER_BATCH)

struct ho_msg {
	struct ho_hdr h;
	char body[HO_MAX_BODY];
};

static int sock_path(char *out, size_t len, const char *dir, const char *suffix)
{
	int n = snprintf(out, len, "%s/" HANDOVER_SOCK_NAME "%s", dir, suffix);

	/* sun_path is 108 bytes */
	return n < 0 || (size_t)n >= len || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path)
		       ? -ENAMETOOLONG : 0;
}

static socklen_t unix_addr(struct sockaddr_un *sun, const char *path)
{
	/* sock_path() checked that path fits */
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, strnlen(path, sizeof(sun->sun_path) - 1));
	return sizeof(*sun);
}

/* Only root or the daemon's own uid may take part. */
static bool peer_trusted(int fd, pid_t *pid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return false;
	*pid = cred.pid;
	return cred.uid == 0 || cred.uid == geteuid();
}

static int send_msg(int fd, uint16_t type, uint32_t count, const void *body, uint32_t len,
		    const int *fds, int nfds, int flags)
{
	char cbuf[CMSG_SPACE(sizeof(int) * HO_MAX_FDS)] = { 0 };
	struct ho_hdr h = { .magic = HO_MAGIC, .version = HANDOVER_VERSION, .type = type, .count = count, .len = len };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)body, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	if (nfds) {
		struct cmsghdr *cm;

		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	if (sendmsg(fd, &mh, flags | MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

/* One message; fds (if any) land in fds[], their count in *nfds. A
 * message that does not fit, or fds that were cut off, is -EPROTO (with
 * whatever fds arrived closed). */
static int recv_msg(int fd, struct ho_msg *m, int *fds, int *nfds, int flags)
{
	char cbuf[CMSG_SPACE(sizeof(int) * HO_MAX_FDS)];
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(fd, &mh, flags | MSG_CMSG_CLOEXEC);
	int got = 0;

	if (n < 0)
		return -errno;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		int k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (int i = 0; i < k; i++) {
			int f;

			memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (fds && got < HO_MAX_FDS)
				fds[got++] = f;
			else
				close(f);
		}
	}
	if (nfds)
		*nfds = got;
	if (n == 0)
		return -ECONNRESET;
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n < sizeof(m->h) ||
	    m->h.magic != HO_MAGIC || m->h.len != (size_t)n - sizeof(m->h)) {
		for (int i = 0; i < got; i++)
			close(fds[i]);
		if (nfds)
			*nfds = 0;
		return -EPROTO;
	}
	return 0;
}

/* ---- the running daemon's side ---- */

/* Close the copies of what is still to be sent. */
static void out_free(struct handover_server *hs)
{
	for (int i = 0; i < hs->n_out; i++) {
		close(hs->out[i].fd);
		if (hs->out[i].netns_fd >= 0)
			close(hs->out[i].netns_fd);
	}
	free(hs->out);
	hs->out = NULL;
	hs->n_out = hs->next_out = 0;
}

static void session_end(struct handover_server *hs)
{
	bool was_released = hs->released;

	out_free(hs);
	hs->sending = false;
	loop_close(hs->loop, &hs->session);
	hs->released = false;
	if (was_released)
		hs->ops.abandoned(hs->ops.ctx);
}

static void refuse(int fd, const char *why)
{
	send_msg(fd, HO_REFUSE, 0, why, strlen(why), NULL, 0, MSG_DONTWAIT);
}

/* Copies of the daemon's listeners to send: its own may close meanwhile
 * (a netns gone), and a closed number could be reused by anything. */
static int export_copies(struct handover_server *hs)
{
	struct handover_item *items = calloc(HANDOVER_MAX_ITEMS, sizeof(*items));
	int n;

	if (!items)
		return -ENOMEM;
	n = hs->ops.export_items(hs->ops.ctx, items, HANDOVER_MAX_ITEMS);
	hs->out = items;
	for (int i = 0; i < n; i++) {
		int fd = fcntl(items[i].fd, F_DUPFD_CLOEXEC, 0);
		int ns = items[i].netns_fd >= 0 ? fcntl(items[i].netns_fd, F_DUPFD_CLOEXEC, 0) : -1;

		if (fd < 0 || (items[i].netns_fd >= 0 && ns < 0)) {
			int err = -errno;

			if (fd >= 0)
				close(fd);
			return err;   /* out_free closes the copies made so far */
		}
		items[i].fd = fd;
		items[i].netns_fd = ns;
		hs->n_out = i + 1;
	}
	return n < 0 ? n : 0;
}

/* Send what is left, batch by batch, then DONE. Never blocks: when the
 * peer's socket is full, go on when it is writable again. 1 when all is
 * sent, 0 when waiting, -errno. */
static int pump(struct handover_server *hs)
{
	int err = 0;

	while (hs->next_out < hs->n_out) {
		struct ho_wire_item wire[HANDOVER_BATCH];
		int fds[HO_MAX_FDS], nfds = 0, at = hs->next_out;
		int k = hs->n_out - at < HANDOVER_BATCH ? hs->n_out - at : HANDOVER_BATCH;

		memset(wire, 0, sizeof(wire));
		for (int i = 0; i < k; i++) {
			const struct handover_item *it = &hs->out[at + i];

			wire[i].kind = it->kind;
			wire[i].family = it->family;
			wire[i].netns_cookie = it->netns_cookie;
			wire[i].has_netns = it->netns_fd >= 0;
			fds[nfds++] = it->fd;
			if (it->netns_fd >= 0)
				fds[nfds++] = it->netns_fd;
		}
		err = send_msg(hs->session.fd, HO_ITEMS, k, wire, k * sizeof(wire[0]), fds, nfds, MSG_DONTWAIT);
		if (err)
			break;
		hs->next_out += k;
	}
	if (!err)
		err = send_msg(hs->session.fd, HO_DONE, hs->n_out, NULL, 0, NULL, 0, MSG_DONTWAIT);
	if (err == -EAGAIN)
		return loop_watch(hs->loop, &hs->session, EPOLLIN | EPOLLOUT);
	if (err)
		return err;
	log_info("handover: sent %d listener(s) to the new daemon", hs->n_out);
	out_free(hs);
	hs->sending = false;
	hs->released = true;
	hs->ops.released(hs->ops.ctx);
	return loop_watch(hs->loop, &hs->session, EPOLLIN) ?: 1;
}

static void on_hello(struct handover_server *hs, struct ho_msg *m)
{
	size_t len = m->h.len < sizeof(m->body) ? m->h.len : sizeof(m->body) - 1;
	int err;

	m->body[len] = '\0';
	if (m->h.version != HANDOVER_VERSION) {
		refuse(hs->session.fd, "protocol version not spoken here");
		log_warn("handover: peer speaks version %u, we speak %u", m->h.version, HANDOVER_VERSION);
		session_end(hs);
		return;
	}
	if (strcmp(m->body, hs->bpffs)) {
		refuse(hs->session.fd, "another --bpffs");
		log_warn("handover: peer is for --bpffs %s, not ours (%s)", m->body, hs->bpffs);
		session_end(hs);
		return;
	}
	hs->sending = true;
	if ((err = export_copies(hs)) || (err = pump(hs)) < 0) {
		log_warn("handover: sending listeners: %s", strerror(-err));
		session_end(hs);
	}
}

static void on_session(struct watch *w, uint32_t revents)
{
	struct handover_server *hs = container_of(w, struct handover_server, session);
	struct ho_msg *m;
	int err;

	if (hs->sending && (revents & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		if ((err = pump(hs)) < 0) {
			log_warn("handover: sending listeners: %s", strerror(-err));
			session_end(hs);
		}
		return;
	}
	if (hs->sending)
		return;  /* nothing is read from the peer before everything is sent */
	m = malloc(sizeof(*m));
	if (!m) {
		session_end(hs);
		return;
	}
	err = recv_msg(w->fd, m, NULL, NULL, MSG_DONTWAIT);
	if (err == -EAGAIN || err == -EINTR) {
		free(m);
		return;
	}
	if (err) {
		if (hs->released)
			log_warn("handover: the new daemon left before taking over (%s); still serving",
				 strerror(-err));
		else if (err != -ECONNRESET)
			log_warn("handover: bad message from peer: %s", strerror(-err));
		session_end(hs);
	} else if (!hs->released && m->h.type == HO_HELLO) {
		on_hello(hs, m);
	} else if (hs->released && m->h.type == HO_TAKEN) {
		log_info("handover: the new daemon serves; draining");
		hs->released = false;
		loop_close(hs->loop, &hs->session);
		/* no more handovers from here: the successor has its own socket */
		loop_close(hs->loop, &hs->listen);
		hs->ops.taken(hs->ops.ctx);
	} else {
		log_warn("handover: unexpected message type %u", m->h.type);
		session_end(hs);
	}
	free(m);
}

static void on_handover_accept(struct watch *w, uint32_t revents)
{
	struct handover_server *hs = container_of(w, struct handover_server, listen);
	char link[64], exe[512];
	pid_t pid = 0;
	ssize_t n;
	int fd;

	(void)revents;
	fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (!peer_trusted(fd, &pid)) {
		log_warn("handover: refused pid %d: not root nor our uid", (int)pid);
		close(fd);
		return;
	}
	if (hs->session.fd >= 0) {
		if (monotonic_s() - hs->session_start_s < HO_STALE_S) {
			refuse(fd, "a handover is in progress");
			close(fd);
			return;
		}
		log_warn("handover: dropping a session that stalled for %d s", HO_STALE_S);
		session_end(hs);
	}
	/* not a check (an upgrade brings another binary), a record */
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	log_info("handover: new daemon pid %d (%s) connected", (int)pid, n > 0 ? exe : "?");
	hs->session.fd = fd;
	hs->session.cb = on_session;
	hs->session_start_s = monotonic_s();
	if (loop_watch(hs->loop, &hs->session, EPOLLIN))
		loop_close(hs->loop, &hs->session);
}

int handover_serve(struct handover_server *hs, struct loop *loop, const char *state_dir,
		   const char *bpffs, const struct handover_ops *ops)
{
	char tmp[4200], suffix[32];
	struct sockaddr_un sun;
	struct stat st;
	int fd, err;

	memset(hs, 0, sizeof(*hs));
	hs->listen.fd = hs->session.fd = -1;
	hs->loop = loop;
	hs->ops = *ops;
	snprintf(hs->bpffs, sizeof(hs->bpffs), "%s", bpffs);
	snprintf(suffix, sizeof(suffix), ".%d", (int)getpid());
	if ((err = sock_path(hs->path, sizeof(hs->path), state_dir, "")) ||
	    (err = sock_path(tmp, sizeof(tmp), state_dir, suffix)))
		return err;
	if (mkdir(state_dir, 0700) && errno != EEXIST)
		return -errno;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(tmp);
	if (bind(fd, (struct sockaddr *)&sun, unix_addr(&sun, tmp)) || chmod(tmp, 0600) ||
	    listen(fd, 4) || rename(tmp, hs->path) || stat(hs->path, &st)) {
		err = -errno;
		unlink(tmp);
		close(fd);
		return err;
	}
	hs->path_dev = st.st_dev;
	hs->path_ino = st.st_ino;
	hs->listen.fd = fd;
	hs->listen.cb = on_handover_accept;
	return loop_watch(loop, &hs->listen, EPOLLIN);
}

void handover_server_stop(struct handover_server *hs)
{
	struct stat st;

	if (!hs->loop)
		return;
	out_free(hs);
	loop_close(hs->loop, &hs->session);
	if (hs->listen.fd >= 0 && stat(hs->path, &st) == 0 &&
	    st.st_dev == hs->path_dev && st.st_ino == hs->path_ino)
		unlink(hs->path);
	loop_close(hs->loop, &hs->listen);
}

/* ---- the new daemon's side ---- */

static uint64_t netns_cookie_of(int fd)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);

	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
		return 0;
	return cookie;
}

/* Believe the kernel, not the message: a listening TCP socket of the
 * family and netns it is said to be, and a netns fd that is one. */
static int check_item(const struct handover_item *it)
{
	int v, acc;
	socklen_t len = sizeof(v);

	if (it->kind != HANDOVER_PROXY_LISTENER && it->kind != HANDOVER_ADMIN_LISTENER)
		return -EPROTO;
	if (getsockopt(it->fd, SOL_SOCKET, SO_DOMAIN, &v, &len) || v != it->family ||
	    (v != AF_INET && v != AF_INET6))
		return -EPROTO;
	len = sizeof(v);
	if (getsockopt(it->fd, SOL_SOCKET, SO_TYPE, &v, &len) || v != SOCK_STREAM)
		return -EPROTO;
	len = sizeof(acc);
	if (getsockopt(it->fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) || !acc)
		return -EPROTO;
	if (netns_cookie_of(it->fd) != it->netns_cookie)
		return -EPROTO;
	if (it->netns_fd >= 0 && ioctl(it->netns_fd, NS_GET_NSTYPE) != CLONE_NEWNET)
		return -EPROTO;
	return 0;
}

static int take_items(struct handover_set *set, const struct ho_msg *m, const int *fds, int nfds)
{
	const struct ho_wire_item *wire = (const void *)m->body;
	int used = 0, err = 0;

	if (m->h.count == 0 || m->h.count > HANDOVER_BATCH || m->h.len != m->h.count * sizeof(*wire) ||
	    set->n + m->h.count > HANDOVER_MAX_ITEMS)
		err = -EPROTO;
	for (uint32_t i = 0; !err && i < m->h.count; i++) {
		struct handover_item *it = &set->items[set->n];

		if (used + 1 + !!wire[i].has_netns > nfds) {
			err = -EPROTO;
			break;
		}
		*it = (struct handover_item){ .kind = wire[i].kind, .family = wire[i].family,
					      .netns_cookie = wire[i].netns_cookie,
					      .fd = fds[used++], .netns_fd = -1 };
		if (wire[i].has_netns)
			it->netns_fd = fds[used++];
		set->n++;
		err = check_item(it);
	}
	if (!err && used != nfds)
		err = -EPROTO;
	for (int i = used; i < nfds; i++)
		close(fds[i]);
	return err;
}

void handover_set_free(struct handover_set *set)
{
	for (int i = 0; i < set->n; i++) {
		if (set->items[i].fd >= 0)
			close(set->items[i].fd);
		if (set->items[i].netns_fd >= 0)
			close(set->items[i].netns_fd);
	}
	free(set->items);
	set->items = NULL;
	set->n = 0;
}

static int exchange(int fd, const char *bpffs, struct handover_set *set)
{
	struct ho_msg *m = malloc(sizeof(*m));
	long long deadline = monotonic_s() + HO_TIMEOUT_S;
	int fds[HO_MAX_FDS], nfds, err;

	if (!m)
		return -ENOMEM;
	err = send_msg(fd, HO_HELLO, 0, bpffs, strlen(bpffs), NULL, 0, 0);
	while (!err) {
		/* each recv is bounded by SO_RCVTIMEO, the whole exchange by this */
		if (monotonic_s() > deadline) {
			err = -ETIMEDOUT;
			break;
		}
		err = recv_msg(fd, m, fds, &nfds, 0);
		if (err)
			break;
		if (m->h.type == HO_ITEMS) {
			err = take_items(set, m, fds, nfds);
			continue;
		}
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		if (m->h.type == HO_DONE && m->h.count == (uint32_t)set->n)
			break;
		if (m->h.type == HO_REFUSE) {
			size_t len = m->h.len < sizeof(m->body) ? m->h.len : sizeof(m->body) - 1;

			m->body[len] = '\0';
			log_warn("handover: the running daemon refused: %s", m->body);
			err = -ECONNREFUSED;
		} else {
			err = -EPROTO;
		}
	}
	free(m);
	return err;
}

int handover_fetch(const char *state_dir, const char *bpffs, struct handover_set *set, int *session)
{
	struct timeval tv = { .tv_sec = HO_TIMEOUT_S };
	char path[4200];
	struct sockaddr_un sun;
	pid_t pid = 0;
	int fd, err;

	*session = -1;
	memset(set, 0, sizeof(*set));
	if ((err = sock_path(path, sizeof(path), state_dir, "")))
		return err;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, unix_addr(&sun, path))) {
		err = -errno;
		close(fd);
		/* no daemon before us (or one killed: its socket file stays) */
		return err == -ENOENT || err == -ECONNREFUSED ? 0 : err;
	}
	if (!peer_trusted(fd, &pid)) {
		log_warn("handover: %s belongs to pid %d, neither root nor our uid; ignored", path, (int)pid);
		close(fd);
		return 0;
	}
	set->items = calloc(HANDOVER_MAX_ITEMS, sizeof(*set->items));
	if (!set->items) {
		close(fd);
		return -ENOMEM;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	err = exchange(fd, bpffs, set);
	if (err) {
		handover_set_free(set);
		close(fd);
		return err == -ECONNREFUSED ? 0 : err;
	}
	log_info("handover: received %d listener(s) from pid %d", set->n, (int)pid);
	*session = fd;
	return 0;
}

int handover_taken(int session)
{
	int err = send_msg(session, HO_TAKEN, 0, NULL, 0, NULL, 0, 0);

	close(session);
	return err;
}
