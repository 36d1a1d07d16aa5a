/*
 * MCP load generator: N keep-alive HTTP/1.1 connections, each running a
 * closed loop of JSON-RPC `tools/call` POSTs (one outstanding call per
 * connection) and reading every response in full (Content-Length, chunked,
 * or a text/event-stream reply). One thread, edge-triggered epoll.
 *
 * Prints one JSON object on stdout: calls/s and latency percentiles of the
 * calls started after the warm-up. Exit status 1 when any call failed.
 *
 *   loadgen --url http://127.0.0.1:8080/mcp --conns 16 --size 4096 --duration 5
 *
 * --session performs the Streamable HTTP handshake first (initialize, then
 * notifications/initialized) and sends the Mcp-Session-Id it was given with
 * every call, as servers such as server-everything require.
 */
#include "histogram.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <http_parser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PROTOCOL_VERSION "2025-03-26"
#define WINDOW           256   /* bytes of each response body kept for checks */
#define SESSION_ID_MAX   256
#define READ_CHUNK       (256 * 1024)
#define MAX_EVENTS       256

struct options {
	char host[256];
	char port[16];
	char path[512];
	int conns;
	size_t size;
	double duration;   /* seconds of measured calls, or 0 when --calls */
	long calls;        /* measured calls in total, or 0 when --duration */
	double warmup;     /* seconds of unrecorded calls first */
	double timeout;    /* seconds one call may take before it is an error */
	const char *tool;
	const char *arg;
	bool session;
};

enum phase {
	PHASE_CONNECTING,
	PHASE_INITIALIZE,     /* waiting for the initialize reply */
	PHASE_INITIALIZED,    /* waiting for the reply to notifications/initialized */
	PHASE_CALL,           /* waiting for a tools/call reply */
	PHASE_IDLE,           /* finished: no more calls from this connection */
};

struct conn {
	int fd;
	enum phase phase;
	http_parser parser;
	/* request being written */
	char head[1024];
	char prefix[128];
	struct iovec iov[4];
	int iov_count;
	size_t to_write;
	bool write_blocked;
	/* call in flight */
	uint64_t id;
	uint64_t started_ns;
	bool recorded;        /* started after the warm-up */
	/* response being read */
	bool complete;
	bool header_is_session;
	char header_name[32];
	size_t header_name_len;
	char body_head[WINDOW];
	size_t body_head_len;
	char body_tail[WINDOW];
	size_t body_tail_len;
	char session_id[SESSION_ID_MAX];
};

struct run {
	struct options opt;
	struct addrinfo *addr;
	int epfd;
	struct conn *conns;
	char *payload;        /* shared by every request: opt.size bytes of 'x' */
	const char *suffix;
	uint64_t next_id;
	uint64_t t0_ns, warmup_end_ns, deadline_ns, last_done_ns;
	long started_measured;
	long warmup_calls;
	long errors;
	char first_error[512];
	int active;           /* connections not yet idle */
	struct histogram hist;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: loadgen [--url http://HOST:PORT/PATH | --host H --port P [--path /mcp]]\n"
		"               [--conns N] [--size BYTES] (--duration SEC | --calls N)\n"
		"               [--warmup SEC] [--timeout SEC] [--tool NAME] [--arg NAME] [--session]\n");
}

