// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Finding pymalloc's inlined copies: the shapes Debian's python3.11 compiles them to
 * (taking a block as in _PyObject_GC_New at 0x4fb12f, giving one back as in PyObject_Free
 * at 0x500976), assembled with a stub around each, and the places that must not be taken:
 * the pool mask used for a size lookup, and a branch landing between a store and the
 * branch after it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "allocscope.h"
#include "pyinline.h"

/* Offsets:
 * 0x00 take:   mov 0x959d20(,%rax,8),%rdx; mov 0x10(%rdx),%rsi; cmp %rsi,%rdx; je slow;
 *              mov 0x8(%rdx),%rax; addl $1,(%rdx); mov (%rax),%rcx; mov %rcx,0x8(%rdx);
 *              test %rcx,%rcx;
 * 0x22         je extend (the probe: rax is the block); ret
 * 0x25 slow:   mov $3,%edi; call newpool; ret
 * 0x30 extend: ret
 * 0x31 free:   mov %rdi,%rsi; and $-0x4000,%rsi; mov 0x8(%rsi),%rdx; mov %rdx,(%rdi);
 *              mov (%rsi),%eax; mov %rdi,0x8(%rsi); mov (%rsi),%edi (rdi is lost);
 *              sub $1,%eax; test %rdx,%rdx;
 * 0x50         je extend (the probe: rsi is the pool, its freeblock the block); ret
 * 0x53 decoy:  mov %rdi,%rax; and $-0x4000,%rax; mov 0x24(%rax),%eax; ret
 * 0x60 joined: mov %rbx,%rdx; and $-0x4000,%rdx; mov 0x8(%rdx),%rcx; mov %rcx,(%rbx);
 * 0x71         mov %rbx,0x8(%rdx) (the probe, single-stepped: rbx is the block)
 * 0x75 land:   test %rcx,%rcx; je extend; jmp land (lands after the store)
 * 0x7c take2:  mov 0x959d30,%r9; mov 0x10(%r9),%rdi; cmp %rdi,%r9; je slow2; mov $0x80,%edi;
 *              mov 0x8(%r9),%r15; addl $1,(%r9); mov (%r15),%rdx; mov %rdx,0x8(%r9);
 *              mov %r15,%rdx;
 * 0xa4         jmp extend (the probe: r15 is the block)
 * 0xa6 slow2:  mov $1,%edi; call newpool; ret
 * 0xb1 newpool: ret (called by both slow paths) */
static const __u8 code[] = {
	0x48, 0x8b, 0x14, 0xc5, 0x20, 0x9d, 0x95, 0x00, 0x48, 0x8b, 0x72, 0x10, 0x48, 0x39, 0xf2,
	0x74, 0x14, 0x48, 0x8b, 0x42, 0x08, 0x83, 0x02, 0x01, 0x48, 0x8b, 0x08, 0x48, 0x89, 0x4a,
	0x08, 0x48, 0x85, 0xc9, 0x74, 0x0c, 0xc3, 0xbf, 0x03, 0x00, 0x00, 0x00, 0xe8, 0x82, 0x00,
	0x00, 0x00, 0xc3, 0xc3, 0x48, 0x89, 0xfe, 0x48, 0x81, 0xe6, 0x00, 0xc0, 0xff, 0xff, 0x48,
	0x8b, 0x56, 0x08, 0x48, 0x89, 0x17, 0x8b, 0x06, 0x48, 0x89, 0x7e, 0x08, 0x8b, 0x3e, 0x83,
	0xe8, 0x01, 0x48, 0x85, 0xd2, 0x74, 0xde, 0xc3, 0x48, 0x89, 0xf8, 0x48, 0x25, 0x00, 0xc0,
	0xff, 0xff, 0x8b, 0x40, 0x24, 0xc3, 0x48, 0x89, 0xda, 0x48, 0x81, 0xe2, 0x00, 0xc0, 0xff,
	0xff, 0x48, 0x8b, 0x4a, 0x08, 0x48, 0x89, 0x0b, 0x48, 0x89, 0x5a, 0x08, 0x48, 0x85, 0xc9,
	0x74, 0xb6, 0xeb, 0xf9, 0x4c, 0x8b, 0x0c, 0x25, 0x30, 0x9d, 0x95, 0x00, 0x49, 0x8b, 0x79,
	0x10, 0x49, 0x39, 0xf9, 0x74, 0x19, 0xbf, 0x80, 0x00, 0x00, 0x00, 0x4d, 0x8b, 0x79, 0x08,
	0x41, 0x83, 0x01, 0x01, 0x49, 0x8b, 0x17, 0x49, 0x89, 0x51, 0x08, 0x4c, 0x89, 0xfa, 0xeb,
	0x8a, 0xbf, 0x01, 0x00, 0x00, 0x00, 0xe8, 0x01, 0x00, 0x00, 0x00, 0xc3, 0xc3};
