/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Memory the heap probes never see: anonymous mmap, mremap and brk growth of
 * target processes, from the syscall tracepoints. A mapping made outside any
 * allocator call (CPython's 1 MiB object arenas, a program's own mmap) is
 * charged to the stack that made it, like a heap block. One made inside a
 * traced allocator call (glibc's arena heaps, its mmapped large chunks) is an
 * allocator reservation: never a site, since the blocks carved from it are
 * counted by the heap probes already. What is resident of each is measured
 * at report time (user/residency.c): these ranges only say whose it is. */
#ifndef MAPPINGS_BPF_H
#define MAPPINGS_BPF_H

#define MAP_ANONYMOUS 0x20
#define MAP_SHARED    0x01
#define PROT_EXEC     0x04

const volatile bool trace_mappings = true;  /* mapping sites; releases in --mode rss regardless */
const volatile bool trace_everyone = false; /* whole-system mode: every process is a target */
const volatile bool follow_forks = false;   /* --children, --comm: announce targets' forks */

/* Processes traced: the syscall tracepoints fire for every process, and
 * return at once for those not in here. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AS_PROCS_MAX);
	__type(key, __u32); /* tgid */
	__type(value, __u8);
} targets SEC(".maps");

/* Tracked mappings by start address; a live_key, so exit purges them alike. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AS_LIVE_MAX / 4);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct live_key);
	__type(value, struct mapping_block);
} mappings SEC(".maps");

/* A mapping call between its syscall entry and exit. */
struct map_pending {
	__u64 len;
	__u64 old_addr; /* mremap: the old mapping; brk: the old break */
	__u64 old_len;	/* mremap */
	__u32 call;	/* enum map_call; 0 when the call is not tracked */
	__u16 in_alloc; /* made inside a traced allocator call */
	__u16 code;	/* mmap of a file's code: not memory, but new unwind tables */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct map_pending);
} map_calls SEC(".maps");

static __always_inline bool is_target(__u32 tgid)
{
	return tgid != self_tgid && (trace_mappings || is_rss(tgid)) &&
	       (trace_everyone || bpf_map_lookup_elem(&targets, &tgid));
}

static __always_inline bool in_allocator(struct task_struct *task)
{
	struct inflight *in = bpf_task_storage_get(&inflight, task, 0, 0);

	return in && in->sp && call_running(in);
}

static __always_inline struct map_pending *begin_call(enum map_call call, __u64 len, __u64 old_addr)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct map_pending *mc;

	mc = bpf_task_storage_get(&map_calls, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!mc)
		return NULL;
	mc->len = len;
	mc->old_addr = old_addr;
	mc->in_alloc = in_allocator(task);
	mc->code = 0;
	mc->call = call;
	return mc;
}

/* Charges len bytes at addr to the caller's stack, or to the reservations. */
static __always_inline void track_mapping(__u32 tgid, __u64 addr, __u64 len, enum map_call call,
					  bool in_alloc)
{
	struct live_key key = {.addr = addr, .tgid = tgid};
	struct mapping_block b = {.len = len, .slot = AS_RESERVED_SLOT};
	struct pt_regs regs;
	struct stack_trace *st = NULL;
	struct site_stats *c;
	bool py = false;
	__u64 stack_id;

	/* A process charged by its page faults (moved to RSS mode while
	 * running) makes no new mapping site: its pages count where they are
	 * faulted in. */
	if (!in_alloc && is_rss(tgid))
		return;
	if (in_alloc) {
		if (bpf_map_update_elem(&mappings, &key, &b, BPF_ANY)) {
			count_drop(DROP_LIVE_FULL);
			return;
		}
		/* Often a new process's first event (malloc's first brk): it
		 * must be announced like a first site, or its tables are
		 * never built and every stack stops at its first frame. */
		note_process(tgid);
		return;
	}
	/* The registers the process entered the kernel with: the walk starts
	 * in the libc wrapper that made the system call. */
	if (bpf_probe_read_kernel(&regs, sizeof(regs),
				  (void *)bpf_task_pt_regs(bpf_get_current_task_btf())))
		return;
	stack_id = take_stack(&regs, tgid, call, false, &st, &py);
	if (!stack_id || !st)
		return;
	b.slot = site_get(tgid, stack_id, st, py);
	c = bpf_map_lookup_elem(&counters, &b.slot);
	if (!c) {
		count_drop(DROP_SITE_FULL);
		return;
	}
	if (bpf_map_update_elem(&mappings, &key, &b, BPF_ANY)) {
		count_drop(DROP_LIVE_FULL);
		return;
	}
	__sync_fetch_and_add(&c->alloc_bytes, len);
	__sync_fetch_and_add(&c->allocs, 1);
}

/* [addr, addr + len) is unmapped: a tracked mapping starting at addr gives
 * back what it loses; the rest of it stays tracked. */
static __always_inline void untrack_mapping(__u32 tgid, __u64 addr, __u64 len)
{
	struct live_key key = {.addr = addr, .tgid = tgid};
	struct mapping_block *m = bpf_map_lookup_elem(&mappings, &key), rest;
	struct site_stats *c;
	__u64 gone;

	if (!m)
		return;
	gone = len < m->len ? len : m->len;
	rest = *m;
	rest.len = m->len - gone;
	if (m->slot != AS_RESERVED_SLOT) {
		c = bpf_map_lookup_elem(&counters, &m->slot);
		if (c) {
			__sync_fetch_and_add(&c->free_bytes, gone);
			if (!rest.len)
				__sync_fetch_and_add(&c->frees, 1);
		}
	}
	bpf_map_delete_elem(&mappings, &key);
	if (rest.len) {
		key.addr = addr + gone;
		bpf_map_update_elem(&mappings, &key, &rest, BPF_ANY);
	}
}

