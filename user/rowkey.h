/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Which report row a site belongs to: the key of what its stack reads like
 * once symbolized, so that stacks reading alike are one row. Pure logic. */
#ifndef ROWKEY_H
#define ROWKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "syms.h"

/* The key of a symbolized stack (frames[0] is the allocator function). With
 * Python frames, it is the allocator and the Python frames alone (file,
 * function, line): the native frames between them (a C extension's
 * recursion, the interpreter) vary from call to call of one line. Without,
 * every frame counts, by name and offset (by address where no symbol is
 * known), with cut (why the walk ended early). Never 0. */
__u64 rowkey__stack(const struct sym_frame *frames, size_t n, __u32 cut);

/* The key of the native frames of a stack with Python frames (the allocator
 * left out): what tells apart the stacks one Python row stands for. */
__u64 rowkey__native(const struct sym_frame *frames, size_t n);

/* A key made private to pid (--group-by process). Never 0. */
__u64 rowkey__of_pid(__u64 key, __u32 pid);

/* Whether f is a Python frame (a file and a line instead of a module). */
static inline bool rowkey__python(const struct sym_frame *f)
{
	return f->file != NULL;
}

/* Row keys remembered per (pid, stack): a stack's frames never change, and
 * symbolizing every site at every report would cost more than the rest. */
struct rowkey_entry {
	__u64 stack_id;
	__u64 key;
	__u32 pid;
};

struct rowkey_cache {
	struct rowkey_entry *old; /* the previous report's, sorted by (pid, stack_id) */
	size_t nold;
	struct rowkey_entry *cur; /* this report's, in the order found */
	size_t ncur, cur_cap;
};

/* Whether a key (maybe 0) was kept for (pid, stack_id) at the previous report. */
bool rowkey__lookup(const struct rowkey_cache *c, __u32 pid, __u64 stack_id, __u64 *key);
/* Remembers key for the next report. 0 or -ENOMEM. */
int rowkey__keep(struct rowkey_cache *c, __u32 pid, __u64 stack_id, __u64 key);
/* Ends a report: what was kept replaces the previous entries, so that the
 * stacks of sites gone (exited processes) are forgotten. */
void rowkey__next(struct rowkey_cache *c);
void rowkey__free(struct rowkey_cache *c);

#endif /* ROWKEY_H */
