/* mcpfence run: load and attach the kernel side, then proxy until told to stop. */
#include <argp.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "acct.h"
#include "admin.h"
#include "approval_ctl.h"
#include "audit.h"
#include "common.h"
#include "kern_loader.h"
#include "commands.h"
#include "handover.h"
#include "endpoint_watch.h"
#include "enforce_lock.h"
#include "json_limits.h"
#include "log.h"
#include "loop.h"
#include "netns.h"
#include "policy_watch.h"
#include "prom.h"
#include "proxy.h"
#include "rate_limit.h"
#include "stats.h"
#include "sysfs.h"
#include "tool_inventory.h"
#include "tool_names.h"

#define DEFAULT_BODY_LIMIT (4u << 20)
/* Expired rate-limit windows are deleted this often so rate_state
 * does not fill up with budgets nobody will spend again. */
#define RATE_PRUNE_SECONDS 60
/* Below Kubernetes' default 30 s grace period, so a drain ends before SIGKILL. */
#define DEFAULT_DRAIN_SECONDS 25
/* A daemon that handed us its listeners lets go of the pin dir at once;
 * this only bounds a broken one. */
#define HANDOVER_LOCK_WAIT_MS 10000
/* How often a drain checks whether the last connection is gone. */
#define DRAIN_POLL_MS 50
/* --workers: more threads than this is a mistake, not a machine */
#define WORKERS_MAX 1024

struct run_args {
	const char *policy;
	const char *cgroup;
	const char *bpffs;
	const char *metrics;
	const char *state_dir;
	unsigned listen_port;
	const char *netns_dir;
	unsigned drain_timeout;
	size_t body_limit;
	struct audit_options audit;
	bool sockmap;
	bool fail_closed;
	bool keep_maps;
	bool agent_per_cgroup;
	struct json_limits json;
	struct conn_limits_config conn;
	size_t memory_budget;
	struct approval_ctl_opts approvals;
	unsigned workers;
};

enum {
	OPT_NO_SOCKMAP = 256, OPT_SOCKMAP, OPT_FAIL_CLOSED, OPT_KEEP_MAPS, OPT_NETNS_DIR, OPT_BODY_LIMIT,
	OPT_AUDIT, OPT_AUDIT_MAX_BYTES, OPT_AUDIT_KEEP, OPT_AUDIT_ARGS, OPT_AGENT_IDENTITY,
	OPT_STATE_DIR, OPT_DRAIN_TIMEOUT,
	OPT_MAX_BATCH, OPT_MAX_DEPTH, OPT_MAX_VALUES, OPT_MEMORY_BUDGET, OPT_MAX_CONNS, OPT_MAX_AGENT_CONNS,
	OPT_HEADER_TIMEOUT, OPT_BODY_TIMEOUT, OPT_IDLE_TIMEOUT,
	OPT_CONTROL, OPT_CONTROL_GROUP, OPT_MAX_APPROVALS, OPT_APPROVAL_HOOK,
	OPT_MAX_AGENT_APPROVALS, OPT_WORKERS,
};

