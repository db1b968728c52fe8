/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* pymalloc inlined into its callers. A profile-guided build (Debian's
 * python3.11) turns the hot calls through the allocator table into "if
 * (table.malloc == _PyObject_Malloc) <its code> else call", so most small
 * objects are made and freed by copies of pymalloc's fast paths that no probe
 * on a function sees. Those copies are recognised in the machine code by what
 * they do to a pool (its header: ref.count at +0, freeblock at +8, nextpool at
 * +0x10), and probed at the first instruction the kernel emulates after it:
 *
 *   taking a block:  P = usedpools[i]; N = P->nextpool; cmp P, N; je new;
 *                    B = P->freeblock; ... ++P->ref.count     B: the block
 *   giving one back: X = R; X &= ~(pool size - 1); ...;
 *                    P->freeblock = R (mov R, 8(X))           R: the block
 *
 * and the function that takes a block from a new pool (a direct call from
 * the first pattern's slow path) is probed like malloc. */
#ifndef PYINLINE_H
#define PYINLINE_H

#include <stddef.h>
#include <linux/types.h>

#include "elfobj.h"

struct pyinline_site {
	__u64 file_off; /* where the probe goes */
	__u8 reg;	/* AS_GPR_* holding the block there */
	bool deref;	/* reg holds the pool, whose freeblock is the block */
	bool frees;	/* gives the block back (else takes it) */
};

struct pyinline {
	struct pyinline_site *sites;
	size_t nsites, ntakes, nfrees;
	/* Copies whose start was recognised but not the rest: not probed. */
	size_t missed_takes, missed_frees;
	__u64 newpool_off;    /* file offset of the new-pool function; 0: none found */
	size_t newpool_calls; /* copies whose slow path calls it */
};

/* Scans the code at file offsets [off, off + len) of o, mapped at ELF
 * virtual address vaddr, for the copies of CPython 3.minor's pymalloc.
 * 0 with out filled (maybe with no site); -EFBIG or -E2BIG when the code is
 * too large or holds too many copies to scan or probe; or -errno. */
int pyinline__scan(struct elfobj *o, __u64 off, size_t len, __u64 vaddr, int minor,
		   struct pyinline *out);
/* The same over code (len bytes at file offset off, virtual address vaddr). */
int pyinline__scan_code(const __u8 *code, size_t len, __u64 off, __u64 vaddr, int minor,
			struct pyinline *out);
void pyinline__free(struct pyinline *p);

/* log2 of 3.minor's pool size and of its size-class step. */
unsigned int pyinline__pool_bits(int minor);
unsigned int pyinline__align_bits(int minor);

#endif /* PYINLINE_H */
