// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Heap accounting in the kernel: allocator entry/return/free probes keep a
 * table of live blocks and per-(process, stack) counters; nothing per call
 * goes to userspace. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "allocscope.h"
#include "unwind.bpf.h"
#include "cost.bpf.h"
#include "sample.bpf.h"

#define E2BIG  7
#define EEXIST 17

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u64 min_size = 0;
const volatile __u64 max_size = ~0ULL;
const volatile __u32 self_tgid = 0;
/* --comm NAME: an exec into that name is announced at once, so a process
 * started by anyone is traced from its first milliseconds, not at the next
 * one-second scan of /proc. Empty otherwise. */
const volatile char targ_comm[AS_COMM_LEN] = {};
/* --cgroup, --container: every exec of a process not traced yet is
 * announced, and the loader reads its cgroup, so a process started in the
 * cgroup is traced from its first milliseconds too. */
const volatile bool targ_any_exec = false;
/* --python-objects: PyObject_Free's probe shares free_enter. */
const volatile bool objects_probed = false;

/* Cumulative, read by the loader for every report; per CPU, as every
 * untracked free counts one and an add on a line other CPUs write costs
 * more than the rest of the free's program. */
struct drop_counts {
	__u64 n[DROP_COUNT];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct drop_counts);
} drops SEC(".maps");
/* Allocator probes hit by allocscope itself. Its allocations go to a private
 * allocator in its own executable, so the libc probes that whole-system mode
 * plants in every process never trap it; a hit here means some path still
 * reaches a probed allocator (printed by -v; the tests want 0). */
__u64 self_hits = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AS_LIVE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct live_key);
	__type(value, struct live_block);
} live SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AS_SITES_MAX);
	__type(key, struct site_key);
	__type(value, __u32); /* slot */
} sites SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, AS_SITES_MAX);
	__type(key, __u32); /* slot */
	__type(value, struct site_stats);
} counters SEC(".maps");

/* Slots given back by deleted sites; never-used slots come from next_slot. */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, AS_SITES_MAX);
	__type(value, __u32);
} free_slots SEC(".maps");

__u32 next_slot = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AS_STACKS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64); /* stack_id */
	__type(value, struct stack_trace);
} stacks SEC(".maps");

/* Per thread: the allocator call between its entry and its return. Task
 * storage is a pointer away (no hashing, no delete) and dies with the thread. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct inflight);
} inflight SEC(".maps");

/* Processes that have had a block tracked: one bit per tgid modulo
 * AS_TRACKED_BITS, set before the block enters live. A free in a process
 * whose bit is clear has nothing to look up in live (a hash lookup is a
 * third of what a free costs in BPF): a size filter that rejects most
 * calls keeps frees cheap. Never cleared: a pid reused, or sharing a bit,
 * only costs lookups. */
__u64 tracked_procs[AS_TRACKED_BITS / 64] = {};

static __always_inline __u64 *tracked_word(__u32 tgid)
{
	return &tracked_procs[(tgid >> 6) & (AS_TRACKED_BITS / 64 - 1)];
}

static __always_inline bool proc_tracks(__u32 tgid)
{
	return *tracked_word(tgid) & (1ULL << (tgid & 63));
}

static __always_inline void mark_tracking(__u32 tgid)
{
	__u64 *w = tracked_word(tgid), bit = 1ULL << (tgid & 63);

	if (!(*w & bit))
		__sync_fetch_and_or(w, bit);
}

/* Allocator calls in flight (entry seen, return not yet) per process modulo
 * AS_INFLIGHT_SLOTS, changed only when a thread's inflight.sp goes from 0
 * to set or back. A free in a process with none cannot be made by an
 * allocator call, so it skips its thread's storage: fetching it is half of
 * what a free costs in BPF here. A slot shared by two processes, or a call
 * whose return went unseen, only sends frees the longer way. */
__u32 inflight_calls[AS_INFLIGHT_SLOTS] = {};

static __always_inline __u32 *inflight_slot(__u32 tgid)
{
	return &inflight_calls[tgid & (AS_INFLIGHT_SLOTS - 1)];
}