static bool parse_url(struct options *o, const char *url)
{
	struct http_parser_url u;
	size_t hlen;

	http_parser_url_init(&u);
	if (http_parser_parse_url(url, strlen(url), 0, &u) != 0 || !(u.field_set & (1 << UF_HOST)))
		return false;
	if (u.field_set & (1 << UF_SCHEMA) &&
	    (u.field_data[UF_SCHEMA].len != 4 || strncasecmp(url + u.field_data[UF_SCHEMA].off, "http", 4)))
		return false;
	hlen = u.field_data[UF_HOST].len;
	if (hlen >= sizeof(o->host))
		return false;
	memcpy(o->host, url + u.field_data[UF_HOST].off, hlen);
	o->host[hlen] = '\0';
	snprintf(o->port, sizeof(o->port), "%u", u.port ? u.port : 80);
	if (u.field_set & (1 << UF_PATH)) {
		if (u.field_data[UF_PATH].len >= sizeof(o->path))
			return false;
		memcpy(o->path, url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
		o->path[u.field_data[UF_PATH].len] = '\0';
	}
	return true;
}

static bool parse_number(const char *s, double min, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < min)
		return false;
	*out = v;
	return true;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "url", required_argument, 0, 'u' },   { "host", required_argument, 0, 'H' },
		{ "port", required_argument, 0, 'p' },  { "path", required_argument, 0, 'P' },
		{ "conns", required_argument, 0, 'c' }, { "size", required_argument, 0, 's' },
		{ "duration", required_argument, 0, 'd' }, { "calls", required_argument, 0, 'n' },
		{ "warmup", required_argument, 0, 'w' }, { "timeout", required_argument, 0, 't' },
		{ "tool", required_argument, 0, 'T' },  { "arg", required_argument, 0, 'A' },
		{ "session", no_argument, 0, 'S' },     { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	double v;
	int c;

	memset(o, 0, sizeof(*o));
	strcpy(o->host, "127.0.0.1");
	strcpy(o->path, "/mcp");
	o->conns = 1;
	o->size = 256;
	o->timeout = 30;
	o->tool = "echo";
	o->arg = "message";
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			if (!parse_url(o, optarg)) {
				fprintf(stderr, "loadgen: --url: expected http://HOST:PORT/PATH, got '%s'\n", optarg);
				return -1;
			}
			break;
		case 'H':
			snprintf(o->host, sizeof(o->host), "%s", optarg);
			break;
		case 'p':
			if (!parse_number(optarg, 1, &v) || v > 65535 || v != (int)v) {
				fprintf(stderr, "loadgen: --port: '%s' is not a port\n", optarg);
				return -1;
			}
			snprintf(o->port, sizeof(o->port), "%d", (int)v);
			break;
		case 'P':
			snprintf(o->path, sizeof(o->path), "%s", optarg);
			break;
		case 'c':
			if (!parse_number(optarg, 1, &v) || v > 65536 || v != (int)v) {
				fprintf(stderr, "loadgen: --conns: '%s' is not 1..65536\n", optarg);
				return -1;
			}
			o->conns = (int)v;
			break;
		case 's':
			if (!parse_number(optarg, 0, &v) || v > (1 << 30) || v != (size_t)v) {
				fprintf(stderr, "loadgen: --size: '%s' is not 0..1GiB\n", optarg);
				return -1;
			}
			o->size = (size_t)v;
			break;
		case 'd':
			if (!parse_number(optarg, 0.001, &o->duration)) {
				fprintf(stderr, "loadgen: --duration: '%s' is not a positive number of seconds\n", optarg);
				return -1;
			}
			break;
		case 'n':
			if (!parse_number(optarg, 1, &v) || v != (long)v) {
				fprintf(stderr, "loadgen: --calls: '%s' is not a positive count\n", optarg);
				return -1;
			}
			o->calls = (long)v;
			break;
		case 'w':
			if (!parse_number(optarg, 0, &o->warmup)) {
				fprintf(stderr, "loadgen: --warmup: '%s' is not a number of seconds\n", optarg);
				return -1;
			}
			break;
		case 't':
			if (!parse_number(optarg, 0.001, &o->timeout)) {
				fprintf(stderr, "loadgen: --timeout: '%s' is not a positive number of seconds\n", optarg);
				return -1;
			}
			break;
		case 'T':
			o->tool = optarg;
			break;
		case 'A':
			o->arg = optarg;
			break;
		case 'S':
			o->session = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc || !o->port[0] || (o->duration > 0) == (o->calls > 0)) {
		fprintf(stderr, "loadgen: need a port (--url or --port) and exactly one of --duration, --calls\n");
		usage(stderr);
		return -1;
	}
	if (strpbrk(o->tool, "\"\\") || strpbrk(o->arg, "\"\\")) {
		fprintf(stderr, "loadgen: --tool and --arg must not need JSON escaping\n");
		return -1;
	}
	return 0;
}

static void fail(struct run *r, struct conn *c, const char *what)
{
	r->errors++;
	if (!r->first_error[0])
		snprintf(r->first_error, sizeof(r->first_error), "conn %ld: %s",
			 (long)(c - r->conns), what);
}

