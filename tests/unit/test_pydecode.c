// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The thread-state lookups as real builds compile them: bytes copied from
 * pyenv 3.6/3.9/3.12 libpython, Debian's LTO python3.11 and glibc 2.36, with
 * the addresses gdb printed for them. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pydecode.h"

/* 3.6.15 PyGILState_GetThisThreadState at 0x174d70: cmpq $0,autoInterpreterState;
 * je; mov autoTLSkey(%rip),%edi (autoTLSkey = 0x2acf00); jmp */
static const __u8 gil_36[] = {0x48, 0x83, 0x3d, 0x70, 0xa1, 0x18, 0x00, 0x00, 0x74, 0x0e, 0x8b,
			      0x3d, 0x80, 0x81, 0x13, 0x00, 0xe9, 0x4b, 0xa7, 0xee, 0xff};
/* 3.9.18 at 0x1dc1e0: mov GOT(%rip),%rax (slot 0x353d08); cmpq; je;
 * lea 0x248(%rax),%rdi; jmp PyThread_tss_get */
static const __u8 gil_39[] = {0x48, 0x8b, 0x05, 0x21, 0x7b, 0x17, 0x00, 0x48, 0x83, 0xb8,
			      0x40, 0x02, 0x00, 0x00, 0x00, 0x74, 0x0f, 0x48, 0x8d, 0xb8,
			      0x48, 0x02, 0x00, 0x00, 0xe9, 0x83, 0x90, 0xe8, 0xff};
/* 3.12.1 at 0x2d7c30: mov GOT(%rip),%rax (slot 0x543d00); push %rbx;
 * lea 0x608(%rax),%rbx; ... */
static const __u8 gil_312[] = {0x48, 0x8b, 0x05, 0xc9, 0xc0, 0x26, 0x00, 0x53, 0x48,
			       0x8d, 0x98, 0x08, 0x06, 0x00, 0x00, 0x48, 0x89, 0xdf};
/* Debian 3.11.2 at 0x4f7c30: cmpq $0,_PyRuntime+584(%rip); je;
 * mov _PyRuntime+596(%rip),%edi (0xa5b994); jmp pthread_getspecific */
static const __u8 gil_deb311[] = {0x48, 0x83, 0x3d, 0x50, 0x3d, 0x56, 0x00, 0x00, 0x0f,
				  0x84, 0x1f, 0xc8, 0xf2, 0xff, 0x8b, 0x3d, 0x50, 0x3d,
				  0x56, 0x00, 0xe9, 0xa7, 0x8a, 0xf2, 0xff};

static void test_tss_key(void **state)
{
	struct x86_ref r;

	(void)state;
	assert_int_equal(pydecode__tss_key(gil_36, sizeof(gil_36), 0x174d70, &r), 0);
	assert_false(r.via_slot);
	assert_int_equal(r.vaddr + r.disp, 0x2acf00);

	assert_int_equal(pydecode__tss_key(gil_39, sizeof(gil_39), 0x1dc1e0, &r), 0);
	assert_true(r.via_slot);
	assert_int_equal(r.vaddr, 0x353d08);
	assert_int_equal(r.disp, 0x248 + 4); /* Py_tss_t._key */

	assert_int_equal(pydecode__tss_key(gil_312, sizeof(gil_312), 0x2d7c30, &r), 0);
	assert_true(r.via_slot);
	assert_int_equal(r.vaddr, 0x543d00);
	assert_int_equal(r.disp, 0x608 + 4);

	assert_int_equal(pydecode__tss_key(gil_deb311, sizeof(gil_deb311), 0x4f7c30, &r), 0);
	assert_false(r.via_slot);
	assert_int_equal(r.vaddr, 0xa5b994);
}

static void test_tss_key_unknown_code(void **state)
{
	static const __u8 ret_only[] = {0x31, 0xc0, 0xc3};
	struct x86_ref r;

	(void)state;
	assert_int_equal(pydecode__tss_key(ret_only, sizeof(ret_only), 0x1000, &r), -ENOENT);
	/* the GOT load alone, cut before the lea */
	assert_int_equal(pydecode__tss_key(gil_312, 10, 0x2d7c30, &r), -ENOENT);
}

static void test_interp_head(void **state)
{
	/* 3.6: mov interp_head(%rip),%rax; ret (interp_head = 0x2feee0) */
	static const __u8 head_36[] = {0x48, 0x8b, 0x05, 0x49, 0xa3, 0x18, 0x00, 0xc3};
	/* 3.9: mov GOT(%rip),%rax; mov 0x20(%rax),%rax; ret */
	static const __u8 head_39[] = {0x48, 0x8b, 0x05, 0xa1, 0x7f, 0x17,
				       0x00, 0x48, 0x8b, 0x40, 0x20, 0xc3};
	static const __u8 other[] = {0x48, 0x8b, 0x05, 0xa1, 0x7f, 0x17, 0x00, 0x48, 0x89, 0xc7};
	struct x86_ref r;

	(void)state;
	assert_int_equal(pydecode__interp_head(head_36, sizeof(head_36), 0x174b90, &r), 0);
	assert_false(r.via_slot);
	assert_int_equal(r.vaddr + r.disp, 0x2feee0);
	assert_int_equal(pydecode__interp_head(head_39, sizeof(head_39), 0x1dbd60, &r), 0);
	assert_true(r.via_slot);
	assert_int_equal(r.vaddr, 0x353d08);
	assert_int_equal(r.disp, 0x20);
	assert_int_equal(pydecode__interp_head(other, sizeof(other), 0x1dbd60, &r), -ENOENT);
}

static void test_tsd(void **state)
{
	/* glibc 2.36 pthread_getspecific: cmp $0x1f,%edi; ja; mov %edi,%eax;
	 * add $0x31,%rax; shl $4,%rax; add %fs:0x10,%rax; mov 0x8(%rax),%rdx */
	static const __u8 glibc[] = {0x83, 0xff, 0x1f, 0x77, 0x3b, 0x89, 0xf8, 0x48,
				     0x83, 0xc0, 0x31, 0x48, 0xc1, 0xe0, 0x04, 0x64,
				     0x48, 0x03, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00,
				     0x48, 0x8b, 0x50, 0x08, 0x48, 0x85, 0xd2};
	__u32 base = 0, keys = 0;

	(void)state;
	assert_int_equal(pydecode__tsd(glibc, sizeof(glibc), &base, &keys), 0);
	assert_int_equal(base, 0x318); /* specific_1stblock[key].data */
	assert_int_equal(keys, 32);
	/* without the bound check the first block's size is unknown */
	assert_int_equal(pydecode__tsd(glibc + 5, sizeof(glibc) - 5, &base, &keys), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tss_key),
		cmocka_unit_test(test_tss_key_unknown_code),
		cmocka_unit_test(test_interp_head),
		cmocka_unit_test(test_tsd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
