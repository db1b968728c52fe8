// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pymalloc pool parsing (Objects/obmalloc.c): a pool's blocks below nextoffset
 * are in use unless on its free list, which is walked in the copy, bounded. */
#include <errno.h>
#include <string.h>

#include "pypool.h"

#pragma GCC poison u8 u16 u32 u64 s8 s16 s32 s64

static __u32 get_u32(const __u8 *p, __u16 off)
{
	__u32 v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static __u64 get_u64(const __u8 *p, size_t off)
{
	__u64 v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

__u32 pypool__block_size(const struct py_heap_layout *h, const __u8 *hdr)
{
	__u32 szidx = get_u32(hdr, h->pool_szidx);

	if (!h->alignment || szidx >= PYPOOL_SMALL_MAX / h->alignment)
		return 0;
	return (szidx + 1) * h->alignment;
}

bool pypool__is_header(const struct py_heap_layout *h, const __u8 *hdr)
{
	__u32 size = pypool__block_size(h, hdr), next, max;

	if (!size || h->pool_size <= h->pool_overhead + size)
		return false;
	next = get_u32(hdr, h->pool_nextoffset);
	max = get_u32(hdr, h->pool_maxnextoffset);
	/* init_pool: maxnextoffset = POOL_SIZE - size, nextoffset = POOL_OVERHEAD
	 * + 2 * size, then grows by size up to maxnextoffset + size. */
	return max == h->pool_size - size && next >= h->pool_overhead + size &&
	       next <= max + size && (next - h->pool_overhead) % size == 0 &&
	       get_u32(hdr, h->pool_count) <= (h->pool_size - h->pool_overhead) / size;
}

int pypool__parse(const struct py_heap_layout *h, const __u8 *pool, __u64 addr, struct pypool *out)
{
	__u32 size, carved, nfree = 0;
	__u64 p, off;

	if (!pypool__is_header(h, pool))
		return -EINVAL;
	size = pypool__block_size(h, pool);
	carved = (get_u32(pool, h->pool_nextoffset) - h->pool_overhead) / size;
	if (carved > PYPOOL_MAX_BLOCKS)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->block_size = size;
	out->carved = carved;
	for (__u32 i = 0; i < carved; i++)
		out->used_bits[i / 64] |= 1ULL << (i % 64);
	/* Each free block's first word is the next; NULL ends the list. A
	 * block seen twice is a loop: at most carved steps are taken. */
	for (p = get_u64(pool, h->pool_freeblock); p; p = get_u64(pool, off)) {
		__u32 i;

		off = p - addr;
		if (p < addr || off < h->pool_overhead || (off - h->pool_overhead) % size)
			return -EBADMSG;
		i = (off - h->pool_overhead) / size;
		if (i >= carved || !(out->used_bits[i / 64] & (1ULL << (i % 64))))
			return -EBADMSG;
		out->used_bits[i / 64] &= ~(1ULL << (i % 64));
		nfree++;
	}
	out->used = carved - nfree;
	if (out->used != get_u32(pool, h->pool_count))
		return -EBADMSG;
	return 0;
}

__u32 pypool__object_offset(const struct py_heap_layout *h, __u64 flags)
{
	return (flags & h->flag_gc ? h->gc_head : 0) +
	       (flags & h->flag_preheader ? h->preheader : 0);
}

size_t pypool__candidates(const struct py_heap_layout *h, __u32 offs[4])
{
	size_t n = 0;

	offs[n++] = 0;
	offs[n++] = h->gc_head;
	if (h->preheader) {
		offs[n++] = h->gc_head + h->preheader;
		offs[n++] = h->preheader;
	}
	return n;
}
