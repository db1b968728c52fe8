// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pymalloc pool parsing on crafted pool bytes (a valid pool, a looping or
 * escaping free list, a bad size class, nextoffset out of range, a count that
 * disagrees) with the generated 3.11 and 3.6 layouts, and where a block's
 * object starts for a type's flags. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pypool.h"

#define POOL_ADDR 0x7f0000004000ULL /* 16 KiB-aligned */

static __u8 pool[16384];

static const struct py_heap_layout *layout(int minor)
{
	const struct py_layout *l = pyoffsets__find(3, minor);

	assert_non_null(l);
	return &l->heap;
}

static void put32(const struct py_heap_layout *h, __u16 off, __u32 v)
{
	(void)h;
	memcpy(pool + off, &v, sizeof(v));
}

static void put64(size_t off, __u64 v)
{
	memcpy(pool + off, &v, sizeof(v));
}

static __u64 block_addr(const struct py_heap_layout *h, __u32 size, __u32 i)
{
	return POOL_ADDR + h->pool_overhead + (__u64)i * size;
}

static size_t block_off(const struct py_heap_layout *h, __u32 size, __u32 i)
{
	return h->pool_overhead + (size_t)i * size;
}

/* A pool of 32-byte blocks (szidx 1 at 16-byte alignment) with 10 blocks
 * carved, blocks 3 and 7 free (7 -> 3 -> NULL): 8 in use. */
static const struct py_heap_layout *craft(int minor)
{
	const struct py_heap_layout *h = layout(minor);
	__u32 size = 32;

	assert_int_equal(h->alignment, 16);
	memset(pool, 0, sizeof(pool));
	put32(h, h->pool_szidx, size / h->alignment - 1);
	put32(h, h->pool_maxnextoffset, h->pool_size - size);
	put32(h, h->pool_nextoffset, h->pool_overhead + 10 * size);
	put32(h, h->pool_count, 8);
	put64(h->pool_freeblock, block_addr(h, size, 7));
	put64(block_off(h, size, 7), block_addr(h, size, 3));
	put64(block_off(h, size, 3), 0);
	return h;
}

static void test_valid(void **state)
{
	struct pypool p;

	(void)state;
	for (int minor = 6; minor <= 13; minor += 5) {
		const struct py_heap_layout *h = craft(minor);

		assert_true(pypool__is_header(h, pool));
		assert_int_equal(pypool__parse(h, pool, POOL_ADDR, &p), 0);
		assert_int_equal(p.block_size, 32);
		assert_int_equal(p.carved, 10);
		assert_int_equal(p.used, 8);
		/* blocks 0-9 but 3 and 7 */
		assert_int_equal(p.used_bits[0], 0x3ffULL & ~(1ULL << 3) & ~(1ULL << 7));
	}
}

static void test_full_pool(void **state)
{
	const struct py_heap_layout *h = craft(11);
	__u32 n = (h->pool_size - h->pool_overhead) / 32;
	struct pypool p;

	(void)state;
	/* Every block carved and in use: no free list, nextoffset past maxnextoffset. */
	put32(h, h->pool_nextoffset, h->pool_overhead + n * 32);
	put32(h, h->pool_count, n);
	put64(h->pool_freeblock, 0);
	assert_int_equal(pypool__parse(h, pool, POOL_ADDR, &p), 0);
	assert_int_equal(p.used, n);
}

static void test_cycle(void **state)
{
	const struct py_heap_layout *h = craft(11);
	struct pypool p;

	(void)state;
	put64(block_off(h, 32, 3), block_addr(h, 32, 7)); /* 7 -> 3 -> 7 */
	assert_int_equal(pypool__parse(h, pool, POOL_ADDR, &p), -EBADMSG);
	put64(block_off(h, 32, 3), block_addr(h, 32, 3)); /* 3 -> 3 */
	assert_int_equal(pypool__parse(h, pool, POOL_ADDR, &p), -EBADMSG);
}

