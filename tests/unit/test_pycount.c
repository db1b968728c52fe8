// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The census's counts by type name and its report rows: merging names, growth since the
 * previous census and the first, a type gone since, the top by bytes and the rest summed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pycount.h"

static void add(struct pycounts *s, const char *name, __u64 objects, __u64 bytes)
{
	assert_int_equal(pycounts__add(s, name, objects, bytes), 0);
}

static void test_merge(void **state)
{
	struct pycounts s = {};

	(void)state;
	add(&s, "Node", 2, 64);
	add(&s, "int", 10, 320);
	add(&s, "Node", 3, 96); /* a class of the same name in another module */
	pycounts__merge(&s);
	assert_int_equal(s.nr, 2);
	assert_string_equal(s.v[0].name, "Node");
	assert_int_equal(s.v[0].objects, 5);
	assert_int_equal(s.v[0].bytes, 160);
	assert_string_equal(s.v[1].name, "int");
	pycounts__free(&s);
	pycounts__merge(&s); /* empty */
	assert_int_equal(s.nr, 0);
}

static void test_first_census(void **state)
{
	struct pycounts now = {}, none = {};
	struct report_pytype *rows = NULL;
	size_t nrows = 0, cap = 0;
	char other[64];

	(void)state;
	add(&now, "int", 4000000, 128000000);
	add(&now, "dict", 1, 83886160);
	pycounts__merge(&now);
	assert_int_equal(pycounts__rows(7, &now, &none, &none, 10, other, sizeof(other), &rows,
					&nrows, &cap),
			 0);
	assert_int_equal(nrows, 2);
	assert_string_equal(rows[0].type, "int");
	assert_int_equal(rows[0].pid, 7);
	assert_int_equal(rows[0].objects, 4000000);
	/* nothing to grow from */
	assert_int_equal(rows[0].growth_objects, 0);
	assert_int_equal(rows[0].start_bytes, 0);
	assert_string_equal(rows[1].type, "dict");
	free(rows);
	pycounts__free(&now);
}

static void test_growth_and_top(void **state)
{
	struct pycounts start = {}, prev = {}, now = {};
	struct report_pytype *rows = NULL;
	size_t nrows = 1, cap = 0;
	char other[64];

	(void)state;
	add(&start, "int", 100, 3200);
	add(&start, "list", 5, 400);
	pycounts__merge(&start);
	add(&prev, "int", 1000, 32000);
	add(&prev, "list", 5, 400);
	add(&prev, "Gone", 10, 640);
	add(&prev, "tuple", 1, 64);
	pycounts__merge(&prev);
	add(&now, "int", 4000, 128000);
	add(&now, "list", 4, 320);
	add(&now, "str", 7, 448);
	add(&now, "tuple", 2, 128);
	pycounts__merge(&now);
	/* rows are appended after another process's */
	rows = calloc(1, sizeof(*rows));
	cap = 1;
	assert_int_equal(pycounts__rows(9, &now, &prev, &start, 2, other, sizeof(other), &rows,
					&nrows, &cap),
			 0);
	assert_int_equal(nrows, 1 + 3);
	assert_string_equal(rows[1].type, "int");
	assert_int_equal(rows[1].growth_objects, 3000);
	assert_int_equal(rows[1].growth_bytes, 96000);
	assert_int_equal(rows[1].start_objects, 3900);
	assert_string_equal(rows[2].type, "str"); /* new: all of it is growth */
	assert_int_equal(rows[2].growth_objects, 7);
	assert_int_equal(rows[2].start_bytes, 448);
	/* list (-1, since start -1), tuple (+1, +2 since start), Gone (-10, gone) summed */
	assert_string_equal(rows[3].type, "(3 other types)");
	assert_ptr_equal(rows[3].type, other);
	assert_int_equal(rows[3].objects, 4 + 2 + 0);
	assert_int_equal(rows[3].bytes, 320 + 128);
	assert_int_equal(rows[3].growth_objects, -1 + 1 - 10);
	assert_int_equal(rows[3].growth_bytes, -80 + 64 - 640);
	assert_int_equal(rows[3].start_objects, -1 + 2 + 0);
	free(rows);
	pycounts__free(&start);
	pycounts__free(&prev);
	pycounts__free(&now);
}

static void test_copy(void **state)
{
	struct pycounts a = {}, b = {};

	(void)state;
	add(&a, "int", 1, 32);
	add(&b, "old", 1, 1);
	assert_int_equal(pycounts__copy(&b, &a), 0);
	assert_int_equal(b.nr, 1);
	assert_string_equal(b.v[0].name, "int");
	assert_ptr_not_equal(b.v[0].name, a.v[0].name);
	pycounts__free(&a);
	pycounts__free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_first_census),
		cmocka_unit_test(test_growth_and_top),
		cmocka_unit_test(test_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
