/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* User stack walk at an allocator's return, driven by unwind rows compiled
 * from each file's CFI (user/cfi.c), so code without frame pointers unwinds
 * to its outermost frame. The return probe's registers are the caller's,
 * right after the call: ip is the caller's return address (frame 1) and
 * rsp/rbp are a consistent state to unwind from. */
#ifndef UNWIND_BPF_H
#define UNWIND_BPF_H

/* A frame pointer further than this above rsp is not on this thread's stack. */
#define FP_MAX_SPAN (8ULL << 20)
/* Enough halvings for 2^23 rows in one file, 2^8 mappings per process. */
#define ROW_SEARCH_STEPS  23
#define MAP_SEARCH_STEPS  9
#define RESCAN_BACKOFF_NS (200ULL * 1000 * 1000)
/* Stack bytes copied per read: each bpf_probe_read_user costs far more
 * than the bytes it moves, so frames are served from one copy. */
#define WIN_WORDS 64
#define WIN_SMALL 2 /* retry size near the top of the stack, where a full copy faults */

_Static_assert((AS_MAX_FRAMES & (AS_MAX_FRAMES - 1)) == 0, "frame index is masked");
_Static_assert((AS_UNW_MAPPINGS & (AS_UNW_MAPPINGS - 1)) == 0, "mapping index is masked");

const volatile __u32 max_depth = AS_DEPTH_DEFAULT; /* return addresses after frame 0 */
const volatile bool unwind_cfi = true;		   /* false: frame pointers only */
/* false before Linux 5.17: no bpf_loop call may be reached, so the walk is a
 * bounded frame-pointer loop and Python frames are off. */
const volatile bool have_loop = true;

/* Cumulative, read by the loader for every report. */
__u64 unwind_stops[UNWIND_STOP_COUNT] = {};

/* Unwind rows of one file, sorted by pc; every file's table has its size. */
struct unw_rows {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	/* any size; filled by the loader through mmap */
	__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	/* by size: clang emits the row type to BTF only as a declaration */
	__uint(value_size, sizeof(struct unw_row));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, AS_UNW_TABLES);
	__type(key, __u32); /* table id, from unw_mapping.table */
	__array(values, struct unw_rows);
} unwind_tables SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AS_PROCS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); /* tgid */
	__type(value, struct unw_proc);
} unw_procs SEC(".maps");

/* The walk's registers and frames live in a per-CPU map value: the verifier
 * knows nothing of values read from a map, so the walk loop's states match
 * after one round instead of one per frame. */
struct walk_state {
	struct stack_trace st;
	__u64 ip;
	__u64 sp;
	__u64 bp;
	__u32 limit;	/* frames allowed in st.pcs */
	__u32 stop;	/* enum unwind_stop; UNWIND_STOP_COUNT while none */
	__u32 rescan;	/* pc left the known mappings */
	__u32 win_len;	/* valid words in win */
	__u64 win_base; /* user address of win[0] */
	__u32 at_eval;	/* stopped at the Python interpreter's eval loop */
	/* Frame 1 is the instruction the registers are at (a page fault, a
	 * probe inside a function), not a return address after a call. */
	__u32 ip_exact;
	__u64 win[WIN_WORDS];
	__u64 pybuf[AS_PY_FRAME_READ / 8]; /* one Python frame, read whole */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_state);
} walk_scratch SEC(".maps");

/* bpf_loop's context must be on the BPF stack; it holds the map-value
 * pointers, which read back from a map would be mere numbers. */
struct walk {
	struct walk_state *ws;
	struct unw_proc *proc;
	const struct py_proc *py; /* the process runs CPython */
};

#include "python.bpf.h"

static __always_inline long walk_stop(struct walk_state *ws, enum unwind_stop why)
{
	ws->stop = why;
	return 1;
}

/* 1 when a > b, computed without a branch: a branch per halving would make
 * the verifier follow every path through the search. */
static __always_inline __u64 above(__u64 a, __u64 b)
{
	__u64 gt = (b - a) >> 63; /* a, b < 2^63 */

	asm volatile("" : "+r"(gt)); /* keep clang from turning it back into a branch */
	return gt;
}

