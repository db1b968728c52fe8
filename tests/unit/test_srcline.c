// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of line tables: a -g file's rows, a file without a line table,
 * and debug sections that would inflate past the cap (refused unread). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "elfobj.h"
#include "srcline.h"

static void test_rows(void **state)
{
	struct elfobj *o = elfobj__open(FIXTURE_DIR "/symfix");
	struct srcline *l;
	struct elf_func f;
	const char *file;
	int line;

	(void)state;
	assert_non_null(o);
	assert_int_equal(elfobj__find_func(o, "fix_beta", &f), 0);
	l = srcline__open(o);
	assert_non_null(l);
	assert_int_equal(srcline__find(l, f.vaddr, &file, &line), 0);
	assert_true(strlen(file) > 9);
	assert_string_equal(file + strlen(file) - 9, "/symfix.c");
	assert_true(line > 0);
	/* No code at address 0. */
	assert_int_equal(srcline__find(l, 0, &file, &line), -ENOENT);
	srcline__free(l);
	srcline__free(NULL);
}

static void test_no_line_table(void **state)
{
	(void)state;
	/* Hand-written assembly, no -g. */
	assert_null(srcline__open(elfobj__open(FIXTURE_DIR "/libcfirules.so")));
	assert_int_equal(errno, ENOENT);
	/* Stripped: its lines are in the debug file. */
	assert_null(srcline__open(elfobj__open(FIXTURE_DIR "/symfix.stripped")));
	assert_int_equal(errno, ENOENT);
}

static void test_bomb_refused(void **state)
{
	(void)state;
	/* A compressed .debug_ranges that inflates to 256 MiB of zeros, beside
	 * the other debug sections: past SRCLINE_MAX_DEBUG by its header. */
	assert_null(srcline__open(elfobj__open(FIXTURE_DIR "/libcfibomb.so")));
	assert_int_equal(errno, EFBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_no_line_table),
		cmocka_unit_test(test_bomb_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
