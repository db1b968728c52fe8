// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Binding on this very process: objects given in maps order come back in
 * link-map order (the executable before libc), and a name both export stays
 * probed only in the executable, where ld.so binds it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "binding.h"

static void add_site(struct probe_plan *p, enum alloc_fn fn)
{
	p->sites[p->nsites++] = (struct probe_site){.fn = fn, .names = 1u << fn};
	p->exports |= 1u << fn;
}

static void test_executable_binds_first(void **state)
{
	struct procmaps maps = {};
	struct bind_obj objs[2] = {};
	const struct vma *exe, *libc;

	(void)state;
	assert_int_equal(procmaps__read_pid(getpid(), &maps), 0);
	exe = procmaps__find(&maps, (__u64)(unsigned long)test_executable_binds_first);
	libc = procmaps__find(&maps, (__u64)(unsigned long)getpid);
	assert_non_null(exe);
	assert_non_null(libc);
	/* libc first, as a maps file may list it (addresses say nothing of order). */
	objs[0].v = libc;
	add_site(&objs[0].plan, ALLOC_FN_MALLOC);
	add_site(&objs[0].plan, ALLOC_FN_FREE);
	add_site(&objs[0].plan, ALLOC_FN_CALLOC);
	objs[1].v = exe;
	add_site(&objs[1].plan, ALLOC_FN_MALLOC);
	add_site(&objs[1].plan, ALLOC_FN_FREE);
	assert_int_equal(binding__resolve(getpid(), &maps, objs, 2, false), 0);
	assert_ptr_equal(objs[0].v, exe);
	assert_int_equal(objs[0].plan.nsites, 2);
	assert_ptr_equal(objs[1].v, libc);
	assert_int_equal(objs[1].plan.nsites, 1);
	assert_int_equal(objs[1].plan.sites[0].fn, ALLOC_FN_CALLOC);
	procmaps__free(&maps);
}

/* No link map to read (the process is gone): every plan stays whole. */
static void test_unreadable_link_map_keeps_all(void **state)
{
	struct procmaps maps = {};
	struct bind_obj objs[2] = {};
	struct vma v = {.path = "/x", .inode = 1};

	(void)state;
	objs[0].v = objs[1].v = &v;
	add_site(&objs[0].plan, ALLOC_FN_MALLOC);
	add_site(&objs[1].plan, ALLOC_FN_MALLOC);
	assert_true(binding__resolve(0x7ffffff0, &maps, objs, 2, false) < 0);
	assert_int_equal(objs[0].plan.nsites, 1);
	assert_int_equal(objs[1].plan.nsites, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_executable_binds_first),
		cmocka_unit_test(test_unreadable_link_map_keeps_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