/* ---- response parsing ---------------------------------------------------- */

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;

	/* A header name may arrive in pieces; a new name starts after a value. */
	if (c->header_name_len == SIZE_MAX)
		c->header_name_len = 0;
	c->header_is_session = false;
	if (c->header_name_len + len < sizeof(c->header_name)) {
		memcpy(c->header_name + c->header_name_len, at, len);
		c->header_name_len += len;
	} else {
		c->header_name_len = sizeof(c->header_name); /* too long to be ours */
	}
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;
	size_t have;

	if (c->header_name_len != SIZE_MAX) {
		c->header_is_session = c->header_name_len == strlen("mcp-session-id") &&
				       !strncasecmp(c->header_name, "mcp-session-id", c->header_name_len);
		if (c->header_is_session && c->phase == PHASE_INITIALIZE)
			c->session_id[0] = '\0';
		c->header_name_len = SIZE_MAX; /* now in a value */
	}
	if (!c->header_is_session || c->phase != PHASE_INITIALIZE)
		return 0;
	have = strlen(c->session_id);
	if (have + len >= sizeof(c->session_id))
		return 1;
	memcpy(c->session_id + have, at, len);
	c->session_id[have + len] = '\0';
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;
	size_t n;

	if (c->body_head_len < WINDOW) {
		n = WINDOW - c->body_head_len < len ? WINDOW - c->body_head_len : len;
		memcpy(c->body_head + c->body_head_len, at, n);
		c->body_head_len += n;
	}
	if (len >= WINDOW) {
		memcpy(c->body_tail, at + len - WINDOW, WINDOW);
		c->body_tail_len = WINDOW;
	} else {
		n = c->body_tail_len + len > WINDOW ? c->body_tail_len + len - WINDOW : 0;
		memmove(c->body_tail, c->body_tail + n, c->body_tail_len - n);
		memcpy(c->body_tail + c->body_tail_len - n, at, len);
		c->body_tail_len += len - n;
	}
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct conn *c = p->data;

	c->complete = true;
	http_parser_pause(p, 1); /* one response per request: stop here */
	return 0;
}

