/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The contract between the BPF programs and the loader: map keys and values,
 * ring-buffer records, the allocator function list and the drop counters. */
#ifndef ALLOCSCOPE_H
#define ALLOCSCOPE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Frames kept per stack: [0] is the allocator function, [1] its caller's
 * return address, then one return address per frame further out. */
#define AS_MAX_FRAMES	 128
#define AS_DEPTH_DEFAULT 64 /* return addresses walked by default */
#define AS_DEPTH_MAX	 (AS_MAX_FRAMES - 1)
/* Callers walked on kernels without bpf_loop (before 5.17), by a bounded
 * loop the verifier follows iteration by iteration. */
#define AS_FP_LOOP_FRAMES 32
#define AS_COMM_LEN	  16

/* Default table sizes; the loader may resize them before load. */
#define AS_LIVE_MAX   (1 << 20)
#define AS_SITES_MAX  (1 << 16)
#define AS_STACKS_MAX (1 << 16)
#define AS_PROCS_MAX  (1 << 14)
/* Bits of the "has tracked a block" set, indexed by tgid modulo it. */
#define AS_TRACKED_BITS (1 << 16)
/* Counters of allocator calls in flight, indexed by tgid modulo it. */
#define AS_INFLIGHT_SLOTS (1 << 10)
#define AS_PAGES_MAX	  (1 << 20) /* --mode rss: anonymous pages owned (4 GiB of 4 KiB pages) */

/* X(name, enum suffix, argument shape). The shape tells the BPF programs
 * where the size and the result live; the name is the ELF symbol probed.
 * The PyObject_* rows are CPython's object allocator (pymalloc, with
 * --python-objects): found through the interpreter's allocator table, never
 * by name (their functions are static), and called with the table's ctx
 * first. */
#define AS_ALLOC_FNS(X)                                                                            \
	X(malloc, MALLOC, SHAPE_SIZE)                                                              \
	X(calloc, CALLOC, SHAPE_NMEMB_SIZE)                                                        \
	X(realloc, REALLOC, SHAPE_PTR_SIZE)                                                        \
	X(reallocarray, REALLOCARRAY, SHAPE_PTR_NMEMB_SIZE)                                        \
	X(free, FREE, SHAPE_FREE)                                                                  \
	X(posix_memalign, POSIX_MEMALIGN, SHAPE_MEMPTR)                                            \
	X(aligned_alloc, ALIGNED_ALLOC, SHAPE_ALIGN_SIZE)                                          \
	X(memalign, MEMALIGN, SHAPE_ALIGN_SIZE)                                                    \
	X(valloc, VALLOC, SHAPE_SIZE)                                                              \
	X(pvalloc, PVALLOC, SHAPE_SIZE)                                                            \
	X(PyObject_Malloc, PYOBJ_MALLOC, SHAPE_CTX_SIZE)                                           \
	X(PyObject_Calloc, PYOBJ_CALLOC, SHAPE_CTX_NMEMB_SIZE)                                     \
	X(PyObject_Realloc, PYOBJ_REALLOC, SHAPE_CTX_PTR_SIZE)                                     \
	X(PyObject_Free, PYOBJ_FREE, SHAPE_CTX_FREE)                                               \
	X(allocate_from_new_pool, PYOBJ_NEWPOOL, SHAPE_SIZE_CLASS)                                 \
	X(pymalloc_block, PYOBJ_BLOCK, SHAPE_INLINE)                                               \
	X(pymalloc_block_free, PYOBJ_BLOCK_FREE, SHAPE_INLINE)

#define AS_ENUM_FN(name, id, shape) ALLOC_FN_##id,
/* clang-format off */
enum alloc_fn {
	AS_ALLOC_FNS(AS_ENUM_FN)
	ALLOC_FN_COUNT,
};
/* clang-format on */
#undef AS_ENUM_FN

