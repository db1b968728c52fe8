// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Benchmark target: times N malloc(64) + free pairs, DEPTH frames below main, started by a
 * line on stdin, and prints the cost per pair, so scripts/bench.sh can compare tracing modes. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "target_io.h"

static void *volatile sink;

__attribute__((noinline, noclone)) void bench_pairs(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		sink = malloc(64);
		asm volatile("" ::: "memory");
		free(sink);
		asm volatile("" ::: "memory");
	}
}

/* Puts `levels` frames of its own between the caller and bench_pairs, so that a stack walk
 * from malloc's return has that many more frames to cross. The asm hides r from the compiler:
 * without it, GCC turns `return descend() + 1` into a loop with an accumulator. noclone keeps
 * the frames one function (no descend.constprop.0). */
__attribute__((noinline, noclone)) unsigned long descend(unsigned int levels, unsigned long n)
{
	unsigned long r;

	if (levels <= 1)
		bench_pairs(n);
	else
		descend(levels - 1, n);
	r = n;
	asm volatile("" : "+r"(r) : : "memory");
	return r + 1;
}

/* depth = frames from malloc's caller to main, exclusive: 1 is bench_pairs called by main. */
static void run_pairs(unsigned long depth, unsigned long n)
{
	if (depth > 1)
		descend(depth - 1, n);
	else
		bench_pairs(n);
}

static int parse_arg(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || *end || !*out || *out > max ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long n = 1000000, depth = 1, runs = 1;
	struct timespec t0, t1;
	double ns;

	if (argc > 4 || (argc > 1 && parse_arg(argv[1], ~0UL, &n)) ||
	    (argc > 2 && parse_arg(argv[2], 1000, &depth)) ||
	    (argc > 3 && parse_arg(argv[3], 1000, &runs))) {
		fprintf(stderr, "usage: bench_target [PAIRS [DEPTH [RUNS]]]   (DEPTH 1-1000, "
				"default 1; RUNS: timed runs, each after a line, default 1)\n");
		return 2;
	}
	say("pid %d\n", (int)getpid());

	/* Several runs: the governor's bench times the runs after the one that got the
	 * process demoted. */
	for (unsigned long r = 0; r < runs; r++) {
		wait_line(-1);
		/* Warm the allocator's tcache so the first pair does not pay for arena setup. */
		run_pairs(depth, 1000);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		run_pairs(depth, n);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ns = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / (double)n;
		say("ns_per_pair %.1f\n", ns);
	}
	wait_line(-1);
	return 0;
}
