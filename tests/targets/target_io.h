/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The scenario protocol every test target speaks: it prints "pid <PID>", runs each scenario
 * named on the command line after a line on stdin, prints "done <name>" after each, and
 * exits after one more line (or EOF). */
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
static inline void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void say(const char *fmt, ...)
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
static inline bool take_line(void)
{
	char *nl = (char *)memchr(io_inbuf, '\n', io_inlen);

	if (!nl)
		return false;
	io_inlen -= nl + 1 - io_inbuf;
	memmove(io_inbuf, nl + 1, io_inlen);
	return true;
}

/* Waits up to timeout_ms (-1: forever) for a line on stdin.
 * 1: a line, 0: timeout, -1: EOF or error. */
static inline int wait_line(int timeout_ms)
{
	struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
	ssize_t n;
	int r;

	for (;;) {
		if (take_line())
			return 1;
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
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

struct scenario {
	const char *name;
	void (*fn)(void);
	const char *desc;
};

#define MAX_RUN 64

static inline const struct scenario *find_scenario(const struct scenario *table, size_t n,
						   const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(table[i].name, name))
			return &table[i];
	return NULL;
}

static inline void target_usage(const char *prog, int fd)
{
	dprintf(fd,
		"usage: %s [--no-wait] SCENARIO...\n"
		"       %s --list\n"
		"Prints \"pid <PID>\", then runs each scenario after a line on stdin\n"
		"(\"done <scenario>\" after each), then exits after one more line or EOF.\n",
		prog, prog);
}

/* The whole main() of a target: parses argv against table, calls prepare (may be NULL)
 * with the scenarios to run before printing the pid, then runs them. Exit status.
 * Always inlined: the scenarios must be called from main itself, as the stack tests
 * expect "<scenario> <- main" in every build. */
static inline __attribute__((always_inline)) int
target_main(const char *prog, const struct scenario *table, size_t n, int argc, char **argv,
	    void (*prepare)(const struct scenario *const *run, int nrun))
{
	const struct scenario *run[MAX_RUN];
	bool wait = true;
	int nrun = 0;

	for (int i = 1; i < argc; i++) {
		const struct scenario *s = find_scenario(table, n, argv[i]);

		if (!strcmp(argv[i], "--list")) {
			for (size_t j = 0; j < n; j++)
				say("%-18s %s\n", table[j].name, table[j].desc);
			return 0;
		} else if (!strcmp(argv[i], "--no-wait")) {
			wait = false;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			target_usage(prog, STDOUT_FILENO);
			return 0;
		} else if (!s) {
			dprintf(STDERR_FILENO, "%s: unknown scenario '%s'\n", prog, argv[i]);
			target_usage(prog, STDERR_FILENO);
			return 2;
		} else if (nrun == MAX_RUN) {
			dprintf(STDERR_FILENO, "%s: at most %d scenarios\n", prog, MAX_RUN);
			return 2;
		} else {
			run[nrun++] = s;
		}
	}
	if (!nrun) {
		target_usage(prog, STDERR_FILENO);
		return 2;
	}
	if (prepare)
		prepare(run, nrun);

	say("pid %d\n", (int)getpid());
	for (int i = 0; i < nrun; i++) {
		if (wait && wait_line(-1) < 0)
			return 0;
		run[i]->fn();
		say("done %s\n", run[i]->name);
	}
	if (wait)
		wait_line(-1);
	return 0;
}

#endif /* TARGET_IO_H */