enum alloc_shape {
	SHAPE_SIZE,	      /* f(size) -> ptr */
	SHAPE_NMEMB_SIZE,     /* f(nmemb, size) -> ptr */
	SHAPE_PTR_SIZE,	      /* f(ptr, size) -> ptr */
	SHAPE_PTR_NMEMB_SIZE, /* f(ptr, nmemb, size) -> ptr */
	SHAPE_FREE,	      /* f(ptr) */
	SHAPE_MEMPTR,	      /* f(&ptr, align, size) -> 0 on success */
	SHAPE_ALIGN_SIZE,     /* f(align, size) -> ptr */
	SHAPE_CTX_SIZE,	      /* f(ctx, size) -> ptr */
	SHAPE_CTX_NMEMB_SIZE, /* f(ctx, nmemb, size) -> ptr */
	SHAPE_CTX_PTR_SIZE,   /* f(ctx, ptr, size) -> ptr */
	SHAPE_CTX_FREE,	      /* f(ctx, ptr) */
	SHAPE_SIZE_CLASS,     /* f(size class) -> ptr: pymalloc's new pool, of (class + 1) << 4 B */
	SHAPE_INLINE,	      /* a place inside an inlined copy of pymalloc (user/pyinline.c) */
};

/* Probes inside inlined copies of pymalloc (--python-objects on a build that
 * inlines it into its callers; user/pyinline.c): the cookie names the register
 * that holds the block, by hardware number (AS_GPR_*), log2 of the pool size
 * (a block's pool header is at the block's address rounded down to it) and
 * log2 of the size-class step; frame 0 is the out-of-line object allocator,
 * fn_delta bytes before the probe. */
enum as_gpr {
	AS_GPR_RAX,
	AS_GPR_RCX,
	AS_GPR_RDX,
	AS_GPR_RBX,
	AS_GPR_RSP,
	AS_GPR_RBP,
	AS_GPR_RSI,
	AS_GPR_RDI,
	AS_GPR_R8,
	AS_GPR_R9,
	AS_GPR_R10,
	AS_GPR_R11,
	AS_GPR_R12,
	AS_GPR_R13,
	AS_GPR_R14,
	AS_GPR_R15,
	AS_GPR_COUNT,
};
#define AS_INLINE_COOKIE(fn, reg, pool_bits, align_bits, fn_delta)                                 \
	((__u64)(fn) | (__u64)(reg) << 8 | (__u64)(pool_bits) << 16 | (__u64)(align_bits) << 24 |  \
	 (__u64)(__u32)(fn_delta) << 32)
#define AS_INLINE_REG(c)	((c) >> 8 & 0xff)
#define AS_INLINE_REG_MASK	0x0f
#define AS_INLINE_DEREF		0x80 /* in the register byte: it holds the pool */
#define AS_INLINE_POOL_BITS(c)	((c) >> 16 & 0xff)
#define AS_INLINE_ALIGN_BITS(c) ((c) >> 24 & 0xff)
#define AS_INLINE_FN_DELTA(c)	((__s32)((c) >> 32))
/* pymalloc's pool header (3.6-3.13): its free list's head and its size
 * class index, at these offsets; at most 64 classes (512 B in 8 B steps). */
#define AS_POOL_FREEBLOCK_OFF 0x8
#define AS_POOL_SZIDX_OFF     0x24
#define AS_POOL_CLASSES_MAX   64

/* The attach cookie: function in the low byte, the probe's offset from the
 * function start above it (so frame 0 can name the function, not the probe). */
#define AS_COOKIE(fn, probe_off) ((__u64)(fn) | ((__u64)(probe_off) << 8))
#define AS_COOKIE_FN(c)		 ((enum alloc_fn)((c)&0xff))
#define AS_COOKIE_OFF(c)	 ((c) >> 8)

/* Everything the tracer could not account for, or accounted in a special way.
 * X(enum suffix, report label). */
#define AS_DROPS(X)                                                                                \
	X(LIVE_FULL, "live_full")	      /* live table full: allocation not tracked */        \
	X(SITE_FULL, "site_full")	      /* site table full: allocation not counted */        \
	X(STACK_FULL, "stack_full")	      /* stack table full: site has no stack */            \
	X(INFLIGHT_FULL, "inflight_full")     /* no room to remember a call in flight */           \
	X(MISSING_ENTRY, "missing_entry")     /* return seen without its entry */                  \
	X(STALE_ENTRY, "stale_entry")	      /* entry whose return never came */                  \
	X(UNTRACKED_FREE, "untracked_free")   /* free of a block allocated before tracing */       \
	X(EVENT_LOST, "event_lost")	      /* process event ring full */                        \
	X(CALLOC_OVERFLOW, "calloc_overflow") /* nmemb * size overflowed: call fails */            \
	X(EXIT_FREE, "thread_exit_free")      /* glibc's cache flush as a thread ends */           \
	X(PAGE_FULL, "page_full")	      /* rss: page table full: a fault's page not owned */ \
	X(FAULT_VMA_BUSY, "fault_vma_busy")   /* rss: mapping locked: fault not classified */

