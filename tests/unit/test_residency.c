// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of residency: maps lines, tracked ranges cut by the VMAs that exist now (a
 * trimmed tail, a PROT_NONE part, a range mapped over), statm, and this process's own
 * pagemap and smaps read through the real reader. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>
#include "residency.h"

#define PAGE 4096ULL

static const char maps_text[] =
	"55d0c6a00000-55d0c6a02000 r--p 00000000 fd:01 1048602                    /opt/app\n"
	"55d0c7000000-55d0c7400000 rw-p 00000000 00:00 0                          [heap]\n"
	"7f0000000000-7f0000100000 ---p 00000000 00:00 0 \n"
	"7f0000100000-7f0000200000 rw-p 00000000 00:00 0 \n"
	"7f0000200000-7f0000201000 rw-p 00000000 fd:01 42                         /tmp/[heap]\n"
	"7ffd1b3a4000-7ffd1b3c5000 rw-p 00000000 00:00 0                          [stack]\n";

static int parse_text(const char *text, struct res_vmas *m)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int err;

	if (!f)
		return -errno;
	err = residency__parse_maps(f, m);
	fclose(f);
	return err;
}

static void test_parse_maps(void **state)
{
	struct res_vmas m = {};

	(void)state;
	assert_int_equal(parse_text(maps_text, &m), 0);
	assert_int_equal(m.nr, 6);
	assert_true(m.v[1].heap && m.v[1].holds_pages && !m.v[1].stack);
	assert_true(m.v[1].start == 0x55d0c7000000ULL && m.v[1].end == 0x55d0c7400000ULL);
	assert_false(m.v[2].holds_pages); /* ---p: PROT_NONE holds no pages */
	assert_true(m.v[3].holds_pages && !m.v[3].heap);
	assert_false(m.v[4].heap); /* a file named [heap] is not the heap */
	assert_true(m.v[5].stack);
	assert_true(m.v[1].anon && m.v[2].anon && m.v[3].anon);
	assert_false(m.v[0].anon || m.v[4].anon || m.v[5].anon);
	assert_int_equal(parse_text("not a maps line\n", &m), -EINVAL);
	residency__free_vmas(&m);
}

/* A fake pagemap: every other page of [start, end) is resident. */
static int half_resident(void *ctx, const struct res_vma *v, __u64 start, __u64 end,
			 __u64 *resident, bool *estimated)
{
	(void)ctx;
	(void)v;
	(void)estimated;
	*resident += (end - start) / PAGE / 2 * PAGE;
	return 0;
}

static void test_attribute(void **state)
{
	const struct res_reader rd = {.count = half_resident};
	struct res_vmas m = {};
	__u64 heap, stack;
	struct res_range r[] = {
		/* brk growth inside [heap] */
		{.start = 0x55d0c7000000ULL, .end = 0x55d0c7100000ULL},
		/* a 4 MiB mapping whose head is PROT_NONE and whose tail was unmapped */
		{.start = 0x7f0000000000ULL, .end = 0x7f0000400000ULL},
	};

	(void)state;
	assert_int_equal(parse_text(maps_text, &m), 0);
	assert_int_equal(residency__attribute(&m, r, 2, &rd, &heap, &stack), 0);
	assert_true(heap == 2 * 1024 * 1024);
	assert_true(stack == 0x21000 / 2 / PAGE * PAGE);
	assert_true(r[0].mapped == 1 << 20 && r[0].resident == 512 * 1024);
	assert_true(r[0].heap_resident == r[0].resident && r[0].heap_mapped == r[0].mapped);
	/* mapped: the PROT_NONE MiB and the rw MiB, not the file mapped since where its tail
	 * was; resident: only the rw part */
	assert_true(r[1].mapped == 2 << 20);
	assert_true(r[1].resident == (512 << 10));
	assert_true(r[1].held == 1 << 20 && r[1].heap_held == 0); /* pages can be in the rw MiB */
	assert_true(r[0].held == 1 << 20 && r[0].heap_held == 1 << 20);
	assert_true(r[1].heap_resident == 0);

	/* a later mapping inside an older range takes its part */
	r[1].start = 0x7f0000100000ULL;
	r[0].start = 0x7f0000000000ULL;
	r[0].end = 0x7f0000200000ULL;
	r[1].end = 0x7f0000180000ULL;
	assert_int_equal(residency__attribute(&m, r, 2, &rd, &heap, &stack), 0);
	assert_true(r[0].mapped == 1 << 20 && r[0].resident == 0);
	assert_true(r[1].mapped == 512 << 10 && r[1].resident == 256 << 10);
	residency__free_vmas(&m);
}

