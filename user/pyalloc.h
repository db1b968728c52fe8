/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CPython's object allocator in a process (--python-objects): the functions
 * its PYMEM_DOMAIN_OBJ table points to, read from the process and checked to
 * be pymalloc's own, as offsets in the interpreter's file to probe. */
#ifndef PYALLOC_H
#define PYALLOC_H

#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

#include "probes.h"
#include "procmaps.h"

struct pyalloc {
	__u64 table;		       /* the object domain's PyMemAllocatorEx, in the process */
	__u64 fns[AS_PYOBJ_FNS];       /* malloc, calloc, realloc, free, in the process */
	__u64 file_offs[AS_PYOBJ_FNS]; /* the same, as offsets in the interpreter's file */
	/* Places that compare the table's functions with one of them
	 * (profile-guided indirect-call promotion): most calls run copies of
	 * pymalloc inlined there (user/pyinline.c), not the functions. 0: a
	 * plain build, whose calls reach the functions. */
	size_t promoted;
};

/* The object allocator of pid's CPython 3.minor, whose code is the file v
 * maps, open at fd. 0 with out filled; -ENOTSUP with the reason in why when
 * the table does not hold pymalloc's functions in that file (a debug hook,
 * tracemalloc, an extension's allocator); -EALREADY, also with why, when objects go to the C
 * allocator (PYTHONMALLOC=malloc); or -errno. */
int pyalloc__find(pid_t pid, const struct procmaps *maps, const struct vma *v, int fd, int minor,
		  struct pyalloc *out, char *why, size_t whylen);

#endif /* PYALLOC_H */
