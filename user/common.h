/* Small helpers every module may use: one definition each. */
#ifndef MCPF_COMMON_H
#define MCPF_COMMON_H

#include <stddef.h>
#include <string.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The object a member (a watch, a list node...) is embedded in. */
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

#define NS_PER_SEC 1000000000ULL

/* The longest JSON-RPC id the daemon takes from an agent, as JSON text
 * (a string's quotes and escapes included): longer ones are refused
 * before anything copies them (jsonrpc.c), so that what is kept per
 * request (claims, calls awaiting answers, denials queued) stays small.
 * Also the longest id matched in a server's answers (answer_scan.h). */
#define JSONRPC_ID_MAX 256

/* A macro's value as a string literal: "id longer than " STR(JSONRPC_ID_MAX) */
#define STR_(x) #x
#define STR(x) STR_(x)

/* CLOCK_BOOTTIME in ns: bpf_ktime_get_boot_ns()'s clock, which keeps
 * counting through suspend, so rate windows and start times compare. */
static inline unsigned long long boot_time_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* CLOCK_MONOTONIC in ns. */
static inline unsigned long long monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* CLOCK_MONOTONIC seconds, for timeouts. */
static inline long long monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* snprintf(dst, size, "%s", src) without vfprintf (hot path: a few per
 * call); src NULL gives "". */
static inline void copy_cut(char *dst, size_t size, const char *src)
{
	size_t n = src ? strnlen(src, size - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

#endif
