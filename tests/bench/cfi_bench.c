// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Times unwind-table builds (user/cfi.c): for each ELF file given, its FDEs,
 * rows, table size, unsupported rows and the best of three build times. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cfi.h"

#define ROUNDS 3

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Builds path's table ROUNDS times; the last table stays in t. */
static int bench(const char *path, struct cfi_table *t, double *best_ms)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int i, err = 0;

	if (fd < 0)
		return -errno;
	for (i = 0; !err && i < ROUNDS; i++) {
		double start = now_ms(), ms;

		cfi_table__free(t);
		err = cfi_table__build(fd, -1, NULL, t);
		ms = now_ms() - start;
		if (!i || ms < *best_ms)
			*best_ms = ms;
	}
	close(fd);
	return err;
}

int main(int argc, char **argv)
{
	int i, err, ret = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s ELF...\n", argv[0]);
		return 64;
	}
	printf("%8s %9s %9s %7s %9s  %s\n", "fdes", "rows", "KiB", "unsup", "build_ms", "file");
	for (i = 1; i < argc; i++) {
		struct cfi_table t = {};
		double ms = 0;

		err = bench(argv[i], &t, &ms);
		if (err) {
			fprintf(stderr, "cfi_bench: %s: %s\n", argv[i], strerror(-err));
			ret = 1;
			continue;
		}
		printf("%8zu %9zu %9.1f %7zu %9.1f  %s\n", t.stats.fdes, t.nr,
		       t.nr * sizeof(*t.rows) / 1024.0, t.stats.unsupported, ms, argv[i]);
		cfi_table__free(&t);
	}
	return ret;
}
