/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --python-objects on an interpreter whose hot calls run copies of pymalloc
 * inlined into its callers (user/pyinline.c): probes at the copies and at the
 * function that hands out blocks of new pools. */
#ifndef PYATTACH_H
#define PYATTACH_H

#include <stddef.h>
#include <sys/types.h>

#include "probes.h"
#include "procmaps.h"
#include "pyalloc.h"

struct pyattach_counts {
	size_t takes, frees; /* copies probed */
	size_t missed;	     /* copies recognised in part: not probed */
	size_t probes;	     /* probes placed */
};

/* Attaches for pid the probes of the copies in the executable mapping v of
 * the interpreter's file open at fd (still the caller's); links are
 * appended to links. 0 with counts filled; -ENOTSUP with the reason in why
 * when the copies are not recognised; or -errno. */
int pyattach__inlined(const struct probe_progs *progs, enum placement_mode mode, pid_t pid,
		      const struct vma *v, int fd, int minor, const struct pyalloc *pa,
		      struct link_list *links, struct pyattach_counts *counts, char *why,
		      size_t whylen);

#endif /* PYATTACH_H */
