// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Mappings by what they are, measured by what is resident at report time, and what a report
 * explains of each process's anonymous RSS. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "array.h"
#include "collect.h"
#include "mapcat.h"
#include "mapkind.h"

#pragma GCC poison u8 u16 u32 u64 s8 s16 s32 s64

/* Processes given a reconciliation in one report; text shows fewer (report.c). Each
 * costs a read of its maps and of the pagemap of its [heap]. */
#define PROCS_MAX 32

void mapcat__free(struct mapcat *m)
{
	free(m->kinds);
	free(m->next_kinds);
	free(m->slots);
	free(m->procs);
	free(m->shown);
	memset(m, 0, sizeof(*m));
}

/* One tracked mapping as read from BPF. */
struct tracked {
	__u64 addr;
	__u64 len;
	__u32 pid;
	__u32 slot;
};

static int cmp_tracked(const void *a, const void *b)
{
	const struct tracked *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int cmp_slot(const void *a, const void *b)
{
	const struct slot_use *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

static int cmp_kind(const void *a, const void *b)
{
	const struct kind_entry *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

static int cmp_pid(const void *a, const void *b)
{
	const struct proc_memory *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* pid's entry (kept sorted), created when missing; NULL on ENOMEM. */
static struct proc_memory *proc_get(struct mapcat *m, struct collector *c, __u32 pid)
{
	struct proc_memory key = {.pid = pid}, *p, *grown;
	struct proc_entry *t;
	size_t lo = 0, hi = m->nprocs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_pid(&m->procs[mid], &key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < m->nprocs && m->procs[lo].pid == pid)
		return &m->procs[lo];
	grown = array_grow(m->procs, &m->procs_cap, m->nprocs + 1, sizeof(*grown));
	if (!grown)
		return NULL;
	m->procs = grown;
	memmove(&m->procs[lo + 1], &m->procs[lo], (m->nprocs - lo) * sizeof(*p));
	m->nprocs++;
	p = &m->procs[lo];
	*p = key;
	t = targets__find(c->procs, pid);
	if (t) {
		p->exited = t->exited;
		memcpy(p->comm, t->comm, sizeof(p->comm));
		p->ident = t->ident;
	}
	return p;
}

static int push_tracked(struct tracked **all, size_t *n, size_t *cap, const struct live_key *k,
			const struct mapping_block *b)
{
	struct tracked *grown = array_grow(*all, cap, *n + 1, sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	*all = grown;
	grown[(*n)++] =
		(struct tracked){.addr = k->addr, .len = b->len, .pid = k->tgid, .slot = b->slot};
	return 0;
}

/* The table a key at a time: kernels without batch operations on hash maps (before 5.6). */
static int read_one_by_one(int fd, struct tracked **all, size_t *n, size_t *cap)
{
	struct live_key key, next, *prev = NULL;
	struct mapping_block b;
	int err = 0;

	while (!err && bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, &b)) /* else unmapped meanwhile */
			err = push_tracked(all, n, cap, &key, &b);
	}
	return err;
}

/* A batch read while mappings come and go may see an entry twice: keep one. */
static size_t dedup(struct tracked *t, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!k || cmp_tracked(&t[k - 1], &t[i]))
			t[k++] = t[i];
	return k;
}

/* Batches of this many entries: one system call each instead of two per mapping. */
#define BATCH 4096

static int read_tracked(int fd, struct tracked **out, size_t *nr)
{
	struct live_key *keys = malloc(BATCH * sizeof(*keys));
	struct mapping_block *vals = malloc(BATCH * sizeof(*vals));
	struct tracked *all = NULL;
	size_t n = 0, cap = 0;
	__u64 cursor[2]; /* the kernel's position in the table, opaque */
	bool first = true, done = false;
	int err = keys && vals ? 0 : -ENOMEM;

	while (!err && !done) {
		__u32 count = BATCH;

		err = bpf_map_lookup_batch(fd, first ? NULL : cursor, cursor, keys, vals, &count,
					   NULL);
		if (err == -ENOENT) { /* the last batch */
			err = 0;
			done = true;
		} else if (err && first) { /* no batch operations on this kernel */
			err = read_one_by_one(fd, &all, &n, &cap);
			done = true;
			count = 0;
		}
		for (__u32 i = 0; i < count && !err; i++)
			err = push_tracked(&all, &n, &cap, &keys[i], &vals[i]);
		first = false;
	}
	free(keys);
	free(vals);
	if (err) {
		free(all);
		return err;
	}
	if (n)
		qsort(all, n, sizeof(*all), cmp_tracked);
	*out = all;
	*nr = dedup(all, n);
	return 0;
}

/* A new entry for (pid, slot): one per mapping, merged by merge_slots. */
static struct slot_use *slot_get(struct mapcat *m, __u32 pid, __u32 slot)
{
	struct slot_use key = {.pid = pid, .slot = slot}, *grown;

	grown = array_grow(m->slots, &m->slots_cap, m->nslots + 1, sizeof(*grown));
	if (!grown)
		return NULL;
	m->slots = grown;
	m->slots[m->nslots] = key;
	return &m->slots[m->nslots++];
}

/* Sorts the slots and sums each one's mappings into one entry. */
static void merge_slots(struct mapcat *m)
{
	size_t n = 0;

	if (!m->nslots)
		return;
	qsort(m->slots, m->nslots, sizeof(*m->slots), cmp_slot);
	for (size_t i = 1; i < m->nslots; i++) {
		struct slot_use *to = &m->slots[n], *u = &m->slots[i];

		if (cmp_slot(to, u)) {
			m->slots[++n] = *u;
			continue;
		}
		to->mapped += u->mapped;
		to->resident += u->resident;
		to->heap_resident += u->heap_resident;
		to->heap_mapped += u->heap_mapped;
		to->held += u->held;
		to->heap_held += u->heap_held;
		to->nmaps += u->nmaps;
		if (!to->one_size)
			to->one_size = u->one_size;
		else if (u->one_size && u->one_size != to->one_size)
			to->one_size = ~0ULL;
	}
	m->nslots = n + 1;
}

static __u64 heap_size(const struct res_vmas *v)
{
	for (size_t i = 0; i < v->nr; i++)
		if (v->v[i].heap)
			return v->v[i].end - v->v[i].start;
	return 0;
}

/* Bytes of allocator memory that could hold pages but do not. */
static __u64 slack(__u64 held, __u64 resident)
{
	return held > resident ? held - resident : 0;
}

/* One process's tracked mappings t[0..n) (sorted by address): what is resident. */
static int scan_proc(struct mapcat *m, struct proc_memory *p, const struct tracked *t, size_t n)
{
	struct res_range *r = calloc(n ? n : 1, sizeof(*r));
	struct res_proc *rp = NULL;
	struct res_reader rd;
	struct slot_use *u;
	int err = 0;

	if (!r)
		return -ENOMEM;
	rp = residency__open(p->pid, &m->budget);
	if (!rp)
		goto cleanup; /* exited: its mapping sites read 0 resident */
	for (size_t i = 0; i < n; i++)
		r[i] = (struct res_range){.start = t[i].addr, .end = t[i].addr + t[i].len};
	rd = residency__reader(rp);
	/* A process that exits or execs meanwhile stays unscanned: its mappings read 0 resident. */
	if (residency__attribute(residency__vmas(rp), r, n, &rd, &p->heap_vma, &p->main_stack))
		goto cleanup;
	p->scanned = true;
	p->alloc_mapped += heap_size(residency__vmas(rp));
	(void)residency__written_data(rp, &p->file_data);
	for (size_t i = 0; i < n; i++) {
		if (t[i].slot == AS_RESERVED_SLOT) {
			p->alloc_res += r[i].resident - r[i].heap_resident;
			p->alloc_mapped += r[i].mapped - r[i].heap_mapped;
			p->alloc_slack += slack(r[i].held - r[i].heap_held,
						r[i].resident - r[i].heap_resident);
			continue;
		}
		u = slot_get(m, p->pid, t[i].slot);
		if (!u) {
			err = -ENOMEM;
			goto cleanup;
		}
		u->mapped += r[i].mapped;
		u->resident += r[i].resident;
		u->heap_resident += r[i].heap_resident;
		u->heap_mapped += r[i].heap_mapped;
		u->held += r[i].held;
		u->heap_held += r[i].heap_held;
		u->nmaps = r[i].mapped > 0;
		u->one_size = r[i].mapped;
	}
cleanup:
	residency__close(rp);
	free(r);
	return err;
}

int mapcat__scan(struct mapcat *m, struct collector *c, int mappings_fd)
{
	struct tracked *t = NULL;
	struct proc_memory *p;
	size_t n = 0, i, j;
	int err;

	m->nslots = 0;
	m->nprocs = 0;
	m->nnext = 0;
	m->budget = (struct res_budget){.pages_left = RES_BUDGET_PAGES};
	err = read_tracked(mappings_fd, &t, &n);
	for (i = 0; i < n && !err; i = j) {
		for (j = i + 1; j < n && t[j].pid == t[i].pid; j++)
			;
		p = proc_get(m, c, t[i].pid);
		if (!p)
			err = -ENOMEM;
		else if (!p->exited)
			err = scan_proc(m, p, &t[i], j - i);
	}
	free(t);
	merge_slots(m);
	return err;
}

/* The kind of a site first seen: a heap site unless its frame 0 is a system call. */
static enum map_kind classify_stack(struct collector *c, __u32 pid, __u64 stack_id)
{
	const char *symbols[AS_MAX_FRAMES], *modules[AS_MAX_FRAMES];
	struct stack_trace st;
	struct sym_frame f;
	size_t n = 0;

	if (bpf_map_lookup_elem(c->stacks_fd, &stack_id, &st) || st.nr > AS_MAX_FRAMES || !st.nr)
		return MAP_KIND_HEAP;
	if (st.pcs[0] > AS_MAP_CALL_MAX)
		return MAP_KIND_HEAP;
	if (st.pcs[0] == MAP_CALL_FAULT)
		return MAP_KIND_FAULT;
	collect__load_syms(c, pid);
	for (__u32 i = 1; i < st.nr; i++) {
		if (st.pcs[i] & AS_PY_FRAME_BIT)
			continue;
		if (syms__resolve(c->syms, pid, st.pcs[i], true, &f))
			continue;
		symbols[n] = f.symbol;
		modules[n++] = f.module;
	}
	return mapkind__classify(symbols, modules, n);
}

static enum map_kind kind_of(struct mapcat *m, struct collector *c, __u32 pid, __u64 stack_id)
{
	struct kind_entry key = {.pid = pid, .stack_id = stack_id}, *k, *grown;
	enum map_kind kind;

	k = m->nkinds ? bsearch(&key, m->kinds, m->nkinds, sizeof(key), cmp_kind) : NULL;
	kind = k ? k->kind : classify_stack(c, pid, stack_id);
	grown = array_grow(m->next_kinds, &m->next_cap, m->nnext + 1, sizeof(*grown));
	if (grown) {
		m->next_kinds = grown;
		key.kind = kind;
		m->next_kinds[m->nnext++] = key;
	}
	return kind;
}

bool mapcat__site(struct mapcat *m, struct collector *c, __u32 slot, __u64 stack_id,
		  struct report_site *site)
{
	struct slot_use key = {.pid = site->pid, .slot = slot}, none = {}, *u;
	struct proc_memory *p = proc_get(m, c, site->pid);
	enum map_kind kind = kind_of(m, c, site->pid, stack_id);
	__s64 live = (__s64)(site->stats.alloc_bytes - site->stats.free_bytes);

	u = m->nslots ? bsearch(&key, m->slots, m->nslots, sizeof(key), cmp_slot) : NULL;
	if (u)
		u->kind = kind;
	else
		u = &none;
	if (kind == MAP_KIND_HEAP) {
		if (p && live > 0)
			p->heap_live += live;
		if (p)
			p->heap_sites = true;
		return false;
	}
	if (kind == MAP_KIND_FAULT) {
		if (p && live > 0)
			p->faulted += live;
		if (p)
			p->fault_sites = true;
		return false;
	}
	if (p && kind != MAP_KIND_ALLOCATOR)
		p->in_heap_other += u->heap_resident;
	switch (kind) {
	case MAP_KIND_STACK:
		if (p) {
			p->stacks_res += u->resident;
			p->stacks_mapped += u->mapped;
			p->nstacks += u->nmaps;
			if (u->nmaps && (!p->stack_size || p->stack_size == u->one_size))
				p->stack_size = u->one_size;
			else if (u->nmaps)
				p->stack_size = ~0ULL;
		}
		return true;
	case MAP_KIND_ALLOCATOR:
		if (p) {
			p->alloc_res += u->resident - u->heap_resident;
			p->alloc_mapped += u->mapped - u->heap_mapped;
			p->alloc_slack +=
				slack(u->held - u->heap_held, u->resident - u->heap_resident);
		}
		return true;
	default:
		site->mapping = true;
		site->mapped_bytes = u->mapped;
		site->resident_bytes = u->resident;
		if (p)
			p->sites_res += u->resident;
		return false;
	}
}

static int cmp_rss(const void *a, const void *b)
{
	const struct proc_memory *x = a, *y = b;

	if (x->rss_anon != y->rss_anon)
		return x->rss_anon > y->rss_anon ? -1 : 1;
	return cmp_pid(a, b);
}

/* [heap] of a process with no tracked mapping: read for the reconciliation. */
static void scan_heap(struct mapcat *m, struct proc_memory *p)
{
	struct res_proc *rp = residency__open(p->pid, &m->budget);
	struct res_reader rd;

	if (!rp)
		return;
	rd = residency__reader(rp);
	if (!residency__attribute(residency__vmas(rp), NULL, 0, &rd, &p->heap_vma,
				  &p->main_stack)) {
		p->scanned = true;
		p->alloc_mapped += heap_size(residency__vmas(rp));
		(void)residency__written_data(rp, &p->file_data);
	}
	residency__close(rp);
}

static void reconcile(const struct proc_memory *p, struct report_process *out)
{
	__u64 in_heap = p->heap_vma > p->in_heap_other ? p->heap_vma - p->in_heap_other : 0;
	__u64 alloc = in_heap + p->alloc_res;
	/* Live blocks never touched (a large malloc is a mapping of its own, such as node's
	 * Buffers) are requested bytes with no pages: at most what allocator memory that could
	 * hold pages does not hold. */
	__u64 untouched = p->heap_live < p->alloc_slack ? p->heap_live : p->alloc_slack;
	__u64 heap_res = p->heap_live - untouched;

	*out = (struct report_process){
		.pid = p->pid,
		.rss_anon = p->rss_anon,
		.heap_live = p->heap_live,
		.heap_not_resident = untouched,
		.allocator = alloc > heap_res ? alloc - heap_res : 0,
		.mappings = p->sites_res,
		.thread_stacks = p->stacks_res + p->main_stack,
		.data = p->file_data,
	};
	memcpy(out->comm, p->comm, sizeof(out->comm));
	out->ident = p->ident;
	out->faulted = p->faulted;
	/* A process traced by its faults alone: its pages are charged where they
	 * were faulted in, [heap] and stacks included, so nothing else is added. */
	if (p->fault_sites && !p->heap_sites) {
		out->allocator = 0;
		out->mappings = 0;
		out->thread_stacks = 0;
		out->rss_only = true;
	}
	out->unexplained =
		(__s64)p->rss_anon - (__s64)(heap_res + out->allocator + out->mappings +
					     out->thread_stacks + out->data + out->faulted);
}

static void sum_categories(const struct proc_memory *p, struct report_header *hdr)
{
	__u64 in_heap = p->heap_vma > p->in_heap_other ? p->heap_vma - p->in_heap_other : 0;

	hdr->alloc_resident += in_heap + p->alloc_res;
	hdr->alloc_mapped += p->alloc_mapped;
	if (p->nstacks && (!hdr->stacks || hdr->stack_size == p->stack_size))
		hdr->stack_size = p->stack_size;
	else if (p->nstacks)
		hdr->stack_size = ~0ULL;
	hdr->stacks += p->nstacks;
	hdr->stacks_mapped += p->stacks_mapped;
	hdr->stacks_resident += p->stacks_res;
}

void mapcat__finish(struct mapcat *m, struct report_header *hdr)
{
	struct report_process *grown;
	size_t live = 0, i;

	/* The kinds of the sites seen now are remembered for the next report. */
	qsort(m->next_kinds, m->nnext, sizeof(*m->next_kinds), cmp_kind);
	{
		struct kind_entry *k = m->kinds;
		size_t cap = m->kinds_cap;

		m->kinds = m->next_kinds;
		m->kinds_cap = m->next_cap;
		m->nkinds = m->nnext;
		m->next_kinds = k;
		m->next_cap = cap;
		m->nnext = 0;
	}
	for (i = 0; i < m->nprocs; i++) {
		struct proc_memory *p = &m->procs[i];

		if (p->exited || residency__rss_anon(p->pid, &p->rss_anon))
			continue;
		m->procs[live++] = *p;
	}
	m->nprocs = live;
	qsort(m->procs, m->nprocs, sizeof(*m->procs), cmp_rss);
	hdr->nprocs_total = m->nprocs;
	hdr->nprocs = 0;
	grown = array_grow(m->shown, &m->shown_cap, PROCS_MAX, sizeof(*grown));
	if (grown)
		m->shown = grown;
	for (i = 0; i < m->nprocs; i++) {
		struct proc_memory *p = &m->procs[i];

		if (i < PROCS_MAX && !p->scanned)
			scan_heap(m, p);
		/* A process traced by its faults has no category: its [heap] and
		 * stacks are pages charged at the sites that touched them. */
		if (!p->fault_sites || p->heap_sites)
			sum_categories(p, hdr);
		if (i < PROCS_MAX && grown)
			reconcile(p, &m->shown[hdr->nprocs++]);
	}
	if (hdr->stack_size == ~0ULL)
		hdr->stack_size = 0;
	hdr->procs = m->shown;
}