static __always_inline void set_inflight(struct inflight *in, __u32 tgid, __u64 sp)
{
	if (!in->sp)
		__sync_fetch_and_add(inflight_slot(tgid), 1);
	in->sp = sp;
}

static __always_inline void clear_inflight(struct inflight *in, __u32 tgid)
{
	if (!in->sp)
		return;
	in->sp = 0;
	__sync_fetch_and_sub(inflight_slot(tgid), 1);
}

/* Processes holding state in live/sites, so exit and exec purge only them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AS_PROCS_MAX);
	__type(key, __u32); /* tgid */
	__type(value, __u8);
} procs SEC(".maps");

/* Per process: where glibc's thread-exit tcache flush calls free. LRU: the
 * loader fills it per target; whole-system mode fills it for every process. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, AS_PROCS_MAX);
	__type(key, __u32); /* tgid */
	__type(value, struct exit_free_pcs);
} exit_frees SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} events SEC(".maps");

static __always_inline void count_drop(enum drop_reason r)
{
	__u32 zero = 0;
	struct drop_counts *d = bpf_map_lookup_elem(&drops, &zero);

	if (d && r < DROP_COUNT)
		__sync_fetch_and_add(&d->n[r], 1);
}

static __always_inline void notify_stack(enum task_event_type type, __u32 tgid, __u64 stack_id)
{
	struct task_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count_drop(DROP_EVENT_LOST);
		return;
	}
	e->type = type;
	e->tgid = tgid;
	e->stack_id = stack_id;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void notify(enum task_event_type type, __u32 tgid)
{
	notify_stack(type, tgid, 0);
}

/* Takes the stack into the per-CPU scratch and returns its id, 0 on failure.
 * *py: the stack holds Python frames. */
static __always_inline __u64 take_stack(struct pt_regs *ctx, __u32 tgid, __u64 fn_start,
					bool ip_exact, struct stack_trace **out, bool *py)
{
	bool rescan;
	struct stack_trace *st = capture_stack(ctx, tgid, fn_start, ip_exact, &rescan, py);

	if (!st)
		return 0;
	if (rescan)
		notify(TASK_EV_RESCAN, tgid);
	*out = st;
	return hash_stack(st);
}

/* The first event of a process, of any kind (a heap block, a mapping, an
 * allocator's own brk or mmap), announces it once, so the loader reads its
 * mappings and builds its unwind tables while it lives; procs also makes
 * its exit purge its state. 0, or -E2BIG when procs is full. */
static __always_inline long note_process(__u32 tgid)
{
	__u8 one = 1;
	long err = bpf_map_update_elem(&procs, &tgid, &one, BPF_NOEXIST);

	if (!err)
		notify(TASK_EV_FIRST_SITE, tgid);
	return err == -EEXIST ? 0 : err;
}

/* Probes of allocscope itself return at once, counted. */
static __always_inline bool is_self(__u32 tgid)
{
	if (tgid != self_tgid)
		return false;
	__sync_fetch_and_add(&self_hits, 1);
	return true;
}

/* A slot for a new site: recycled first, then never used; AS_SITES_MAX if none. */
static __always_inline __u32 take_slot(void)
{
	__u32 slot;

	if (bpf_map_pop_elem(&free_slots, &slot) == 0)
		return slot;
	/* Bump only while slots remain: bumping on every attempt once the
	 * table is full would wrap the counter and hand out live slots again.
	 * Racing CPUs overshoot by at most their number, far from a wrap. */
	if (next_slot >= AS_SITES_MAX)
		return AS_SITES_MAX;
	slot = __sync_fetch_and_add(&next_slot, 1);
	return slot < AS_SITES_MAX ? slot : AS_SITES_MAX;
}

/* The slot of (tgid, stack), created with its stack on first sight; only new
 * sites touch the stacks map. AS_SITES_MAX when the tables are full. */
