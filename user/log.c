#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>
#include "log.h"

int log_verbosity;

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };
	va_list ap;

	if ((level == LOG_INFO && log_verbosity < 1) || (level == LOG_DEBUG && log_verbosity < 2))
		return;
	va_start(ap, fmt);
	flockfile(stderr);  /* one line, whole, whatever the other threads log */
	fprintf(stderr, "mcpfence: %s", prefix[level]);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && log_verbosity < 3)
		return 0;
	if (log_verbosity < 2 && level != LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
