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
	unsigned int needed; /* enum arg_reg bits the entry program reads */
	bool ret;	     /* needs a return probe */
	bool required;	     /* an allocator without it is not an allocator */
	bool by_table;	     /* found through CPython's allocator table, not by name */
};

extern const struct alloc_fn_desc probes__fns[ALLOC_FN_COUNT];

/* Whether fn frees (one probe at entry, no return). */
bool probes__is_free(enum alloc_fn fn);

struct probe_site {
	enum alloc_fn fn;
	unsigned int names;	/* bits (1 << enum alloc_fn) of every name at func_off */
	__u64 func_off;		/* file offset of the function */
	struct placement place; /* probe at func_off + place.offset */
};

struct probe_plan {
	/* What the probes are attached to: "/proc/self/fd/N", the file the
	 * plan was made from (the kernel follows the link to its inode). */
	char path[PATH_MAX];
	struct probe_site sites[ALLOC_FN_COUNT];
	size_t nsites;
	/* Bits (1 << enum alloc_fn) of the names its .dynsym defines: the
	 * definitions other objects' calls can bind to. */
	unsigned int exports;
	bool libc; /* the C library (probes__bind: it shadows nothing) */
};

/* Plans probes for every allocator function path defines. -ENOENT when it
 * does not define both malloc and free (not an allocator), or -errno. */
int probes__plan(const char *path, enum placement_mode mode, struct probe_plan *plan);
/* The same from the file open at fd (still the caller's), to be attached
 * through it (plan->path is its /proc/self/fd link). */
int probes__plan_fd(int fd, enum placement_mode mode, struct probe_plan *plan);
/* CPython's object allocator: malloc, calloc, realloc and free of its
 * allocator table, in the order of enum alloc_fn from ALLOC_FN_PYOBJ_MALLOC. */
#define AS_PYOBJ_FNS 4
/* Plans probes on them at func_offs[0..AS_PYOBJ_FNS) (file offsets, as the
 * process's table points into the file open at fd, still the caller's),
 * placed by their code in that file, to be attached through it. */
int probes__plan_table(int fd, const __u64 *func_offs, enum placement_mode mode,
		       struct probe_plan *plan);
/* The same for n functions fns[i] at func_offs[i]. */
int probes__plan_funcs(int fd, const enum alloc_fn *fns, const __u64 *func_offs, size_t n,
		       enum placement_mode mode, struct probe_plan *plan);
/* Points plan at the file open at fd: a cached plan is attached to the file
 * just opened and checked, never to a path looked up again. */
void probes__fd_path(struct probe_plan *plan, int fd);

/* Keeps in each of plans[0..n) (in the order ld.so searches the objects for
 * a symbol: link-map order) only the probes calls can reach. A name an
 * earlier plan exports binds there, so a later definition of it is never
 * called by name: a preloaded wrapper's malloc wins over libc's, and libc's
 * is reached only from inside the wrapper, where probing it would count the
 * call twice. Definitions an object does not export (a static executable's,
 * a library's hidden ones) bind inside it and stay. The C library shadows
 * nothing: a definition after it is called only by explicit lookup (dlsym
 * on an RTLD_LOCAL handle), never instead of libc's. Returns, per plan in
 * lost[i], the bits of the names it no longer probes. */
void probes__bind(struct probe_plan *const *plans, size_t n, unsigned int *lost);

struct probe_progs {
	struct bpf_program *enter;
	struct bpf_program *exit; /* NULL: no return probes (sessions, noop-entry) */
	struct bpf_program *free;
	/* --python-objects where pymalloc is inlined (user/pyinline.c); NULL
	 * when not loaded. */
	struct bpf_program *inline_obj;
	bool multi;   /* loaded for uprobe_multi links (see probes__use_multi) */
	bool session; /* enter is a session program, run at returns too */
};

/* A uprobe_multi link (fd) or a libbpf perf-event link. */
struct probe_link {
	struct bpf_link *link;
	int fd;
};

struct link_list {
	struct probe_link *links;
	size_t nr;
	size_t cap;
};

/* Whether the kernel has uprobe_multi links (6.6+). They carry every probe
 * of an object in one link, and releasing one waits for one RCU grace period
 * instead of one per probe (~0.1 s each here). */
bool probes__multi_supported(void);
/* Before load: makes progs attachable as uprobe_multi links. */
int probes__use_multi(struct probe_progs *progs);

/* Before load: makes session (run at entry and return) the entry program,
 * attached as uprobe session links (Linux 6.13+), and free's program a
 * uprobe_multi one. The exit program is then unused. */
int probes__use_session(struct probe_progs *progs, struct bpf_program *session);
/* A uprobe_multi link (session: a uprobe session link) of prog_fd at cnt
 * offsets of path with their cookies, for pid (-1: every process): its fd,
 * or -errno. */
int probes__multi_link(int prog_fd, bool session, bool retprobe, const char *path, pid_t pid,
		       const __u64 *offsets, const __u64 *cookies, size_t cnt);

/* Number of probes (entries and returns) a plan places. */
size_t probes__count(const struct probe_plan *plan);

/* Attaches plan for pid (-1: every process). Links are appended to out.
 * 0 or -errno; on error the links attached so far stay in out. */
int probes__attach(const struct probe_progs *progs, const struct probe_plan *plan, pid_t pid,
		   struct link_list *out);
/* Probes of prog at cnt places of path (file offsets) with their cookies,
 * for pid: one uprobe_multi link (multi), else one link each. Links are
 * appended to out; 0 or -errno. */
int probes__attach_inline(struct bpf_program *prog, bool multi, const char *path, pid_t pid,
			  const __u64 *offsets, const __u64 *cookies, size_t cnt,
			  struct link_list *out);
/* Moves from's links to the end of to (from is then empty). 0 or -ENOMEM,
 * which leaves both as they were. */
int probes__splice(struct link_list *to, struct link_list *from);
/* Destroys the links (in parallel) and empties l. */
void probes__detach(struct link_list *l);
/* The same for several lists at once, sharing the wait. */
void probes__detach_all(struct link_list *lists, size_t nr);

#endif /* PROBES_H */
