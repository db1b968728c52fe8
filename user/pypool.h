/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* pymalloc's pools read from a copy of their bytes: which blocks are in use,
 * and where in a block the object starts for a type's flags. Pure logic: the
 * bytes come from user/census.c and may be torn or hostile. */
#ifndef PYPOOL_H
#define PYPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "pyoffsets.h"

/* Blocks per pool at most: a 16 KiB pool of 16-byte blocks. */
#define PYPOOL_MAX_BLOCKS 1024
#define PYPOOL_SMALL_MAX  512 /* SMALL_REQUEST_THRESHOLD: larger requests go to malloc */

struct pypool {
	__u32 block_size;
	__u32 carved; /* blocks below nextoffset: in use or on the free list */
	__u32 used;
	__u64 used_bits[PYPOOL_MAX_BLOCKS / 64]; /* bit i: block i is in use */
};

/* Whether hdr (pool_overhead bytes at a pool-aligned address) is a pool
 * header: a size class, and nextoffset/maxnextoffset that agree with it. */
bool pypool__is_header(const struct py_heap_layout *h, const __u8 *hdr);

/* The block size of the size class in hdr, 0 when it names none. */
__u32 pypool__block_size(const struct py_heap_layout *h, const __u8 *hdr);

/* Parses the pool_size bytes of the pool at address addr. 0; -EINVAL when
 * they hold no pool header; -EBADMSG when they do but the free list leaves
 * the pool, is misaligned or loops, or disagrees with the header's count of
 * blocks in use (a pool caught mid-change): the pool is unreadable. */
int pypool__parse(const struct py_heap_layout *h, const __u8 *pool, __u64 addr, struct pypool *out);

/* Bytes from a block's start to the object of a type with tp_flags flags: the
 * GC header, and 3.11+ the pre-header words before it. */
__u32 pypool__object_offset(const struct py_heap_layout *h, __u64 flags);

/* The offsets at which a block may hold its object's header; returns how many
 * (at most 4), the most common first. */
size_t pypool__candidates(const struct py_heap_layout *h, __u32 offs[4]);

#endif /* PYPOOL_H */