SEC("tracepoint/syscalls/sys_enter_mmap")
int mmap_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 flags = ctx->args[3];
	struct map_pending *mc;

	if (!is_target(tgid))
		return 0;
	/* A file's code (ld.so loading a library, dlopen) in a process
	 * allocscope knows: its unwind tables are read again as soon as the
	 * mapping exists, before the code runs, so its first stacks are whole. */
	if (!(flags & MAP_ANONYMOUS) && (ctx->args[2] & PROT_EXEC)) {
		/* Only the CFI walker has tables to read again. */
		if (!unwind_cfi || !have_loop)
			return 0;
		if (!bpf_map_lookup_elem(&procs, &tgid))
			return 0;
		mc = begin_call(MAP_CALL_MMAP, ctx->args[1], 0);
		if (mc)
			mc->code = 1;
		return 0;
	}
	/* Anonymous private memory only: file mappings are not heap. */
	if (!trace_mappings || !(flags & MAP_ANONYMOUS) || (flags & MAP_SHARED))
		return 0;
	begin_call(MAP_CALL_MMAP, ctx->args[1], 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_munmap")
int munmap_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (!is_target(tgid))
		return 0;
	untrack_mapping(tgid, ctx->args[0], ctx->args[1]);
	rss_release(tgid, ctx->args[0], ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_mremap")
int mremap_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct live_key key = {.addr = ctx->args[0], .tgid = tgid};
	struct map_pending *mc;

	/* Only mappings we track, or any in --mode rss: their bytes move to
	 * the new place. */
	if (!is_target(tgid) || (!bpf_map_lookup_elem(&mappings, &key) && !is_rss(tgid)))
		return 0;
	mc = begin_call(MAP_CALL_MREMAP, ctx->args[2], ctx->args[0]);
	if (mc)
		mc->old_len = ctx->args[1];
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_brk")
int brk_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct task_struct *task = bpf_get_current_task_btf();

	if (!is_target(tgid))
		return 0;
	begin_call(MAP_CALL_BRK, 0, BPF_CORE_READ(task, mm, brk));
	return 0;
}

/* The exits of mmap, mremap and brk: one program attached to the three
 * tracepoints (user/sources.c), as each carries the stack walk and the
 * verifier would check a copy per program at every start. The call begun at
 * the syscall's entry says which one returns. */
SEC("tracepoint/syscalls/sys_exit_mmap")
int map_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct map_pending *mc;
	enum map_call call;
	__u64 ret = ctx->ret, addr, len, old;

	if (!is_target(tgid))
		return 0;
	mc = bpf_task_storage_get(&map_calls, bpf_get_current_task_btf(), 0, 0);
	if (!mc || !mc->call)
		return 0;
	call = mc->call;
	mc->call = 0;
	/* brk returns the break, never -errno; the others fail with -errno. */
	if (call != MAP_CALL_BRK && (long)ret < 0 && (long)ret > -4096)
		return 0;
	switch (call) {
	case MAP_CALL_MMAP:
		if (mc->code) {
			notify(TASK_EV_RESCAN, tgid);
			return 0;
		}
		addr = ret;
		len = mc->len;
		break;
	case MAP_CALL_MREMAP:
		rss_remap(tgid, mc->old_addr, mc->old_len, ret, mc->len);
		if (!bpf_map_lookup_elem(&mappings,
					 &(struct live_key){.addr = mc->old_addr, .tgid = tgid}))
			return 0;
		/* The old mapping is gone (moved or resized in place); the
		 * new one belongs to whoever resized it. */
		untrack_mapping(tgid, mc->old_addr, ~0ULL);
		addr = ret;
		len = mc->len;
		break;
	case MAP_CALL_BRK:
		old = mc->old_addr;
		/* Growth is a mapping at the old break; shrinking unmaps the top. */
		if (ret < old) {
			untrack_mapping(tgid, ret, old - ret);
			rss_release(tgid, ret, old - ret);
			return 0;
		}
		if (ret == old || !trace_mappings)
			return 0;
		addr = old;
		len = ret - old;
		break;
	default:
		return 0;
	}
	track_mapping(tgid, addr, len, call, mc->in_alloc);
	return 0;
}

static long purge_mappings(struct bpf_map *map, struct live_key *key, struct mapping_block *m,
			   struct purge_ctx *pc)
{
	if (key->tgid != pc->tgid)
		return 0;
	bpf_map_delete_elem(map, key);
	return 0;
}

/* --children and --comm: a target's new process is announced so the loader
 * attaches to it; it inherits the parent's mappings, and with them its
 * unwind and interpreter records, so its first stacks are whole. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(proc_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	struct unw_proc *up;
	struct py_proc *pp;
	__u8 one = 1;

	if (!follow_forks || child->pid != ctgid || !bpf_map_lookup_elem(&targets, &ptgid))
		return 0;
	bpf_map_update_elem(&targets, &ctgid, &one, BPF_ANY);
	up = bpf_map_lookup_elem(&unw_procs, &ptgid);
	if (up)
		bpf_map_update_elem(&unw_procs, &ctgid, up, BPF_ANY);
	pp = bpf_map_lookup_elem(&py_procs, &ptgid);
	if (pp)
		bpf_map_update_elem(&py_procs, &ctgid, pp, BPF_ANY);
	notify_stack(TASK_EV_FORK, ctgid, ptgid); /* the parent rides in stack_id */
	return 0;
}

#endif /* MAPPINGS_BPF_H */