static __always_inline __u32 site_get(__u32 tgid, __u64 stack_id, const struct stack_trace *st,
				      bool py)
{
	struct site_key key = {.stack_id = stack_id, .tgid = tgid};
	struct site_stats *c;
	__u32 *found, slot;
	long err;

	found = bpf_map_lookup_elem(&sites, &key);
	if (found)
		return *found;
	if (note_process(tgid) == -E2BIG)
		return AS_SITES_MAX;
	slot = take_slot();
	c = bpf_map_lookup_elem(&counters, &slot);
	if (!c)
		return AS_SITES_MAX;
	__builtin_memset(c, 0, sizeof(*c)); /* the slot may have served a gone site */
	if (!bpf_map_lookup_elem(&stacks, &stack_id)) {
		err = bpf_map_update_elem(&stacks, &stack_id, st, BPF_NOEXIST);
		if (err == -E2BIG)
			count_drop(DROP_STACK_FULL);
		else if (!err && py)
			notify_stack(TASK_EV_PY_STACK, tgid, stack_id);
	}
	if (bpf_map_update_elem(&sites, &key, &slot, BPF_NOEXIST) == 0)
		return slot;
	/* Another CPU created it first (or the table is full): give ours back. */
	bpf_map_push_elem(&free_slots, &slot, 0);
	found = bpf_map_lookup_elem(&sites, &key);
	return found ? *found : AS_SITES_MAX;
}

/* Retires the block at addr at its site; false when it is not tracked.
 * *size: its size. */
static __always_inline bool release_tracked(__u32 tgid, __u64 addr, __u64 *size)
{
	struct live_key key = {.addr = addr, .tgid = tgid};
	struct live_block *b;
	struct site_stats *c;

	if (!proc_tracks(tgid))
		return false;
	b = bpf_map_lookup_elem(&live, &key);
	if (!b)
		return false;
	*size = b->size;
	c = bpf_map_lookup_elem(&counters, &b->slot);
	if (c) {
		__sync_fetch_and_add(&c->free_bytes, b->size);
		__sync_fetch_and_add(&c->frees, b->count);
	}
	bpf_map_delete_elem(&live, &key);
	return true;
}

/* release_tracked(), counting a block that is not tracked as such. When
 * sampling, most blocks are not tracked (unsampled), and none is counted. */
static __always_inline bool release_block(__u32 tgid, __u64 addr, __u64 *size)
{
	if (release_tracked(tgid, addr, size))
		return true;
	if (!sample_bytes)
		count_drop(DROP_UNTRACKED_FREE);
	return false;
}

/* Tracks a new block of size bytes. When sampling it stands for more: its
 * weighted bytes and objects are counted, and given back at its free.
 * resized: it replaces a tracked block of old_size (a realloc), whose free
 * was counted at that block's site. */
static __always_inline void track_block(__u32 tgid, __u64 addr, __u64 size, __u64 stack_id,
					const struct stack_trace *st, bool py, bool resized,
					__u64 old_size)
{
	struct live_key key = {.addr = addr, .tgid = tgid};
	/* One helper call per tracked block: reports tell old blocks (a
	 * leak) from young ones (churn) by it. */
	struct live_block b = {.size = sample_weight(size), .born_ns = bpf_ktime_get_ns()};
	struct site_stats *c;
	__u64 gone;
	int err;

	b.count = sample_count(size, b.size);
	b.slot = site_get(tgid, stack_id, st, py);
	c = bpf_map_lookup_elem(&counters, &b.slot);
	if (!c) {
		count_drop(DROP_SITE_FULL);
		return;
	}
	mark_tracking(tgid);
	err = bpf_map_update_elem(&live, &key, &b, BPF_NOEXIST);
	if (err == -EEXIST) {
		/* Its free went unseen (e.g. freed by a path we do not probe):
		 * retire the old block at its own site before reusing the key. */
		release_block(tgid, addr, &gone);
		err = bpf_map_update_elem(&live, &key, &b, BPF_NOEXIST);
	}
	if (err) {
		count_drop(DROP_LIVE_FULL);
		return;
	}
	__sync_fetch_and_add(&c->alloc_bytes, b.size);
	__sync_fetch_and_add(&c->allocs, b.count);
	if (sample_bytes)
		__sync_fetch_and_add(&c->samples, 1);
	if (resized) {
		__sync_fetch_and_add(&c->reallocs, b.count);
		__sync_fetch_and_add(&c->realloc_bytes, b.size);
		__sync_fetch_and_add(&c->realloc_old_bytes, old_size);
	}
}

