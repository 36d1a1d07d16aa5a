#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "utf8.h"
#include "approval_ctl.h"
#include "enforce.h"
#include "log.h"
#include "policy_compile.h"
#include "policy_scope.h"
#include "prom.h"
#include "sysfs.h"

#define CTL_CLIENTS_MAX 64
#define CTL_LINE_MAX (64 * 1024)
#define CTL_OUT_MAX (1u << 20)   /* a watcher that does not read is dropped past this */

struct ctl_client {
	struct watch w;
	struct approval_ctl *ctl;
	struct dlist link;           /* in ctl->clients */
	struct bytebuf in, out;
	bool watching;
	pid_t pid;
	int pidfd;                   /* the peer process itself (approval_peer_allowed) */
	uid_t uid;
	gid_t gid;
	struct deferred free_later;
};

struct hook_proc {
	struct watch w;              /* the child's pidfd */
	struct timer timer;
	struct approval_ctl *ctl;
	pid_t pid;
};

struct approval_ctl {
	struct loop *loop;
	struct timer_wheel *wheel;
	const struct enforce *enf;
	struct approval_store st;
	struct watch listen;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char intercepted[PATH_MAX];  /* run --cgroup relative to the cgroup2 root; "" when the root */
	gid_t group;
	bool have_group;
	char *hook;
	struct dlist clients;        /* struct ctl_client */
	unsigned n_clients;
	struct hook_proc hooks[APPROVAL_HOOKS_MAX];
	unsigned long long hooks_run, hooks_skipped;
};

/* ---- who may decide ---- */

