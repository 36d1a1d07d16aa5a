/*
 * Minimal upstream MCP server for benchmarks: HTTP/1.1 keep-alive, one
 * thread, edge-triggered epoll, replies with Content-Length JSON only.
 * Its own cost is kept small so a benchmark through a proxy measures the
 * proxy path: requests are parsed with cJSON (it is still a real JSON-RPC
 * peer), replies are written without building a JSON tree.
 *
 *   POST /mcp  initialize | any notification (202) | ping | tools/list |
 *              tools/call echo {"message": S}  ->  text content S
 *   anything else: 404 / 405
 *
 *   mini_server [--host 127.0.0.1] [--port N | 0] [--port-file FILE] [--max-body BYTES] [--path /mcp]
 *   (--path serves MCP elsewhere, to measure a proxy on a path it does not know as MCP)
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <http_parser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define URL_MAX    1024
#define READ_CHUNK (256 * 1024)

struct buffer {
	char *data;
	size_t len, cap, off; /* off: bytes already written out */
};

struct client {
	int fd;
	http_parser parser;
	char url[URL_MAX];
	size_t url_len;
	bool url_too_long;
	bool body_too_large;
	struct buffer body;
	struct buffer out;
	bool close_after_write;
};

static size_t max_body = 16u << 20;
static const char *mcp_path = "/mcp";
static int epfd;

static bool buf_reserve(struct buffer *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (b->len + more <= b->cap)
		return true;
	while (cap < b->len + more)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return false;
	b->data = p;
	b->cap = cap;
	return true;
}

static bool buf_add(struct buffer *b, const void *p, size_t n)
{
	if (!buf_reserve(b, n))
		return false;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return true;
}

static bool buf_str(struct buffer *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

/* Length of s once escaped as the inside of a JSON string. */
static size_t escaped_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		n += ch == '"' || ch == '\\' ? 2 : ch < 0x20 ? 6 : 1;
	}
	return n;
}

static bool buf_escaped(struct buffer *b, const char *s)
{
	while (*s) {
		size_t run = strcspn(s, "\"\\\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
				     "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f");
		char esc[8];

		if (!buf_add(b, s, run))
			return false;
		s += run;
		if (!*s)
			break;
		if (*s == '"' || *s == '\\')
			snprintf(esc, sizeof(esc), "\\%c", *s);
		else
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char)*s);
		if (!buf_str(b, esc))
			return false;
		s++;
	}
	return true;
}

static bool respond_headers(struct client *c, int status, const char *reason, const char *extra,
			    const char *body, size_t body_len)
{
	char head[512];
	bool keep = http_should_keep_alive(&c->parser);

	snprintf(head, sizeof(head),
		 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s%s\r\n",
		 status, reason, body_len, extra, keep ? "" : "Connection: close\r\n");
	if (!keep)
		c->close_after_write = true;
	return buf_str(&c->out, head) && buf_add(&c->out, body, body_len);
}

static bool respond_raw(struct client *c, int status, const char *reason, const char *body,
			size_t body_len)
{
	return respond_headers(c, status, reason, "", body, body_len);
}

/* A JSON-RPC reply whose result (or error) is given as JSON text. */
static bool respond_rpc_headers(struct client *c, int status, const char *extra, const cJSON *id,
				const char *member, const char *json)
{
	char *id_text = id ? cJSON_PrintUnformatted(id) : NULL;
	struct buffer body = { 0 };
	bool ok;

	ok = buf_str(&body, "{\"jsonrpc\":\"2.0\",\"id\":") && buf_str(&body, id_text ? id_text : "null") &&
	     buf_str(&body, ",\"") && buf_str(&body, member) && buf_str(&body, "\":") &&
	     buf_str(&body, json) && buf_str(&body, "}") &&
	     respond_headers(c, status, status == 200 ? "OK" : "Bad Request", extra, body.data, body.len);
	free(id_text);
	free(body.data);
	return ok;
}

static bool respond_rpc(struct client *c, int status, const cJSON *id, const char *member,
			const char *json)
{
	return respond_rpc_headers(c, status, "", id, member, json);
}

/* Streamable HTTP clients expect a session from initialize; any later
 * Mcp-Session-Id is accepted since every call is answered the same way. */
static bool respond_initialize(struct client *c, const cJSON *id)
{
	static unsigned long sessions;
	char header[64];

	snprintf(header, sizeof(header), "Mcp-Session-Id: mini-%lu\r\n", ++sessions);
	return respond_rpc_headers(c, 200, header, id, "result",
				   "{\"protocolVersion\":\"2025-03-26\",\"capabilities\":{\"tools\":{}},"
				   "\"serverInfo\":{\"name\":\"mcpfence-mini-server\",\"version\":\"1\"}}");
}