static const struct argp_option run_options[] = {
	{ "policy", 'p', "FILE", 0, "Policy file (servers, endpoints, rules)", 0 },
	{ "cgroup", 'c', "DIR", 0, "cgroup v2 directory whose processes are intercepted (default: the cgroup2 root)", 0 },
	{ "bpffs", 'b', "DIR", 0, "Directory for pinned maps and links (default " MCPF_DEFAULT_BPFFS ")", 0 },
	{ "listen", 'l', "PORT", 0, "Preferred port of the daemon's loopback listeners in each network namespace (default 17001; another when taken)", 0 },
	{ "metrics", 'm', "ADDR", 0, "Address for /metrics and /healthz (default 127.0.0.1:17002; not 9464, OpenTelemetry's Prometheus exporter port)", 0 },
	{ "no-sockmap", OPT_NO_SOCKMAP, NULL, 0, "Do not accelerate the agent<->daemon hop with sk_msg (the default)", 0 },
	{ "sockmap", OPT_SOCKMAP, NULL, 0, "Accelerate the agent<->daemon hop with sk_msg (experimental: see README)", 0 },
	{ "fail-closed", OPT_FAIL_CLOSED, NULL, 0, "When the daemon is gone, refuse connections to registered endpoints; SIGTERM leaves the programs attached", 0 },
	{ "state-dir", OPT_STATE_DIR, "DIR", 0, "Where the running daemon listens for a successor to hand its listeners to (default " MCPF_DEFAULT_STATE_DIR ")", 0 },
	{ "drain-timeout", OPT_DRAIN_TIMEOUT, "SECONDS", 0, "On SIGTERM or after a handover, how long in-flight connections may take to finish (default 25)", 0 },
	{ "keep-maps", OPT_KEEP_MAPS, NULL, 0, "On exit, leave pinned maps (counters, rate-limit state) in place", 0 },
	{ "netns-dir", OPT_NETNS_DIR, "DIR", 0, "Named network namespaces to serve as they appear (default /run/netns, where ip netns and CNI plugins put them)", 0 },
	{ "body-limit", OPT_BODY_LIMIT, "BYTES", 0, "Largest request body inspected; larger ones get 413 (default 4 MiB). Replies held whole (tools/list, batches, encoded) may reach 64 MiB or this, if larger; others stream", 0 },
	{ "agent-identity", OPT_AGENT_IDENTITY, "process|cgroup", 0, "Who 'grant' and 'agent' limits count: each process (cgroup+uid+pid, the default) or each cgroup (cgroup+uid: new processes cannot start a fresh budget)", 0 },
	{ "audit", OPT_AUDIT, "FILE", 0, "Append one JSON line per decision to FILE", 0 },
	{ "audit-max-bytes", OPT_AUDIT_MAX_BYTES, "N", 0, "Rotate the audit log at N bytes; 0 never (default 100 MiB)", 0 },
	{ "audit-keep", OPT_AUDIT_KEEP, "N", 0, "Rotated, gzip-compressed audit files kept (default 5)", 0 },
	{ "audit-args", OPT_AUDIT_ARGS, NULL, 0, "Log tool arguments in the audit log, secrets redacted", 0 },
	{ "max-batch", OPT_MAX_BATCH, "N", 0, "Longest JSON-RPC batch; longer: 413 (default 100)", 0 },
	{ "max-json-depth", OPT_MAX_DEPTH, "N", 0, "Deepest JSON nesting in a request; deeper: 400 (default 64)", 0 },
	{ "max-json-values", OPT_MAX_VALUES, "N", 0, "Most JSON values and names in a request; more: 413 (default 50000; answers the daemon holds: at least 1000000)", 0 },
	{ "memory-budget", OPT_MEMORY_BUDGET, "BYTES", 0, "Bytes all connections together may hold (bodies, held replies, queues); new requests past it: 503 (default 256 MiB)", 0 },
	{ "max-conns", OPT_MAX_CONNS, "N", 0, "Connections in all; more: 503 (default 4096, less if the fd limit is lower)", 0 },
	{ "max-agent-conns", OPT_MAX_AGENT_CONNS, "N", 0, "Connections per agent (--agent-identity); more: 503 (default 1024)", 0 },
	{ "header-timeout", OPT_HEADER_TIMEOUT, "S", 0, "Seconds for a request head to complete; then 408 (default 10; 0 none)", 0 },
	{ "body-timeout", OPT_BODY_TIMEOUT, "S", 0, "Seconds for a held request body to complete; then 408 (default 30; 0 none)", 0 },
	{ "idle-timeout", OPT_IDLE_TIMEOUT, "S", 0, "Seconds an idle keep-alive connection, or an agent not reading its answers, is kept (default 60; 0 none)", 0 },
	{ "control", OPT_CONTROL, "PATH", 0, "Control socket for approvals (default " APPROVAL_CTL_DEFAULT_PATH ")", 0 },
	{ "control-group", OPT_CONTROL_GROUP, "GROUP", 0, "Members of GROUP may decide approvals too (default: root only); never from an agent's cgroup", 0 },
	{ "max-approvals", OPT_MAX_APPROVALS, "N", 0, "Calls held for approval at once; more are denied (default 100)", 0 },
	{ "max-agent-approvals", OPT_MAX_AGENT_APPROVALS, "N", 0, "Calls held for approval at once per agent (--agent-identity); more are denied (default 25)", 0 },
	{ "approval-hook", OPT_APPROVAL_HOOK, "CMD", 0, "Run '/bin/sh -c CMD' for each new held call, its details in MCPFENCE_APPROVAL_* variables", 0 },
	{ "workers", OPT_WORKERS, "N", 0, "Threads that serve connections (default: the CPUs the daemon may run on); listeners, control socket and metrics stay on the main thread", 0 },
	{ "verbose", 'v', NULL, 0, "Log each intercepted connection; twice for debug, three times for libbpf debug", 0 },
	{ 0 },
};