/* The peer's cgroup v2 path, relative ("" for the root). */
static int peer_cgroup(pid_t pid, char *out, size_t len)
{
	char path[64], line[PATH_MAX + 8];
	FILE *f;
	int err = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::/", 4))
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (strlen(line + 4) >= len)
			break;
		memcpy(out, line + 4, strlen(line + 4) + 1);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

static bool path_inside(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return n && !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

static bool in_group(pid_t pid, gid_t gid, gid_t group)
{
	char path[64], line[4096];
	bool yes = gid == group;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (yes || !(f = fopen(path, "re")))
		return yes;
	while (!yes && fgets(line, sizeof(line), f)) {
		char *p = line + 7, *end;

		if (strncmp(line, "Groups:", 7))
			continue;
		for (;;) {
			unsigned long g = strtoul(p, &end, 10);

			if (end == p)
				break;
			if (g == group)
				yes = true;
			p = end;
		}
	}
	fclose(f);
	return yes;
}

int approval_peer_allowed(const struct enforce *enf, const char *intercepted_rel, gid_t group, bool have_group,
			  pid_t pid, int pidfd, uid_t uid, gid_t gid, const char **why)
{
	const struct policy_scopes *sc = enf && enf->policy ? enf->policy->scopes : NULL;
	char cg[PATH_MAX];
	bool member;

	if (peer_cgroup(pid, cg, sizeof(cg))) {
		*why = "the peer's cgroup cannot be read";
		return -EPERM;
	}
	member = have_group && in_group(pid, gid, group);
	/* read from /proc first, then: is the pid still the peer's? (a live
	 * or unreaped process keeps its pid) */
	if (pidfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0)) {
		*why = "the process that connected has exited";
		return -EPERM;
	}
	if (path_inside(cg, intercepted_rel)) {
		*why = "the peer runs inside the intercepted cgroup: an agent cannot decide approvals";
		return -EPERM;
	}
	for (size_t i = 0; sc && i < sc->n_servers; i++)
		for (size_t j = 0; j < sc->servers[i].n_agents; j++)
			if (policy_agent_covers(sc->servers[i].agents[j], cg)) {
				*why = "the peer runs in a cgroup the policy's \"agents\" cover: an agent cannot "
				       "decide approvals";
				return -EPERM;
			}
	if (uid != 0 && !member) {
		*why = have_group ? "only root or members of the control group may decide approvals"
				  : "only root may decide approvals (see run --control-group)";
		return -EPERM;
	}
	return 0;
}

/* ---- clients ---- */

static void client_free(struct deferred *d)
{
	struct ctl_client *cl = container_of(d, struct ctl_client, free_later);

	bb_free(&cl->in);
	bb_free(&cl->out);
	if (cl->pidfd >= 0)
		close(cl->pidfd);
	free(cl);
}

static void client_close(struct ctl_client *cl)
{
	struct approval_ctl *c = cl->ctl;

	if (cl->w.fd < 0)
		return;
	loop_close(c->loop, &cl->w);
	dlist_del(&cl->link);
	c->n_clients--;
	loop_defer(c->loop, &cl->free_later, client_free);
}

/* Write what is queued; false when the client was closed. */
static bool client_flush(struct ctl_client *cl)
{
	while (cl->out.len) {
		ssize_t n = send(cl->w.fd, cl->out.data, cl->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			bb_consume(&cl->out, n);
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			break;
		} else {
			client_close(cl);
			return false;
		}
	}
	if (cl->out.len > CTL_OUT_MAX) {
		client_close(cl);
		return false;
	}
	if (loop_watch(cl->ctl->loop, &cl->w, EPOLLIN | (cl->out.len ? EPOLLOUT : 0))) {
		client_close(cl);
		return false;
	}
	return true;
}

static void send_json(struct ctl_client *cl, cJSON *obj)
{
	char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;

	if (text) {
		bb_append_str(&cl->out, text);
		bb_putc(&cl->out, '\n');
	}
	cJSON_free(text);
	cJSON_Delete(obj);
}

static cJSON *call_json(const struct approval *a)
{
	const struct approval_subject *s = approval_subject_of(a);
	cJSON *o = cJSON_CreateObject(), *agent = cJSON_CreateObject(), *via = cJSON_CreateArray();
	char hash[17];

	if (!o || !agent || !via) {
		cJSON_Delete(o);
		cJSON_Delete(agent);
		cJSON_Delete(via);
		return NULL;
	}
	snprintf(hash, sizeof(hash), "%016llx", (unsigned long long)s->args_hash);
	cJSON_AddStringToObject(o, "id", approval_id(a));
	cJSON_AddNumberToObject(o, "age_s", (double)approval_age_s(a));
	cJSON_AddNumberToObject(o, "timeout_s", s->timeout_s);
	cJSON_AddStringToObject(o, "server", s->server);
	cJSON_AddStringToObject(o, "tool", s->tool);
	cJSON_AddNumberToObject(agent, "pid", s->pid);
	cJSON_AddNumberToObject(agent, "uid", s->uid);
	cJSON_AddStringToObject(agent, "comm", s->comm);
	cJSON_AddNumberToObject(agent, "cgroup", (double)s->cgroup_id);
	cJSON_AddStringToObject(agent, "cgroup_path", s->cgroup_path);
	cJSON_AddItemToObject(o, "agent", agent);
	cJSON_AddStringToObject(o, "args_hash", hash);
	cJSON_AddStringToObject(o, "args", s->summary);
	if (s->via & MCPF_VIA_ELICITATION)
		cJSON_AddItemToArray(via, cJSON_CreateString("elicitation"));
	if (s->via & MCPF_VIA_OPERATOR)
		cJSON_AddItemToArray(via, cJSON_CreateString("operator"));
	cJSON_AddItemToObject(o, "via", via);
	return o;
}

static cJSON *list_json(const struct approval_ctl *c)
{
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "pending");

	cJSON_AddTrueToObject(o, "ok");
	for (const struct approval *a = approval_first(&c->st); a && arr; a = approval_next(a))
		cJSON_AddItemToArray(arr, call_json(a));
	return o;
}

