/* Audit log: one JSON line per policy decision, appended to a file with
 * size-based rotation.
 *
 * Line: {"time":"2026-11-22T03:08:31.123Z",
 *        "agent":{"pid":..,"uid":..,"comm":"..","cgroup":<id>[,"cgroup_path":".."]},
 *        "server":"..","tool":"..","decision":"allow|deny|rate_limited|hidden|invalid",
 *        "rule":..|null,"reason":..|null,"session":..|null,"latency_ms":1.234
 *        [,"arguments":<redacted JSON>]}
 * Strings are made valid UTF-8 (invalid bytes become U+FFFD). "arguments"
 * appears only with --audit-args, redacted by the rule in redact.h.
 *
 * Rotation: when a line would take FILE past max_bytes, FILE is renamed,
 * the line starts a new FILE, and the old one becomes FILE.1.gz (older
 * ones shift to FILE.2.gz ... FILE.<keep>.gz; the oldest is removed). A
 * line is written with one write() to an O_APPEND descriptor, so it is
 * never split across files, and a failed write is cut back off the file.
 * Compression runs on a worker thread at lower CPU priority, so the event
 * loop only pays for renames; a rotation waits for the previous
 * compression only if rotations come faster than gzip. A thread rather
 * than a forked child: no SIGCHLD or waitpid to fit into the daemon's
 * loop, and no copy of the daemon's descriptors in another process. If
 * the daemon dies mid-compression, audit_open finishes the job.
 */
#ifndef MCPF_AUDIT_H
#define MCPF_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "stats.h"
#include "bytebuf.h"

#define AUDIT_DEFAULT_MAX_BYTES (100ULL << 20)
#define AUDIT_DEFAULT_KEEP      5

struct audit_options {
	const char *path;       /* --audit FILE */
	uint64_t max_bytes;     /* --audit-max-bytes; 0 = never rotate */
	unsigned int keep;      /* --audit-keep: rotated files kept; 0 = drop old lines */
	bool log_args;          /* --audit-args */
};

struct audit_record {
	struct timespec time;   /* CLOCK_REALTIME; all zero = now */
	uint32_t pid, uid;      /* agent, from the connection record */
	const char *comm;
	uint64_t cgroup_id;
	const char *cgroup_path;  /* NULL if not resolved */
	const char *server;
	const char *tool;         /* NULL/"" when the request named none */
	enum mcpf_decision decision;
	const char *rule;         /* the policy rule that decided; NULL = none */
	const char *reason;
	const char *session;      /* Mcp-Session-Id; NULL if none */
	uint64_t latency_ns;      /* request start to end of response */
	const cJSON *arguments;   /* tools/call params.arguments; logged with log_args */
	/* a call held for approval (approval.h): who decided and the hash of
	 * the canonical arguments; NULL otherwise */
	const char *approved_by, *args_hash;
};

struct audit_log;

/* Open (creating, mode 0600) or continue FILE. NULL with errno set. */
struct audit_log *audit_open(const struct audit_options *opt);
/* Format and append one line; safe from any thread (the line is formatted
 * outside the log's lock). 0, or -errno (the line is lost and nothing
 * partial stays in the file). */
int audit_write(struct audit_log *a, const struct audit_record *r);
/* Wait for a running compression, close. */
void audit_close(struct audit_log *a);
/* Are tool arguments logged (--audit-args)? */
bool audit_logs_args(const struct audit_log *a);

/* The line for r, with its '\n', appended to out. 0 or -ENOMEM. */
int audit_format(const struct audit_record *r, bool log_args, struct bytebuf *out);

#endif /* MCPF_AUDIT_H */