#define FILE_OFF 0x1000
#define VADDR	 0x401000

static const struct pyinline_site *site_at(const struct pyinline *p, __u64 off)
{
	for (size_t i = 0; i < p->nsites; i++)
		if (p->sites[i].file_off == FILE_OFF + off)
			return &p->sites[i];
	return NULL;
}

static void test_copies(void **state)
{
	const struct pyinline_site *s;
	struct pyinline p;

	(void)state;
	assert_int_equal(pyinline__scan_code(code, sizeof(code), FILE_OFF, VADDR, 11, &p), 0);
	assert_int_equal(p.nsites, 4);
	assert_int_equal(p.ntakes, 2);
	assert_int_equal(p.nfrees, 2);
	assert_int_equal(p.missed_takes + p.missed_frees, 0);
	s = site_at(&p, 0x22);
	assert_non_null(s);
	assert_false(s->frees);
	assert_int_equal(s->reg, AS_GPR_RAX);
	assert_false(s->deref);
	s = site_at(&p, 0x50);
	assert_non_null(s);
	assert_true(s->frees);
	assert_int_equal(s->reg, AS_GPR_RSI);
	assert_true(s->deref);
	s = site_at(&p, 0x71);
	assert_non_null(s);
	assert_true(s->frees);
	assert_int_equal(s->reg, AS_GPR_RBX);
	assert_false(s->deref);
	s = site_at(&p, 0xa4);
	assert_non_null(s);
	assert_false(s->frees);
	assert_int_equal(s->reg, AS_GPR_R15);
	/* The slow paths' call: the function taking blocks from new pools. */
	assert_int_equal(p.newpool_off, FILE_OFF + 0xb1);
	assert_int_equal(p.newpool_calls, 2);
	pyinline__free(&p);
}

/* 3.6-3.9's 4 KiB pools: the 16 KiB mask is not theirs. */
static void test_pool_size(void **state)
{
	struct pyinline p;

	(void)state;
	assert_int_equal(pyinline__scan_code(code, sizeof(code), FILE_OFF, VADDR, 9, &p), 0);
	assert_int_equal(p.ntakes, 2);
	assert_int_equal(p.nfrees, 0);
	pyinline__free(&p);
	assert_int_equal(pyinline__pool_bits(9), 12);
	assert_int_equal(pyinline__pool_bits(11), 14);
}

/* Cut short: the take's pop and the frees' stores are gone, nothing is probed. */
static void test_truncated(void **state)
{
	struct pyinline p;

	(void)state;
	assert_int_equal(pyinline__scan_code(code, 0x12, FILE_OFF, VADDR, 11, &p), 0);
	assert_int_equal(p.nsites, 0);
	assert_int_equal(p.newpool_off, 0);
	pyinline__free(&p);
}

/* A file made of copies, more than are ever probed: refused, not scanned for minutes. */
static void test_too_many(void **state)
{
	enum { COPY = 0x53 - 0x31, COPIES = 4200 };
	static __u8 many[COPY * COPIES];
	struct pyinline p;

	(void)state;
	for (size_t i = 0; i < COPIES; i++)
		memcpy(many + i * COPY, code + 0x31, COPY);
	assert_int_equal(pyinline__scan_code(many, sizeof(many), FILE_OFF, VADDR, 11, &p), -E2BIG);
	assert_int_equal(p.nsites, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copies),
		cmocka_unit_test(test_pool_size),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_too_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
