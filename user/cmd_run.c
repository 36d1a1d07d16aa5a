/* mcpfence run: load and attach the kernel side, then proxy until told to stop. */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "admin.h"
#include "bpf_loader.h"
#include "commands.h"
#include "log.h"
#include "loop.h"
#include "proxy.h"
#include "sysfs.h"
#include "targets.h"

struct run_args {
	const char *policy;
	const char *cgroup;
	const char *bpffs;
	const char *metrics;
	unsigned listen_port;
	unsigned mark;
	bool sockmap;
	bool fail_closed;
	bool keep_maps;
};

enum { OPT_NO_SOCKMAP = 256, OPT_SOCKMAP, OPT_FAIL_CLOSED, OPT_KEEP_MAPS, OPT_MARK };

static const struct argp_option run_options[] = {
	{ "policy", 'p', "FILE", 0, "Policy file (servers, endpoints, rules)", 0 },
	{ "cgroup", 'c', "DIR", 0, "cgroup v2 directory whose processes are intercepted (default: the cgroup2 root)", 0 },
	{ "bpffs", 'b', "DIR", 0, "Directory for pinned maps and links (default /sys/fs/bpf/mcpfence)", 0 },
	{ "listen", 'l', "PORT", 0, "Port of the daemon's loopback listeners (default 15001)", 0 },
	{ "metrics", 'm', "ADDR", 0, "Address for /metrics and /healthz (default 127.0.0.1:9464)", 0 },
	{ "no-sockmap", OPT_NO_SOCKMAP, NULL, 0, "Do not accelerate the agent<->daemon hop with sk_msg (the default)", 0 },
	{ "sockmap", OPT_SOCKMAP, NULL, 0, "Accelerate the agent<->daemon hop with sk_msg (experimental: see README)", 0 },
	{ "fail-closed", OPT_FAIL_CLOSED, NULL, 0, "When the daemon is gone, refuse connections to registered endpoints", 0 },
	{ "keep-maps", OPT_KEEP_MAPS, NULL, 0, "On exit, leave pinned maps (counters, rate-limit state) in place", 0 },
	{ "mark", OPT_MARK, "N", 0, "SO_MARK of the daemon's upstream sockets (default 0x4d46)", 0 },
	{ "verbose", 'v', NULL, 0, "Log each intercepted connection; twice for debug, three times for libbpf debug", 0 },
	{ 0 },
};

static unsigned long parse_number(const char *arg, unsigned long max, struct argp_state *state)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 0);
	if (errno || *arg == '\0' || *end != '\0' || v == 0 || v > max)
		argp_error(state, "invalid number '%s' (1..%lu)", arg, max);
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
	case 'l': a->listen_port = parse_number(arg, 65535, state); break;
	case OPT_MARK: a->mark = parse_number(arg, 0xffffffffUL, state); break;
	case OPT_NO_SOCKMAP: a->sockmap = false; break;
	case OPT_SOCKMAP: a->sockmap = true; break;
	case OPT_FAIL_CLOSED: a->fail_closed = true; break;
	case OPT_KEEP_MAPS: a->keep_maps = true; break;
	case 'v': log_verbosity++; break;
	case ARGP_KEY_ARG: argp_error(state, "unexpected argument '%s'", arg); break;
	case ARGP_KEY_END:
		if (!a->policy)
			argp_error(state, "--policy FILE is required");
		break;
	default: return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

struct daemon {
	struct loop loop;
	struct proxy proxy;
	struct admin admin;
	struct bpf_state bpf;
	struct watch signals;
	struct enforce enforce;
};

