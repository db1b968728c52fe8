// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The link map of this very process: the executable first, libc after it,
 * the vDSO left out; a process without one says so. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "linkmap.h"
#include "procmaps.h"

static struct file_id id_of(const struct procmaps *m, const void *addr)
{
	const struct vma *v = procmaps__find(m, (__u64)(unsigned long)addr);

	assert_non_null(v);
	return procmaps__file_id(v);
}

static void test_own_link_map(void **state)
{
	struct file_id ids[64];
	struct procmaps maps = {};
	size_t n, exe, libc;

	(void)state;
	assert_int_equal(procmaps__read_pid(getpid(), &maps), 0);
	assert_int_equal(linkmap__order(getpid(), &maps, ids, 64, &n), 0);
	exe = linkmap__index(ids, n, id_of(&maps, (const void *)test_own_link_map));
	libc = linkmap__index(ids, n, id_of(&maps, (const void *)getpid));
	assert_int_equal(exe, 0);
	assert_true(libc > exe && libc < n);
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(ids[i].inode, 0); /* no vDSO */
	/* A short array keeps the first entries. */
	assert_int_equal(linkmap__order(getpid(), &maps, ids, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(linkmap__index(ids, n, id_of(&maps, (const void *)test_own_link_map)), 0);
	procmaps__free(&maps);
}

static void test_no_such_process(void **state)
{
	struct file_id ids[4];
	struct procmaps maps = {};
	size_t n = 7;

	(void)state;
	assert_true(linkmap__order(0x7ffffff0, &maps, ids, 4, &n) < 0);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_link_map),
		cmocka_unit_test(test_no_such_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