#define AS_ENUM_DROP(id, label) DROP_##id,
/* clang-format off */
enum drop_reason {
	AS_DROPS(AS_ENUM_DROP)
	DROP_COUNT,
};
/* clang-format on */
#undef AS_ENUM_DROP

/* sites: (process, stack) -> slot in the counters array. Blocks carry the
 * slot, so accounting indexes an array instead of hashing a key. */
struct site_key {
	__u64 stack_id; /* key of the stacks map */
	__u32 tgid;
	__u32 pad;
};

/* counters[slot]; live = alloc - free. A realloc that resizes a tracked
 * block counts as an allocation of its new size here and a free of the old
 * block at that block's site (pprof's alloc_space); the realloc_* fields say
 * which of the allocations were such resizes, and how big the blocks they
 * replaced were, so the report can give resizes by their net change. */
struct site_stats {
	__u64 alloc_bytes;
	__u64 allocs;
	__u64 free_bytes;
	__u64 frees;
	__u64 reallocs;		 /* of allocs: resizes of a tracked block */
	__u64 realloc_bytes;	 /* of alloc_bytes: their new sizes */
	__u64 realloc_old_bytes; /* of free_bytes (at the old blocks' sites): the sizes replaced */
	/* Allocations sampled (--sample-bytes); the fields above are then
	 * estimates, each sampled block weighted as bpf/sample.bpf.h says. */
	__u64 samples;
};

/* stacks: stack_id (64-bit hash of the pcs) -> pcs */
struct stack_trace {
	__u64 pcs[AS_MAX_FRAMES];
	__u32 nr;
	__u32 cut; /* 0: walked to the outermost frame; else enum unwind_stop + 1 */
};

/* live: one entry per tracked block */
struct live_key {
	__u64 addr;
	__u32 tgid;
	__u32 pad;
};

struct live_block {
	__u64 size;    /* bytes, weighted when sampled */
	__u64 born_ns; /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) at allocation: the block's age */
	__u32 slot;    /* the site's counters */
	__u32 count;   /* objects it stands for: 1, or its weight when sampled */
};

/* mappings: live_key -> one tracked anonymous mapping, by its start address */
#define AS_RESERVED_SLOT 0xffffffffu /* slot of a mapping made inside an allocator call */
struct mapping_block {
	__u64 len;
	__u32 slot; /* the site's counters, or AS_RESERVED_SLOT */
	__u32 pad;
};

/* pages (--mode rss): live_key of an anonymous page -> the site that faulted it
 * in. A transparent huge page is one entry at its 2 MiB-aligned address. */
enum page_flag {
	PAGE_ZERO = 1, /* a read fault mapped the shared zero page: charged at its first write */
	PAGE_HUGE = 2, /* charged as a transparent huge page */
};

struct page_owner {
	__u64 fault_addr; /* the page that faulted (a huge entry keeps it for a correction) */
	__u32 slot;	  /* the site's counters */
	__u32 weight;	  /* faults it stands for (sampling) */
	__u32 size;	  /* bytes still owned, unweighted */
	__u32 flags;	  /* enum page_flag */
};

/* hits: tgid -> probe runs of the allocator programs, per CPU (the price of
 * tracing: each run is a trap into the kernel; user/cost.c turns them into
 * time). A return trap costs less than an entry trap, so they count apart. */
enum hit_kind {
	HIT_ENTER,  /* alloc_enter */
	HIT_RETURN, /* alloc_exit */
	HIT_FREE,   /* free_enter */
	HIT_COUNT,
};

