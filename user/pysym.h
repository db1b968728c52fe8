/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Python frames to "file.py:LINE function": reads code objects from the
 * target with process_vm_readv and decodes their line tables. A stack is
 * named when first seen and the names are kept, so a code object freed
 * later (and its address reused) never renames an older stack. */
#ifndef PYSYM_H
#define PYSYM_H

#include <stdbool.h>
#include <linux/types.h>
#include "allocscope.h"
#include "pyproc.h"

struct pysym;

/* One named Python frame; strings live as long as the stack's entry. */
struct py_frame {
	const char *file;     /* co_filename */
	const char *function; /* co_qualname (3.11+), else co_name */
	int line;	      /* 0 when unknown */
};

struct pysym *pysym__new(void);
void pysym__free(struct pysym *s);

/* pid runs the interpreter pp (copied). Replaces an earlier one. 0 or -ENOMEM. */
int pysym__add_pid(struct pysym *s, __u32 pid, const struct pyproc *pp);
void pysym__drop_pid(struct pysym *s, __u32 pid);
/* The interpreter of pid, or NULL when it runs none we follow. */
const struct pyproc *pysym__proc(const struct pysym *s, __u32 pid);

/* Names the Python frames of stack st (id stack_id) of pid, once: later
 * calls return the names of the first. frames[i] belongs to st->pcs[i]
 * (only Python words are filled). NULL when pid runs no known interpreter. */
const struct py_frame *pysym__stack(struct pysym *s, __u32 pid, __u64 stack_id,
				    const struct stack_trace *st);

/* Code objects read and cache hits, for -v. */
void pysym__stats(const struct pysym *s, __u64 *reads, __u64 *hits);

#endif /* PYSYM_H */