/* nmemb * size, or false when it overflows (the call will fail). */
static __always_inline bool mul_size(__u64 nmemb, __u64 size, __u64 *out)
{
	__u64 limit = ~0ULL;

	/* Hide the division from clang, which would turn the check into a
	 * 128-bit multiply BPF cannot do. */
	asm volatile("" : "+r"(limit));
	if (size && nmemb > limit / size) {
		count_drop(DROP_CALLOC_OVERFLOW);
		return false;
	}
	*out = nmemb * size;
	return true;
}

/* Reads the call's request; false when the call cannot allocate. */
static __always_inline bool read_request(struct pt_regs *ctx, enum alloc_fn fn, struct inflight *in)
{
	switch (fn) {
	case ALLOC_FN_CALLOC:
		return mul_size(PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx), &in->size);
	case ALLOC_FN_REALLOC:
		in->ptr = PT_REGS_PARM1(ctx);
		in->size = PT_REGS_PARM2(ctx);
		return true;
	case ALLOC_FN_REALLOCARRAY:
		in->ptr = PT_REGS_PARM1(ctx);
		return mul_size(PT_REGS_PARM2(ctx), PT_REGS_PARM3(ctx), &in->size);
	case ALLOC_FN_POSIX_MEMALIGN:
		in->ptr = PT_REGS_PARM1(ctx); /* memptr */
		in->size = PT_REGS_PARM3(ctx);
		return true;
	case ALLOC_FN_ALIGNED_ALLOC:
	case ALLOC_FN_MEMALIGN:
	case ALLOC_FN_PYOBJ_MALLOC: /* (ctx, size) */
		in->size = PT_REGS_PARM2(ctx);
		return true;
	case ALLOC_FN_PYOBJ_CALLOC:
		return mul_size(PT_REGS_PARM2(ctx), PT_REGS_PARM3(ctx), &in->size);
	case ALLOC_FN_PYOBJ_REALLOC:
		in->ptr = PT_REGS_PARM2(ctx);
		in->size = PT_REGS_PARM3(ctx);
		return true;
	case ALLOC_FN_PYOBJ_NEWPOOL: /* (size class): 3.8+'s 16-byte steps */
		in->size = ((__u32)PT_REGS_PARM1(ctx) + 1) << 4;
		return true;
	default: /* malloc, valloc, pvalloc */
		in->size = PT_REGS_PARM1(ctx);
		return true;
	}
}

/* A pending uretprobe replaced the return address at [rsp] with a trampoline
 * in the process's uprobe page (the "xol area"). */
static __always_inline bool is_uretprobe_trampoline(__u64 addr)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u64 page = BPF_CORE_READ(task, mm, uprobes_state.xol_area, vaddr);

	return page && addr >= page && addr < page + 4096;
}

/* Whether the call in flight still runs, so that a call below its entry rsp
 * is made inside it. A call whose return will be seen has the uretprobe
 * trampoline as its return address, at its entry rsp. It has not when the
 * return probe was attached after the call began (a process attached while
 * it runs, a forked child between its entry and return links): left in
 * place, such an entry would pass every later, deeper call off as nested in
 * it and the process would show no allocation at all. A call whose session
 * entry skipped its return still has the return address it had at entry. */
static __always_inline bool call_running(const struct inflight *in)
{
	__u64 ret_addr = 0;

	bpf_probe_read_user(&ret_addr, sizeof(ret_addr), (void *)in->sp);
	if (in->skipped)
		return ret_addr == in->skip_ret;
	return is_uretprobe_trampoline(ret_addr);
}

/* realloc(NULL, n) becoming malloc(n): glibc's, and pymalloc's (3.8+'s
 * _PyObject_Realloc may tail-call _PyObject_Malloc). */
static __always_inline bool is_tail_malloc(enum alloc_fn outer, enum alloc_fn fn)
{
	return (fn == ALLOC_FN_MALLOC && outer == ALLOC_FN_REALLOC) ||
	       (fn == ALLOC_FN_PYOBJ_MALLOC && outer == ALLOC_FN_PYOBJ_REALLOC);
}

