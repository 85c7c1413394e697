/* SPDX-License-Identifier: ISC */
#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static const char *prog = "koogate";
static int pid;                 /* once: a syscall per line adds up (no child logs) */

void kg_log_init(const char *program)
{
	prog = program;
	pid = (int)getpid();
}

bool kg_log_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	bool ok = fd >= 0 && dup2(fd, 2) >= 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

void kg_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	n = snprintf(line, sizeof line, "koogate[%s %d]: ", prog, pid ? pid : (int)getpid());
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof line)
		vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line so lines from concurrent processes do not interleave;
	 * control characters from untrusted input are neutralised. */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = '?';
	fprintf(stderr, "%s\n", line);
	fflush(stderr);
}