/* inflight: tid -> the allocation call between its entry and its return */
struct inflight {
	__u64 sp; /* stack pointer at entry; tells nested calls and stale entries */
	__u64 size;
	__u64 ptr;	/* realloc: the old block; posix_memalign: memptr */
	__u64 fn_start; /* address of the allocator function: frame 0 */
	__u32 fn;	/* enum alloc_fn */
	__u32 tails;	/* allocator functions it tail-called: one more return each */
	/* The return address at sp of a call whose return probe its entry
	 * skipped (a session entry): tells its nested calls while it runs. */
	__u64 skip_ret;
	__u8 track;   /* its result is a block to track (size filter, sample) */
	__u8 skipped; /* no return will be seen: the entry rejected the call */
	/* Per thread, kept across calls: probe runs not yet added to hits
	 * (bpf/cost.bpf.h). */
	__u8 hits_pending[HIT_COUNT];
	__u8 pad[6 - HIT_COUNT];
	/* Per thread, kept across calls: bytes left before the next sample. */
	__s64 sample_left;
	/* The block PyObject_Free was last given: pymalloc hands a block it did
	 * not carve (over 512 bytes) on to libc's free, whose probe then sees
	 * a block the object probe accounted already. */
	__u64 obj_free;
};

struct probe_hits {
	__u64 n[HIT_COUNT];
};

/* Probe runs counted per CPU for one process at a time (bpf/cost.bpf.h):
 * the runs that never fetch their thread's storage. */
struct cpu_hits {
	__u32 tgid; /* 0: none pending */
	__u32 pad;
	__u64 n[HIT_COUNT];
};
/* --sample-bytes: gaps between samples are drawn from AS_SAMPLE_GAPS values
 * (user/sampling.c), the means of equal-probability bins of the exponential
 * distribution; weights come from AS_SAMPLE_STEPS + 1 points of
 * x / (e^x - 1), x = size / mean, in steps of 1 / AS_SAMPLE_STEP_DIV, as
 * fractions of AS_SAMPLE_ONE. */
#define AS_SAMPLE_GAPS	   1024
#define AS_SAMPLE_STEP_DIV 64
#define AS_SAMPLE_STEPS	   (16 * AS_SAMPLE_STEP_DIV)
#define AS_SAMPLE_ONE	   (1u << 24)
#define AS_SAMPLE_MAX	   (1ULL << 30) /* --sample-bytes limit: counts fit in 32 bits */

/* exit_frees: tgid -> where glibc's thread-exit cleanup calls free (see
 * user/exitfree.c); an untracked free returning into [lo, hi) is counted
 * as DROP_EXIT_FREE. */
#define AS_EXIT_FREE_RANGES 2
struct exit_free_pcs {
	__u64 lo[AS_EXIT_FREE_RANGES];
	__u64 hi[AS_EXIT_FREE_RANGES];
};

enum task_event_type {
	TASK_EV_EXIT = 1,
	TASK_EV_EXEC = 2,
	TASK_EV_FIRST_SITE = 3, /* first site of a process nobody attached to (whole system) */
	TASK_EV_RESCAN = 4,	/* a stack reached code outside the known mappings */
	TASK_EV_PY_STACK = 5,	/* a new stack with Python frames: name them while they live */
	TASK_EV_FORK = 6,	/* a target forked this new process (--children, --comm) */
	TASK_EV_COMM_EXEC = 7,	/* --comm: a process not yet traced exec'd an image of that name;
				   --cgroup, --container: any exec of one */
	TASK_EV_OOM = 8,	/* the OOM killer chose this process: a struct oom_event */
};

/* Ring-buffer record: a traced process appeared, exited or replaced its image. */
struct task_event {
	__u32 type; /* enum task_event_type */
	__u32 tgid;
	char comm[AS_COMM_LEN];
	__u64 stack_id; /* TASK_EV_PY_STACK; TASK_EV_FORK: the parent's tgid */
};

/* Ring-buffer record: the OOM killer chose a process (tracepoint oom:mark_victim).
 * The counters are the victim's as the kernel's "Killed process" line gives
 * them, in pages (pgtables in bytes); with has_counters 0 the kernel's
 * tracepoint does not carry them (before Linux 6.8) and only the pid is known. */
