/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The allocator table, attach plans (which functions an object defines and
 * where each probe goes) and attaching a plan to a process. */
#ifndef PROBES_H
#define PROBES_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "allocscope.h"
#include "opts.h"
#include "placement.h"

struct bpf_program;
struct bpf_link;

struct alloc_fn_desc {
	const char *name;
	enum alloc_fn fn;
	enum alloc_shape shape;
	unsigned int needed;	/* enum arg_reg bits the entry program reads */
	bool ret;		/* needs a return probe */
	bool required;		/* an allocator without it is not an allocator */
};

extern const struct alloc_fn_desc probes__fns[ALLOC_FN_COUNT];

struct probe_site {
	enum alloc_fn fn;
	__u64 func_off;		/* file offset of the function */
	struct placement place;	/* probe at func_off + place.offset */
};

struct probe_plan {
	char path[PATH_MAX];	/* as opened, e.g. /proc/42/root/usr/lib/.../libc.so.6 */
	struct probe_site sites[ALLOC_FN_COUNT];
	size_t nsites;
};

/* Plans probes for every allocator function path defines. -ENOENT when it
 * does not define both malloc and free (not an allocator), or -errno. */
int probes__plan(const char *path, enum placement_mode mode, struct probe_plan *plan);

struct probe_progs {
	struct bpf_program *enter;
	struct bpf_program *exit;
	struct bpf_program *free;
};

struct link_list {
	struct bpf_link **links;
	size_t nr;
	size_t cap;
};

/* Attaches plan for pid (-1: every process). Links are appended to out.
 * 0 or -errno; on error the links attached so far stay in out. */
int probes__attach(const struct probe_progs *progs, const struct probe_plan *plan, pid_t pid,
		   struct link_list *out);
void probes__detach(struct link_list *l);

#endif /* PROBES_H */