/* Whether a call of fn at sp is made by the allocator call in flight (in),
 * which accounts for it. Same rsp: a tail call (glibc's realloc(NULL, n)
 * jumps to malloc), and both return probes will fire at the one return; but
 * after a call that skipped its return, the same rsp is mostly the next
 * call of a loop, and only realloc(NULL, n) becoming malloc is taken as its
 * tail call. */
static __always_inline bool nested_call(const struct inflight *in, enum alloc_fn fn, __u64 sp)
{
	if (sp > in->sp)
		return false;
	if (sp == in->sp && in->skipped && !(!in->ptr && is_tail_malloc(in->fn, fn)))
		return false;
	return call_running(in);
}

static __always_inline bool is_realloc(enum alloc_fn fn)
{
	return fn == ALLOC_FN_REALLOC || fn == ALLOC_FN_REALLOCARRAY ||
	       fn == ALLOC_FN_PYOBJ_REALLOC;
}

/* Whether the call recorded in in frees a block that is tracked (a realloc
 * of it): its return must then be seen, whatever becomes of its result. */
static __always_inline bool frees_tracked(const struct inflight *in, __u32 tgid)
{
	struct live_key key = {.addr = in->ptr, .tgid = tgid};

	if (!in->ptr || !is_realloc(in->fn))
		return false;
	if (proc_tracks(tgid) && bpf_map_lookup_elem(&live, &key))
		return true;
	/* Its return would have counted the untracked block. */
	if (!sample_bytes)
		count_drop(DROP_UNTRACKED_FREE);
	return false;
}

/* A malloc or calloc the size filters reject. Such a call changes nothing
 * whatever is in flight on its thread (made by a realloc in flight, that
 * realloc accounts for it; otherwise it is not tracked), so a session entry
 * rejects it before fetching the thread's storage: a third of what the
 * entry costs in BPF. Other functions may free a tracked block or call the
 * allocator themselves, and sampling needs the thread's state. */
static __always_inline bool rejected_by_size(struct pt_regs *ctx, enum alloc_fn fn)
{
	__u64 size;

	if (fn == ALLOC_FN_MALLOC)
		size = PT_REGS_PARM1(ctx);
	else if (fn != ALLOC_FN_CALLOC)
		return false;
	else if (!mul_size(PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx), &size))
		return true; /* it will fail */
	return size < min_size || size > max_size;
}

/* An allocator call's entry. Probes sit before any push (see
 * user/placement.c), so rsp here is the function's entry rsp. The stack is
 * taken at the return, where the kernel gives the caller's return address as
 * ip: no user memory is read here, unless another call is in flight. Returns
 * whether the call's return must be seen: with sessions, a call the size
 * filters or sampling reject, and that frees no tracked block, takes no
 * return probe; if it may call the allocator itself (realloc, the aligned
 * family) it is recorded as skipped with its return address (one read of
 * [rsp]) so that its nested calls are still told apart. */
static __always_inline bool enter_call(struct pt_regs *ctx, bool session)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u64 sp = PT_REGS_SP(ctx);
	enum alloc_fn fn = AS_COOKIE_FN(cookie);
	struct inflight *outer;
	__s64 sample_left;
	__u8 pending[HIT_COUNT];

	if (is_self(tgid))
		return false;
	if (session && rejected_by_size(ctx, fn)) {
		count_hit_cpu(tgid, HIT_ENTER);
		return false;
	}
	outer = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0,
				     BPF_LOCAL_STORAGE_GET_F_CREATE);
	count_hit_in(tgid, outer, HIT_ENTER);
	if (!outer) {
		count_drop(DROP_INFLIGHT_FULL);
		return false;
	}
	if (outer->sp) {
		/* Deeper: a call made by the allocator itself (realloc calling
		 * malloc); the outer call accounts for it. */
		if (nested_call(outer, fn, sp)) {
			/* A tail call's return probe fires at the outer's
			 * return, first; a session skips it. */
			if (sp == outer->sp && !session)
				__sync_fetch_and_add(&outer->tails, 1);
			return false;
		}
		/* Shallower, a fresh call at the same depth, or an outer call
		 * whose return will not be seen (expected if it skipped it). */
		if (!outer->skipped)
			count_drop(DROP_STALE_ENTRY);
		clear_inflight(outer, tgid);
	}

	/* A call that cannot allocate is still remembered (fn_start 0: nothing
	 * to account), so its return is matched and its nested calls ignored. */
	sample_left = outer->sample_left;
	__builtin_memcpy(pending, outer->hits_pending, sizeof(pending));
	__builtin_memset(outer, 0, sizeof(*outer));
	outer->sample_left = sample_left;
	__builtin_memcpy(outer->hits_pending, pending, sizeof(pending));
	outer->fn = fn;
	outer->fn_start = PT_REGS_IP(ctx) - AS_COOKIE_OFF(cookie);
	if (!read_request(ctx, fn, outer))
		outer->fn_start = 0;
	else if (outer->size >= min_size && outer->size <= max_size)
		outer->track = !sample_bytes || sample_take(outer, outer->size);
	if (session && !outer->track && !(outer->fn_start && frees_tracked(outer, tgid))) {
		/* malloc and calloc call no allocator function of their own:
		 * nothing can nest in them, so nothing is left in flight and
		 * [rsp] is not read (a user read costs more than the rest of
		 * the entry here). */
		if (fn == ALLOC_FN_MALLOC || fn == ALLOC_FN_CALLOC)
			return false;
		outer->skipped = 1;
		bpf_probe_read_user(&outer->skip_ret, sizeof(outer->skip_ret), (void *)sp);
		set_inflight(outer, tgid, sp);
		return false;
	}
	set_inflight(outer, tgid, sp); /* last: marks the entry as in flight */
	return true;
}