static void test_counts(void **state)
{
	const __u64 e[] = {1ULL << 63, 0, 1ULL << 62, (1ULL << 63) | 1234, 1ULL << 61};
	__u64 anon;

	(void)state;
	assert_int_equal(residency__count_present(e, 5), 2);
	assert_int_equal(residency__count_anon(e, 5), 2); /* bit 61: a file's page */
	{
		const __u64 f[] = {(1ULL << 63) | (1ULL << 61), 1ULL << 63};

		assert_int_equal(residency__count_anon(f, 2), 1);
	}
	assert_int_equal(residency__parse_statm("5000 300 100 10 0 200 0\n", 4096, &anon), 0);
	assert_true(anon == 200 * 4096);
	assert_int_equal(residency__parse_statm("5000 100 300 10 0 200 0\n", 4096, &anon), 0);
	assert_true(anon == 0);
	assert_int_equal(residency__parse_statm("", 4096, &anon), -EINVAL);
}

/* This process: 16 pages mapped, 5 touched; through pagemap, then past the budget (smaps). */
static void test_own_pagemap(void **state)
{
	struct res_budget budget = {.pages_left = RES_BUDGET_PAGES};
	char *p = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct res_range r;
	struct res_proc *rp;
	struct res_reader rd;
	__u64 heap, stack;

	(void)state;
	assert_true(p != MAP_FAILED);
	for (int i = 0; i < 5; i++)
		p[i * 3 * PAGE] = 1;
	/* the neighbours must not merge into its VMA: a guard page on each side */
	assert_int_equal(mprotect(p, PAGE, PROT_NONE), 0);
	assert_int_equal(mprotect(p + 15 * PAGE, PAGE, PROT_NONE), 0);
	rp = residency__open(getpid(), &budget);
	assert_non_null(rp);
	rd = residency__reader(rp);
	r = (struct res_range){.start = (__u64)p, .end = (__u64)p + 16 * PAGE};
	assert_int_equal(residency__attribute(residency__vmas(rp), &r, 1, &rd, &heap, &stack), 0);
	assert_true(r.mapped == 16 * PAGE);
	/* pages 3, 6, 9, 12 are in the rw part; page 0 was touched before PROT_NONE */
	assert_true(r.resident == 4 * PAGE);
	assert_false(r.estimated);
	assert_true(stack > 0);
	assert_true(budget.pages_read >= 14);

	budget.pages_left = 0;
	assert_int_equal(residency__attribute(residency__vmas(rp), &r, 1, &rd, &heap, &stack), 0);
	assert_true(r.estimated);
	assert_true(r.resident == 4 * PAGE); /* the whole VMA: its Rss */
	residency__close(rp);
	munmap(p, 16 * PAGE);

	assert_null(residency__open(0x7ffffff0, &budget));
}

/* A file mapped private and writable, as a library's data: pages read stay the file's, pages
 * written become anonymous, and only those count. */
static void test_written_data(void **state)
{
	struct res_budget budget = {.pages_left = RES_BUDGET_PAGES};
	char path[] = "/tmp/test_residency.XXXXXX", *p;
	struct res_proc *rp;
	__u64 before, after;
	volatile char sink = 0;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, 8 * PAGE), 0);
	p = mmap(NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	assert_true(p != MAP_FAILED);
	for (int i = 0; i < 8; i++)
		sink += p[i * PAGE];
	rp = residency__open(getpid(), &budget);
	assert_non_null(rp);
	assert_int_equal(residency__written_data(rp, &before), 0);
	residency__close(rp);
	for (int i = 0; i < 3; i++)
		p[i * 2 * PAGE] = 1;
	rp = residency__open(getpid(), &budget);
	assert_non_null(rp);
	assert_int_equal(residency__written_data(rp, &after), 0);
	residency__close(rp);
	assert_true(after - before == 3 * PAGE);
	munmap(p, 8 * PAGE);
	close(fd);
	(void)sink;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_maps),   cmocka_unit_test(test_attribute),
		cmocka_unit_test(test_counts),	     cmocka_unit_test(test_own_pagemap),
		cmocka_unit_test(test_written_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
