/* Logging to stderr: errors and warnings always, info with -v, debug with -vv. */
#ifndef MCPF_LOG_H
#define MCPF_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern int log_verbosity; /* 0: errors and warnings, 1: +info, 2: +debug */

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* libbpf's own messages: silent unless -vv. */
void log_setup_libbpf(void);

#endif