/* An allocator call's return: accounts for the call recorded at its entry. */
static __always_inline void exit_call(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	__u64 ret = PT_REGS_RC(ctx), addr = 0, old_size = 0;
	struct inflight *p, in;
	bool resized = false;

	if (is_self(tgid))
		return;
	p = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0, 0);
	count_hit_in(tgid, p, HIT_RETURN);
	if (!p || !p->sp || p->skipped) {
		count_drop(DROP_MISSING_ENTRY);
		return;
	}
	/* ret popped the return address: rsp is entry rsp + 8 only for the
	 * outermost call; nested calls return first and are ignored. */
	if (PT_REGS_SP(ctx) != p->sp + 8)
		return;
	/* The tail-called functions' returns come first; the last accounts. */
	if (p->tails) {
		p->tails--;
		return;
	}
	in = *p;
	clear_inflight(p, tgid);
	/* It could not allocate (nmemb * size overflowed): it failed and
	 * changed nothing, the old block of a reallocarray included. */
	if (!in.fn_start)
		return;

	switch (in.fn) {
	case ALLOC_FN_REALLOC:
	case ALLOC_FN_REALLOCARRAY:
	case ALLOC_FN_PYOBJ_REALLOC:
		/* A failed realloc leaves the old block live; realloc(p, 0)
		 * frees p and returns NULL (or a new minimal block). */
		if (!ret && in.size)
			return;
		if (in.ptr)
			resized = release_block(tgid, in.ptr, &old_size);
		addr = ret;
		break;
	case ALLOC_FN_POSIX_MEMALIGN:
		/* *memptr is written only on success (return 0). */
		if ((int)ret != 0 || bpf_probe_read_user(&addr, sizeof(addr), (void *)in.ptr))
			return;
		break;
	default:
		addr = ret;
		break;
	}
	if (addr && in.track) {
		struct stack_trace *st = NULL;
		bool py = false;
		__u64 stack_id = take_stack(ctx, tgid, in.fn_start, false, &st, &py);

		if (stack_id && st)
			track_block(tgid, addr, in.size, stack_id, st, py, resized, old_size);
	}
}

SEC("uprobe")
int alloc_enter(struct pt_regs *ctx)
{
	enter_call(ctx, false);
	return 0;
}

SEC("uretprobe")
int alloc_exit(struct pt_regs *ctx)
{
	exit_call(ctx);
	return 0;
}

/* Linux 6.13+ (BPF_TRACE_UPROBE_SESSION): a session program runs at the entry
 * and, unless the entry returned non-zero, at the return. Weak: the kernels
 * without it never load this program (user/kernel_features.c). */
extern bool bpf_session_is_return(void) __ksym __weak;