struct oom_event {
	__u32 type; /* TASK_EV_OOM */
	__u32 tgid;
	char comm[AS_COMM_LEN]; /* the process's (its group leader's) name */
	__u64 total_vm;		/* pages of address space */
	__u64 anon_rss;		/* resident pages, by kind */
	__u64 file_rss;
	__u64 shmem_rss;
	__u64 pgtables; /* bytes of page tables */
	__u32 tid;	/* the thread the kernel marked */
	__u32 uid;
	__s16 oom_score_adj;
	__u8 has_counters;
	__u8 pad[5];
};

/* Why a stack walk ended before the outermost frame. X(enum suffix, label). */
#define AS_UNWIND_STOPS(X)                                                                         \
	X(NO_MAPPING, "no_mapping")   /* pc outside every known executable mapping */              \
	X(NO_CFI, "no_cfi")	      /* no unwind row covers pc */                                \
	X(UNSUPPORTED, "unsupported") /* a CFA or register rule the walker cannot follow */        \
	X(READ_FAULT, "read_fault")   /* the stack could not be read */                            \
	X(BAD_FRAME, "bad_frame")     /* the caller's frame is not above the callee's */           \
	X(DEPTH_CAP, "depth_cap")     /* more frames than the depth limit */

#define AS_ENUM_STOP(id, label) UNWIND_STOP_##id,
/* clang-format off */
enum unwind_stop {
	AS_UNWIND_STOPS(AS_ENUM_STOP)
	UNWIND_STOP_COUNT,
};
/* clang-format on */
#undef AS_ENUM_STOP

/* One unwind row: from pc (an address in the file's own ELF address space)
 * up to the next row's pc, how to find the caller's frame. x86-64 only. */
enum unw_cfa {
	UNW_CFA_NONE = 0,  /* no CFI covers these addresses: stop (NO_CFI) */
	UNW_CFA_RSP = 1,   /* CFA = rsp + cfa_off */
	UNW_CFA_RBP = 2,   /* CFA = rbp + cfa_off */
	UNW_CFA_RSP8 = 3,  /* CFA = rsp + 8 * cfa_off (frames of 32 KiB and more) */
	UNW_CFA_PLT = 4,   /* CFA = rsp + 8 + ((pc & 15) >= cfa_off ? 8 : 0): a PLT entry */
	UNW_CFA_END = 5,   /* return address undefined: the outermost frame */
	UNW_CFA_UNSUP = 6, /* a rule the walker cannot follow: stop (UNSUPPORTED) */
};

enum unw_rbp {
	UNW_RBP_SAME = 0,  /* the caller's rbp is the current rbp */
	UNW_RBP_CFA = 1,   /* the caller's rbp is saved at CFA + 8 * rbp_off8 */
	UNW_RBP_UNDEF = 2, /* the caller's rbp is unknown (walker sets 0) */
};

/* The return address is always at CFA - 8 (other rules compile to UNSUP). */
struct unw_row {
	__u32 pc;
	__s16 cfa_off;
	__u8 kind; /* enum unw_cfa | enum unw_rbp << 4 */
	__s8 rbp_off8;
};

#define UNW_ROW_CFA(r)	       ((r)->kind & 0xf)
#define UNW_ROW_RBP(r)	       ((r)->kind >> 4)
#define UNW_ROW_KIND(cfa, rbp) ((__u8)((cfa) | ((rbp) << 4)))

/* Unwind tables: rows of one file each, in an array of maps. */
#define AS_UNW_TABLES	4096
#define AS_UNW_NO_TABLE 0xffffffffu /* mapping without CFI: frame-pointer rule */
/* Executable mappings per process the walker knows. */
#define AS_UNW_MAPPINGS 256

struct unw_mapping {
	__u64 start;
	__u64 end;
	__u64 bias;  /* address in the process - address in the file */
	__u32 table; /* index in unwind_tables, or AS_UNW_NO_TABLE */
	__u32 nrows;
};

/* unw_procs: tgid -> its executable mappings, sorted by start. */
struct unw_proc {
	__u64 rescan_after_ns; /* no new rescan request before this time */
	__u32 nr;
	__u32 pad;
	struct unw_mapping maps[AS_UNW_MAPPINGS];
};

/* Python frames ride in stack_trace.pcs: a word with bit 63 set is one
 * frame, the code object's address >> 3 above the byte offset of its current
 * instruction (as user/pyline.h counts it). User addresses are below 2^47. */
