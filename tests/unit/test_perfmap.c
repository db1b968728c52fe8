// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of perf map files: what a runtime writes is parsed, what a
 * hostile process writes is bounded or skipped, and only the process's own
 * regular file, reached without symlinks, is opened. */
#define _GNU_SOURCE /* memfd_create, nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "perfmap.h"

/* A perf map parsed from text. */
static struct perfmap *parse(const char *text, size_t len)
{
	int fd = memfd_create("perfmap", MFD_CLOEXEC);
	struct perfmap *m;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	m = perfmap__read(fd);
	close(fd);
	assert_non_null(m);
	return m;
}

#define assert_name(m, addr, want, want_start)                                                     \
	do {                                                                                       \
		const char *n_;                                                                    \
		__u64 s_;                                                                          \
                                                                                                   \
		assert_int_equal(perfmap__find(m, addr, &n_, &s_), 0);                             \
		assert_string_equal(n_, want);                                                     \
		assert_true(s_ == (want_start));                                                   \
	} while (0)

static void test_node_lines(void **state)
{
	/* As node --perf-basic-prof writes them: no 0x, names with spaces. */
	static const char text[] = "3ef8c5c0a0c0 3c LazyCompile:*leak /srv/app.js:3\n"
				   "3ef8c5c0a140 1e8 Builtin:ArgumentsAdaptorTrampoline\n"
				   "0x7f0000001000 0x10 jit_alloc\n";
	struct perfmap *m = parse(text, strlen(text));
	const char *n;
	__u64 s;

	(void)state;
	assert_int_equal(perfmap__count(m), 3);
	assert_name(m, 0x3ef8c5c0a0c0, "LazyCompile:*leak /srv/app.js:3", 0x3ef8c5c0a0c0);
	assert_name(m, 0x3ef8c5c0a0fb, "LazyCompile:*leak /srv/app.js:3", 0x3ef8c5c0a0c0);
	assert_name(m, 0x3ef8c5c0a327, "Builtin:ArgumentsAdaptorTrampoline", 0x3ef8c5c0a140);
	assert_name(m, 0x7f000000100f, "jit_alloc", 0x7f0000001000);
	/* Between and after the entries: no name. */
	assert_int_equal(perfmap__find(m, 0x3ef8c5c0a0fc, &n, &s), -ENOENT);
	assert_int_equal(perfmap__find(m, 0x7f0000001010, &n, &s), -ENOENT);
	assert_int_equal(perfmap__find(m, 0x1000, &n, &s), -ENOENT);
	perfmap__free(m);
}

static void test_bad_lines_skipped(void **state)
{
	static const char text[] = "1000 10\n"			     /* no name */
				   "2000 0 zero_size\n"		     /* empty range */
				   "ffffffffffffff00 1000 wraps\n"   /* past the top */
				   "12345678901234567 10 too_long\n" /* 17 digits */
				   "3000  10 two_spaces\n"
				   "zz 10 not_hex\n"
				   "4000 10 good\n"
				   "5000 10 last_line_unterminated";
	struct perfmap *m = parse(text, strlen(text));
	const char *n;
	__u64 s;

	(void)state;
	assert_int_equal(perfmap__count(m), 1);
	assert_name(m, 0x4008, "good", 0x4000);
	assert_int_equal(perfmap__find(m, 0x5008, &n, &s), -ENOENT);
	assert_int_equal(perfmap__find(m, 0xffffffffffffff08, &n, &s), -ENOENT);
	perfmap__free(m);
}

static void test_long_lines(void **state)
{
	size_t len = PERFMAP_MAX_LINE * 3, off;
	char *text = malloc(len + 64);
	struct perfmap *m;
	const char *n;
	__u64 s;

	(void)state;
	assert_non_null(text);
	/* A name of 1000 bytes is cut at PERFMAP_MAX_NAME; a line longer
	 * than PERFMAP_MAX_LINE is skipped whole, and the next one read. */
	off = sprintf(text, "1000 10 ");
	memset(text + off, 'a', 1000);
	off += 1000;
	off += sprintf(text + off, "\n2000 10 ");
	memset(text + off, 'b', PERFMAP_MAX_LINE);
	off += PERFMAP_MAX_LINE;
	off += sprintf(text + off, "\n3000 10 after\n");
	m = parse(text, off);
	assert_int_equal(perfmap__count(m), 2);
	assert_int_equal(perfmap__find(m, 0x1000, &n, &s), 0);
	assert_int_equal(strlen(n), PERFMAP_MAX_NAME);
	assert_int_equal(perfmap__find(m, 0x2000, &n, &s), -ENOENT);
	assert_name(m, 0x3000, "after", 0x3000);
	perfmap__free(m);
	free(text);
}