static bool respond_error(struct client *c, int status, const cJSON *id, int code, const char *msg)
{
	char json[256];

	snprintf(json, sizeof(json), "{\"code\":%d,\"message\":\"%s\"}", code, msg);
	return respond_rpc(c, status, id, "error", json);
}

/* tools/call echo: the reply carries the message back, so its size follows
 * the request's. Written straight into the output buffer. */
static bool respond_echo(struct client *c, const cJSON *id, const char *message)
{
	static const char open_text[] = ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"";
	static const char close_text[] = "\"}]}}";
	char *id_text = cJSON_PrintUnformatted(id);
	bool keep = http_should_keep_alive(&c->parser), ok;
	size_t body_len;
	char head[256];

	if (!id_text)
		return false;
	body_len = strlen("{\"jsonrpc\":\"2.0\",\"id\":") + strlen(id_text) + strlen(open_text) +
		   escaped_len(message) + strlen(close_text);
	snprintf(head, sizeof(head),
		 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
		 body_len, keep ? "" : "Connection: close\r\n");
	if (!keep)
		c->close_after_write = true;
	ok = buf_reserve(&c->out, strlen(head) + body_len) && buf_str(&c->out, head) &&
	     buf_str(&c->out, "{\"jsonrpc\":\"2.0\",\"id\":") && buf_str(&c->out, id_text) &&
	     buf_str(&c->out, open_text) && buf_escaped(&c->out, message) && buf_str(&c->out, close_text);
	free(id_text);
	return ok;
}

static bool handle_rpc(struct client *c, const cJSON *msg)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
	const cJSON *method = cJSON_GetObjectItemCaseSensitive(msg, "method");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");
	const cJSON *name, *args, *message;

	if (!cJSON_IsString(method))
		return respond_error(c, 400, id, -32600, "method must be a string");
	if (!id) /* a notification: accepted, nothing to answer */
		return respond_raw(c, 202, "Accepted", "", 0);
	if (!cJSON_IsNumber(id) && !cJSON_IsString(id))
		return respond_error(c, 400, NULL, -32600, "id must be a number or a string");
	if (!strcmp(method->valuestring, "initialize"))
		return respond_initialize(c, id);
	if (!strcmp(method->valuestring, "ping"))
		return respond_rpc(c, 200, id, "result", "{}");
	if (!strcmp(method->valuestring, "tools/list"))
		return respond_rpc(c, 200, id, "result",
				   "{\"tools\":[{\"name\":\"echo\",\"description\":\"Echoes the message back\","
				   "\"inputSchema\":{\"type\":\"object\",\"properties\":{\"message\":"
				   "{\"type\":\"string\"}},\"required\":[\"message\"]}}]}");
	if (strcmp(method->valuestring, "tools/call"))
		return respond_error(c, 200, id, -32601, "method not found");
	name = cJSON_GetObjectItemCaseSensitive(params, "name");
	args = cJSON_GetObjectItemCaseSensitive(params, "arguments");
	message = cJSON_GetObjectItemCaseSensitive(args, "message");
	if (!cJSON_IsString(name) || strcmp(name->valuestring, "echo"))
		return respond_error(c, 200, id, -32602, "unknown tool");
	if (!cJSON_IsString(message))
		return respond_error(c, 200, id, -32602, "echo needs a string argument 'message'");
	return respond_echo(c, id, message->valuestring);
}

static bool handle_request(struct client *c)
{
	cJSON *msg;
	bool ok;

	size_t n = strlen(mcp_path);

	if (c->url_too_long || strncmp(c->url, mcp_path, n) || (c->url[n] && c->url[n] != '?'))
		return respond_raw(c, 404, "Not Found", "", 0);
	if (c->parser.method == HTTP_DELETE)
		return respond_raw(c, 200, "OK", "", 0);
	if (c->parser.method != HTTP_POST)
		return respond_raw(c, 405, "Method Not Allowed", "", 0);
	msg = cJSON_ParseWithLength(c->body.data ? c->body.data : "", c->body.len);
	if (!msg)
		return respond_error(c, 400, NULL, -32700, "parse error");
	ok = cJSON_IsObject(msg) ? handle_rpc(c, msg)
				 : respond_error(c, 400, NULL, -32600, "a single JSON-RPC object is expected");
	cJSON_Delete(msg);
	return ok;
}

