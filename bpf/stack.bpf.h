/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* User stack capture at an allocator's return. The kernel hands the return
 * probe the caller's return address as its ip, so frame 1 is exact without
 * frame pointers and without reading user memory; further frames follow the
 * frame-pointer chain while it stays on the stack. */
#ifndef STACK_BPF_H
#define STACK_BPF_H

/* A frame pointer further than this above rsp is not on this thread's stack. */
#define FP_MAX_SPAN (8ULL << 20)

struct fp_frame {
	__u64 next;
	__u64 ret;
};

/* Fills st->pcs[0..nr) with fn_start, the return address, then the
 * frame-pointer chain; returns nr. ctx: registers at the return probe, i.e.
 * the caller's, right after the call. */
static __always_inline __u32 capture_stack(struct pt_regs *ctx, __u64 fn_start,
					   struct stack_trace *st)
{
	__u64 sp = PT_REGS_SP(ctx);
	__u64 fp = PT_REGS_FP(ctx);
	struct fp_frame frame;
	__u32 nr = 2;

	st->pcs[0] = fn_start;
	st->pcs[1] = PT_REGS_IP(ctx);

	/* rbp is the caller's again (callee-saved): when the caller keeps a
	 * frame pointer, [rbp+8] is its own return address. Code without frame
	 * pointers uses rbp as a general register: accept it only while it
	 * points up the stack, aligned. */
	for (int i = 2; i < AS_MAX_FRAMES; i++) {
		if (fp <= sp || fp - sp > FP_MAX_SPAN || (fp & 7))
			break;
		if (bpf_probe_read_user(&frame, sizeof(frame), (void *)fp))
			break;
		if (!frame.ret)
			break;
		st->pcs[i] = frame.ret;
		nr = i + 1;
		sp = fp;
		fp = frame.next;
	}
	st->nr = nr;
	return nr;
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

#endif /* STACK_BPF_H */
