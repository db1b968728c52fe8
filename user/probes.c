// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Allocator table and attach plans: find the allocator functions in an ELF
 * object, decide each probe's place, attach uprobes with a cookie per row. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "array.h"
#include "elfobj.h"
#include "probes.h"

/* Placement sees the whole function (up to this much) so it can refuse a
 * place that a branch inside the function jumps over. */
#define PLACEMENT_WINDOW (64 * 1024)

const struct alloc_fn_desc probes__fns[ALLOC_FN_COUNT] = {
	{"malloc", ALLOC_FN_MALLOC, SHAPE_SIZE, ARG_RDI, true, true, false},
	{"calloc", ALLOC_FN_CALLOC, SHAPE_NMEMB_SIZE, ARG_RDI | ARG_RSI, true, false, false},
	{"realloc", ALLOC_FN_REALLOC, SHAPE_PTR_SIZE, ARG_RDI | ARG_RSI, true, false, false},
	{"reallocarray", ALLOC_FN_REALLOCARRAY, SHAPE_PTR_NMEMB_SIZE, ARG_RDI | ARG_RSI | ARG_RDX,
	 true, false, false},
	{"free", ALLOC_FN_FREE, SHAPE_FREE, ARG_RDI, false, true, false},
	{"posix_memalign", ALLOC_FN_POSIX_MEMALIGN, SHAPE_MEMPTR, ARG_RDI | ARG_RSI | ARG_RDX, true,
	 false, false},
	{"aligned_alloc", ALLOC_FN_ALIGNED_ALLOC, SHAPE_ALIGN_SIZE, ARG_RDI | ARG_RSI, true, false,
	 false},
	{"memalign", ALLOC_FN_MEMALIGN, SHAPE_ALIGN_SIZE, ARG_RDI | ARG_RSI, true, false, false},
	{"valloc", ALLOC_FN_VALLOC, SHAPE_SIZE, ARG_RDI, true, false, false},
	{"pvalloc", ALLOC_FN_PVALLOC, SHAPE_SIZE, ARG_RDI, true, false, false},
	/* CPython's object allocator: planned from its allocator table
	 * (probes__plan_table), never looked up by name. */
	{"PyObject_Malloc", ALLOC_FN_PYOBJ_MALLOC, SHAPE_CTX_SIZE, ARG_RSI, true, false, true},
	{"PyObject_Calloc", ALLOC_FN_PYOBJ_CALLOC, SHAPE_CTX_NMEMB_SIZE, ARG_RSI | ARG_RDX, true,
	 false, true},
	{"PyObject_Realloc", ALLOC_FN_PYOBJ_REALLOC, SHAPE_CTX_PTR_SIZE, ARG_RSI | ARG_RDX, true,
	 false, true},
	{"PyObject_Free", ALLOC_FN_PYOBJ_FREE, SHAPE_CTX_FREE, ARG_RSI, false, false, true},
	/* pymalloc inlined into its callers (user/pyinline.c): the function
	 * that hands out a block of a new pool, and places inside the copies,
	 * attached on their own (probes__attach_inline). */
	{"allocate_from_new_pool", ALLOC_FN_PYOBJ_NEWPOOL, SHAPE_SIZE_CLASS, ARG_RDI, true, false,
	 true},
	{"pymalloc_block", ALLOC_FN_PYOBJ_BLOCK, SHAPE_INLINE, 0, false, false, true},
	{"pymalloc_block_free", ALLOC_FN_PYOBJ_BLOCK_FREE, SHAPE_INLINE, 0, false, false, true},
};

bool probes__is_free(enum alloc_fn fn)
{
	return probes__fns[fn].shape == SHAPE_FREE || probes__fns[fn].shape == SHAPE_CTX_FREE;
}

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
static struct probe_site *planned(struct probe_plan *plan, __u64 func_off)
{
	for (size_t i = 0; i < plan->nsites; i++)
		if (plan->sites[i].func_off == func_off)
			return &plan->sites[i];
	return NULL;
}

/* Marks in plan->exports the allocator names o's .dynsym defines. */
static int note_export(const struct elf_func *f, void *ctx)
{
	struct probe_plan *plan = ctx;

	if (!f->dynamic || !f->global)
		return 0;
	for (size_t i = 0; i < ALLOC_FN_COUNT; i++) {
		size_t len = strlen(probes__fns[i].name);

		if (probes__fns[i].by_table)
			continue;
		if (!strncmp(f->name, probes__fns[i].name, len) &&
		    (!f->name[len] || f->name[len] == '@'))
			plan->exports |= 1u << i;
	}
	return 0;
}