static cJSON *error_json(const char *why)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddFalseToObject(o, "ok");
	cJSON_AddStringToObject(o, "error", why);
	return o;
}

static void handle_request(struct ctl_client *cl, const char *line, size_t len)
{
	struct approval_ctl *c = cl->ctl;
	cJSON *req = cJSON_ParseWithLength(line, len);
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(req, "op");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "id");
	const cJSON *rem = cJSON_GetObjectItemCaseSensitive(req, "remember");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(req, "reason");
	const char *why;
	char by[64], text[256];
	int err;

	if (approval_peer_allowed(c->enf, c->intercepted, c->group, c->have_group, cl->pid, cl->pidfd, cl->uid,
				  cl->gid, &why)) {
		send_json(cl, error_json(why));
	} else if (!cJSON_IsString(op)) {
		send_json(cl, error_json("a request is {\"op\": \"list\"|\"watch\"|\"approve\"|\"deny\", ...}"));
	} else if (!strcmp(op->valuestring, "list") || !strcmp(op->valuestring, "watch")) {
		cl->watching |= !strcmp(op->valuestring, "watch");
		send_json(cl, list_json(c));
	} else if (strcmp(op->valuestring, "approve") && strcmp(op->valuestring, "deny")) {
		send_json(cl, error_json("unknown op"));
	} else if (!cJSON_IsString(id)) {
		send_json(cl, error_json("\"id\" missing"));
	} else if (rem && (!cJSON_IsNumber(rem) || rem->valuedouble < 0 || rem->valuedouble > 86400)) {
		send_json(cl, error_json("\"remember\" must be 0..86400 seconds"));
	} else if (reason && (!cJSON_IsString(reason) || strlen(reason->valuestring) > 200)) {
		send_json(cl, error_json("\"reason\" must be a string of at most 200 bytes"));
	} else {
		bool approve = !strcmp(op->valuestring, "approve");
		const struct approval *a = approval_find(&c->st, id->valuestring);

		if (a && !(approval_subject_of(a)->via & MCPF_VIA_OPERATOR)) {
			send_json(cl, error_json("the policy lets only the agent's own client decide this call"));
			cJSON_Delete(req);
			return;
		}

		snprintf(by, sizeof(by), "operator uid %u", (unsigned)cl->uid);
		if (reason && reason->valuestring[0])
			snprintf(text, sizeof(text), "declined by operator: %s", reason->valuestring);
		else
			snprintf(text, sizeof(text), "declined by operator");
		err = approval_decide(&c->st, id->valuestring, approve, rem ? (long)rem->valuedouble : -1, by, text);
		if (err) {
			send_json(cl, error_json("no pending call with that id"));
		} else {
			cJSON *ok = cJSON_CreateObject();

			cJSON_AddTrueToObject(ok, "ok");
			send_json(cl, ok);
		}
		log_info("approval %.32s %s by uid %u (pid %d)", id->valuestring,
			 err ? "not found" : approve ? "approved" : "declined", (unsigned)cl->uid, (int)cl->pid);
	}
	cJSON_Delete(req);
}

static void on_client(struct watch *w, uint32_t revents)
{
	struct ctl_client *cl = container_of(w, struct ctl_client, w);
	char buf[4096];

	if (revents & EPOLLIN) {
		ssize_t n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			client_close(cl);
			return;
		}
		if (n > 0 && bb_append(&cl->in, buf, n)) {
			client_close(cl);
			return;
		}
		for (;;) {
			char *nl = cl->in.len ? memchr(cl->in.data, '\n', cl->in.len) : NULL;

			if (!nl)
				break;
			handle_request(cl, cl->in.data, nl - cl->in.data);
			bb_consume(&cl->in, nl - cl->in.data + 1);
			if (cl->w.fd < 0)
				return;
		}
		if (cl->in.len > CTL_LINE_MAX) {
			client_close(cl);
			return;
		}
	}
	if (revents & (EPOLLERR | EPOLLHUP)) {
		client_close(cl);
		return;
	}
	client_flush(cl);
}

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* The connecting process itself (Linux 6.5); before that, a pidfd for its
 * pid opened now, which narrows pid reuse to the time before accept. */