static int on_message_begin(http_parser *p)
{
	struct client *c = p->data;

	c->url_len = 0;
	c->url[0] = '\0';
	c->url_too_long = false;
	c->body.len = 0;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct client *c = p->data;

	if (c->url_len + len >= sizeof(c->url)) {
		c->url_too_long = true;
		return 0;
	}
	memcpy(c->url + c->url_len, at, len);
	c->url_len += len;
	c->url[c->url_len] = '\0';
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct client *c = p->data;

	if (c->body.len + len > max_body) {
		c->body_too_large = true;
		return 1;
	}
	return buf_add(&c->body, at, len) ? 0 : 1;
}

static int on_message_complete(http_parser *p)
{
	return handle_request(p->data) ? 0 : 1;
}

static const http_parser_settings request_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static void drop_client(struct client *c)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->body.data);
	free(c->out.data);
	free(c);
}

/* false when the client is gone */
static bool flush_client(struct client *c)
{
	while (c->out.off < c->out.len) {
		ssize_t n = write(c->fd, c->out.data + c->out.off, c->out.len - c->out.off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return true;
			drop_client(c);
			return false;
		}
		c->out.off += (size_t)n;
	}
	c->out.off = c->out.len = 0;
	if (c->close_after_write) {
		drop_client(c);
		return false;
	}
	return true;
}

static char read_buf[READ_CHUNK];

static void serve_client(struct client *c, uint32_t events)
{
	if (events & EPOLLOUT && !flush_client(c))
		return;
	/* After an error reply, only finish writing it. */
	if (c->close_after_write || !(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
		return;
	for (;;) {
		ssize_t n = read(c->fd, read_buf, sizeof(read_buf));
		size_t used;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			drop_client(c);
			return;
		}
		used = http_parser_execute(&c->parser, &request_settings, read_buf, (size_t)n);
		if (used != (size_t)n || HTTP_PARSER_ERRNO(&c->parser) != HPE_OK) {
			if (c->body_too_large)
				respond_raw(c, 413, "Payload Too Large", "", 0);
			else
				respond_raw(c, 400, "Bad Request", "", 0);
			c->close_after_write = true;
			flush_client(c);
			return;
		}
		if (c->out.len && !flush_client(c))
			return;
	}
}

static void accept_clients(int lfd)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP };
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		struct client *c;

		if (fd < 0)
			return; /* EAGAIN, or a transient error the next event retries */
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		http_parser_init(&c->parser, HTTP_REQUEST);
		c->parser.data = c;
		ev.data.ptr = c;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
		}
	}
}

static int listen_on(const char *host, const char *port, const char *port_file)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd, one = 1, rc;
	FILE *f;

	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		fprintf(stderr, "mini_server: %s:%s: %s\n", host, port, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4096) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		fprintf(stderr, "mini_server: listen on %s:%s: %s\n", host, port, strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	if (port_file) {
		/* Written once listening, so a reader that sees the file can connect. */
		unsigned p = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							    : ((struct sockaddr_in *)&ss)->sin_port);
		f = fopen(port_file, "w");
		if (!f || fprintf(f, "%u\n", p) < 0 || fclose(f) != 0) {
			fprintf(stderr, "mini_server: %s: %s\n", port_file, strerror(errno));
			return -1;
		}
	}
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, 0, 'H' },      { "port", required_argument, 0, 'p' },
		{ "port-file", required_argument, 0, 'f' }, { "max-body", required_argument, 0, 'm' },
		{ "path", required_argument, 0, 'P' },
		{ 0, 0, 0, 0 },
	};
	const char *host = "127.0.0.1", *port = "0", *port_file = NULL;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET }, events[MAX_EVENTS];
	int lfd, c, i;
	char *end;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'H':
			host = optarg;
			break;
		case 'p':
			port = optarg;
			break;
		case 'f':
			port_file = optarg;
			break;
		case 'P':
			mcp_path = optarg;
			break;
		case 'm':
			max_body = strtoul(optarg, &end, 10);
			if (*end || !max_body) {
				fprintf(stderr, "mini_server: --max-body: '%s' is not a byte count\n", optarg);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: mini_server [--host H] [--port N] [--port-file F] [--max-body N] [--path P]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(host, port, port_file);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lfd < 0 || epfd < 0)
		return 1;
	ev.data.ptr = NULL; /* the listener */
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) < 0) {
		perror("mini_server: epoll_ctl");
		return 1;
	}
	for (;;) {
		int n = epoll_wait(epfd, events, MAX_EVENTS, -1);

		if (n < 0 && errno != EINTR) {
			perror("mini_server: epoll_wait");
			return 1;
		}
		for (i = 0; i < n; i++) {
			if (!events[i].data.ptr)
				accept_clients(lfd);
			else
				serve_client(events[i].data.ptr, events[i].events);
		}
	}
}