#define AS_PY_FRAME_BIT (1ULL << 63)
#define AS_PY_OFF_BITS	19
#define AS_PY_OFF_MAX	((1U << AS_PY_OFF_BITS) - 1)
#define AS_PY_FRAME(code, off)                                                                     \
	(AS_PY_FRAME_BIT | (((__u64)(code) >> 3) << AS_PY_OFF_BITS) | ((off)&AS_PY_OFF_MAX))
#define AS_PY_FRAME_CODE(w) ((((w) & ~AS_PY_FRAME_BIT) >> AS_PY_OFF_BITS) << 3)
#define AS_PY_FRAME_OFF(w)  ((__u32)((w)&AS_PY_OFF_MAX))
#define AS_PY_FRAMES_MAX    64	   /* Python frames walked per stack */
#define AS_PY_THREADS_MAX   64	   /* thread states searched when the TLS lookup fails */
#define AS_PY_NONE	    0xffff /* an offset the version does not have */
#define AS_PY_FRAME_READ    128	   /* bytes the walk reads at once from each frame */

/* Frame 0 of a mapping site: the system call instead of an allocator's address. */
enum map_call {
	MAP_CALL_MMAP = 1,
	MAP_CALL_MREMAP = 2,
	MAP_CALL_BRK = 3,
	MAP_CALL_FAULT = 4, /* --mode rss: a page fault; frame 1 is the faulting instruction */
};
#define AS_MAP_CALL_MAX 15 /* frame-0 values up to this name a system call */

/* How a frame tells its current instruction. */
enum py_instr {
	PY_INSTR_LASTI_BYTES = 0, /* 3.6-3.9: int f_lasti, a byte offset */
	PY_INSTR_LASTI_UNITS = 1, /* 3.10: int f_lasti, in 2-byte code units */
	PY_INSTR_POINTER = 2,	  /* 3.11+: pointer to the code unit, inside the code object */
};

/* Byte offsets of the CPython structures the BPF walk reads; AS_PY_NONE where
 * a version lacks the field. user/pyoffsets.c holds them per version. */
struct py_offsets {
	__u16 interp_tstate_head; /* PyInterpreterState: first thread state */
	__u16 tstate_next;
	__u16 tstate_thread_id; /* pthread_self() of the thread */
	__u16 tstate_frame;	/* frame (<3.11), cframe (3.11, 3.12), current_frame (3.13) */
	__u16 cframe_frame;	/* _PyCFrame.current_frame (3.11, 3.12) */
	__u16 frame_back;	/* f_back / previous */
	__u16 frame_code;	/* f_code / f_executable */
	__u16 frame_instr;	/* f_lasti / prev_instr / instr_ptr */
	__u16 frame_owner;	/* owner (char, 3.12+) */
	__u16 code_adaptive;	/* first code unit inside the code object (3.11+) */
	__u8 instr_kind;	/* enum py_instr */
	__u8 shim_owner;	/* owner of C-stack shim frames to skip; 0xff none */
	__u16 frame_read;	/* bytes from a frame's start that hold every field above */
};

/* py_procs: tgid -> where its interpreter keeps the running thread's frames. */
struct py_proc {
	__u64 key_addr;	   /* the pthread key (an int) of the interpreter's thread states */
	__u64 interp_head; /* address of the pointer to the first interpreter */
	__u64 eval_start;  /* _PyEval_EvalFrameDefault, as mapped */
	__u64 eval_end;
	__u64 text_start; /* the interpreter's code: its own frames give way to Python's */
	__u64 text_end;
	__u32 tsd_base; /* thread pointer + tsd_base + 16 * key: the key's slot; 0 unknown */
	__u32 tsd_keys; /* keys with a slot there (glibc: 32) */
	struct py_offsets off;
};

_Static_assert(sizeof(struct unw_row) == 8, "unw_row layout");
_Static_assert(sizeof(struct unw_mapping) == 32, "unw_mapping layout");
_Static_assert(sizeof(struct task_event) == 32, "task_event layout");
_Static_assert(sizeof(struct oom_event) == 80, "oom_event layout");
_Static_assert(sizeof(struct stack_trace) == 8 * AS_MAX_FRAMES + 8, "stack_trace layout");

#endif /* ALLOCSCOPE_H */
