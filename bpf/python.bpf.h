/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CPython frames at an allocation: the native walk stops at the first
 * _PyEval_EvalFrameDefault frame and the running thread's Python frames take
 * the place of the interpreter's C frames. Each frame is recorded as (code
 * object, instruction offset); user/pysym.c names them. The offsets come per
 * process from the loader (user/pyproc.c), so nothing here knows a version. */
#ifndef PYTHON_BPF_H
#define PYTHON_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, AS_PROCS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32); /* tgid */
	__type(value, struct py_proc);
} py_procs SEC(".maps");

/* Cumulative: allocations under the interpreter whose thread state was not
 * found (their stacks stay native), and Python walks that stopped early. */
__u64 py_no_thread = 0;

struct py_walk {
	struct walk_state *ws;
	const struct py_proc *py;
	__u64 fsbase;
	__u64 tstate; /* the thread state being searched or found */
	__u64 frame;
};

static __always_inline __u64 read_ptr(__u64 addr)
{
	__u64 v = 0;

	if (bpf_probe_read_user(&v, sizeof(v), (void *)addr))
		return 0;
	return v;
}

/* One thread state of the interpreter's list: is it the current thread's? */
static long py_thread_step(__u32 index, void *ctx)
{
	struct py_walk *pw = ctx;
	const struct py_offsets *off = &pw->py->off;

	if (!pw->tstate)
		return 1;
	if (read_ptr(pw->tstate + off->tstate_thread_id) == pw->fsbase)
		return 1;
	pw->tstate = read_ptr(pw->tstate + off->tstate_next);
	return 0;
}

/* The current thread's PyThreadState: through the interpreter's pthread key
 * (one slot of glibc's thread descriptor), else by searching the thread list
 * for the thread whose pthread_self() is this thread's pointer. 0: none. */
static __always_inline __u64 py_thread_state(struct py_walk *pw)
{
	const struct py_proc *py = pw->py;
	__u32 key = 0;
	__u64 interp;

	if (py->tsd_base && !bpf_probe_read_user(&key, sizeof(key), (void *)py->key_addr) &&
	    key < py->tsd_keys) {
		pw->tstate = read_ptr(pw->fsbase + py->tsd_base + 16ULL * key);
		if (pw->tstate && read_ptr(pw->tstate + py->off.tstate_thread_id) == pw->fsbase)
			return pw->tstate;
	}
	if (!py->interp_head)
		return 0;
	interp = read_ptr(py->interp_head);
	if (!interp)
		return 0;
	pw->tstate = read_ptr(interp + py->off.interp_tstate_head);
	bpf_loop(AS_PY_THREADS_MAX, py_thread_step, pw, 0);
	return pw->tstate;
}

/* The frame's current instruction as a byte offset into its bytecode. */
static __always_inline __u32 py_instr_offset(const struct py_offsets *off, const __u8 *buf,
					     __u64 code)
{
	__s64 lasti, ptr;

	switch (off->instr_kind) {
	case PY_INSTR_LASTI_BYTES:
		lasti = *(const __s32 *)(buf + (off->frame_instr & (AS_PY_FRAME_READ - 4)));
		break;
	case PY_INSTR_LASTI_UNITS:
		lasti = 2 * (__s64) *
			(const __s32 *)(buf + (off->frame_instr & (AS_PY_FRAME_READ - 4)));
		break;
	default:
		ptr = *(const __s64 *)(buf + (off->frame_instr & (AS_PY_FRAME_READ - 8)));
		lasti = ptr - (__s64)(code + off->code_adaptive);
		break;
	}
	/* Before the first instruction (a frame being set up): its first line. */
	if (lasti < 0)
		return 0;
	return lasti > AS_PY_OFF_MAX ? AS_PY_OFF_MAX : lasti;
}

