#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "utf8.h"
#include "approval_ctl.h"
#include "cmd_approvals.h"

struct ctl_conn {
	int fd;
	char buf[1 << 16];
	size_t len;
};

static int ctl_connect(struct ctl_conn *c, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "mcpfence: --control %s: path too long\n", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	c->len = 0;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sun, sizeof(sun))) {
		fprintf(stderr, "mcpfence: control socket %s: %s (is the daemon running with approvals?)\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int ctl_send(struct ctl_conn *c, cJSON *req)
{
	char *text = cJSON_PrintUnformatted(req);
	size_t n = text ? strlen(text) : 0;
	/* a daemon that refused us has said why and closed: the reply is read
	 * whether or not the request could be written */
	if (text) {
		(void)!send(c->fd, text, n, MSG_NOSIGNAL);
		(void)!send(c->fd, "\n", 1, MSG_NOSIGNAL);
	}
	cJSON_free(text);
	cJSON_Delete(req);
	return text ? 0 : -1;
}

/* The next line from the daemon, parsed; NULL at its end. */
static cJSON *ctl_read(struct ctl_conn *c)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);

		if (nl) {
			cJSON *obj = cJSON_ParseWithLength(c->buf, nl - c->buf);

			c->len -= nl - c->buf + 1;
			memmove(c->buf, nl + 1, c->len);
			return obj;
		}
		if (c->len == sizeof(c->buf))
			return NULL;
		ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);

		if (n <= 0)
			return NULL;
		c->len += n;
	}
}

/* {"ok":false,"error":...} is printed; 0 ok, 1 refused. */
static int check_ok(const cJSON *reply)
{
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(reply, "error");

	if (!reply) {
		fprintf(stderr, "mcpfence: the daemon closed the control connection\n");
		return 1;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok")))
		return 0;
	fprintf(stderr, "mcpfence: refused: %s\n", cJSON_IsString(err) ? err->valuestring : "(no reason)");
	return 1;
}

/* A string of the reply, for a terminal: what an agent chose (its tool
 * name, its comm) must not move the cursor or rewrite the line of another
 * call (utf8_display). */
static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsString(v))
		return "";
	return utf8_display(v->valuestring, v->valuestring, strlen(v->valuestring) + 1);
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void print_call(const cJSON *call)
{
	const cJSON *agent = cJSON_GetObjectItemCaseSensitive(call, "agent");

	printf("%s  %4.0fs  pid %.0f %s (uid %.0f, cgroup %s)  %s/%s  args %s %s\n", str(call, "id"),
	       num(call, "age_s"), num(agent, "pid"), str(agent, "comm"), num(agent, "uid"),
	       str(agent, "cgroup_path")[0] ? str(agent, "cgroup_path") : "?", str(call, "server"), str(call, "tool"),
	       str(call, "args_hash"), str(call, "args"));
}

static void print_json(const cJSON *obj)
{
	char *text = cJSON_PrintUnformatted(obj);

	if (text)
		puts(text);
	cJSON_free(text);
	fflush(stdout);
}

/* "90s", "10m", "1h" or seconds; -1 when not one. */
static long parse_duration(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	long mult = !*end || !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 : 0;

	if (end == s || v < 0 || !mult || v > 86400 || v * mult > 86400)
		return -1;
	return v * mult;
}

static const struct option long_opts[] = {
	{ "control", required_argument, NULL, 'C' }, { "watch", no_argument, NULL, 'w' },
	{ "json", no_argument, NULL, 'j' }, { "remember", required_argument, NULL, 'r' },
	{ "reason", required_argument, NULL, 'R' }, { "help", no_argument, NULL, 'h' },
	{ 0 },
};

struct cli {
	const char *control, *reason;
	bool watch, json;
	long remember;
};

static int parse(int argc, char **argv, struct cli *o, const char *allowed, const char *usage)
{
	int ch;

	o->control = APPROVAL_CTL_DEFAULT_PATH;
	o->remember = -1;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (ch == 'h') {
			printf("%s", usage);
			exit(0);
		}
		if (ch == '?' || (ch != 'C' && !strchr(allowed, ch))) {
			fprintf(stderr, "%s", usage);
			return -1;
		}
		switch (ch) {
		case 'C': o->control = optarg; break;
		case 'w': o->watch = true; break;
		case 'j': o->json = true; break;
		case 'R': o->reason = optarg; break;
		case 'r':
			if ((o->remember = parse_duration(optarg)) < 0) {
				fprintf(stderr, "mcpfence: --remember %s: a duration like 90s, 10m or 1h (at most 24h)\n",
					optarg);
				return -1;
			}
			break;
		}
	}
	return 0;
}