static void render_metrics(struct buf *out, void *ctx)
{
	const struct daemon *d = ctx;
	char text[1024];
	int n = snprintf(text, sizeof(text),
		"# HELP mcpfence_build_info Build information.\n"
		"# TYPE mcpfence_build_info gauge\n"
		"mcpfence_build_info{version=\"%s\"} 1\n"
		"# HELP mcpfence_connections_intercepted_total Agent connections redirected to the daemon.\n"
		"# TYPE mcpfence_connections_intercepted_total counter\n"
		"mcpfence_connections_intercepted_total %llu\n"
		"# HELP mcpfence_connections_active Intercepted connections open now.\n"
		"# TYPE mcpfence_connections_active gauge\n"
		"mcpfence_connections_active %llu\n"
		"# HELP mcpfence_upstream_connect_failures_total Connections whose server could not be reached.\n"
		"# TYPE mcpfence_upstream_connect_failures_total counter\n"
		"mcpfence_upstream_connect_failures_total %llu\n",
		MCPF_VERSION, d->proxy.intercepted_total, d->proxy.active, d->proxy.upstream_failures);

	buf_append(out, text, n);
}

static void on_signal(struct watch *w, uint32_t revents)
{
	struct daemon *d = (struct daemon *)((char *)w - offsetof(struct daemon, signals));
	struct signalfd_siginfo si;

	(void)revents;
	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM) {
			log_info("signal %d: shutting down", si.ssi_signo);
			d->loop.stop = true;
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

/* Thousands of connections are two descriptors each. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int cmd_run(int argc, char **argv)
{
	static const struct argp argp = { run_options, run_parse, NULL,
		"Intercept agents' connections to the policy's MCP endpoints and enforce the policy.", NULL, NULL, NULL };
	struct run_args a = {
		.bpffs = "/sys/fs/bpf/mcpfence",
		.metrics = "127.0.0.1:9464",
		.listen_port = 15001,
		.mark = MCPF_DEFAULT_MARK,
		.sockmap = false, /* see README: not byte-exact on 6.18 when agents half-close */
	};
	char cgroup_root[4096];
	struct target *targets = NULL;
	struct daemon *d;
	int ntargets, err;

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
	ntargets = targets_load(a.policy, &targets);
	if (ntargets < 0)
		return 1;
	raise_fd_limit();

	d = calloc(1, sizeof(*d));
	if (!d || loop_init(&d->loop)) {
		log_error("out of memory");
		free(d);
		free(targets);
		return 1;
	}
	d->signals.fd = -1;
	d->admin.listen.fd = -1;
	struct bpf_opts bo = {
		.bpffs = a.bpffs, .cgroup = a.cgroup, .sockmap = a.sockmap,
		.fail_closed = a.fail_closed, .mark = a.mark, .listen_port = a.listen_port,
	};

	if ((err = setup_signals(d)) ||
	    (err = admin_start(&d->admin, &d->loop, a.metrics, render_metrics, d)) ||
	    (err = bpf_load(&d->bpf, &bo)))
		goto cleanup;
	if ((err = bpf_set_targets(&d->bpf, targets, ntargets))) {
		log_error("writing targets map: %s", strerror(-err));
		goto cleanup;
	}
	/* listeners before programs: connect4/6 only redirect to a live one */
	if ((err = proxy_start(&d->proxy, &d->loop, a.listen_port, bpf_conns_fd(&d->bpf), a.mark,
				       &d->enforce)) ||
	    (err = bpf_attach(&d->bpf, &bo)))
		goto cleanup;
	d->admin.ready = true;
	log_info("intercepting %d endpoints for cgroup %s; listening on port %u; sockmap %s; %s",
		 ntargets, a.cgroup, a.listen_port, a.sockmap ? "on" : "off",
		 a.fail_closed ? "fail-closed" : "fail-open");

	err = loop_run(&d->loop);

cleanup:
	/* detach first: from here on new connections go straight to servers */
	bpf_unload(&d->bpf, a.keep_maps);
	proxy_stop(&d->proxy);
	admin_stop(&d->admin);
	if (d->signals.fd >= 0)
		close(d->signals.fd);
	loop_fini(&d->loop);
	free(d);
	free(targets);
	return err ? 1 : 0;
}
