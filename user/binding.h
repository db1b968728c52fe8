/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Which of a process's allocator objects its calls reach: each allocator
 * function is probed where ld.so binds it, not in every object defining it. */
#ifndef BINDING_H
#define BINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "probes.h"
#include "procmaps.h"

struct bind_obj {
	const struct vma *v;	/* its first executable mapping */
	struct probe_plan plan; /* a copy, narrowed to what calls bind to */
	int fd;			/* the file planned, to attach through */
	size_t rank;		/* position in the link map (internal) */
	unsigned int lost;	/* names no longer probed (internal) */
};

/* Orders objs[0..n) as pid's link map and narrows each plan to the
 * functions calls bind to there (probes__bind); says which definition wins
 * and why when verbose. 0, or -errno when the link map cannot be read: the
 * plans are left whole (every object probed, as before ld.so ran). */
int binding__resolve(pid_t pid, const struct procmaps *maps, struct bind_obj *objs, size_t n,
		     bool verbose);

#endif /* BINDING_H */
