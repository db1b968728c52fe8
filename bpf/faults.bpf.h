/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --mode rss: resident memory charged to the code that faults it in, with no
 * allocator probe. A not-present fault of a target on private anonymous
 * memory takes the same stack walk as a heap site; the page is remembered
 * with its site (pages), so munmap, madvise, brk shrink and exit give it
 * back there. Its cost follows RSS growth, not the allocation rate. */
#ifndef FAULTS_BPF_H
#define FAULTS_BPF_H

#define EBUSY	      16
#define PAGE_SHIFT_4K 12
#define PAGE_4K	      (1ULL << PAGE_SHIFT_4K)
#define HUGE_2M	      (2ULL << 20)
#define VM_SHARED     0x00000008ULL
#define VM_HUGEPAGE   0x20000000ULL
#define VM_NOHUGEPAGE 0x40000000ULL
/* x86 page-fault error code bits (arch/x86/include/asm/trap_pf.h) */
#define PF_PROT	 0x1 /* clear: the page was not present */
#define PF_WRITE 0x2
/* Auto sampling: faults per CPU per window counted one by one, then one in
 * FAULT_SAMPLE_AUTO, weighted, for the rest of the window. */
#define FAULT_WINDOW_NS	     (100ULL * 1000 * 1000)
#define FAULT_EXACT_MAX	     2000 /* 20k faults/s per CPU: 80 MiB/s of 4 KiB pages */
#define FAULT_SAMPLE_AUTO    16
#define MADV_FREE	     8
#define MADV_DONTNEED	     4
#define MADV_REMOVE	     9
#define MADV_DONTNEED_LOCKED 24

const volatile bool rss_all = false;	     /* --mode rss over the whole system */
const volatile __u32 fault_sample_every = 0; /* 0: automatic; N: every Nth fault, weight N */
const volatile __u32 thp_mode = 0; /* /sys/.../transparent_hugepage: 0 never, 1 madvise, 2 always */

/* Read by the loader: faults charged, and of them how many stood for others. */
__u64 faults_seen = 0;
__u64 faults_sampled = 0;
__u64 thp_corrections = 0; /* huge pages that a later fault in their range proved 4 KiB */
__s64 page_entries = 0;	   /* entries in pages, about (bounds the release loops) */

/* Processes whose faults are charged: every target in --mode rss; one the
 * governor moved to RSS mode (tracer__rss_on). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AS_PROCS_MAX);
	__type(key, __u32); /* tgid */
	__type(value, __u8);
} rss_targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AS_PAGES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct live_key);
	__type(value, struct page_owner);
} pages SEC(".maps");

/* 2 MiB ranges a fault proved not to be one huge page: never charged as one again. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct live_key); /* the range's aligned start */
	__type(value, __u8);
} thp_split SEC(".maps");

struct fault_window {
	__u64 start_ns;
	__u32 count;
	__u32 tick;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fault_window);
} fault_windows SEC(".maps");

/* The tracepoint's record (no BTF type for it in vmlinux.h). */
struct page_fault_ctx {
	__u64 common;
	__u64 address;
	__u64 ip;
	__u64 error_code;
};

struct vma_info {
	__u64 start;
	__u64 end;
	__u64 flags;
	bool anon;
};

static __always_inline bool is_rss(__u32 tgid)
{
	return tgid != self_tgid && (rss_all || bpf_map_lookup_elem(&rss_targets, &tgid));
}

static long read_vma(struct task_struct *task, struct vm_area_struct *vma, struct vma_info *vi)
{
	vi->start = vma->vm_start;
	vi->end = vma->vm_end;
	vi->flags = vma->vm_flags;
	vi->anon = !(vi->flags & VM_SHARED);
	if (vma->vm_file) /* apart: clang would OR the pointer into the test */
		vi->anon = false;
	return 0;
}