/* Session runs (-v): [0] entries that skipped their return, [1] returns; per
 * CPU, as an atomic add on one shared counter cost more than the check it counts. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} session_runs SEC(".maps");

static __always_inline void count_session(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&session_runs, &which);

	if (n)
		(*n)++;
}

SEC("uprobe")
int alloc_session(struct pt_regs *ctx)
{
	if (bpf_session_is_return()) {
		count_session(1);
		exit_call(ctx);
		return 0;
	}
	if (enter_call(ctx, true))
		return 0;
	count_session(0);
	return 1;
}

/* Whether this free returns into glibc's thread-exit tcache flush. Only for
 * untracked frees, so the common path reads no user memory. The probe sits
 * before any push (user/placement.c): [rsp] is free's return address. */
static __always_inline bool thread_exit_free(struct pt_regs *ctx, __u32 tgid)
{
	struct exit_free_pcs *r = bpf_map_lookup_elem(&exit_frees, &tgid);
	__u64 ret = 0;

	if (!r || bpf_probe_read_user(&ret, sizeof(ret), (void *)PT_REGS_SP(ctx)))
		return false;
	for (int i = 0; i < AS_EXIT_FREE_RANGES; i++)
		if (ret >= r->lo[i] && ret < r->hi[i])
			return true;
	return false;
}

/* A free not made by an allocator call: retires the block, or counts it
 * as untracked. */
static __always_inline void release_freed(struct pt_regs *ctx, __u32 tgid, __u64 addr, bool obj)
{
	__u64 size;

	if (release_tracked(tgid, addr, &size) || sample_bytes)
		return; /* sampling leaves most blocks untracked: their frees are no news */
	/* A size filter leaves blocks untracked too, and then every free would
	 * read user memory to tell glibc's thread-exit flush apart: counted
	 * as untracked at once, so the filter keeps frees cheap. */
	if (obj || min_size || max_size != ~0ULL)
		count_drop(DROP_UNTRACKED_FREE);
	else
		count_drop(thread_exit_free(ctx, tgid) ? DROP_EXIT_FREE : DROP_UNTRACKED_FREE);
}

SEC("uprobe")
int free_enter(struct pt_regs *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	bool obj = AS_COOKIE_FN(bpf_get_attach_cookie(ctx)) == ALLOC_FN_PYOBJ_FREE;
	__u64 arg1 = PT_REGS_PARM1(ctx), arg2 = PT_REGS_PARM2(ctx), addr;
	struct inflight *outer;

	/* Both read, each at a constant offset into ctx: clang would merge
	 * two conditional loads into one at a computed offset, which the
	 * verifier refuses. */
	asm volatile("" : "+r"(arg1), "+r"(arg2));
	addr = obj ? arg2 : arg1;

	if (is_self(tgid))
		return 0;
	if (!objects_probed && !*inflight_slot(tgid)) {
		count_hit_cpu(tgid, HIT_FREE);
		if (addr)
			release_freed(ctx, tgid, addr, false);
		return 0;
	}
	outer = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0, 0);
	count_hit_in(tgid, outer, HIT_FREE);
	if (!addr)
		return 0;
	if (outer && outer->sp) {
		/* free() called by the allocator itself (realloc(p, 0) frees
		 * p): the outer call's return accounts for it. */
		if (PT_REGS_SP(ctx) < outer->sp) {
			if (call_running(outer))
				return 0;
			if (!outer->skipped)
				count_drop(DROP_STALE_ENTRY);
			clear_inflight(outer, tgid);
		} else if (outer->skipped) {
			/* Not made by the call whose entry skipped its return
			 * (that call's frames lie below its entry rsp): the call
			 * is over, and frees need not look here any longer. */
			clear_inflight(outer, tgid);
		}
	}
	if (outer) {
		/* libc's free of the block PyObject_Free passed on: accounted
		 * (or counted as untracked) there already. */
		if (!obj && outer->obj_free == addr) {
			outer->obj_free = 0;
			return 0;
		}
		outer->obj_free = obj ? addr : 0;
	}
	release_freed(ctx, tgid, addr, obj);
	return 0;
}

/* The benchmark floor: the same probes doing nothing. */
SEC("uprobe")
int noop_probe(struct pt_regs *ctx)
{
	return 0;
}