/* The mapping holding pc, by binary search over the sorted mappings. */
static __always_inline const struct unw_mapping *find_mapping(const struct unw_proc *p, __u64 pc)
{
	__u32 lo = 0, hi = p->nr, mid;
	const struct unw_mapping *m;
	__u64 gt;

	if (hi > AS_UNW_MAPPINGS)
		hi = AS_UNW_MAPPINGS;
	for (int i = 0; i < MAP_SEARCH_STEPS; i++) {
		if (lo >= hi)
			break;
		mid = (lo + hi) / 2;
		gt = above(p->maps[mid & (AS_UNW_MAPPINGS - 1)].start, pc);
		hi -= gt * (hi - mid);
		lo += (1 - gt) * (mid + 1 - lo);
	}
	if (!lo)
		return NULL;
	m = &p->maps[(lo - 1) & (AS_UNW_MAPPINGS - 1)];
	return pc < m->end ? m : NULL;
}

/* The last row at or below pc, or NULL. */
static __always_inline const struct unw_row *find_row(void *rows, __u32 nrows, __u32 pc)
{
	const struct unw_row *r;
	__u32 lo = 0, hi = nrows, mid;
	__u64 gt;

	for (int i = 0; i < ROW_SEARCH_STEPS; i++) {
		if (lo >= hi)
			break;
		mid = (lo + hi) / 2;
		r = bpf_map_lookup_elem(rows, &mid);
		if (!r)
			return NULL;
		gt = above(r->pc, pc);
		hi -= gt * (hi - mid);
		lo += (1 - gt) * (mid + 1 - lo);
	}
	/* Tables larger than the search covers are never loaded. */
	if (!lo || lo < hi)
		return NULL;
	mid = lo - 1;
	return bpf_map_lookup_elem(rows, &mid);
}

/* Reads the aligned stack word at addr through the window, refilling it
 * from addr upwards (callers are further up). 0 or -1. */
static __always_inline int read_word(struct walk_state *ws, __u64 addr, __u64 *out)
{
	__u64 idx = (addr - ws->win_base) / 8;

	if (addr & 7)
		return bpf_probe_read_user(out, 8, (void *)addr) ? -1 : 0;
	if (addr < ws->win_base || idx >= ws->win_len) {
		if (!bpf_probe_read_user(ws->win, sizeof(ws->win), (void *)addr))
			ws->win_len = WIN_WORDS;
		else if (!bpf_probe_read_user(ws->win, WIN_SMALL * 8, (void *)addr))
			ws->win_len = WIN_SMALL;
		else
			return -1;
		ws->win_base = addr;
		idx = 0;
	}
	*out = ws->win[idx & (WIN_WORDS - 1)];
	return 0;
}

/* Return instances searched for a hijacked return address. */
#define URETPROBE_DEPTH 8

/* A return address some uretprobe replaced with its trampoline (the "[uprobes]" page):
 * the original, which the kernel keeps per pending return with the stack slot it was
 * at. Any tracer's return probe does this (another allocscope, bpftrace), and a walk that
 * starts inside the probed function (a page fault, a nested call) meets it. */
static __always_inline __u64 uretprobe_origin(__u64 ra, __u64 slot)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u64 page = BPF_CORE_READ(task, mm, uprobes_state.xol_area, vaddr);
	struct return_instance *ri;

	if (!page || ra < page || ra >= page + 4096)
		return ra;
	ri = BPF_CORE_READ(task, utask, return_instances);
	for (int i = 0; i < URETPROBE_DEPTH && ri; i++) {
		if (BPF_CORE_READ(ri, stack) == slot)
			return BPF_CORE_READ(ri, orig_ret_vaddr);
		ri = BPF_CORE_READ(ri, next);
	}
	return ra;
}