/* The weight of this fault: 1 when exact, N when it stands for N, 0 when skipped. */
static __always_inline __u32 fault_weight(void)
{
	__u32 zero = 0, every = fault_sample_every;
	struct fault_window *w = bpf_map_lookup_elem(&fault_windows, &zero);
	__u64 now;

	if (!w || every == 1)
		return 1;
	if (!every) {
		now = bpf_ktime_get_ns();
		if (now - w->start_ns > FAULT_WINDOW_NS) {
			w->start_ns = now;
			w->count = 0;
		}
		if (++w->count <= FAULT_EXACT_MAX)
			return 1;
		every = FAULT_SAMPLE_AUTO;
	}
	if (++w->tick < every)
		return 0;
	w->tick = 0;
	__sync_fetch_and_add(&faults_sampled, 1);
	return every;
}

static __always_inline void charge(struct page_owner *o, __u64 bytes)
{
	struct site_stats *c = bpf_map_lookup_elem(&counters, &o->slot);

	if (!c)
		return;
	__sync_fetch_and_add(&c->alloc_bytes, bytes * o->weight);
	__sync_fetch_and_add(&c->allocs, o->weight);
}

/* Gives back bytes of o (unweighted) at its site; true when nothing is left. */
static __always_inline bool release_owned(struct page_owner *o, __u64 bytes)
{
	struct site_stats *c = bpf_map_lookup_elem(&counters, &o->slot);

	if (bytes > o->size)
		bytes = o->size;
	o->size -= bytes;
	/* A zero page was never charged: nothing to give back. */
	if (c && !(o->flags & PAGE_ZERO)) {
		__sync_fetch_and_add(&c->free_bytes, bytes * o->weight);
		if (!o->size)
			__sync_fetch_and_add(&c->frees, o->weight);
	}
	return !o->size;
}

static __always_inline void forget_page(struct live_key *key)
{
	if (!bpf_map_delete_elem(&pages, key))
		__sync_fetch_and_add(&page_entries, -1);
}

/* A write to a page a read fault had mapped the zero page at: now it is memory. */
static __always_inline void zero_page_written(__u32 tgid, __u64 addr)
{
	struct live_key key = {.addr = addr, .tgid = tgid};
	struct page_owner *o = bpf_map_lookup_elem(&pages, &key);

	/* The huge zero page: the entry sits at the range's start. */
	if (!o) {
		key.addr = addr & ~(HUGE_2M - 1);
		o = bpf_map_lookup_elem(&pages, &key);
	}
	if (!o || !(o->flags & PAGE_ZERO))
		return;
	o->flags &= ~PAGE_ZERO;
	charge(o, o->size);
}

/* A fault inside a range charged as a huge page: it was not one (the range
 * already had a page table, or the kernel fell back to small pages). What was
 * charged beyond one page is given back, and the range is remembered. */
static __always_inline void huge_was_small(__u32 tgid, __u64 region)
{
	struct live_key key = {.addr = region, .tgid = tgid};
	struct page_owner *o = bpf_map_lookup_elem(&pages, &key), small;
	__u8 one = 1;

	bpf_map_update_elem(&thp_split, &key, &one, BPF_ANY);
	if (!o || !(o->flags & PAGE_HUGE))
		return;
	__sync_fetch_and_add(&thp_corrections, 1);
	small = *o;
	small.flags &= ~PAGE_HUGE;
	release_owned(o, o->size > PAGE_4K ? o->size - PAGE_4K : 0);
	small.size = o->size;
	forget_page(&key);
	key.addr = small.fault_addr;
	if (small.size && !bpf_map_update_elem(&pages, &key, &small, BPF_NOEXIST))
		__sync_fetch_and_add(&page_entries, 1);
}

/* Whether the fault at addr will map a transparent huge page: the policy
 * allows one there, its aligned 2 MiB lie inside the mapping, and no page of
 * the range is known. A guess, corrected by huge_was_small() at the next
 * fault in the range, which a real huge page never takes. */
static __always_inline bool maps_huge(__u32 tgid, __u64 addr, const struct vma_info *vi)
{
	struct live_key key = {.addr = addr & ~(HUGE_2M - 1), .tgid = tgid};

	if (!thp_mode || (vi->flags & VM_NOHUGEPAGE))
		return false;
	if (thp_mode == 1 && !(vi->flags & VM_HUGEPAGE))
		return false;
	if (key.addr < vi->start || key.addr + HUGE_2M > vi->end)
		return false;
	return !bpf_map_lookup_elem(&thp_split, &key) && !bpf_map_lookup_elem(&pages, &key);
}