/* Plans from o, which is closed. */
static int plan_elf(struct elfobj *o, enum placement_mode mode, struct probe_plan *plan)
{
	struct probe_site *alias;
	struct elf_func f;
	int err = 0;

	if (!o)
		return -errno;
	for (size_t i = 0; i < ALLOC_FN_COUNT; i++) {
		const struct alloc_fn_desc *d = &probes__fns[i];
		struct probe_site *s = &plan->sites[plan->nsites];

		if (d->by_table)
			continue;
		if (elfobj__find_func(o, d->name, &f)) {
			if (d->required) {
				err = -ENOENT;
				goto cleanup;
			}
			continue;
		}
		alias = planned(plan, f.file_off);
		if (alias) {
			alias->names |= 1u << d->fn;
			continue;
		}
		s->fn = d->fn;
		s->names = 1u << d->fn;
		s->func_off = f.file_off;
		place(o, &f, mode, d->needed, &s->place);
		plan->nsites++;
	}
	elfobj__for_each_func(o, note_export, plan);
cleanup:
	elfobj__close(o);
	return err;
}

void probes__bind(struct probe_plan *const *plans, size_t n, unsigned int *lost)
{
	unsigned int taken = 0; /* names exported by an earlier object */

	for (size_t i = 0; i < n; i++) {
		struct probe_plan *p = plans[i];
		unsigned int shadowed = p->exports & taken;
		size_t kept = 0;

		lost[i] = 0;
		for (size_t j = 0; j < p->nsites; j++) {
			const struct probe_site *s = &p->sites[j];

			/* An alias stays while any of its names binds here. */
			if (!(s->names & ~shadowed)) {
				lost[i] |= s->names;
				continue;
			}
			p->sites[kept++] = *s;
		}
		p->nsites = kept;
		/* The C library never calls another object's malloc: a later
		 * definition (a dlopen'd RTLD_LOCAL allocator, called through
		 * dlsym) is reached only by its own callers, so it stays. */
		if (!p->libc)
			taken |= p->exports;
	}
}

int probes__plan(const char *path, enum placement_mode mode, struct probe_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	snprintf(plan->path, sizeof(plan->path), "%s", path);
	return plan_elf(elfobj__open(path), mode, plan);
}

int probes__plan_fd(int fd, enum placement_mode mode, struct probe_plan *plan)
{
	int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	memset(plan, 0, sizeof(*plan));
	probes__fd_path(plan, fd);
	if (own < 0)
		return -errno;
	return plan_elf(elfobj__open_fd(own), mode, plan);
}

struct func_size {
	__u64 file_off;
	__u64 size;
};

static int note_size(const struct elf_func *f, void *ctx)
{
	struct func_size *z = ctx;

	if (f->file_off != z->file_off || !f->size)
		return 0;
	z->size = f->size;
	return 1;
}

int probes__plan_table(int fd, const __u64 *func_offs, enum placement_mode mode,
		       struct probe_plan *plan)
{
	enum alloc_fn fns[AS_PYOBJ_FNS];

	for (size_t i = 0; i < AS_PYOBJ_FNS; i++)
		fns[i] = ALLOC_FN_PYOBJ_MALLOC + i;
	return probes__plan_funcs(fd, fns, func_offs, AS_PYOBJ_FNS, mode, plan);
}

int probes__plan_funcs(int fd, const enum alloc_fn *fns, const __u64 *func_offs, size_t nfns,
		       enum placement_mode mode, struct probe_plan *plan)
{
	int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	struct elfobj *o;

	memset(plan, 0, sizeof(*plan));
	probes__fd_path(plan, fd);
	if (own < 0)
		return -errno;
	o = elfobj__open_fd(own);
	if (!o)
		return -errno;
	for (size_t i = 0; i < nfns && plan->nsites < ALLOC_FN_COUNT; i++) {
		enum alloc_fn fn = fns[i];
		struct func_size z = {.file_off = func_offs[i]};
		struct elf_func f = {.file_off = func_offs[i]};
		struct probe_site *s = planned(plan, f.file_off), *n;

		if (s) {
			s->names |= 1u << fn;
			continue;
		}
		/* A static function keeps its size in .symtab; a stripped
		 * file has none, and only the first bytes are placed in. */
		elfobj__for_each_func(o, note_size, &z);
		f.size = z.size;
		elfobj__vaddr_of_offset(o, f.file_off, &f.vaddr);
		n = &plan->sites[plan->nsites++];
		*n = (struct probe_site){.fn = fn, .names = 1u << fn, .func_off = f.file_off};
		place(o, &f, mode, probes__fns[fn].needed, &n->place);
	}
	elfobj__close(o);
	return 0;
}

void probes__fd_path(struct probe_plan *plan, int fd)
{
	snprintf(plan->path, sizeof(plan->path), "/proc/self/fd/%d", fd);
}

