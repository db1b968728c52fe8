// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Allocator table and attach plans: find the allocator functions in an ELF
 * object, decide each probe's place, attach uprobes with a cookie per row. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "elfobj.h"
#include "probes.h"

/* Placement sees the whole function (up to this much) so it can refuse a
 * place that a branch inside the function jumps over. */
#define PLACEMENT_WINDOW (64 * 1024)

const struct alloc_fn_desc probes__fns[ALLOC_FN_COUNT] = {
	{ "malloc", ALLOC_FN_MALLOC, SHAPE_SIZE, ARG_RDI, true, true },
	{ "calloc", ALLOC_FN_CALLOC, SHAPE_NMEMB_SIZE, ARG_RDI | ARG_RSI, true, false },
	{ "realloc", ALLOC_FN_REALLOC, SHAPE_PTR_SIZE, ARG_RDI | ARG_RSI, true, false },
	{ "reallocarray", ALLOC_FN_REALLOCARRAY, SHAPE_PTR_NMEMB_SIZE,
	  ARG_RDI | ARG_RSI | ARG_RDX, true, false },
	{ "free", ALLOC_FN_FREE, SHAPE_FREE, ARG_RDI, false, true },
	{ "posix_memalign", ALLOC_FN_POSIX_MEMALIGN, SHAPE_MEMPTR, ARG_RDI | ARG_RSI | ARG_RDX,
	  true, false },
	{ "aligned_alloc", ALLOC_FN_ALIGNED_ALLOC, SHAPE_ALIGN_SIZE, ARG_RDI | ARG_RSI, true,
	  false },
	{ "memalign", ALLOC_FN_MEMALIGN, SHAPE_ALIGN_SIZE, ARG_RDI | ARG_RSI, true, false },
	{ "valloc", ALLOC_FN_VALLOC, SHAPE_SIZE, ARG_RDI, true, false },
	{ "pvalloc", ALLOC_FN_PVALLOC, SHAPE_SIZE, ARG_RDI, true, false },
};

static void place(struct elfobj *o, const struct elf_func *f, enum placement_mode mode,
		  unsigned int needed, struct placement *out)
{
	size_t len = f->size && f->size < PLACEMENT_WINDOW ? f->size : PLACEMENT_WINDOW;
	__u8 *code = NULL;

	memset(out, 0, sizeof(*out));
	if (mode == PLACEMENT_ENTRY) {
		snprintf(out->reason, sizeof(out->reason), "function entry (--placement entry)");
		return;
	}
	/* Without a size (hand-written symbols) only the first bytes are safe. */
	if (!f->size)
		len = 16;
	code = malloc(len);
	if (!code || elfobj__read(o, f->file_off, code, len))
		snprintf(out->reason, sizeof(out->reason), "function entry (code unreadable)");
	else
		placement__choose(code, len, f->vaddr, needed, out);
	free(code);
}

/* Aliases (glibc's aligned_alloc is memalign) share one probe: two probes
 * at one address would account each call twice. */
static bool planned(const struct probe_plan *plan, __u64 func_off)
{
	for (size_t i = 0; i < plan->nsites; i++)
		if (plan->sites[i].func_off == func_off)
			return true;
	return false;
}

int probes__plan(const char *path, enum placement_mode mode, struct probe_plan *plan)
{
	struct elfobj *o = elfobj__open(path);
	struct elf_func f;
	int err = 0;

	if (!o)
		return -errno;
	memset(plan, 0, sizeof(*plan));
	snprintf(plan->path, sizeof(plan->path), "%s", path);
	for (size_t i = 0; i < ALLOC_FN_COUNT; i++) {
		const struct alloc_fn_desc *d = &probes__fns[i];
		struct probe_site *s = &plan->sites[plan->nsites];

		if (elfobj__find_func(o, d->name, &f)) {
			if (d->required) {
				err = -ENOENT;
				goto cleanup;
			}
			continue;
		}
		if (planned(plan, f.file_off))
			continue;
		s->fn = d->fn;
		s->func_off = f.file_off;
		place(o, &f, mode, d->needed, &s->place);
		plan->nsites++;
	}
cleanup:
	elfobj__close(o);
	return err;
}

static int push_link(struct link_list *l, struct bpf_link *link)
{
	if (l->nr == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct bpf_link **n = realloc(l->links, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		l->links = n;
		l->cap = cap;
	}
	l->links[l->nr++] = link;
	return 0;
}

static int attach_one(struct bpf_program *prog, const struct probe_site *s, const char *path,
		      pid_t pid, bool retprobe, struct link_list *out)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe,
		    .bpf_cookie = AS_COOKIE(s->fn, s->place.offset));
	struct bpf_link *link;
	int err;

	/* The return probe shares the entry's place: [rsp] is still the
	 * return address there, and one breakpoint serves both. */
	link = bpf_program__attach_uprobe_opts(prog, pid, path, s->func_off + s->place.offset,
					       &opts);
	if (!link)
		return -errno;
	err = push_link(out, link);
	if (err)
		bpf_link__destroy(link);
	return err;
}

int probes__attach(const struct probe_progs *progs, const struct probe_plan *plan, pid_t pid,
		   struct link_list *out)
{
	int err;

	for (size_t i = 0; i < plan->nsites; i++) {
		const struct probe_site *s = &plan->sites[i];
		const struct alloc_fn_desc *d = &probes__fns[s->fn];

		if (d->shape == SHAPE_FREE) {
			err = attach_one(progs->free, s, plan->path, pid, false, out);
		} else {
			err = attach_one(progs->enter, s, plan->path, pid, false, out);
			if (!err && d->ret)
				err = attach_one(progs->exit, s, plan->path, pid, true, out);
		}
		if (err)
			return err;
	}
	return 0;
}

void probes__detach(struct link_list *l)
{
	for (size_t i = 0; i < l->nr; i++)
		bpf_link__destroy(l->links[i]);
	free(l->links);
	memset(l, 0, sizeof(*l));
}