/* Moves to the caller: its return address becomes the next frame. */
static __always_inline long walk_to_caller(struct walk_state *ws, __u64 cfa, __u64 ra, __u64 bp)
{
	__u32 nr = ws->st.nr;

	if (!ra)
		return 1; /* the outermost frame */
	if (nr >= ws->limit)
		return walk_stop(ws, UNWIND_STOP_DEPTH_CAP);
	ws->st.pcs[nr & (AS_MAX_FRAMES - 1)] = ra;
	ws->st.nr = nr + 1;
	ws->ip = ra;
	ws->sp = cfa;
	ws->bp = bp;
	return 0;
}

/* Code without CFI: follow rbp while it points up this thread's stack. */
static __always_inline long fp_step(struct walk_state *ws)
{
	__u64 sp = ws->sp, bp = ws->bp, next_bp, ra;

	if (bp <= sp || bp - sp > FP_MAX_SPAN || (bp & 7))
		return walk_stop(ws, UNWIND_STOP_BAD_FRAME);
	if (read_word(ws, bp, &next_bp) || read_word(ws, bp + 8, &ra))
		return walk_stop(ws, UNWIND_STOP_READ_FAULT);
	return walk_to_caller(ws, bp + 16, uretprobe_origin(ra, bp + 8), next_bp);
}

/* ip: the frame's address (a return address), for the PLT rule. */
static __always_inline long cfi_step(struct walk_state *ws, const struct unw_row *row, __u64 ip)
{
	__u64 sp = ws->sp, bp = ws->bp, cfa, ra;
	__s64 off = row->cfa_off;

	switch (UNW_ROW_CFA(row)) {
	case UNW_CFA_RSP:
		cfa = sp + off;
		break;
	case UNW_CFA_RBP:
		cfa = bp + off;
		break;
	case UNW_CFA_RSP8:
		cfa = sp + off * 8;
		break;
	case UNW_CFA_PLT:
		cfa = sp + 8 + ((ip & 15) >= (__u64)off ? 8 : 0);
		break;
	case UNW_CFA_END:
		return 1;
	case UNW_CFA_NONE:
		return walk_stop(ws, UNWIND_STOP_NO_CFI);
	default:
		return walk_stop(ws, UNWIND_STOP_UNSUPPORTED);
	}
	if (cfa <= sp || cfa - sp > FP_MAX_SPAN)
		return walk_stop(ws, UNWIND_STOP_BAD_FRAME);

	switch (UNW_ROW_RBP(row)) {
	case UNW_RBP_CFA:
		if (read_word(ws, cfa + row->rbp_off8 * 8, &bp))
			return walk_stop(ws, UNWIND_STOP_READ_FAULT);
		break;
	case UNW_RBP_UNDEF:
		bp = 0;
		break;
	}
	if (read_word(ws, cfa - 8, &ra))
		return walk_stop(ws, UNWIND_STOP_READ_FAULT);
	return walk_to_caller(ws, cfa, uretprobe_origin(ra, cfa - 8), bp);
}

/* One frame: find the rule for the current frame's call site, then step. */
static long unwind_step(__u32 index, void *ctx)
{
	struct walk *w = ctx;
	struct walk_state *ws = w->ws;
	const struct unw_mapping *m;
	const struct unw_row *row;
	__u64 ip = ws->ip, pc = ip - 1; /* the call instruction, not the one after it */
	if (ws->st.nr == 2 && ws->ip_exact)
		pc = ip;
	__u64 elf_pc;
	void *rows;

	/* The interpreter's frames are replaced by the Python frames it runs. */
	if (w->py && pc >= w->py->eval_start && pc < w->py->eval_end) {
		ws->at_eval = 1;
		return 1;
	}
	if (!unwind_cfi)
		return fp_step(ws);
	if (!w->proc)
		return walk_stop(ws, UNWIND_STOP_NO_MAPPING);
	m = find_mapping(w->proc, pc);
	if (!m) {
		ws->rescan = 1;
		return walk_stop(ws, UNWIND_STOP_NO_MAPPING);
	}
	if (m->table == AS_UNW_NO_TABLE)
		return fp_step(ws);
	rows = bpf_map_lookup_elem(&unwind_tables, &m->table);
	elf_pc = pc - m->bias;
	if (!rows || elf_pc > 0xffffffffULL)
		return walk_stop(ws, UNWIND_STOP_NO_CFI);
	row = find_row(rows, m->nrows, elf_pc);
	if (!row)
		return walk_stop(ws, UNWIND_STOP_NO_CFI);
	return cfi_step(ws, row, ip);
}

