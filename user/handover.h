/* Listener handover between two daemons on one pin directory (rolling
 * update: the new daemon starts while the old one still serves).
 *
 * The running daemon listens on STATE_DIR/handover.sock (SOCK_SEQPACKET).
 * A new daemon connects, says HELLO (protocol version, its --bpffs); the
 * old one checks the peer (SO_PEERCRED: root or its own uid), sends its
 * listening sockets with SCM_RIGHTS in batches, then DONE, and releases the
 * pin-dir lock while still serving. Once the new daemon has adopted the
 * links and watches the listeners it sends TAKEN: the old one stops
 * accepting and drains. The sockets never close, so connections queued in
 * a backlog during the switch are served by the new daemon. If the new
 * daemon goes away before TAKEN, the old one simply goes on.
 *
 * Every message is bounded (a header, at most HANDOVER_BATCH items with at
 * most two fds each); the old daemon's side runs in its event loop and
 * never blocks: a peer that does not read or answer loses its session. */
#ifndef MCPF_HANDOVER_H
#define MCPF_HANDOVER_H

#include <stdbool.h>
#include <stdint.h>
#include "loop.h"

#define MCPF_DEFAULT_STATE_DIR "/run/mcpfence"
#define HANDOVER_VERSION    1
#define HANDOVER_SOCK_NAME  "handover.sock"
#define HANDOVER_BATCH      64      /* items per message: 2 fds each, below SCM_MAX_FD (253) */
#define HANDOVER_MAX_ITEMS  8192

enum handover_kind {
	HANDOVER_PROXY_LISTENER = 1,    /* a listener connect4/6 redirect agents to */
	HANDOVER_ADMIN_LISTENER = 2,    /* the --metrics listener */
};

struct handover_item {
	uint16_t kind;
	uint16_t family;                /* AF_INET, AF_INET6 (the kernel's, checked on receipt) */
	uint64_t netns_cookie;          /* SO_NETNS_COOKIE of fd (checked on receipt) */
	int fd;                         /* the listening socket; -1 once someone took it */
	int netns_fd;                   /* the socket's netns when not the sender's own, else -1 */
};

/* Items received; whoever adopts one sets its fd (and netns_fd) to -1. */
struct handover_set {
	struct handover_item *items;
	int n;
};

/* What the old daemon's side asks of the daemon. */
struct handover_ops {
	/* Fill at most max items with the daemon's listeners (fds stay the
	 * daemon's: they are sent as copies); returns how many, or -errno. */
	int (*export_items)(void *ctx, struct handover_item *items, int max);
	void (*released)(void *ctx);    /* all sent: give up the pin-dir lock */
	void (*taken)(void *ctx);       /* the successor serves: stop accepting, drain */
	void (*abandoned)(void *ctx);   /* the successor left before TAKEN: carry on */
	void *ctx;
};

struct handover_server {
	struct watch listen;
	struct watch session;           /* the one successor being served */
	struct loop *loop;
	struct handover_ops ops;
	char bpffs[4096];
	char path[4200];
	unsigned long long path_dev, path_ino;  /* what we bound, to unlink only ours */
	long long session_start_s;
	struct handover_item *out;      /* copies still to send, while sending */
	int n_out, next_out;
	bool sending;                   /* HELLO came, DONE not sent yet */
	bool released;                  /* DONE sent, lock given up, waiting for TAKEN */
};

/* Listen on STATE_DIR/handover.sock (bound beside it, then renamed over it,
 * so a successor's socket replaces ours atomically). */
int handover_serve(struct handover_server *hs, struct loop *loop, const char *state_dir,
		   const char *bpffs, const struct handover_ops *ops);
/* Stop listening; the socket file is removed only if it is still ours. */
void handover_server_stop(struct handover_server *hs);

/* New daemon, at start-up (blocking, bounded by a few seconds): ask a
 * running daemon on STATE_DIR for its listeners. 0 with *session = -1 when
 * there is none (no socket, nobody listening, or it refused); 0 with the
 * items in *set and *session open once all arrived; -errno on a broken
 * exchange (nothing kept). */
int handover_fetch(const char *state_dir, const char *bpffs, struct handover_set *set, int *session);
/* Tell the old daemon we serve, and close the session. */
int handover_taken(int session);
/* Close every item not adopted, free the set. */
void handover_set_free(struct handover_set *set);

#endif