static unsigned long long parse_number(const char *arg, unsigned long long min,
				       unsigned long long max, struct argp_state *state)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || *arg == '\0' || *end != '\0' || arg[0] == '-' || v < min || v > max)
		argp_error(state, "invalid number '%s' (%llu..%llu)", arg, min, max);
	return v;
}

static error_t run_parse(int key, char *arg, struct argp_state *state)
{
	struct run_args *a = state->input;

	switch (key) {
	case 'p': a->policy = arg; break;
	case 'c': a->cgroup = arg; break;
	case 'b': a->bpffs = arg; break;
	case 'm': a->metrics = arg; break;
	case 'l': a->listen_port = parse_number(arg, 1, 65535, state); break;
	case OPT_NETNS_DIR: a->netns_dir = arg; break;
	case OPT_BODY_LIMIT: a->body_limit = parse_number(arg, 1, SIZE_MAX / 2, state); break;
	case OPT_AUDIT: a->audit.path = arg; break;
	case OPT_AUDIT_MAX_BYTES: a->audit.max_bytes = parse_number(arg, 0, UINT64_MAX, state); break;
	case OPT_AUDIT_KEEP: a->audit.keep = parse_number(arg, 0, 1000, state); break;
	case OPT_AUDIT_ARGS: a->audit.log_args = true; break;
	case OPT_NO_SOCKMAP: a->sockmap = false; break;
	case OPT_SOCKMAP: a->sockmap = true; break;
	case OPT_FAIL_CLOSED: a->fail_closed = true; break;
	case OPT_KEEP_MAPS: a->keep_maps = true; break;
	case OPT_STATE_DIR: a->state_dir = arg; break;
	case OPT_DRAIN_TIMEOUT: a->drain_timeout = parse_number(arg, 0, 3600, state); break;
	case OPT_AGENT_IDENTITY:
		if (strcmp(arg, "process") && strcmp(arg, "cgroup"))
			argp_error(state, "--agent-identity is 'process' or 'cgroup', not '%s'", arg);
		a->agent_per_cgroup = !strcmp(arg, "cgroup");
		break;
	case OPT_MAX_BATCH: a->json.max_batch = parse_number(arg, 1, 1000000, state); break;
	case OPT_MAX_DEPTH: a->json.max_depth = parse_number(arg, 2, 10000, state); break;
	case OPT_MAX_VALUES: a->json.max_nodes = parse_number(arg, 16, 100000000, state); break;
	case OPT_MEMORY_BUDGET: a->memory_budget = parse_number(arg, 1 << 20, SIZE_MAX / 2, state); break;
	case OPT_MAX_CONNS: a->conn.max_conns = parse_number(arg, 1, 1000000, state); break;
	case OPT_MAX_AGENT_CONNS: a->conn.max_conns_per_agent = parse_number(arg, 1, 1000000, state); break;
	case OPT_HEADER_TIMEOUT: a->conn.header_timeout_s = parse_number(arg, 0, 86400, state); break;
	case OPT_BODY_TIMEOUT: a->conn.body_timeout_s = parse_number(arg, 0, 86400, state); break;
	case OPT_IDLE_TIMEOUT: a->conn.idle_timeout_s = parse_number(arg, 0, 86400, state); break;
	case OPT_CONTROL: a->approvals.path = arg; break;
	case OPT_CONTROL_GROUP: a->approvals.group = arg; break;
	case OPT_MAX_APPROVALS: a->approvals.max_pending = parse_number(arg, 1, 100000, state); break;
	case OPT_MAX_AGENT_APPROVALS: a->approvals.max_per_agent = parse_number(arg, 1, 100000, state); break;
	case OPT_APPROVAL_HOOK: a->approvals.hook = arg; break;
	case OPT_WORKERS: a->workers = parse_number(arg, 1, WORKERS_MAX, state); break;
	case 'v': log_verbosity++; break;
	case ARGP_KEY_ARG: argp_error(state, "unexpected argument '%s'", arg); break;
	case ARGP_KEY_END:
		if (!a->policy)
			argp_error(state, "--policy FILE is required");
		if (!a->audit.path && (a->audit.log_args || a->audit.max_bytes != AUDIT_DEFAULT_MAX_BYTES ||
				       a->audit.keep != AUDIT_DEFAULT_KEEP))
			argp_error(state, "--audit-args, --audit-max-bytes and --audit-keep need --audit FILE");
		break;
	default: return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

struct daemon {
	struct loop loop;
	struct proxy proxy;
	struct netns_registry netns;
	struct admin admin;
	struct kern_state kern;
	struct policy_maps policy_maps;
	struct policy_watch policy;
	struct endpoint_watch resolver;
	struct watch signals;
	struct watch prune_timer;
	struct watch alive_timer;   /* daemon_alive beats */
	struct watch drain_timer;
	struct enforce enforce;
	struct tool_inventory inventory;
	struct handover_server handover;
	struct approval_ctl *approvals;
	unsigned drain_timeout;
	long long drain_deadline_ms;
	bool draining;
	bool drain_counted;      /* the connections left after the first idle close were logged */
	bool signalled;          /* SIGTERM/SIGINT came: the next one cuts a drain */
	bool handed_over;        /* a successor serves: leave everything attached */
	bool lock_released;      /* a successor owns the pin dir: no policy writes */
	bool fail_closed;
};

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void on_drain_timer(struct watch *w, uint32_t revents)
{
	struct daemon *d = container_of(w, struct daemon, drain_timer);
	bool late;

	(void)revents;
	if (!loop_timer_fired(w))
		return;
	late = monotonic_ms() >= d->drain_deadline_ms;
	/* the count means something once the workers closed their idle ones */
	if (proxy_closing_idle(&d->proxy) && !late)
		return;
	if (!d->drain_counted) {
		d->drain_counted = true;
		if (proxy_active(&d->proxy))
			log_info("draining %llu connection(s), at most %u s", proxy_active(&d->proxy), d->drain_timeout);
	}
	if (proxy_active(&d->proxy) == 0) {
		log_info("drained");
		d->loop.stop = true;
	} else if (late) {
		log_warn("drain timeout: closing %llu connection(s) still open", proxy_active(&d->proxy));
		d->loop.stop = true;
	} else {
		proxy_close_idle(&d->proxy);
	}
}

/* From here another daemon may lock the pin dir, load and compile its
 * policy into the shared maps: ours stops writing it. */
static void release_pin_dir(void *ctx)
{
	struct daemon *d = ctx;

	policy_watch_stop(&d->policy);
	loop_close(&d->loop, &d->alive_timer);  /* the successor beats and follows --cgroup */
	d->lock_released = true;
	kern_release_lock(&d->kern);
}

/* Stop accepting, let the calls in flight finish (bounded by
 * --drain-timeout; idle connections are closed as soon as they are), then
 * the loop ends. Without --fail-closed and with no
 * successor, the programs go first so new connections pass straight
 * through; otherwise they stay and connect4/6 refuse (fail-closed) or
 * redirect to the successor's listeners. */
static void begin_drain(struct daemon *d)
{
	int err;

	if (d->draining)
		return;
	d->draining = true;
	/* no more beats: a successor beats for itself; fail-open clears it as
	 * it detaches below; fail-closed refuses without one */
	loop_close(&d->loop, &d->alive_timer);
	d->admin.ready = false;
	/* held calls survive nothing: their agents get a denial now, and
	 * their connections can finish draining */
	approval_ctl_deny_all(d->approvals, "mcpfence is restarting or stopping: the call was not run");
	/* a successor that has the pin dir (even before it said it serves)
	 * owns the links: never detach them under it */
	if (!d->handed_over && !d->lock_released && !d->fail_closed)
		kern_detach(&d->kern);
	/* everything stays pinned for the next daemon: it may start now,
	 * while we drain, instead of failing on our lock */
	if (d->fail_closed && !d->lock_released)
		release_pin_dir(d);
	netns_stop(&d->netns);  /* stop accepting; a successor has the same sockets */
	handover_server_stop(&d->handover);
	if (d->drain_timeout == 0) {
		d->loop.stop = true;
		return;
	}
	proxy_close_idle(&d->proxy);  /* on the workers' threads: the drain timer counts what is left */
	d->drain_deadline_ms = monotonic_ms() + d->drain_timeout * 1000LL;
	if ((err = loop_every(&d->loop, &d->drain_timer, CLOCK_MONOTONIC, DRAIN_POLL_MS, on_drain_timer))) {
		log_warn("drain timer: %s; closing connections now", strerror(-err));
		d->loop.stop = true;
	}
}

static int handover_export(void *ctx, struct handover_item *items, int max)
{
	struct daemon *d = ctx;
	int n = netns_export(&d->netns, items, max);

	if (n < max && admin_export_listener(&d->admin, &items[n]) == 0)
		n++;
	return n;
}

static void handover_done(void *ctx)
{
	struct daemon *d = ctx;

	d->handed_over = true;
	/* the successor answers /metrics and /healthz on the same socket now */
	admin_stop(&d->admin);
	begin_drain(d);
}

static void handover_abandoned(void *ctx)
{
	struct daemon *d = ctx;
	int err = kern_relock(&d->kern);

	if (err) {
		/* someone else holds the pin dir now: leave the policy to it */
		log_warn("taking the pin dir lock back: %s", strerror(-err));
		return;
	}
	d->lock_released = false;
	if ((err = policy_watch_start(&d->policy, &d->loop)))
		log_warn("watching the policy file again: %s", strerror(-err));
	/* it may have changed while the successor tried */
	policy_watch_reload(&d->policy, "handover abandoned");
}

/* Time since exec, from the process start time (clock ticks since boot). */
static long long ms_since_exec(void)
{
	unsigned long long start = 0;
	char buf[1024], *p;
	FILE *f = fopen("/proc/self/stat", "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');   /* comm may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 &start) != 1)
		return -1;
	return (long long)(boot_time_ns() / 1000000) - start * 1000LL / sysconf(_SC_CLK_TCK);
}

static int render_metrics(struct bytebuf *out, void *ctx)
{
	const struct daemon *d = ctx;
	const struct netns_stats *ns = &d->netns.stats;
	int err;

	/* The stats maps need no lock, and with thousands of tool rows
	 * reading them takes a good fraction of a second: workers go on
	 * deciding meanwhile (the admin's callback runs in the main thread's
	 * batch, which holds enforce_lock once). */
	bool released = enforce_release_batch();

	err = acct_flush(d->enforce.acct);  /* calls answered so far are all counted */
	err = prom_render_maps(out, acct_tool_stats_fd(d->enforce.acct), acct_daemon_stats_fd(d->enforce.acct),
			       MCPF_VERSION) ?: err;
	if (released)
		enforce_lock();

	prom_metric(out, "mcpfence_netns_served", "gauge",
		    "Network namespaces with a daemon listener (the daemon's own included).", ns->served);
	prom_metric(out, "mcpfence_netns_found_total", "counter",
		    "Network namespaces the daemon started serving.", ns->found_total);
	prom_metric(out, "mcpfence_netns_reports_total", "counter",
		    "Kernel reports of an agent's socket or connect() in a namespace not served yet.",
		    ns->events_total);
	prom_metric(out, "mcpfence_netns_released_total", "counter",
		    "Network namespaces let go once no process and no name held them.", ns->released_total);
	if (err)
		log_warn("/metrics: reading the stats maps: %s", strerror(-err));
	else {
		endpoint_watch_render(&d->resolver, out);
		err = proxy_render_limits(&d->proxy, out);
		err = err ? err : tool_inventory_render(out, d->policy_maps.inventory_servers);
		if (d->approvals)
			approval_ctl_render(d->approvals, out);
	}
	return err ? -1 : 0;
}

static void on_signal(struct watch *w, uint32_t revents)
{
	struct daemon *d = container_of(w, struct daemon, signals);
	struct signalfd_siginfo si;

	(void)revents;
	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			if (d->lock_released)
				log_info("SIGHUP: the new daemon owns the policy maps; not reloading");
			else
				policy_watch_reload(&d->policy, "SIGHUP");
		} else if (d->draining && d->signalled) {
			log_info("signal %d while draining: closing connections now", si.ssi_signo);
			d->loop.stop = true;
		} else if (d->draining) {
			/* the rollout's SIGTERM after a handover: the drain goes on */
			d->signalled = true;
			log_info("signal %d: already draining after a handover; a second one cuts the drain",
				 si.ssi_signo);
		} else {
			d->signalled = true;
			log_info("signal %d: shutting down", si.ssi_signo);
			begin_drain(d);
		}
	}
}

static int setup_signals(struct daemon *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->signals.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d->signals.cb = on_signal;
	if (d->signals.fd < 0)
		return -errno;
	return loop_watch(&d->loop, &d->signals, EPOLLIN);
}

static void on_prune_timer(struct watch *w, uint32_t revents)
{
	struct daemon *d = container_of(w, struct daemon, prune_timer);
	int n;

	(void)revents;
	if (!loop_timer_fired(w))
		return;
	n = rate_prune(d->policy_maps.rate, boot_time_ns());
	if (n < 0)
		log_warn("pruning expired rate-limit windows: %s", strerror(-n));
	else if (n > 0)
		log_debug("pruned %d expired rate-limit windows", n);
}

/* The programs refuse rather than pass while this says a daemon runs;
 * and the agents' cgroup they pick is still the one at --cgroup. */
static void on_alive_timer(struct watch *w, uint32_t revents)
{
	struct daemon *d = container_of(w, struct daemon, alive_timer);
	int err;

	(void)revents;
	if (!loop_timer_fired(w))
		return;
	if ((err = kern_beat(&d->kern, true)))
		log_warn("writing daemon_alive: %s", strerror(-err));
	kern_follow_cgroup(&d->kern);
}

static int setup_timers(struct daemon *d)
{
	int err = loop_every(&d->loop, &d->prune_timer, CLOCK_MONOTONIC, RATE_PRUNE_SECONDS * 1000L, on_prune_timer);

	/* CLOCK_BOOTTIME, daemon_alive's: a resume from suspend beats at once */
	return err ? err : loop_every(&d->loop, &d->alive_timer, CLOCK_BOOTTIME, MCPF_ALIVE_BEAT_MS, on_alive_timer);
}

/* The cgroup2 mount, for the audit log's cgroup paths; -1 if unknown. */
static int open_cgroup2_mount(void)
{
	char mount[4096];
	int fd;

	if (cgroup2_mount(mount, sizeof(mount)))
		return -1;
	fd = open(mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		log_warn("%s: %s; audit lines will carry cgroup ids only", mount, strerror(errno));
	return fd;
}

/* The CPUs this process may run on (taskset, a cgroup cpuset), at least 1. */
static unsigned cpus_allowed(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 1;
	n = CPU_COUNT(&set);
	return n < 1 ? 1 : n > WORKERS_MAX ? WORKERS_MAX : (unsigned)n;
}

/* Thousands of connections are two descriptors each. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Maps and policy: the rest of what the proxy reads from d->enforce. */
static int setup_enforcement(struct daemon *d, const struct run_args *a, struct policy *policy,
			     bool predecessor_drains, struct audit_log **audit)
{
	struct enforce *e = &d->enforce;
	int err;

	kern_policy_maps(d->kern.skel, &d->policy_maps);
	e->policy = &d->policy_maps;
	tool_inventory_init(&d->inventory, d->policy_maps.inventory, d->policy_maps.inventory_servers);
	e->inventory = &d->inventory;
	if (!(e->acct = acct_new(kern_tool_stats_fd(&d->kern), kern_daemon_stats_fd(&d->kern), *audit,
				 open_cgroup2_mount()))) {
		policy_free(policy);
		return -ENOMEM;
	}
	*audit = NULL;  /* the accounting owns it */
	e->body_limit = a->body_limit;
	e->agent_per_cgroup = a->agent_per_cgroup;
	e->conn = a->conn;
	e->memory_budget = a->memory_budget;
	json_limits_configure(&a->json);
	if (!(e->listed = tool_names_new(TOOL_NAMES_DEFAULT_MAX)) ||
	    getrandom(e->session_secret, sizeof(e->session_secret), 0) != sizeof(e->session_secret)) {
		log_error("setting up: %s", strerror(errno));
		policy_free(policy);
		return -ENOMEM;
	}
	if ((err = acct_prepare(e->acct, !predecessor_drains))) {
		log_error("preparing the stats maps: %s", strerror(-err));
		policy_free(policy);
		return err;
	}
	d->policy.maps = &d->policy_maps;
	d->policy.daemon_stats_fd = acct_daemon_stats_fd(e->acct);
	return policy_watch_install(&d->policy, policy) ? -EINVAL : 0;
}

int cmd_run(int argc, char **argv)
{
	static const struct argp argp = { run_options, run_parse, NULL,
		"Intercept agents' connections to the policy's MCP endpoints and enforce the policy.", NULL, NULL, NULL };
	struct run_args a = {
		.bpffs = MCPF_DEFAULT_BPFFS,
		.metrics = "127.0.0.1:17002",
		.state_dir = MCPF_DEFAULT_STATE_DIR,
		.drain_timeout = DEFAULT_DRAIN_SECONDS,
		.listen_port = 17001, /* not 15001: Istio listens there inside pods */
		.netns_dir = "/run/netns",
		.sockmap = false, /* see README: spurious EAGAIN for blocking agents that half-close (6.18) */
		.body_limit = DEFAULT_BODY_LIMIT,
		.audit = { .max_bytes = AUDIT_DEFAULT_MAX_BYTES, .keep = AUDIT_DEFAULT_KEEP },
		.json = { JSON_DEFAULT_MAX_DEPTH, JSON_DEFAULT_MAX_NODES, JSON_DEFAULT_MAX_BATCH },
		.conn = { .max_conns_per_agent = CONN_DEFAULT_PER_AGENT,
			  .header_timeout_s = CONN_DEFAULT_HEADER_TIMEOUT, .body_timeout_s = CONN_DEFAULT_BODY_TIMEOUT,
			  .idle_timeout_s = CONN_DEFAULT_IDLE_TIMEOUT },
		.memory_budget = MEM_BUDGET_DEFAULT,
		.approvals = { .max_pending = APPROVAL_DEFAULT_MAX, .max_per_agent = APPROVAL_DEFAULT_AGENT_MAX },
	};
	struct handover_set inherited = { 0 };
	struct audit_log *audit = NULL;
	char cgroup_root[4096];
	struct policy *policy;
	struct daemon *d;
	int session = -1;  /* open while a predecessor hands over to us */
	bool detach;
	int err;

	argp_err_exit_status = 2;  /* usage errors exit 2, like the other commands */
	if (argp_parse(&argp, argc, argv, 0, NULL, &a))
		return 2;
	log_setup_libbpf();
	if (!a.cgroup) {
		if (cgroup2_mount(cgroup_root, sizeof(cgroup_root))) {
			log_error("no cgroup v2 mount in /proc/mounts; pass --cgroup DIR");
			return 1;
		}
		a.cgroup = cgroup_root;
	}
	raise_fd_limit();
	a.approvals.cgroup_dir = a.cgroup;
	if (!a.workers)
		a.workers = cpus_allowed();

	d = calloc(1, sizeof(*d));
	if (!d || loop_init(&d->loop)) {
		log_error("out of memory");
		free(d);
		return 1;
	}
	/* what the main thread's events touch, the workers reach under the lock */
	d->loop.lock = enforce_lock;
	d->loop.unlock = enforce_unlock;
	/* cleanup below runs on a partial set-up: nothing may look open */
	d->signals.fd = d->prune_timer.fd = d->alive_timer.fd = d->drain_timer.fd = d->resolver.timer.fd = -1;
	d->handover.listen.fd = d->handover.session.fd = -1;
	d->drain_timeout = a.drain_timeout;
	d->fail_closed = a.fail_closed;
	d->admin.listen.fd = -1;
	d->proxy.spare_fd = -1;
	d->kern.lock_fd = d->kern.cgroup_fd = -1;
	d->netns.home_fd = d->netns.names.fd = d->netns.events.fd = d->netns.sweep.fd = -1;
	struct kern_opts bo = {
		.bpffs = a.bpffs, .cgroup = a.cgroup, .sockmap = a.sockmap,
		.fail_closed = a.fail_closed, .listen_port = a.listen_port,
	};

	/* an invalid policy or audit file stops us before anything touches the kernel */
	err = policy_watch_init(&d->policy, a.policy);
	if (err) {
		log_error("%s: %s", a.policy, strerror(-err));
		goto cleanup;
	}
	policy = policy_watch_read(&d->policy);
	if (!policy) {
		log_error("%s: invalid policy, not starting", a.policy);
		err = -EINVAL;
		goto cleanup;
	}
	if (a.audit.path && !(audit = audit_open(&a.audit))) {
		err = -errno;
		log_error("--audit %s: %s", a.audit.path, strerror(-err));
		policy_free(policy);
		goto cleanup;
	}
	if ((err = setup_signals(d))) {
		policy_free(policy);
		goto cleanup;
	}
	/* a daemon still running on this pin dir (rolling update) hands over
	 * its listeners; a broken exchange leaves it serving, and us to fail
	 * on its lock or its ports */
	err = handover_fetch(a.state_dir, a.bpffs, &inherited, &session);
	if (err)
		log_warn("handover from the running daemon: %s", strerror(-err));
	bo.lock_wait_ms = session >= 0 ? HANDOVER_LOCK_WAIT_MS : 0;
	if ((err = admin_start(&d->admin, &d->loop, a.metrics, render_metrics, d, &inherited)) ||
	    (err = kern_load(&d->kern, &bo))) {
		policy_free(policy);
		goto cleanup;
	}
	/* listeners before programs: connect4/6 only redirect to a live one */
	if ((err = setup_enforcement(d, &a, policy, session >= 0, &audit)) ||
	    (err = policy_watch_start(&d->policy, &d->loop)) ||
	    (err = endpoint_watch_start(&d->resolver, &d->loop, &d->policy_maps)) ||
	    (err = setup_timers(d)) ||
	    (err = proxy_start(&d->proxy, &d->loop, kern_conns_of(&d->kern), &d->enforce, a.workers)) ||
	    (err = approval_ctl_start(&d->approvals, &d->loop, &d->proxy.wheel, &d->enforce, &a.approvals)) ||
	    (err = netns_start(&d->netns, &d->loop, &d->proxy, &d->kern, a.cgroup, a.netns_dir, a.listen_port,
			       &inherited)) ||
	    (err = kern_beat(&d->kern, true)) ||  /* serving every namespace may have taken a while */
	    (err = kern_attach(&d->kern, &bo)))
		goto cleanup;
	handover_set_free(&inherited);
	d->enforce.approvals = approval_ctl_store(d->approvals);
	d->admin.wheel = &d->proxy.wheel;  /* the admin's timeouts share the proxy's timerfd */
	d->policy.wheel = &d->proxy.wheel; /* ... and failed reloads' retries */
	d->admin.ready = true;
	if (session >= 0) {
		err = handover_taken(session);
		session = -1;
		if (err)
			log_warn("handover: telling the old daemon we serve: %s", strerror(-err));
	}
	struct handover_ops ho_ops = {
		.export_items = handover_export, .released = release_pin_dir,
		.taken = handover_done, .abandoned = handover_abandoned, .ctx = d,
	};
	err = handover_serve(&d->handover, &d->loop, a.state_dir, a.bpffs, &ho_ops);
	if (err)
		log_warn("--state-dir %s: %s; a successor will not get our listeners", a.state_dir, strerror(-err));
	log_info("intercepting for cgroup %s; listening on port %u; sockmap %s; %s; %u worker(s)",
		 a.cgroup, a.listen_port, a.sockmap ? "on" : "off",
		 a.fail_closed ? "fail-closed" : "fail-open", a.workers);
	log_info("serving %lld ms after exec (%s)", ms_since_exec(),
		 d->kern.adopted ? "adopted the pinned programs" : "attached the programs");

	err = loop_run(&d->loop);

cleanup:
	/* The programs stay attached (fail-closed, or for a successor) unless
	 * fail-open with nobody to take over; never while a predecessor that
	 * failed to hand over to us still serves on them. */
	detach = !a.fail_closed && !d->handed_over && !d->lock_released && session < 0;
	if (detach)
		kern_detach(&d->kern);  /* first: from here on new connections go straight to servers */
	if (session >= 0)
		close(session);
	handover_set_free(&inherited);
	handover_server_stop(&d->handover);
	netns_stop(&d->netns);
	/* denials written before the connections go: posted to the workers,
	 * which run them before their stop */
	enforce_lock();
	approval_ctl_deny_all(d->approvals, "mcpfence is stopping");
	enforce_unlock();
	proxy_stop(&d->proxy);  /* from here the main thread is the only one */
	approval_ctl_stop(d->approvals);
	kern_unload(&d->kern, detach, a.keep_maps);
	admin_stop(&d->admin);
	policy_watch_stop(&d->policy);
	endpoint_watch_stop(&d->resolver);
	policy_maps_release(&d->policy_maps);
	acct_free(d->enforce.acct);
	audit_close(audit);  /* opened, but the start failed before accounting took it */
	tool_names_free(d->enforce.listed);
	loop_close(&d->loop, &d->signals);
	loop_close(&d->loop, &d->prune_timer);
	loop_close(&d->loop, &d->alive_timer);
	loop_close(&d->loop, &d->drain_timer);
	loop_fini(&d->loop);
	free(d);
	return err ? 1 : 0;
}
