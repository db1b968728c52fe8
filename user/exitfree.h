/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where glibc's thread-exit cleanup frees what its per-thread cache (tcache)
 * holds: frees of blocks the program freed already, not frees of its own. */
#ifndef EXITFREE_H
#define EXITFREE_H

#include <stddef.h>
#include <linux/types.h>

#include "allocscope.h"
#include "procmaps.h"

/* The functions of an object, as file offsets. */
struct exitfree {
	__u64 off[AS_EXIT_FREE_RANGES];
	__u64 len[AS_EXIT_FREE_RANGES];
	size_t nr;
};

/* Finds them in the file open at fd (still the caller's), mapped at path
 * inside root: glibc's tcache_thread_shutdown, or the function it is
 * inlined into (__malloc_arena_thread_freeres, glibc 2.34+), from the
 * file's .symtab or its debug file; without either, the function that loads
 * the flush's own error message (glibc 2.32+), bounded by its FDE. Other
 * objects (no __libc_free) and older glibc: none (out->nr 0). 0 or -errno. */
int exitfree__find(int fd, const char *root, const char *path, struct exitfree *out);

/* Their addresses in a process whose maps map the file id: into pcs, from
 * index *n on (at most AS_EXIT_FREE_RANGES in all). */
void exitfree__pcs(const struct exitfree *ef, const struct procmaps *maps, struct file_id id,
		   struct exit_free_pcs *pcs, size_t *n);

#endif /* EXITFREE_H */