static const http_parser_settings response_settings = {
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static bool window_has(const char *w, size_t len, const char *needle)
{
	return memmem(w, len, needle, strlen(needle)) != NULL;
}

/* The "id" member of a JSON-RPC reply, found in a body window. */
static bool window_id(const char *w, size_t len, uint64_t *id)
{
	const char *p = memmem(w, len, "\"id\":", 5), *end = w + len;
	uint64_t v = 0;

	if (!p)
		return false;
	for (p += 5; p < end && (*p == ' ' || *p == '\t'); p++)
		;
	if (p >= end || *p < '0' || *p > '9')
		return false;
	for (; p < end && *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (p >= end)
		return false; /* cut by the window edge */
	*id = v;
	return true;
}

/* A tools/call succeeded when the reply (plain JSON or one SSE event) carries
 * a result for our id that is not a tool error. Only the first and last bytes
 * of the body are kept, which is where a JSON-RPC envelope puts them. */
static const char *check_call_reply(const struct conn *c)
{
	uint64_t id;
	bool found;

	if (c->parser.status_code != 200)
		return "HTTP status is not 200";
	if (!window_has(c->body_head, c->body_head_len, "\"result\"") &&
	    !window_has(c->body_tail, c->body_tail_len, "\"result\""))
		return "reply has no result";
	if (window_has(c->body_head, c->body_head_len, "\"isError\":true") ||
	    window_has(c->body_tail, c->body_tail_len, "\"isError\":true"))
		return "tool call returned isError";
	found = window_id(c->body_head, c->body_head_len, &id) ||
		window_id(c->body_tail, c->body_tail_len, &id);
	if (!found || id != c->id)
		return "reply id does not match the request";
	return NULL;
}

/* ---- requests ----------------------------------------------------------- */

static void build_request(struct run *r, struct conn *c, const char *prefix, size_t prefix_len,
			  const char *payload, size_t payload_len, const char *suffix)
{
	size_t body_len = prefix_len + payload_len + strlen(suffix);
	int n;

	bool v6 = strchr(r->opt.host, ':') != NULL;

	n = snprintf(c->head, sizeof(c->head),
		     "POST %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nContent-Type: application/json\r\n"
		     "Accept: application/json, text/event-stream\r\nContent-Length: %zu\r\n",
		     r->opt.path, v6 ? "[" : "", r->opt.host, v6 ? "]" : "", r->opt.port, body_len);
	if (c->session_id[0])
		n += snprintf(c->head + n, sizeof(c->head) - n,
			      "Mcp-Session-Id: %s\r\nMCP-Protocol-Version: " PROTOCOL_VERSION "\r\n",
			      c->session_id);
	n += snprintf(c->head + n, sizeof(c->head) - n, "\r\n");
	c->iov[0] = (struct iovec){ c->head, (size_t)n };
	c->iov[1] = (struct iovec){ (void *)prefix, prefix_len };
	c->iov[2] = (struct iovec){ (void *)payload, payload_len };
	c->iov[3] = (struct iovec){ (void *)suffix, strlen(suffix) };
	c->iov_count = 4;
	c->to_write = (size_t)n + body_len;
	c->complete = false;
	c->body_head_len = c->body_tail_len = 0;
	c->header_name_len = 0;
	c->header_is_session = false;
	http_parser_init(&c->parser, HTTP_RESPONSE);
	c->parser.data = c;
}

static void build_initialize(struct run *r, struct conn *c)
{
	static const char body[] =
		"{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\""
		PROTOCOL_VERSION "\",\"capabilities\":{},\"clientInfo\":{\"name\":\"mcpfence-loadgen\","
		"\"version\":\"1\"}}}";

	c->id = 0;
	build_request(r, c, body, strlen(body), "", 0, "");
}

static void build_initialized(struct run *r, struct conn *c)
{
	static const char body[] = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";

	build_request(r, c, body, strlen(body), "", 0, "");
}

static void build_call(struct run *r, struct conn *c)
{
	int n;

	c->id = ++r->next_id;
	n = snprintf(c->prefix, sizeof(c->prefix),
		     "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"tools/call\",\"params\":"
		     "{\"name\":\"%.40s\",\"arguments\":{\"%.40s\":\"",
		     (unsigned long long)c->id, r->opt.tool, r->opt.arg);
	build_request(r, c, c->prefix, (size_t)n, r->payload, r->opt.size, r->suffix);
}

/* Write what the socket takes; false on a broken connection. */
static bool flush_request(struct conn *c)
{
	while (c->to_write > 0) {
		ssize_t n = writev(c->fd, c->iov, c->iov_count);
		int i;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				c->write_blocked = true;
				return true;
			}
			return false;
		}
		c->to_write -= (size_t)n;
		for (i = 0; i < c->iov_count && n > 0; i++) {
			size_t take = (size_t)n < c->iov[i].iov_len ? (size_t)n : c->iov[i].iov_len;

			c->iov[i].iov_base = (char *)c->iov[i].iov_base + take;
			c->iov[i].iov_len -= take;
			n -= (ssize_t)take;
		}
	}
	c->write_blocked = false;
	return true;
}

/* ---- connection life cycle ---------------------------------------------- */

static void close_conn(struct run *r, struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(r->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
}

static void finish_conn(struct run *r, struct conn *c)
{
	close_conn(r, c);
	if (c->phase != PHASE_IDLE) {
		c->phase = PHASE_IDLE;
		r->active--;
	}
}

static bool open_conn(struct run *r, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP };
	int one = 1;

	c->fd = socket(r->addr->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (c->fd < 0)
		return false;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, r->addr->ai_addr, r->addr->ai_addrlen) < 0 && errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		return false;
	}
	ev.data.ptr = c;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		close(c->fd);
		c->fd = -1;
		return false;
	}
	c->phase = PHASE_CONNECTING;
	c->started_ns = now_ns(); /* the connect counts against --timeout */
	return true;
}

static bool want_more_calls(struct run *r, uint64_t now)
{
	if (r->opt.calls > 0)
		return now < r->warmup_end_ns || r->started_measured < r->opt.calls;
	return now < r->deadline_ns;
}

/* Start the next request of c, or retire it; false on a broken connection. */
static bool next_request(struct run *r, struct conn *c)
{
	uint64_t now = now_ns();

	if (c->phase == PHASE_CONNECTING && r->opt.session && !c->session_id[0]) {
		c->phase = PHASE_INITIALIZE;
		build_initialize(r, c);
	} else if (c->phase == PHASE_INITIALIZE) {
		c->phase = PHASE_INITIALIZED;
		build_initialized(r, c);
	} else if (!want_more_calls(r, now)) {
		finish_conn(r, c);
		return true;
	} else {
		c->phase = PHASE_CALL;
		build_call(r, c);
		c->recorded = now >= r->warmup_end_ns;
		if (c->recorded)
			r->started_measured++;
	}
	c->started_ns = now;
	return flush_request(c);
}