static int push_link(struct link_list *l, struct probe_link link)
{
	struct probe_link *n = array_grow(l->links, &l->cap, l->nr + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	l->links = n;
	l->links[l->nr++] = link;
	return 0;
}

int probes__splice(struct link_list *to, struct link_list *from)
{
	struct probe_link *n = array_grow(to->links, &to->cap, to->nr + from->nr, sizeof(*n));

	if (!n)
		return -ENOMEM;
	to->links = n;
	memcpy(to->links + to->nr, from->links, from->nr * sizeof(*n));
	to->nr += from->nr;
	free(from->links);
	memset(from, 0, sizeof(*from));
	return 0;
}

static void destroy_link(struct probe_link *l)
{
	if (l->link)
		bpf_link__destroy(l->link);
	else if (l->fd >= 0)
		close(l->fd);
}

/* libbpf 1.1 predates uprobe_multi (kernel 6.6) and uprobe sessions (6.13):
 * their attach types and the link_create layout, as in the kernel's union
 * bpf_attr (a session link has the uprobe_multi layout). */
#define AS_BPF_TRACE_UPROBE_MULTI    48
#define AS_BPF_TRACE_UPROBE_SESSION  57
#define AS_BPF_F_UPROBE_MULTI_RETURN 1

struct uprobe_multi_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u64 path;
	__u64 offsets;
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 multi_flags;
	__u32 pid;
	__u32 pad;
};

bool probes__multi_supported(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool ok;

	if (!btf)
		return false;
	ok = btf__find_by_name_kind(btf, "bpf_uprobe_multi_link_attach", BTF_KIND_FUNC) >= 0;
	btf__free(btf);
	return ok;
}

int probes__use_multi(struct probe_progs *progs)
{
	struct bpf_program *p[] = {progs->enter, progs->exit, progs->free, progs->inline_obj};

	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		int err = p[i] ? bpf_program__set_expected_attach_type(p[i],
								       AS_BPF_TRACE_UPROBE_MULTI)
			       : 0;

		if (err)
			return err;
	}
	progs->multi = true;
	return 0;
}

int probes__use_session(struct probe_progs *progs, struct bpf_program *session)
{
	int err = bpf_program__set_expected_attach_type(session, AS_BPF_TRACE_UPROBE_SESSION);

	if (!err)
		err = bpf_program__set_expected_attach_type(progs->free, AS_BPF_TRACE_UPROBE_MULTI);
	if (!err && progs->inline_obj)
		err = bpf_program__set_expected_attach_type(progs->inline_obj,
							    AS_BPF_TRACE_UPROBE_MULTI);
	if (err)
		return err;
	progs->enter = session;
	progs->exit = NULL;
	progs->multi = progs->session = true;
	return 0;
}

int probes__multi_link(int prog_fd, bool session, bool retprobe, const char *path, pid_t pid,
		       const __u64 *offsets, const __u64 *cookies, size_t cnt)
{
	struct uprobe_multi_attr attr = {
		.prog_fd = prog_fd,
		.attach_type = session ? AS_BPF_TRACE_UPROBE_SESSION : AS_BPF_TRACE_UPROBE_MULTI,
		.path = (__u64)(unsigned long)path,
		.offsets = (__u64)(unsigned long)offsets,
		.cookies = (__u64)(unsigned long)cookies,
		.cnt = cnt,
		.multi_flags = retprobe ? AS_BPF_F_UPROBE_MULTI_RETURN : 0,
		.pid = pid > 0 ? pid : 0, /* 0: every process */
	};
	int fd = syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));

	return fd < 0 ? -errno : fd;
}

static int attach_multi(struct bpf_program *prog, bool session, const char *path, pid_t pid,
			bool retprobe, const __u64 *offsets, const __u64 *cookies, size_t cnt,
			struct link_list *out)
{
	struct probe_link link = {.fd = -1};
	int err;

	if (!cnt)
		return 0;
	link.fd = probes__multi_link(bpf_program__fd(prog), session, retprobe, path, pid, offsets,
				     cookies, cnt);
	if (link.fd < 0)
		return link.fd;
	err = push_link(out, link);
	if (err)
		close(link.fd);
	return err;
}

/* One link per program: entries, returns, frees; with sessions, the entry
 * link runs its program at the returns too. */