/* One Python frame: record it unless it is a shim, then go to its caller. */
static long py_frame_step(__u32 index, void *ctx)
{
	struct py_walk *pw = ctx;
	struct walk_state *ws = pw->ws;
	const struct py_offsets *off = &pw->py->off;
	const __u8 *buf = (const __u8 *)ws->pybuf;
	__u64 code;
	__u32 nr;

	if (!pw->frame)
		return 1;
	/* A 3.11+ frame near the end of its stack chunk may have fewer than
	 * AS_PY_FRAME_READ bytes mapped behind it: retry with just its fields. */
	if (bpf_probe_read_user(ws->pybuf, AS_PY_FRAME_READ, (void *)pw->frame) &&
	    bpf_probe_read_user(ws->pybuf, off->frame_read & (AS_PY_FRAME_READ - 1),
				(void *)pw->frame)) {
		ws->stop = UNWIND_STOP_READ_FAULT;
		return 1;
	}
	code = *(const __u64 *)(buf + (off->frame_code & (AS_PY_FRAME_READ - 8)));
	pw->frame = *(const __u64 *)(buf + (off->frame_back & (AS_PY_FRAME_READ - 8)));
	if (off->frame_owner != AS_PY_NONE &&
	    buf[off->frame_owner & (AS_PY_FRAME_READ - 1)] == off->shim_owner)
		return 0;
	if (!code)
		return 0;
	nr = ws->st.nr;
	if (nr >= ws->limit) {
		ws->stop = UNWIND_STOP_DEPTH_CAP;
		return 1;
	}
	ws->st.pcs[nr & (AS_MAX_FRAMES - 1)] = AS_PY_FRAME(code, py_instr_offset(off, buf, code));
	ws->st.nr = nr + 1;
	return 0;
}

struct compact {
	struct walk_state *ws;
	const struct py_proc *py;
	__u32 native_end; /* pcs below this are native frames */
	__u32 out;
};

static long compact_step(__u32 i, void *ctx)
{
	struct compact *c = ctx;
	struct stack_trace *st = &c->ws->st;
	__u64 pc;

	if (i >= st->nr)
		return 1;
	pc = st->pcs[i & (AS_MAX_FRAMES - 1)];
	if (i && i < c->native_end && pc - 1 >= c->py->text_start && pc - 1 < c->py->text_end)
		return 0;
	st->pcs[c->out & (AS_MAX_FRAMES - 1)] = pc;
	c->out++;
	return 0;
}

/* Drops the interpreter's own C frames (list_resize, the arena allocator…)
 * from the native part: the Python frames say where the code is, and every
 * path through the interpreter from one Python line is then one site. */
static __always_inline void drop_interpreter_frames(struct walk_state *ws, const struct py_proc *py,
						    __u32 native_end)
{
	struct compact c = {.ws = ws, .py = py, .native_end = native_end};

	bpf_loop(AS_MAX_FRAMES, compact_step, &c, 0);
	ws->st.nr = c.out;
}

/* Appends the current thread's Python frames, innermost first; whether any. */
static __always_inline __u32 py_capture(struct walk_state *ws, const struct py_proc *py)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct py_walk pw = {.ws = ws, .py = py};
	__u32 before = ws->st.nr;
	__u64 tstate, frame;

	pw.fsbase = BPF_CORE_READ(task, thread.fsbase);
	tstate = py_thread_state(&pw);
	if (!tstate) {
		__sync_fetch_and_add(&py_no_thread, 1);
		return 0;
	}
	frame = read_ptr(tstate + py->off.tstate_frame);
	if (frame && py->off.cframe_frame != AS_PY_NONE)
		frame = read_ptr(frame + py->off.cframe_frame);
	pw.frame = frame;
	bpf_loop(AS_PY_FRAMES_MAX, py_frame_step, &pw, 0);
	if (ws->st.nr == before)
		return 0;
	drop_interpreter_frames(ws, py, before);
	return 1;
}

#endif /* PYTHON_BPF_H */