static void restart_conn(struct run *r, struct conn *c, const char *why)
{
	fail(r, c, why);
	close_conn(r, c);
	if (c->phase == PHASE_INITIALIZE || c->phase == PHASE_INITIALIZED)
		c->session_id[0] = '\0'; /* start the handshake over */
	if (c->phase == PHASE_IDLE)
		return;
	if (!open_conn(r, c))
		finish_conn(r, c);
}

static bool handle_reply(struct run *r, struct conn *c)
{
	const char *err;
	uint64_t now = now_ns();

	switch (c->phase) {
	case PHASE_INITIALIZE:
		if (c->parser.status_code != 200 || !c->session_id[0]) {
			restart_conn(r, c, "initialize failed (no 200 or no Mcp-Session-Id)");
			return false;
		}
		break;
	case PHASE_INITIALIZED:
		if (c->parser.status_code / 100 != 2) {
			restart_conn(r, c, "notifications/initialized was refused");
			return false;
		}
		break;
	case PHASE_CALL:
		err = check_call_reply(c);
		if (err) {
			char why[WINDOW + 128];

			snprintf(why, sizeof(why), "%s (HTTP %u, body starts '%.*s')", err,
				 c->parser.status_code, (int)(c->body_head_len < 120 ? c->body_head_len : 120),
				 c->body_head);
			restart_conn(r, c, why);
			return false;
		}
		if (c->recorded) {
			hist_record(&r->hist, now - c->started_ns);
			r->last_done_ns = now;
		} else {
			r->warmup_calls++;
		}
		break;
	default:
		break;
	}
	if (!http_should_keep_alive(&c->parser)) {
		close_conn(r, c);
		if (!want_more_calls(r, now)) {
			finish_conn(r, c);
			return false;
		}
		if (!open_conn(r, c)) {
			restart_conn(r, c, "reconnect failed");
			return false;
		}
		return false;
	}
	return true;
}

static char read_buf[READ_CHUNK];

/* Feed what arrived to the parser; false once the connection was replaced. */
static bool read_replies(struct run *r, struct conn *c)
{
	for (;;) {
		ssize_t n = read(c->fd, read_buf, sizeof(read_buf));
		size_t off = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return true;
			restart_conn(r, c, strerror(errno));
			return false;
		}
		if (n == 0) {
			/* EOF ends a body without a length; anything else is a failure. */
			if (c->phase != PHASE_IDLE && !c->complete && c->to_write == 0) {
				http_parser_execute(&c->parser, &response_settings, NULL, 0);
				if (c->complete) {
					handle_reply(r, c); /* not keep-alive: reconnects */
					return false;
				}
			}
			restart_conn(r, c, "server closed the connection");
			return false;
		}
		while (off < (size_t)n) {
			size_t used;

			if (c->phase == PHASE_CONNECTING || c->phase == PHASE_IDLE || c->to_write > 0) {
				restart_conn(r, c, "unexpected bytes from the server");
				return false;
			}
			used = http_parser_execute(&c->parser, &response_settings, read_buf + off, (size_t)n - off);
			off += used;
			if (c->complete) {
				if (off < (size_t)n) {
					restart_conn(r, c, "bytes after the response");
					return false;
				}
				if (!handle_reply(r, c))
					return false;
				if (!next_request(r, c)) {
					restart_conn(r, c, "write failed");
					return false;
				}
				if (c->phase == PHASE_IDLE)
					return false;
			} else if (HTTP_PARSER_ERRNO(&c->parser) != HPE_OK) {
				restart_conn(r, c, http_errno_description(HTTP_PARSER_ERRNO(&c->parser)));
				return false;
			}
		}
	}
}

static void on_event(struct run *r, struct conn *c, uint32_t events)
{
	if (c->phase == PHASE_CONNECTING && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			restart_conn(r, c, strerror(err));
			return;
		}
		if (!next_request(r, c)) {
			restart_conn(r, c, "write failed");
			return;
		}
		if (c->phase == PHASE_IDLE)
			return;
	}
	if (events & EPOLLOUT && c->write_blocked && !flush_request(c)) {
		restart_conn(r, c, "write failed");
		return;
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		read_replies(r, c);
}

