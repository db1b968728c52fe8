// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* --python-objects on an interpreter that inlines pymalloc into its callers:
 * the copies found by user/pyinline.c and the new-pool function they call,
 * attached for one process. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "elfobj.h"
#include "path.h"
#include "pyattach.h"
#include "why.h"
#include "pyinline.h"

/* The last file scanned and what was found: the workers of one interpreter
 * (multiprocessing, --comm) share it, and a scan takes ~0.6 s. A file that
 * changed (size, mtime) is scanned again. Attaching runs on one thread. */
static struct {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	__u64 off, len;
	int minor;
	bool valid;
	struct pyinline found;
} last;

static int scan_cached(int fd, const struct vma *v, int minor, const struct pyinline **out)
{
	__u64 len = v->end - v->start, vaddr;
	struct stat st;
	struct elfobj *o;
	int own, err;

	if (fstat(fd, &st))
		return -errno;
	if (last.valid && last.dev == st.st_dev && last.ino == st.st_ino &&
	    last.size == st.st_size && last.mtime.tv_sec == st.st_mtim.tv_sec &&
	    last.mtime.tv_nsec == st.st_mtim.tv_nsec && last.off == v->offset && last.len == len &&
	    last.minor == minor) {
		*out = &last.found;
		return 0;
	}
	own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (own < 0)
		return -errno;
	o = elfobj__open_fd(own);
	if (!o)
		return -errno;
	pyinline__free(&last.found);
	last.valid = false;
	err = elfobj__vaddr_of_offset(o, v->offset, &vaddr);
	if (!err)
		err = pyinline__scan(o, v->offset, len, vaddr, minor, &last.found);
	elfobj__close(o);
	if (err)
		return err;
	last.dev = st.st_dev;
	last.ino = st.st_ino;
	last.size = st.st_size;
	last.mtime = st.st_mtim;
	last.off = v->offset;
	last.len = len;
	last.minor = minor;
	last.valid = true;
	*out = &last.found;
	return 0;
}

/* The copies' probes: their places and cookies. */
static int inline_probes(const struct pyinline *in, const struct pyalloc *pa, int minor,
			 __u64 **offs, __u64 **cookies)
{
	unsigned int pool_bits = pyinline__pool_bits(minor), align = pyinline__align_bits(minor);

	*offs = calloc(in->nsites, sizeof(**offs));
	*cookies = calloc(in->nsites, sizeof(**cookies));
	if (!*offs || !*cookies)
		return -ENOMEM;
	for (size_t i = 0; i < in->nsites; i++) {
		const struct pyinline_site *s = &in->sites[i];
		/* Frame 0 is the out-of-line object allocator, whose code the
		 * copy is: both in one file, so file offsets tell the distance. */
		__s64 delta = (__s64)(s->file_off - pa->file_offs[0]);

		if (delta != (__s32)delta)
			delta = 0; /* the copy then names itself */
		(*offs)[i] = s->file_off;
		(*cookies)[i] = AS_INLINE_COOKIE(
			s->frees ? ALLOC_FN_PYOBJ_BLOCK_FREE : ALLOC_FN_PYOBJ_BLOCK,
			s->reg | (s->deref ? AS_INLINE_DEREF : 0), pool_bits, align, delta);
	}
	return 0;
}

int pyattach__inlined(const struct probe_progs *progs, enum placement_mode mode, pid_t pid,
		      const struct vma *v, int fd, int minor, const struct pyalloc *pa,
		      struct link_list *links, struct pyattach_counts *counts, char *why,
		      size_t whylen)
{
	enum alloc_fn newpool = ALLOC_FN_PYOBJ_NEWPOOL;
	const struct pyinline *in = NULL;
	__u64 *offs = NULL, *cookies = NULL;
	struct probe_plan plan;
	int err;

	if (!progs->inline_obj)
		return why__say(-ENOTSUP, why, whylen, "no program for inlined copies was loaded");
	/* Hundreds of perf-event uprobes would take a tenth of a second each
	 * to release at exit: only uprobe_multi links detach at once. */
	if (!progs->multi)
		return why__say(
			-ENOTSUP, why, whylen,
			"%s calls its object allocator through copies inlined at %zu places, "
			"whose probes need uprobe_multi links (Linux 6.6+): not probed",
			path_base(v->path), pa->promoted);
	if (minor < 8)
		return why__say(
			-ENOTSUP, why, whylen,
			"%s calls its object allocator through copies inlined at %zu places, "
			"which are recognised on CPython 3.8+ only: not probed",
			path_base(v->path), pa->promoted);
	err = scan_cached(fd, v, minor, &in);
	if (err == -E2BIG || err == -EFBIG)
		return why__say(
			-ENOTSUP, why, whylen,
			"%s calls its object allocator through copies inlined at %zu places, "
			"and its code is too large, or holds too many copies, to probe them: "
			"not probed",
			path_base(v->path), pa->promoted);
	if (err)
		return err;
	if (!in->ntakes || !in->nfrees || !in->newpool_off)
		return why__say(
			-ENOTSUP, why, whylen,
			"%s calls its object allocator through copies inlined at %zu places, "
			"and their code is not recognised (%zu taking blocks, %zu giving them "
			"back, %s): not probed",
			path_base(v->path), pa->promoted, in->ntakes, in->nfrees,
			in->newpool_off ? "the new-pool function found" : "no new-pool function");
	err = probes__plan_funcs(fd, &newpool, &in->newpool_off, 1, mode, &plan);
	if (!err)
		err = probes__attach(progs, &plan, pid, links);
	if (!err)
		err = inline_probes(in, pa, minor, &offs, &cookies);
	if (!err)
		err = probes__attach_inline(progs->inline_obj, progs->multi, plan.path, pid, offs,
					    cookies, in->nsites, links);
	if (!err)
		*counts = (struct pyattach_counts){.takes = in->ntakes,
						   .frees = in->nfrees,
						   .missed = in->missed_takes + in->missed_frees,
						   .probes = in->nsites + probes__count(&plan)};
	free(offs);
	free(cookies);
	return err;
}