int cmd_approvals(int argc, char **argv)
{
	static const char usage[] =
		"usage: mcpfence approvals [--watch] [--json] [--control PATH]\n"
		"  Calls held for approval: id, age, agent, server/tool, argument hash and summary.\n"
		"  --watch follows new and decided calls; --json prints the daemon's JSON lines.\n";
	struct cli o = { 0 };
	struct ctl_conn *c = calloc(1, sizeof(*c));
	cJSON *req = cJSON_CreateObject(), *reply;
	int rc;

	if (!c || !req || parse(argc, argv, &o, "wj", usage) || optind != argc) {
		if (c && req && optind != argc)
			fprintf(stderr, "%s", usage);
		free(c);
		cJSON_Delete(req);
		return 2;
	}
	cJSON_AddStringToObject(req, "op", o.watch ? "watch" : "list");
	if (ctl_connect(c, o.control) || ctl_send(c, req)) {
		free(c);
		return 1;
	}
	reply = ctl_read(c);
	rc = check_ok(reply);
	if (!rc) {
		const cJSON *call, *pending = cJSON_GetObjectItemCaseSensitive(reply, "pending");

		if (o.json)
			print_json(reply);
		else if (!cJSON_GetArraySize(pending) && !o.watch)
			printf("no calls await approval\n");
		else
			cJSON_ArrayForEach(call, pending)
				print_call(call);
		fflush(stdout);
	}
	cJSON_Delete(reply);
	while (!rc && o.watch && (reply = ctl_read(c))) {
		if (o.json)
			print_json(reply);
		else if (!strcmp(str(reply, "event"), "new"))
			print_call(cJSON_GetObjectItemCaseSensitive(reply, "call"));
		else
			printf("%s  %s by %s%s%s\n", str(reply, "id"), str(reply, "outcome"), str(reply, "by"),
			       str(reply, "reason")[0] ? ": " : "", str(reply, "reason"));
		fflush(stdout);
		cJSON_Delete(reply);
	}
	close(c->fd);
	free(c);
	return rc;
}

static int decide_cmd(int argc, char **argv, bool approve)
{
	static const char approve_usage[] =
		"usage: mcpfence approve ID [--remember DURATION] [--control PATH]\n"
		"  Let the held call ID go; --remember lets identical calls (same agent, server, tool and\n"
		"  arguments) through for DURATION (default: the policy's \"remember\").\n";
	static const char deny_usage[] =
		"usage: mcpfence deny ID [--reason TEXT] [--control PATH]\n"
		"  Refuse the held call ID; the agent gets TEXT as the reason.\n";
	struct cli o = { 0 };
	struct ctl_conn *c = calloc(1, sizeof(*c));
	cJSON *req = cJSON_CreateObject(), *reply;
	int rc;

	if (!c || !req || parse(argc, argv, &o, approve ? "r" : "R", approve ? approve_usage : deny_usage) ||
	    optind != argc - 1) {
		if (c && req && optind != argc - 1)
			fprintf(stderr, "%s", approve ? approve_usage : deny_usage);
		free(c);
		cJSON_Delete(req);
		return 2;
	}
	cJSON_AddStringToObject(req, "op", approve ? "approve" : "deny");
	cJSON_AddStringToObject(req, "id", argv[optind]);
	if (o.remember >= 0)
		cJSON_AddNumberToObject(req, "remember", o.remember);
	if (o.reason)
		cJSON_AddStringToObject(req, "reason", o.reason);
	if (ctl_connect(c, o.control) || ctl_send(c, req)) {
		free(c);
		return 1;
	}
	reply = ctl_read(c);
	rc = check_ok(reply);
	if (!rc)
		printf("%s %s\n", argv[optind], approve ? "approved" : "denied");
	cJSON_Delete(reply);
	close(c->fd);
	free(c);
	return rc;
}

int cmd_approve(int argc, char **argv)
{
	return decide_cmd(argc, argv, true);
}

int cmd_deny(int argc, char **argv)
{
	return decide_cmd(argc, argv, false);
}