static void check_timeouts(struct run *r, uint64_t now)
{
	uint64_t limit = (uint64_t)(r->opt.timeout * 1e9);
	int i;

	for (i = 0; i < r->opt.conns; i++) {
		struct conn *c = &r->conns[i];

		if (c->phase != PHASE_IDLE && c->fd >= 0 && now - c->started_ns > limit)
			restart_conn(r, c, "timed out");
	}
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void report(const struct run *r)
{
	double elapsed = r->last_done_ns > r->warmup_end_ns
				 ? (double)(r->last_done_ns - r->warmup_end_ns) / 1e9 : 0;
	const struct histogram *h = &r->hist;

	printf("{\"host\":");
	json_string(r->opt.host);
	printf(",\"port\":%s,\"path\":", r->opt.port);
	json_string(r->opt.path);
	printf(",\"conns\":%d,\"size\":%zu,\"session\":%s,\"calls\":%llu,\"warmup_calls\":%ld,"
	       "\"errors\":%ld,\"elapsed_s\":%.3f,\"calls_per_s\":%.1f,"
	       "\"latency_us\":{\"min\":%.1f,\"mean\":%.1f,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,"
	       "\"p999\":%.1f,\"max\":%.1f}",
	       r->opt.conns, r->opt.size, r->opt.session ? "true" : "false",
	       (unsigned long long)h->count, r->warmup_calls, r->errors, elapsed,
	       elapsed > 0 ? (double)h->count / elapsed : 0.0,
	       h->count ? (double)h->min / 1e3 : 0.0, hist_mean(h) / 1e3,
	       (double)hist_quantile(h, 0.50) / 1e3, (double)hist_quantile(h, 0.90) / 1e3,
	       (double)hist_quantile(h, 0.99) / 1e3, (double)hist_quantile(h, 0.999) / 1e3,
	       (double)h->max / 1e3);
	if (r->first_error[0]) {
		printf(",\"first_error\":");
		json_string(r->first_error);
	}
	printf("}\n");
}

int main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct epoll_event events[MAX_EVENTS];
	uint64_t last_check = 0;
	struct run *r;
	int i, rc;

	r = calloc(1, sizeof(*r));
	if (!r || parse_options(argc, argv, &r->opt) < 0)
		return 2;
	rc = getaddrinfo(r->opt.host, r->opt.port, &hints, &r->addr);
	if (rc) {
		fprintf(stderr, "loadgen: %s:%s: %s\n", r->opt.host, r->opt.port, gai_strerror(rc));
		return 2;
	}
	r->payload = malloc(r->opt.size + 1);
	r->conns = calloc((size_t)r->opt.conns, sizeof(*r->conns));
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!r->payload || !r->conns || r->epfd < 0) {
		perror("loadgen");
		return 2;
	}
	memset(r->payload, 'x', r->opt.size);
	r->suffix = "\"}}}";
	hist_init(&r->hist);

	r->t0_ns = now_ns();
	r->warmup_end_ns = r->t0_ns + (uint64_t)(r->opt.warmup * 1e9);
	r->deadline_ns = r->warmup_end_ns + (uint64_t)(r->opt.duration * 1e9);
	r->active = r->opt.conns;
	for (i = 0; i < r->opt.conns; i++) {
		r->conns[i].fd = -1;
		if (!open_conn(r, &r->conns[i])) {
			fprintf(stderr, "loadgen: connect: %s\n", strerror(errno));
			return 2;
		}
	}
	while (r->active > 0) {
		int n = epoll_wait(r->epfd, events, MAX_EVENTS, 100);
		uint64_t now;

		if (n < 0 && errno != EINTR) {
			perror("loadgen: epoll_wait");
			return 2;
		}
		for (i = 0; i < n; i++)
			on_event(r, events[i].data.ptr, events[i].events);
		now = now_ns();
		if (now - last_check > 100000000ull) { /* every 100 ms is precise enough */
			check_timeouts(r, now);
			last_check = now;
		}
		/* Give up on a server that keeps failing rather than spin. */
		if (r->errors > 100 + 10L * r->opt.conns) {
			fprintf(stderr, "loadgen: too many errors, giving up\n");
			break;
		}
	}
	report(r);
	if (r->errors)
		fprintf(stderr, "loadgen: %ld errors, first: %s\n", r->errors, r->first_error);
	return r->errors ? 1 : 0;
}