static int attach_plan_multi(const struct probe_progs *progs, const struct probe_plan *plan,
			     pid_t pid, struct link_list *out)
{
	__u64 off[3][ALLOC_FN_COUNT], cookie[3][ALLOC_FN_COUNT];
	size_t n[3] = {};
	enum { ENTRY, RETURN, FREE };
	int err;

	for (size_t i = 0; i < plan->nsites; i++) {
		const struct probe_site *s = &plan->sites[i];
		const struct alloc_fn_desc *d = &probes__fns[s->fn];
		__u64 o = s->func_off + s->place.offset, c = AS_COOKIE(s->fn, s->place.offset);
		int kind = probes__is_free(s->fn) ? FREE : ENTRY;

		off[kind][n[kind]] = o;
		cookie[kind][n[kind]++] = c;
		if (kind == ENTRY && d->ret && progs->exit) {
			off[RETURN][n[RETURN]] = o;
			cookie[RETURN][n[RETURN]++] = c;
		}
	}
	err = attach_multi(progs->enter, progs->session, plan->path, pid, false, off[ENTRY],
			   cookie[ENTRY], n[ENTRY], out);
	if (!err)
		err = attach_multi(progs->exit, false, plan->path, pid, true, off[RETURN],
				   cookie[RETURN], n[RETURN], out);
	if (!err)
		err = attach_multi(progs->free, false, plan->path, pid, false, off[FREE],
				   cookie[FREE], n[FREE], out);
	return err;
}

static int attach_one(struct bpf_program *prog, const struct probe_site *s, const char *path,
		      pid_t pid, bool retprobe, struct link_list *out)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe,
		    .bpf_cookie = AS_COOKIE(s->fn, s->place.offset));
	struct probe_link link = {.fd = -1};
	int err;

	/* The return probe shares the entry's place: [rsp] is still the
	 * return address there, and one breakpoint serves both. */
	link.link = bpf_program__attach_uprobe_opts(prog, pid, path, s->func_off + s->place.offset,
						    &opts);
	if (!link.link)
		return -errno;
	err = push_link(out, link);
	if (err)
		bpf_link__destroy(link.link);
	return err;
}

int probes__attach_inline(struct bpf_program *prog, bool multi, const char *path, pid_t pid,
			  const __u64 *offsets, const __u64 *cookies, size_t cnt,
			  struct link_list *out)
{
	if (multi)
		return attach_multi(prog, false, path, pid, false, offsets, cookies, cnt, out);
	for (size_t i = 0; i < cnt; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = cookies[i]);
		struct probe_link link = {.fd = -1};
		int err;

		link.link = bpf_program__attach_uprobe_opts(prog, pid, path, offsets[i], &opts);
		if (!link.link)
			return -errno;
		err = push_link(out, link);
		if (err) {
			bpf_link__destroy(link.link);
			return err;
		}
	}
	return 0;
}

size_t probes__count(const struct probe_plan *plan)
{
	size_t n = plan->nsites;

	for (size_t i = 0; i < plan->nsites; i++)
		n += probes__fns[plan->sites[i].fn].ret;
	return n;
}

int probes__attach(const struct probe_progs *progs, const struct probe_plan *plan, pid_t pid,
		   struct link_list *out)
{
	int err;

	if (progs->multi)
		return attach_plan_multi(progs, plan, pid, out);
	for (size_t i = 0; i < plan->nsites; i++) {
		const struct probe_site *s = &plan->sites[i];
		const struct alloc_fn_desc *d = &probes__fns[s->fn];

		if (probes__is_free(s->fn)) {
			err = attach_one(progs->free, s, plan->path, pid, false, out);
		} else {
			err = attach_one(progs->enter, s, plan->path, pid, false, out);
			if (!err && d->ret && progs->exit)
				err = attach_one(progs->exit, s, plan->path, pid, true, out);
		}
		if (err)
			return err;
	}
	return 0;
}

/* Releasing a uprobe waits for an RCU grace period (~0.1 s here). Closes of
 * uprobe_multi links made concurrently share grace periods (a target's three
 * links: ~0.12 s instead of ~0.33 s); perf-event uprobes are released one at
 * a time under a kernel mutex whatever we do. */
#define DETACH_THREADS 32

struct detach_job {
	struct probe_link *links;
	size_t nr;
	size_t next; /* claimed atomically */
};

static void *detach_worker(void *arg)
{
	struct detach_job *job = arg;
	size_t i;

	while ((i = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED)) < job->nr)
		destroy_link(&job->links[i]);
	return NULL;
}

void probes__detach(struct link_list *l)
{
	struct detach_job job = {.links = l->links, .nr = l->nr};
	pthread_t threads[DETACH_THREADS];
	size_t n = 0;

	while (l->nr > 1 && n < DETACH_THREADS && n < l->nr &&
	       !pthread_create(&threads[n], NULL, detach_worker, &job))
		n++;
	detach_worker(&job); /* also the fallback when no thread starts */
	for (size_t i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	free(l->links);
	memset(l, 0, sizeof(*l));
}

void probes__detach_all(struct link_list *lists, size_t nr)
{
	struct link_list all = {};

	for (size_t i = 0; i < nr; i++) {
		for (size_t j = 0; j < lists[i].nr; j++)
			if (push_link(&all, lists[i].links[j]))
				destroy_link(&lists[i].links[j]);
		free(lists[i].links);
		memset(&lists[i], 0, sizeof(lists[i]));
	}
	probes__detach(&all);
}