/* Kernels without bpf_loop: at most AS_FP_LOOP_FRAMES frame-pointer steps. */
static __always_inline void fp_walk(struct walk_state *ws)
{
	for (int i = 0; i < AS_FP_LOOP_FRAMES; i++)
		if (fp_step(ws))
			return;
	walk_stop(ws, UNWIND_STOP_DEPTH_CAP);
}

/* Walks the stack into the per-CPU scratch: pcs[0] = fn_start, pcs[1] the
 * caller's return address, then the frames above it. Returns the trace, or
 * NULL. *rescan: pc left the known mappings and a rescan is due; *py: Python
 * frames replaced the interpreter's. ctx: registers at the return probe, or
 * (ip_exact) at the instruction ctx's ip names. */
static __always_inline struct stack_trace *capture_stack(struct pt_regs *ctx, __u32 tgid,
							 __u64 fn_start, bool ip_exact,
							 bool *rescan, bool *py)
{
	__u32 zero = 0;
	struct walk w = {.ws = bpf_map_lookup_elem(&walk_scratch, &zero)};
	struct walk_state *ws = w.ws;

	*rescan = false;
	*py = false;
	if (!ws)
		return NULL;
	ws->ip = PT_REGS_IP(ctx);
	ws->sp = PT_REGS_SP(ctx);
	ws->bp = PT_REGS_FP(ctx);
	ws->st.pcs[0] = fn_start;
	ws->st.pcs[1] = ws->ip;
	ws->st.nr = 2;
	ws->limit = max_depth + 1 < AS_MAX_FRAMES ? max_depth + 1 : AS_MAX_FRAMES;
	ws->stop = UNWIND_STOP_COUNT;
	ws->rescan = 0;
	ws->win_len = 0;
	ws->at_eval = 0;
	ws->ip_exact = ip_exact;
	if (!have_loop) {
		fp_walk(ws);
		goto done;
	}
	if (unwind_cfi)
		w.proc = bpf_map_lookup_elem(&unw_procs, &tgid);
	w.py = bpf_map_lookup_elem(&py_procs, &tgid);
	bpf_loop(max_depth, unwind_step, &w, 0);
	if (ws->at_eval && w.py) {
		__u32 nr = ws->st.nr;

		ws->st.nr = nr - 1; /* the eval loop's own frame */
		*py = py_capture(ws, w.py) > 0;
		if (!*py) {
			/* No Python frames on this thread: walk on natively. */
			ws->st.nr = nr;
			ws->stop = UNWIND_STOP_COUNT;
			ws->at_eval = 0;
			w.py = NULL;
			bpf_loop(max_depth, unwind_step, &w, 0);
		}
	}
done:
	ws->st.cut = 0;
	if (ws->stop < UNWIND_STOP_COUNT) {
		__sync_fetch_and_add(&unwind_stops[ws->stop], 1);
		ws->st.cut = ws->stop + 1;
	}
	if (ws->rescan && w.proc) {
		__u64 now = bpf_ktime_get_ns();

		if (now >= w.proc->rescan_after_ns) {
			w.proc->rescan_after_ns = now + RESCAN_BACKOFF_NS;
			*rescan = true;
		}
	}
	return &ws->st;
}

/* 64-bit mix of the frames (splitmix-style finaliser per step); never 0,
 * which means "no stack". */
static __always_inline __u64 hash_stack(const struct stack_trace *st)
{
	__u64 h = 0x9e3779b97f4a7c15ULL ^ st->nr;

	for (int i = 0; i < AS_MAX_FRAMES; i++) {
		if (i >= st->nr)
			break;
		h ^= st->pcs[i];
		h *= 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
	}
	return h ? h : 1;
}

#endif /* UNWIND_BPF_H */