struct purge_ctx {
	__u32 tgid;
};

static long purge_live(struct bpf_map *map, struct live_key *key, struct live_block *val,
		       struct purge_ctx *pc)
{
	if (key->tgid == pc->tgid)
		bpf_map_delete_elem(map, key);
	return 0;
}

static long purge_sites(struct bpf_map *map, struct site_key *key, __u32 *slot,
			struct purge_ctx *pc)
{
	if (key->tgid == pc->tgid) {
		bpf_map_push_elem(&free_slots, slot, 0);
		bpf_map_delete_elem(map, key);
	}
	return 0;
}

#include "faults.bpf.h"
#include "mappings.bpf.h"
#include "oom.bpf.h"
#include "pyinline.bpf.h"

/* The last thread of a process is gone: its blocks are gone with it. Sites
 * stay so the next report can show what the process held; the loader
 * deletes them after that report. Its pages (--mode rss) are given back at
 * their sites, unless an OOM kill (or any SIGKILL) ended it: then its sites
 * keep them, so the report that names the victim shows what it held, however
 * late the loader reads the kill's event (bpf/oom.bpf.h). The blocks and
 * mappings purged here never touch the counters. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(proc_exit, struct task_struct *task)
{
	struct purge_ctx pc = {.tgid = task->tgid};
	struct inflight *in = bpf_task_storage_get(&inflight, task, 0, 0);

	/* Each thread's last runs (the process's entry goes when it does),
	 * and the call it dies in. */
	if (in) {
		flush_hits(pc.tgid, in);
		clear_inflight(in, pc.tgid);
	}
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	bpf_map_delete_elem(&unw_procs, &pc.tgid);
	bpf_map_delete_elem(&py_procs, &pc.tgid);
	bpf_map_delete_elem(&targets, &pc.tgid);
	if (!bpf_map_lookup_elem(&procs, &pc.tgid)) {
		bpf_map_delete_elem(&rss_targets, &pc.tgid);
		return 0;
	}
	rss_forget(pc.tgid, !oom_killed(task));
	bpf_map_delete_elem(&rss_targets, &pc.tgid);
	bpf_for_each_map_elem(&live, purge_live, &pc, 0);
	bpf_for_each_map_elem(&mappings, purge_mappings, &pc, 0);
	bpf_map_delete_elem(&procs, &pc.tgid);
	notify(TASK_EV_EXIT, pc.tgid);
	return 0;
}

/* The exec'd image's name (already set when sched_process_exec fires)
 * equals --comm's. */
static __always_inline bool comm_is_target(struct task_struct *task)
{
	char comm[AS_COMM_LEN];

	if (bpf_probe_read_kernel_str(comm, sizeof(comm), task->comm) < 0)
		return false;
	for (int i = 0; i < AS_COMM_LEN; i++) {
		if (comm[i] != targ_comm[i])
			return false;
		if (!comm[i])
			return true;
	}
	return true;
}

/* A new image: the old heap and its call sites no longer exist. Purged here,
 * synchronously, so the new image's first blocks are never mistaken for them. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec, struct task_struct *task)
{
	struct purge_ctx pc = {.tgid = task->tgid};
	struct inflight *in = bpf_task_storage_get(&inflight, task, 0, 0);

	if (in)
		clear_inflight(in, pc.tgid);
	/* The old image's mappings are gone; the loader sends the new ones. */
	bpf_map_delete_elem(&unw_procs, &pc.tgid);
	bpf_map_delete_elem(&py_procs, &pc.tgid);
	if (!bpf_map_lookup_elem(&procs, &pc.tgid)) {
		if (targ_any_exec || (targ_comm[0] && comm_is_target(task)))
			notify(TASK_EV_COMM_EXEC, pc.tgid);
		return 0;
	}
	rss_forget(pc.tgid, false);
	bpf_for_each_map_elem(&live, purge_live, &pc, 0);
	bpf_for_each_map_elem(&mappings, purge_mappings, &pc, 0);
	bpf_for_each_map_elem(&sites, purge_sites, &pc, 0);
	bpf_map_delete_elem(&procs, &pc.tgid);
	notify(TASK_EV_EXEC, pc.tgid);
	return 0;
}