static int peer_pidfd(int fd, pid_t pid, int *out)
{
	socklen_t len = sizeof(*out);

	if (!getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, out, &len))
		return 0;
	*out = errno == ENOPROTOOPT ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	return *out < 0 ? -1 : 0;
}

static void on_accept(struct watch *w, uint32_t revents)
{
	struct approval_ctl *c = container_of(w, struct approval_ctl, listen);
	struct ucred cred;
	socklen_t len;
	struct ctl_client *cl;
	const char *why;
	int fd, pidfd;

	(void)revents;
	while ((fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		cred = (struct ucred){ .pid = 0 };
		len = sizeof(cred);
		pidfd = -1;
		why = "the peer's credentials cannot be read, or no memory";
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || peer_pidfd(fd, cred.pid, &pidfd) ||
		    approval_peer_allowed(c->enf, c->intercepted, c->group, c->have_group, cred.pid, pidfd, cred.uid,
					  cred.gid, &why) || c->n_clients >= CTL_CLIENTS_MAX ||
		    !(cl = calloc(1, sizeof(*cl)))) {
			cJSON *err_obj;
			char *msg;

			if (c->n_clients >= CTL_CLIENTS_MAX)
				why = "too many control connections";
			/* why may hold quotes ("agents"): escaped by cJSON, one line */
			err_obj = error_json(why);
			msg = err_obj ? cJSON_PrintUnformatted(err_obj) : NULL;
			if (msg) {
				(void)!send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
				(void)!send(fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			}
			cJSON_free(msg);
			cJSON_Delete(err_obj);
			log_warn("control socket: refused pid %d uid %u: %s", (int)cred.pid, (unsigned)cred.uid, why);
			if (pidfd >= 0)
				close(pidfd);
			close(fd);
			continue;
		}
		cl->pidfd = pidfd;
		cl->ctl = c;
		cl->w.fd = fd;
		cl->w.cb = on_client;
		cl->pid = cred.pid;
		cl->uid = cred.uid;
		cl->gid = cred.gid;
		dlist_add_head(&c->clients, &cl->link);
		c->n_clients++;
		if (loop_watch(c->loop, &cl->w, EPOLLIN))
			client_close(cl);
	}
}

/* ---- the hook ---- */

static void hook_reap(struct hook_proc *h)
{
	timer_cancel(&h->timer);
	waitpid(h->pid, NULL, 0);  /* its pidfd said it exited: no wait */
	loop_close(h->ctl->loop, &h->w);
	h->pid = 0;
}

static void on_hook_exit(struct watch *w, uint32_t revents)
{
	(void)revents;
	hook_reap(container_of(w, struct hook_proc, w));
}

static void on_hook_timeout(struct timer *t)
{
	struct hook_proc *h = container_of(t, struct hook_proc, timer);

	log_warn("--approval-hook pid %d still running after %d s: killed", (int)h->pid, APPROVAL_HOOK_TIMEOUT_S);
	kill(h->pid, SIGKILL);  /* not reaped yet: the pid is still this child's */
}

static void run_hook(struct approval_ctl *c, const struct approval *a)
{
	const struct approval_subject *s = approval_subject_of(a);
	struct hook_proc *h = NULL;
	char env[11][512];
	char *envp[12], *argv[] = { "/bin/sh", "-c", c->hook, NULL };
	int n = 0, err;

	for (int i = 0; i < APPROVAL_HOOKS_MAX && !h; i++)
		if (!c->hooks[i].pid)
			h = &c->hooks[i];
	if (!h) {
		c->hooks_skipped++;
		log_warn("--approval-hook: %d already running; not run for %s", APPROVAL_HOOKS_MAX, approval_id(a));
		return;
	}
	snprintf(env[n++], sizeof(env[0]), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	snprintf(env[n++], sizeof(env[0]), "MCPFENCE_APPROVAL_ID=%s", approval_id(a));
	snprintf(env[n++], sizeof(env[0]), "MCPFENCE_APPROVAL_SERVER=%s", s->server);
	snprintf(env[n++], sizeof(env[0]), "MCPFENCE_APPROVAL_TOOL=%s", s->tool);
	snprintf(env[n++], sizeof(env[0]), "MCPFENCE_APPROVAL_PID=%u", s->pid);
	snprintf(env[n++], sizeof(env[0]), "MCPFENCE_APPROVAL_UID=%u", s->uid);
	snprintf(env[n++], sizeof(env[0]), "MCPFENCE_APPROVAL_COMM=%s", s->comm);
	snprintf(env[n++], sizeof(env[0]), "MCPFENCE_APPROVAL_CGROUP=%s", s->cgroup_path);
	snprintf(env[n++], sizeof(env[0]), "MCPFENCE_APPROVAL_ARGS_HASH=%016llx", (unsigned long long)s->args_hash);
	snprintf(env[n++], sizeof(env[0]), "MCPFENCE_APPROVAL_ARGS=%s", s->summary);
	snprintf(env[n++], sizeof(env[0]), "MCPFENCE_APPROVAL_TIMEOUT=%u", s->timeout_s);
	for (int i = 0; i < n; i++) {
		/* agent-chosen text (tool, comm, arguments): one line, no terminal
		 * control, whatever the hook does with it */
		char *v = strchr(env[i], '=') + 1;

		utf8_display(v, v, strlen(v) + 1);
		envp[i] = env[i];
	}
	envp[n] = NULL;
	err = posix_spawn(&h->pid, "/bin/sh", NULL, NULL, argv, envp);
	if (err) {
		h->pid = 0;
		log_warn("--approval-hook: %s", strerror(err));
		return;
	}
	c->hooks_run++;
	h->ctl = c;
	h->w.cb = on_hook_exit;
	h->w.fd = (int)syscall(SYS_pidfd_open, h->pid, 0);
	h->timer.fn = on_hook_timeout;
	if (h->w.fd < 0 || loop_watch(c->loop, &h->w, EPOLLIN)) {
		/* cannot follow it: wait for it here, after killing it */
		log_warn("--approval-hook: no pidfd (%s); killed", strerror(errno));
		kill(h->pid, SIGKILL);
		if (h->w.fd >= 0)
			close(h->w.fd);
		h->w.fd = -1;
		waitpid(h->pid, NULL, 0);
		h->pid = 0;
		return;
	}
	timer_arm(c->wheel, &h->timer, APPROVAL_HOOK_TIMEOUT_S);
}

/* ---- store events to watchers ---- */

static const char *const outcome_words[] = {
	[APPROVAL_APPROVED] = "approved", [APPROVAL_DECLINED] = "declined",
	[APPROVAL_TIMEOUT] = "approval_timeout", [APPROVAL_STOPPED] = "cancelled",
};

static void on_store_event(void *ctx, enum approval_event ev, const struct approval *a,
			   const struct approval_result *r)
{
	struct approval_ctl *c = ctx;
	struct dlist *n, *next;

	if (ev == APPROVAL_EV_NEW && c->hook)
		run_hook(c, a);
	dlist_for_each_safe(n, next, &c->clients) {
		struct ctl_client *cl = container_of(n, struct ctl_client, link);
		cJSON *o;

		if (!cl->watching || !(o = cJSON_CreateObject()))
			continue;
		if (ev == APPROVAL_EV_NEW) {
			cJSON_AddStringToObject(o, "event", "new");
			cJSON_AddItemToObject(o, "call", call_json(a));
		} else {
			cJSON_AddStringToObject(o, "event", "decided");
			cJSON_AddStringToObject(o, "id", approval_id(a));
			cJSON_AddStringToObject(o, "outcome", outcome_words[r->outcome]);
			cJSON_AddStringToObject(o, "by", r->by);
			cJSON_AddStringToObject(o, "reason", r->reason);
		}
		send_json(cl, o);
		client_flush(cl);
	}
}

/* ---- lifecycle ---- */

static int intercepted_rel(const char *cgroup_dir, char *out, size_t len)
{
	char root[PATH_MAX], mount[PATH_MAX], dir[PATH_MAX];
	size_t n;

	out[0] = '\0';
	if (!cgroup_dir || cgroup2_mount(root, sizeof(root)) || !realpath(root, mount) || !realpath(cgroup_dir, dir))
		return -ENOENT;
	n = strlen(mount);
	if (strncmp(dir, mount, n) || (dir[n] && dir[n] != '/'))
		return -EINVAL;
	snprintf(out, len, "%s", dir[n] ? dir + n + 1 : "");
	return 0;
}

int approval_ctl_dir_safe(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return -EPERM;
	return 0;
}

static int listen_at(struct approval_ctl *c, const char *path, gid_t group, bool have_group)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char tmp[sizeof(sun.sun_path)], dir[sizeof(sun.sun_path)], *slash;
	int fd, err;

	if (snprintf(c->path, sizeof(c->path), "%s", path) >= (int)sizeof(c->path) ||
	    snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	snprintf(dir, sizeof(dir), "%s", path);
	if (!(slash = strrchr(dir, '/'))) {
		snprintf(dir, sizeof(dir), ".");
	} else if (slash == dir) {
		dir[1] = '\0';
	} else {
		*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
	}
	err = approval_ctl_dir_safe(dir);
	if (err) {
		log_error("control socket: %s must be a directory of root (or this user) that nobody else can "
			  "write: %s", dir, strerror(-err));
		return err;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memcpy(sun.sun_path, tmp, strlen(tmp) + 1);
	unlink(tmp);
	/* made under its temporary name, then renamed over a predecessor's:
	 * the path always leads to a daemon that answers */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || chmod(tmp, 0660) ||
	    (have_group && chown(tmp, 0, group)) || listen(fd, 16) || rename(tmp, path)) {
		err = -errno;
		unlink(tmp);
		close(fd);
		return err;
	}
	c->listen.fd = fd;
	c->listen.cb = on_accept;
	return loop_watch(c->loop, &c->listen, EPOLLIN) ? -errno : 0;
}

int approval_ctl_start(struct approval_ctl **out, struct loop *loop, struct timer_wheel *wheel,
		       const struct enforce *enf, const struct approval_ctl_opts *o)
{
	struct approval_ctl *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->wheel = wheel;
	c->enf = enf;
	c->listen.fd = -1;
	approval_store_init(&c->st, wheel, o->max_pending);
	c->st.max_per_agent = o->max_per_agent < o->max_pending ? o->max_per_agent : 0;
	c->st.watch = on_store_event;
	c->st.watch_ctx = c;
	if (o->group) {
		struct group *g = getgrnam(o->group);

		if (!g) {
			log_error("--control-group %s: no such group", o->group);
			free(c);
			return -ENOENT;
		}
		c->group = g->gr_gid;
		c->have_group = true;
	}
	if (o->hook && !(c->hook = strdup(o->hook))) {
		free(c);
		return -ENOMEM;
	}
	if (intercepted_rel(o->cgroup_dir, c->intercepted, sizeof(c->intercepted))) {
		/* without it no peer could be told to be an agent: refuse to start */
		log_error("--cgroup %s: not under the cgroup2 mount; the control socket cannot tell agents "
			  "from operators", o->cgroup_dir);
		free(c->hook);
		free(c);
		return -EINVAL;
	}
	err = listen_at(c, o->path ? o->path : APPROVAL_CTL_DEFAULT_PATH, c->group, c->have_group);
	if (err && !o->path) {
		/* the default place (a read-only /run): held calls can still be
		 * answered in the agent's client or time out */
		log_warn("control socket %s: %s; no operator can decide approvals", APPROVAL_CTL_DEFAULT_PATH,
			 strerror(-err));
		err = 0;
	}
	if (err) {
		log_error("--control %s: %s", o->path ? o->path : APPROVAL_CTL_DEFAULT_PATH, strerror(-err));
		free(c->hook);
		free(c);
		return err;
	}
	*out = c;
	return 0;
}

struct approval_store *approval_ctl_store(struct approval_ctl *c)
{
	return &c->st;
}

void approval_ctl_deny_all(struct approval_ctl *c, const char *reason)
{
	if (c)
		approval_store_fini(&c->st, reason);
}

void approval_ctl_stop(struct approval_ctl *c)
{
	struct stat st;

	if (!c)
		return;
	approval_store_fini(&c->st, "mcpfence is stopping");
	while (!dlist_empty(&c->clients))
		client_close(container_of(dlist_first(&c->clients), struct ctl_client, link));
	/* the path may be a successor's socket by now: only ours goes */
	if (c->listen.fd >= 0) {
		struct stat mine;

		if (!fstat(c->listen.fd, &mine) && !stat(c->path, &st) && st.st_ino == mine.st_ino)
			unlink(c->path);
		loop_close(c->loop, &c->listen);
	}
	for (int i = 0; i < APPROVAL_HOOKS_MAX; i++)
		if (c->hooks[i].pid) {
			/* the daemon is going: a hook still running (up to its
			 * timeout) must not hold up a stop or a handover */
			kill(c->hooks[i].pid, SIGKILL);
			hook_reap(&c->hooks[i]);
		}
	free(c->hook);
	free(c);
}

void approval_ctl_render(const struct approval_ctl *c, struct bytebuf *b)
{
	static const unsigned le[APPROVAL_LATENCY_BUCKETS - 1] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024,
								    2048, 4096, 8192, 16384, 32768 };
	const struct approval_store *st = &c->st;
	unsigned long long cum = 0, count = st->approved_total + st->declined_total + st->timeout_total;

	prom_metric(b, "mcpfence_approvals_pending", "gauge", "Calls held for a human's approval now.",
		    st->n_pending);
	bb_printf(b, "# HELP mcpfence_approvals_total Held calls by outcome.\n"
		     "# TYPE mcpfence_approvals_total counter\n"
		     "mcpfence_approvals_total{outcome=\"approved\"} %llu\n"
		     "mcpfence_approvals_total{outcome=\"declined\"} %llu\n"
		     "mcpfence_approvals_total{outcome=\"approval_timeout\"} %llu\n",
		  st->approved_total, st->declined_total, st->timeout_total);
	prom_metric(b, "mcpfence_approvals_refused_total", "counter",
		    "Calls denied because too many were already held (run --max-approvals).", st->refused_full_total);
	bb_printf(b, "# HELP mcpfence_approval_latency_seconds From holding a call to its decision.\n"
		     "# TYPE mcpfence_approval_latency_seconds histogram\n");
	for (unsigned i = 0; i < sizeof(le) / sizeof(le[0]); i++) {
		cum += st->latency_hist[i];
		bb_printf(b, "mcpfence_approval_latency_seconds_bucket{le=\"%u\"} %llu\n", le[i], cum);
	}
	bb_printf(b, "mcpfence_approval_latency_seconds_bucket{le=\"+Inf\"} %llu\n"
		     "mcpfence_approval_latency_seconds_sum %llu.%03llu\n"
		     "mcpfence_approval_latency_seconds_count %llu\n",
		  count, st->latency_sum_ms / 1000, st->latency_sum_ms % 1000, count);
}