static void test_overlap(void **state)
{
	/* Code space reused: the later line for one start wins, and an entry
	 * starting inside a larger stale one names its own range. */
	static const char text[] = "1000 100 old\n"
				   "1000 100 new\n"
				   "1040 10 inner\n";
	struct perfmap *m = parse(text, strlen(text));

	(void)state;
	assert_name(m, 0x1010, "new", 0x1000);
	assert_name(m, 0x1044, "inner", 0x1040);
	assert_name(m, 0x1050, "new", 0x1000);
	perfmap__free(m);
}

static void test_entry_cap(void **state)
{
	size_t n = PERFMAP_MAX_ENTRIES + 10, i, off = 0;
	char *text = malloc(n * 16);
	struct perfmap *m;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < n; i++)
		off += sprintf(text + off, "%zx 1 f\n", i + 1);
	m = parse(text, off);
	assert_int_equal(perfmap__count(m), PERFMAP_MAX_ENTRIES);
	perfmap__free(m);
	free(text);
}

/* A scratch root with tmp/ in it. */
struct scratch {
	char dir[32];
	char map[96];
};

static int scratch_setup(void **state)
{
	struct scratch *sc = calloc(1, sizeof(*sc));
	char tmp[64];

	*state = sc;
	if (!sc)
		return -1;
	strcpy(sc->dir, "/tmp/test_perfmap.XXXXXX");
	if (!mkdtemp(sc->dir))
		return -1;
	snprintf(tmp, sizeof(tmp), "%s/tmp", sc->dir);
	snprintf(sc->map, sizeof(sc->map), "%s/tmp/perf-42.map", sc->dir);
	return mkdir(tmp, 01777);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int scratch_teardown(void **state)
{
	struct scratch *sc = *state;

	nftw(sc->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(sc);
	return 0;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_open_own_file(void **state)
{
	struct scratch *sc = *state;
	int fd;

	put(sc->map, "1000 10 f\n");
	fd = perfmap__open(sc->dir, 42, geteuid());
	assert_true(fd >= 0);
	close(fd);
	/* Another pid's name, another owner. */
	assert_int_equal(perfmap__open(sc->dir, 43, geteuid()), -ENOENT);
	assert_int_equal(perfmap__open(sc->dir, 42, geteuid() + 1), -EPERM);
}

static void test_open_refuses(void **state)
{
	struct scratch *sc = *state;
	char other[128];

	/* A symlink, even to a file inside the root: ELOOP. */
	snprintf(other, sizeof(other), "%s/tmp/other", sc->dir);
	put(other, "1000 10 f\n");
	assert_int_equal(symlink("/etc/shadow", sc->map), 0);
	assert_int_equal(perfmap__open(sc->dir, 42, geteuid()), -ELOOP);
	assert_int_equal(unlink(sc->map), 0);
	assert_int_equal(symlink("other", sc->map), 0);
	assert_int_equal(perfmap__open(sc->dir, 42, geteuid()), -ELOOP);
	assert_int_equal(unlink(sc->map), 0);
	/* A hard link to another file: two names. */
	assert_int_equal(link(other, sc->map), 0);
	assert_int_equal(perfmap__open(sc->dir, 42, geteuid()), -EPERM);
	assert_int_equal(unlink(sc->map), 0);
	/* A FIFO: refused without blocking. */
	assert_int_equal(mkfifo(sc->map, 0600), 0);
	assert_int_equal(perfmap__open(sc->dir, 42, geteuid()), -ENOEXEC);
	assert_int_equal(unlink(sc->map), 0);
	/* A directory. */
	assert_int_equal(mkdir(sc->map, 0700), 0);
	assert_int_equal(perfmap__open(sc->dir, 42, geteuid()), -ENOEXEC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_lines),
		cmocka_unit_test(test_bad_lines_skipped),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_entry_cap),
		cmocka_unit_test_setup_teardown(test_open_own_file, scratch_setup,
						scratch_teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses, scratch_setup, scratch_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
