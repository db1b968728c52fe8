// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Benchmark target: times N malloc(64) + free pairs, started by a line on stdin, and
 * prints the cost per pair, so scripts/bench.sh can compare tracing modes. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *volatile sink;

/* Waits for a line (or EOF) on stdin without stdio, which would allocate a buffer. */
static void wait_line(void)
{
	char c;
	ssize_t n;

	for (;;) {
		n = read(STDIN_FILENO, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c == '\n')
			return;
	}
}

static void say(const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t w = write(STDOUT_FILENO, s, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		len -= w;
	}
}

__attribute__((noinline, noclone)) void bench_pairs(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		sink = malloc(64);
		asm volatile("" ::: "memory");
		free(sink);
		asm volatile("" ::: "memory");
	}
}

int main(int argc, char **argv)
{
	unsigned long n = 1000000;
	struct timespec t0, t1;
	char buf[128];
	double ns;

	if (argc > 1) {
		char *end;

		errno = 0;
		n = strtoul(argv[1], &end, 10);
		if (errno || *end || !n) {
			fprintf(stderr, "usage: bench_target [PAIRS]\n");
			return 2;
		}
	}
	snprintf(buf, sizeof(buf), "pid %d\n", (int)getpid());
	say(buf);
	wait_line();

	/* Warm the allocator's tcache so the first pair does not pay for arena setup. */
	bench_pairs(1000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bench_pairs(n);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / (double)n;

	snprintf(buf, sizeof(buf), "ns_per_pair %.1f\n", ns);
	say(buf);
	wait_line();
	return 0;
}
