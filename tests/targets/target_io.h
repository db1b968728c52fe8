/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The scenario protocol of the unwinding targets (deep_target, cache_target), as in
 * alloc_target: "pid <PID>", then one stdin line per scenario, "done <name>" after each. */
#ifndef TARGET_IO_H
#define TARGET_IO_H

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Output and input avoid stdio, which allocates its buffers lazily: a buffer malloc'd
 * on the first "done" line would show up as an extra site. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		memmove(buf, buf + w, n - w);
		n -= w;
	}
}

static char io_inbuf[4096];
static size_t io_inlen;

/* True if a whole line is already buffered; consumes it. */
static bool take_line(void)
{
	char *nl = (char *)memchr(io_inbuf, '\n', io_inlen);

	if (!nl)
		return false;
	io_inlen -= nl + 1 - io_inbuf;
	memmove(io_inbuf, nl + 1, io_inlen);
	return true;
}

/* Waits for a line on stdin. 1: a line, -1: EOF or error. */
static int wait_line(void)
{
	struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
	ssize_t n;

	for (;;) {
		if (take_line())
			return 1;
		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (io_inlen == sizeof(io_inbuf))
			io_inlen = 0; /* an absurdly long line: forget it */
		n = read(STDIN_FILENO, io_inbuf + io_inlen, sizeof(io_inbuf) - io_inlen);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		io_inlen += n;
	}
}

#endif /* TARGET_IO_H */