static void test_free_list_escapes(void **state)
{
	const struct py_heap_layout *h = craft(11);
	struct pypool p;

	(void)state;
	put64(block_off(h, 32, 3), POOL_ADDR + h->pool_size + 64); /* past the pool */
	assert_int_equal(pypool__parse(h, pool, POOL_ADDR, &p), -EBADMSG);
	put64(block_off(h, 32, 3), POOL_ADDR - 4096); /* before it */
	assert_int_equal(pypool__parse(h, pool, POOL_ADDR, &p), -EBADMSG);
	put64(block_off(h, 32, 3), block_addr(h, 32, 5) + 8); /* inside a block */
	assert_int_equal(pypool__parse(h, pool, POOL_ADDR, &p), -EBADMSG);
	put64(block_off(h, 32, 3), block_addr(h, 32, 12)); /* a block not carved yet */
	assert_int_equal(pypool__parse(h, pool, POOL_ADDR, &p), -EBADMSG);
	put64(block_off(h, 32, 3), POOL_ADDR + 8); /* the header */
	assert_int_equal(pypool__parse(h, pool, POOL_ADDR, &p), -EBADMSG);
}

static void test_count_disagrees(void **state)
{
	const struct py_heap_layout *h = craft(11);
	struct pypool p;

	(void)state;
	put32(h, h->pool_count, 9); /* caught between ++count and the free list's update */
	assert_int_equal(pypool__parse(h, pool, POOL_ADDR, &p), -EBADMSG);
}

static void test_bad_szidx(void **state)
{
	const struct py_heap_layout *h = craft(11);
	struct pypool p;

	(void)state;
	put32(h, h->pool_szidx, 512 / h->alignment); /* one past the last class */
	assert_false(pypool__is_header(h, pool));
	assert_int_equal(pypool__parse(h, pool, POOL_ADDR, &p), -EINVAL);
	put32(h, h->pool_szidx, 0xffffffff);
	assert_false(pypool__is_header(h, pool));
	/* A size class the other fields do not agree with. */
	put32(h, h->pool_szidx, 2);
	assert_false(pypool__is_header(h, pool));
}

static void test_bad_nextoffset(void **state)
{
	const struct py_heap_layout *h = craft(11);
	struct pypool p;

	(void)state;
	put32(h, h->pool_nextoffset, h->pool_size + 32); /* past maxnextoffset + size */
	assert_int_equal(pypool__parse(h, pool, POOL_ADDR, &p), -EINVAL);
	put32(h, h->pool_nextoffset, h->pool_overhead + 10 * 32 + 8); /* not at a block */
	assert_int_equal(pypool__parse(h, pool, POOL_ADDR, &p), -EINVAL);
	put32(h, h->pool_nextoffset, 0); /* a never-used pool: zeros */
	assert_int_equal(pypool__parse(h, pool, POOL_ADDR, &p), -EINVAL);
	memset(pool, 0, sizeof(pool));
	assert_false(pypool__is_header(h, pool));
}

static void test_object_offset(void **state)
{
	const struct py_heap_layout *h36 = layout(6), *h311 = layout(11), *h313 = layout(13);
	__u32 offs[4];

	(void)state;
	/* 3.6: PyGC_Head is three words padded to a long double's alignment */
	assert_int_equal(pypool__object_offset(h36, 0), 0);
	assert_int_equal(pypool__object_offset(h36, h36->flag_gc), 32);
	assert_int_equal(pypool__object_offset(h36, h36->flag_gc | (1 << 4)), 32);
	assert_int_equal(pypool__candidates(h36, offs), 2);
	/* 3.11: a managed dict adds two words before the 16-byte GC header */
	assert_int_equal(pypool__object_offset(h311, h311->flag_gc), 16);
	assert_int_equal(pypool__object_offset(h311, h311->flag_gc | (1 << 4)), 32);
	assert_int_equal(pypool__object_offset(h311, h311->flag_gc | (1 << 3)), 16);
	/* 3.12+: a managed weakref does too */
	assert_int_equal(pypool__object_offset(h313, h313->flag_gc | (1 << 3)), 32);
	assert_int_equal(pypool__candidates(h313, offs), 4);
	assert_int_equal(offs[0], 0);
	assert_int_equal(offs[1], 16);
	assert_int_equal(offs[2], 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),		cmocka_unit_test(test_full_pool),
		cmocka_unit_test(test_cycle),		cmocka_unit_test(test_free_list_escapes),
		cmocka_unit_test(test_count_disagrees), cmocka_unit_test(test_bad_szidx),
		cmocka_unit_test(test_bad_nextoffset),	cmocka_unit_test(test_object_offset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
