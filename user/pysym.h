/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Python frames to "file.py:LINE function": reads code objects from the
 * target with process_vm_readv and decodes their line tables. A stack is
 * named when first seen and the names are kept, so a code object freed
 * later (and its address reused) never renames an older stack. Names are
 * interned once per code object and capped (user/pyname.h); names, line
 * tables and stacks each have a memory budget, told on stderr when met. */
#ifndef PYSYM_H
#define PYSYM_H

#include <stdbool.h>
#include <linux/types.h>
#include "allocscope.h"
#include "pyproc.h"

struct pysym;

/* How to show a Python frame of a stack pysym__stack gave no names for
 * (its budget for named stacks was met, which it tells on stderr). */
#define PYSYM_UNNAMED "[Python frame not named]"

/* One named Python frame; its strings live as long as the pysym. Names are
 * at most PYNAME_MAX bytes, cut ones ending in PYNAME_MARK; a frame that
 * could not be named has file "?" and a function in brackets saying why. */
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

struct pysym_stats {
	__u64 reads, hits;	  /* code objects read, and cache hits */
	size_t names, name_bytes; /* names kept, and their bytes with bookkeeping */
	__u64 names_refused;	  /* names not kept: the pool was full */
	size_t code_bytes;	  /* code cache, line tables included */
	__u64 code_flushes;	  /* times the code cache was emptied */
	size_t stack_bytes;	  /* named stacks */
	__u64 stacks_unnamed;	  /* lookups left unnamed: the stack budget was met */
};

/* Cache sizes and what the budgets turned away, for -v. */
void pysym__stats(const struct pysym *s, struct pysym_stats *out);

#endif /* PYSYM_H */