static __always_inline void own_page(__u32 tgid, struct live_key *key, struct page_owner *o)
{
	long err = bpf_map_update_elem(&pages, key, o, BPF_NOEXIST);

	if (err == -EEXIST) {
		/* Its release went unseen (e.g. by a call not traced): the
		 * old owner gives it back first. */
		struct page_owner *old = bpf_map_lookup_elem(&pages, key);

		if (old)
			release_owned(old, old->size);
		forget_page(key);
		err = bpf_map_update_elem(&pages, key, o, BPF_NOEXIST);
	}
	if (err) {
		count_drop(DROP_PAGE_FULL);
		return;
	}
	__sync_fetch_and_add(&page_entries, 1);
	if (!(o->flags & PAGE_ZERO))
		charge(o, o->size);
}

SEC("tracepoint/exceptions/page_fault_user")
int fault_user(struct page_fault_ctx *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct task_struct *task = bpf_get_current_task_btf();
	struct live_key key = {.addr = ctx->address & ~(PAGE_4K - 1), .tgid = tgid};
	struct page_owner o = {.fault_addr = key.addr, .size = PAGE_4K};
	struct live_key region = {.addr = ctx->address & ~(HUGE_2M - 1), .tgid = tgid};
	struct stack_trace *st = NULL;
	struct vma_info vi = {};
	struct page_owner *h;
	struct pt_regs regs;
	__u64 stack_id;
	bool py = false;
	long err;

	if (!is_rss(tgid))
		return 0;
	if (ctx->error_code & PF_PROT) {
		if (ctx->error_code & PF_WRITE)
			zero_page_written(tgid, key.addr);
		return 0;
	}
	err = bpf_find_vma(task, ctx->address, read_vma, &vi, 0);
	if (err) {
		/* -ENOENT: no mapping there, the fault will be a SIGSEGV. */
		if (err == -EBUSY)
			count_drop(DROP_FAULT_VMA_BUSY);
		return 0;
	}
	if (!vi.anon)
		return 0;
	h = bpf_map_lookup_elem(&pages, &region);
	if (h && (h->flags & PAGE_HUGE))
		huge_was_small(tgid, region.addr);
	o.weight = fault_weight();
	if (!o.weight)
		return 0;
	if (maps_huge(tgid, ctx->address, &vi)) {
		key.addr = region.addr;
		o.size = HUGE_2M;
		o.flags = PAGE_HUGE;
	}
	if (!(ctx->error_code & PF_WRITE))
		o.flags |= PAGE_ZERO;
	if (bpf_probe_read_kernel(&regs, sizeof(regs), (void *)bpf_task_pt_regs(task)))
		return 0;
	stack_id = take_stack(&regs, tgid, MAP_CALL_FAULT, true, &st, &py);
	if (!stack_id || !st)
		return 0;
	o.slot = site_get(tgid, stack_id, st, py);
	if (!bpf_map_lookup_elem(&counters, &o.slot)) {
		count_drop(DROP_SITE_FULL);
		return 0;
	}
	__sync_fetch_and_add(&faults_seen, 1);
	own_page(tgid, &key, &o);
	return 0;
}

/* What a release or a move covers: [start, end) of tgid, moved by delta
 * (0: given back). */
struct page_span {
	__u64 start;
	__u64 end;
	__s64 delta;
	__u32 tgid;
};

/* The part of the entry at key (size bytes from key->addr, or a huge page's
 * range) inside the span. */
static __always_inline __u64 overlap(const struct page_span *s, __u64 addr, __u32 flags)
{
	__u64 lo = addr, hi = addr + ((flags & PAGE_HUGE) ? HUGE_2M : PAGE_4K);

	lo = lo > s->start ? lo : s->start;
	hi = hi < s->end ? hi : s->end;
	return hi > lo ? hi - lo : 0;
}

static __always_inline void span_entry(const struct page_span *s, struct live_key *key,
				       struct page_owner *o)
{
	__u64 bytes = overlap(s, key->addr, o->flags);
	struct page_owner moved;

