// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Name caps: what a str becomes (cut at PYNAME_MAX bytes on a character
 * boundary, with a marker), and the pool's sharing and budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "pyname.h"

static void test_short_kept(void **state)
{
	char out[PYNAME_MAX + 1];

	(void)state;
	assert_int_equal(pyname__utf8(out, "leak", 4, 1, false), 4);
	assert_string_equal(out, "leak");
	assert_int_equal(pyname__utf8(out, "", 0, 1, false), 0);
	assert_string_equal(out, "");
}

static void test_exact_fit_kept(void **state)
{
	char in[PYNAME_MAX + 1], out[PYNAME_MAX + 1];

	(void)state;
	memset(in, 'a', sizeof(in));
	assert_int_equal(pyname__utf8(out, in, PYNAME_MAX, 1, false), PYNAME_MAX);
	assert_int_equal(strspn(out, "a"), PYNAME_MAX);
	/* one more: cut to 253 + "..." */
	assert_int_equal(pyname__utf8(out, in, PYNAME_MAX + 1, 1, false), PYNAME_MAX);
	assert_int_equal(strspn(out, "a"), PYNAME_MAX - 3);
	assert_string_equal(out + PYNAME_MAX - 3, PYNAME_MARK);
}

/* The str goes on past what was read: marked even when the part fits. */
static void test_more_marked(void **state)
{
	char out[PYNAME_MAX + 1];

	(void)state;
	assert_int_equal(pyname__utf8(out, "abc", 3, 1, true), 6);
	assert_string_equal(out, "abc" PYNAME_MARK);
}

/* 4-byte characters are never split: 63 of them (252 bytes) and the marker. */
static void test_wide_cut_on_boundary(void **state)
{
	__u32 in[PYNAME_CHARS];
	char out[PYNAME_MAX + 1], want[PYNAME_MAX + 1] = "";

	(void)state;
	for (size_t i = 0; i < PYNAME_CHARS; i++)
		in[i] = 0x1f600;
	for (int i = 0; i < 63; i++)
		strcat(want, "\xf0\x9f\x98\x80");
	strcat(want, PYNAME_MARK);
	assert_int_equal(pyname__utf8(out, in, PYNAME_CHARS, 4, true), 255);
	assert_string_equal(out, want);
}

static void test_widths_and_invalid(void **state)
{
	const __u8 latin1[] = {'c', 0xe9};
	const __u16 ucs2[] = {0x3b1, 0xd800, 'x'};
	const __u32 ucs4[] = {0x110000, 0xffffffff, 0x10ffff};
	char out[PYNAME_MAX + 1];

	(void)state;
	pyname__utf8(out, latin1, 2, 1, false);
	assert_string_equal(out, "c\xc3\xa9");
	pyname__utf8(out, ucs2, 3, 2, false); /* a lone surrogate */
	assert_string_equal(out, "\xce\xb1\xef\xbf\xbdx");
	pyname__utf8(out, ucs4, 3, 4, false);
	assert_string_equal(out, "\xef\xbf\xbd\xef\xbf\xbd\xf4\x8f\xbf\xbf");
}

static void test_pool_shares(void **state)
{
	struct pynames *p = pynames__new(1 << 20);
	struct pynames_stats st;
	char copy[] = "app.py";
	const char *a, *b;

	(void)state;
	assert_non_null(p);
	a = pynames__intern(p, "app.py");
	b = pynames__intern(p, copy);
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, copy);
	assert_string_equal(a, "app.py");
	pynames__stats(p, &st);
	assert_int_equal(st.names, 1);
	pynames__free(p);
}

/* 100000 distinct names into a 64 KiB pool: it keeps what fits and refuses
 * the rest, and every name kept reads back. */
static void test_pool_budget(void **state)
{
	struct pynames *p = pynames__new(64 << 10);
	struct pynames_stats st;
	char name[32];
	size_t kept = 0;

	(void)state;
	for (int i = 0; i < 100000; i++) {
		const char *k;

		snprintf(name, sizeof(name), "function_%d", i);
		k = pynames__intern(p, name);
		if (k) {
			assert_string_equal(k, name);
			kept++;
		}
	}
	pynames__stats(p, &st);
	assert_true(st.bytes <= 64 << 10);
	assert_int_equal(st.names, kept);
	assert_true(kept > 500 && kept < 2000);
	assert_int_equal(st.refused, 100000 - kept);
	assert_non_null(pynames__intern(p, "function_0")); /* kept ones still found */
	pynames__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short_kept),
		cmocka_unit_test(test_exact_fit_kept),
		cmocka_unit_test(test_more_marked),
		cmocka_unit_test(test_wide_cut_on_boundary),
		cmocka_unit_test(test_widths_and_invalid),
		cmocka_unit_test(test_pool_shares),
		cmocka_unit_test(test_pool_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
