// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of the /proc/PID/maps parser: fields of realistic lines, lookup
 * at mapping boundaries, and reading live processes. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "procmaps.h"

#define MAPS_BASIC SOURCE_DIR "/tests/unit/fixtures/maps_basic.txt"

static int parse_file(const char *path, struct procmaps *m)
{
	FILE *f = fopen(path, "r");
	int err;

	if (!f)
		return -errno;
	err = procmaps__parse(f, m);
	fclose(f);
	return err;
}

static int parse_text(const char *text, struct procmaps *m)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int err;

	if (!f)
		return -errno;
	err = procmaps__parse(f, m);
	fclose(f);
	return err;
}

static void test_parse_fields(void **state)
{
	struct procmaps m = {};
	const struct vma *v;

	(void)state;
	assert_int_equal(parse_file(MAPS_BASIC, &m), 0);
	assert_int_equal(m.nr, 17);

	/* Spaces inside the path are part of it. */
	v = &m.vmas[1];
	assert_string_equal(v->path, "/opt/My App/bin/my app");
	assert_true(v->start == 0x55d0c6a02000ULL && v->end == 0x55d0c6a05000ULL);
	assert_true(v->offset == 0x2000);
	assert_true(v->inode == 1048602);
	assert_int_equal(v->dev_major, 0xfd);
	assert_int_equal(v->dev_minor, 1);
	assert_true(v->exec);
	assert_false(m.vmas[0].exec);

	assert_string_equal(m.vmas[4].path, "[heap]");
	assert_string_equal(m.vmas[5].path, "");
	assert_true(m.vmas[5].inode == 0);

	/* Three-digit device majors (nvme, 259 = 0x103). */
	v = &m.vmas[7];
	assert_string_equal(v->path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_int_equal(v->dev_major, 0x103);
	assert_int_equal(v->dev_minor, 2);
	assert_true(v->offset == 0x28000);

	assert_string_equal(m.vmas[12].path, "/tmp/libplugin.so (deleted)");
	assert_string_equal(m.vmas[14].path, "[vdso]");
	assert_true(m.vmas[14].exec);
	assert_string_equal(m.vmas[16].path, "[vsyscall]");
	assert_true(m.vmas[16].start == 0xffffffffff600000ULL);
	procmaps__free(&m);
}

static void test_find_boundaries(void **state)
{
	struct procmaps m = {};
	const struct vma *v;

	(void)state;
	assert_int_equal(parse_file(MAPS_BASIC, &m), 0);

	/* Start is inclusive, end exclusive: the end belongs to the next one. */
	v = procmaps__find(&m, 0x55d0c6a02000ULL);
	assert_ptr_equal(v, &m.vmas[1]);
	v = procmaps__find(&m, 0x55d0c6a04fffULL);
	assert_ptr_equal(v, &m.vmas[1]);
	v = procmaps__find(&m, 0x55d0c6a05000ULL);
	assert_ptr_equal(v, &m.vmas[2]);

	/* Gaps, below the first and above the last mapping. */
	assert_null(procmaps__find(&m, 0x55d0c6a07000ULL));
	assert_null(procmaps__find(&m, 0x7f1b2d608000ULL));
	assert_null(procmaps__find(&m, 0x1000));
	assert_null(procmaps__find(&m, 0xffffffffff601000ULL));
	assert_ptr_equal(procmaps__find(&m, 0x55d0c6a00000ULL), &m.vmas[0]);
	assert_ptr_equal(procmaps__find(&m, 0xffffffffff600fffULL), &m.vmas[16]);
	assert_ptr_equal(procmaps__find(&m, 0x7f1b2d700abcULL), &m.vmas[12]);
	procmaps__free(&m);

	assert_null(procmaps__find(&m, 0x1000));
}

static void test_parse_sorts(void **state)
{
	const char *text = "7f0000002000-7f0000003000 r-xp 00001000 08:01 12   /lib/b.so\n"
			   "\n"
			   "7f0000000000-7f0000001000 r-xp 00000000 08:01 11   /lib/a.so\n";
	struct procmaps m = {};

	(void)state;
	assert_int_equal(parse_text(text, &m), 0);
	assert_int_equal(m.nr, 2);
	assert_string_equal(m.vmas[0].path, "/lib/a.so");
	assert_string_equal(m.vmas[1].path, "/lib/b.so");
	assert_ptr_equal(procmaps__find(&m, 0x7f0000002800ULL), &m.vmas[1]);
	assert_null(procmaps__find(&m, 0x7f0000001000ULL));
	procmaps__free(&m);
}

static void test_parse_malformed(void **state)
{
	struct procmaps m = {};

	(void)state;
	assert_int_equal(parse_text("7f0000000000-7f0000001000 r-xp zz 08:01 1 /x\n", &m), -EINVAL);
	assert_int_equal(m.nr, 0);
	assert_int_equal(parse_text("", &m), 0);
	assert_int_equal(m.nr, 0);
	procmaps__free(&m);
}

static void test_read_missing_pid(void **state)
{
	struct procmaps m = {};

	(void)state;
	/* Above any pid_max the kernel accepts (at most 2^22). */
	assert_int_equal(procmaps__read_pid(INT_MAX, &m), -ESRCH);
	assert_int_equal(m.nr, 0);
}

static void test_read_self(void **state)
{
	struct procmaps m = {};
	const struct vma *v;
	char exe[PATH_MAX] = "";
	int on_stack = 0;

	(void)state;
	assert_int_equal(procmaps__read_pid(getpid(), &m), 0);
	assert_true(m.nr > 5);

	v = procmaps__find(&m, (uintptr_t)test_read_self);
	assert_non_null(v);
	assert_true(v->exec);
	assert_true(readlink("/proc/self/exe", exe, sizeof(exe) - 1) > 0);
	assert_string_equal(v->path, exe);

	v = procmaps__find(&m, (uintptr_t)&on_stack);
	assert_non_null(v);
	assert_string_equal(v->path, "[stack]");
	procmaps__free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fields),	 cmocka_unit_test(test_find_boundaries),
		cmocka_unit_test(test_parse_sorts),	 cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_read_missing_pid), cmocka_unit_test(test_read_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