	if (!bytes)
		return;
	if (!s->delta) {
		if (release_owned(o, bytes))
			forget_page(key);
		return;
	}
	moved = *o;
	moved.fault_addr += s->delta;
	forget_page(key);
	key->addr += s->delta;
	if (!bpf_map_update_elem(&pages, key, &moved, BPF_ANY))
		__sync_fetch_and_add(&page_entries, 1);
}

static long span_page(__u32 i, struct page_span *s)
{
	struct live_key key = {.addr = s->start + ((__u64)i << PAGE_SHIFT_4K), .tgid = s->tgid};
	struct page_owner *o;

	/* The span may begin inside a huge page: its entry sits at the range's start. */
	if (!i && (key.addr & (HUGE_2M - 1))) {
		struct live_key region = {.addr = key.addr & ~(HUGE_2M - 1), .tgid = s->tgid};

		o = bpf_map_lookup_elem(&pages, &region);
		if (o && (o->flags & PAGE_HUGE))
			span_entry(s, &region, o);
	}
	o = bpf_map_lookup_elem(&pages, &key);
	if (o)
		span_entry(s, &key, o);
	return 0;
}

static long span_each(struct bpf_map *map, struct live_key *key, struct page_owner *o,
		      struct page_span *s)
{
	struct live_key k = *key;

	if (key->tgid == s->tgid)
		span_entry(s, &k, o);
	return 0;
}

/* Releases (delta 0) or moves the pages of [start, start + len): page by page
 * when the span has fewer pages than the table has entries, else by one pass
 * over the table; both bounded by the table's size. */
static __always_inline void rss_span(__u32 tgid, __u64 start, __u64 len, __s64 delta)
{
	struct page_span s = {.start = start & ~(PAGE_4K - 1), .delta = delta, .tgid = tgid};
	__u64 npages;

	if (!is_rss(tgid) || !len)
		return;
	s.end = start + len < start ? ~0ULL : start + len;
	npages = (s.end - s.start + PAGE_4K - 1) >> PAGE_SHIFT_4K;
	if (npages <= (__u64)page_entries && npages <= AS_PAGES_MAX)
		bpf_loop(npages, span_page, &s, 0);
	else
		bpf_for_each_map_elem(&pages, span_each, &s, 0);
}

static __always_inline void rss_release(__u32 tgid, __u64 start, __u64 len)
{
	rss_span(tgid, start, len, 0);
}

/* mremap from [old, old + old_len) to [now, now + len): pages past the new
 * length are given back, those kept move with the mapping. */
static __always_inline void rss_remap(__u32 tgid, __u64 old, __u64 old_len, __u64 now, __u64 len)
{
	__u64 kept = len < old_len ? len : old_len;

	if (!is_rss(tgid))
		return;
	if (old_len > len)
		rss_release(tgid, old + len, old_len - len);
	if (now != old)
		rss_span(tgid, old, kept, (__s64)(now - old));
}

SEC("tracepoint/syscalls/sys_enter_madvise")
int madvise_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 advice = ctx->args[2];

	/* MADV_FREE pages stay in RssAnon until reclaimed; they count as
	 * given back at the call, as the program meant them. */
	if (advice == MADV_DONTNEED || advice == MADV_FREE || advice == MADV_REMOVE ||
	    advice == MADV_DONTNEED_LOCKED)
		rss_release(tgid, ctx->args[0], ctx->args[1]);
	return 0;
}

struct page_purge {
	__u32 tgid;
	bool count; /* exit: the pages go back at their sites */
};

static long purge_pages(struct bpf_map *map, struct live_key *key, struct page_owner *o,
			struct page_purge *pp)
{
	if (key->tgid != pp->tgid)
		return 0;
	if (pp->count)
		release_owned(o, o->size);
	forget_page(key);
	return 0;
}

/* A process's pages at its exit (count: given back at their sites) or exec. */
static __always_inline void rss_forget(__u32 tgid, bool count)
{
	struct page_purge pp = {.tgid = tgid, .count = count};

	if (is_rss(tgid))
		bpf_for_each_map_elem(&pages, purge_pages, &pp, 0);
	if (count)
		bpf_map_delete_elem(&rss_targets, &tgid);
}

#endif /* FAULTS_BPF_H */
