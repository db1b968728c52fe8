/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --python-objects where pymalloc is inlined into its callers: probes inside
 * the copies (user/pyinline.c) at the first emulated instruction after one
 * takes a block from a pool or gives one back. The cookie names the register
 * holding the block (or the pool, whose freeblock is the block just given
 * back); the block's size is its pool's size class, read from the pool
 * header the block's address rounds down to. Included by allocscope.bpf.c. */
#ifndef PYINLINE_BPF_H
#define PYINLINE_BPF_H

/* Register gpr (AS_GPR_*) of ctx. Every register is read, each at a
 * constant offset: clang would otherwise merge the switch's loads into one
 * at a computed offset into the context, which the verifier refuses. */
static __always_inline __u64 gpr_value(struct pt_regs *ctx, __u32 gpr)
{
	__u64 ax = ctx->ax, cx = ctx->cx, dx = ctx->dx, bx = ctx->bx, bp = ctx->bp, si = ctx->si,
	      di = ctx->di, r8 = ctx->r8, r9 = ctx->r9, r10 = ctx->r10, r11 = ctx->r11,
	      r12 = ctx->r12, r13 = ctx->r13, r14 = ctx->r14, r15 = ctx->r15;

	asm volatile("" : "+r"(ax), "+r"(cx), "+r"(dx), "+r"(bx), "+r"(bp), "+r"(si), "+r"(di));
	asm volatile(""
		     : "+r"(r8), "+r"(r9), "+r"(r10), "+r"(r11), "+r"(r12), "+r"(r13), "+r"(r14),
		       "+r"(r15));
	switch (gpr) {
	case AS_GPR_RAX:
		return ax;
	case AS_GPR_RCX:
		return cx;
	case AS_GPR_RDX:
		return dx;
	case AS_GPR_RBX:
		return bx;
	case AS_GPR_RBP:
		return bp;
	case AS_GPR_RSI:
		return si;
	case AS_GPR_RDI:
		return di;
	case AS_GPR_R8:
		return r8;
	case AS_GPR_R9:
		return r9;
	case AS_GPR_R10:
		return r10;
	case AS_GPR_R11:
		return r11;
	case AS_GPR_R12:
		return r12;
	case AS_GPR_R13:
		return r13;
	case AS_GPR_R14:
		return r14;
	case AS_GPR_R15:
		return r15;
	default: /* rsp never holds a block */
		return 0;
	}
}

/* The block the probe sees, or 0. */
static __always_inline __u64 inline_block(struct pt_regs *ctx, __u64 cookie)
{
	__u32 reg = AS_INLINE_REG(cookie);
	__u64 v = gpr_value(ctx, reg & AS_INLINE_REG_MASK), block = 0;

	if (!(reg & AS_INLINE_DEREF))
		return v;
	if (bpf_probe_read_user(&block, sizeof(block), (void *)(v + AS_POOL_FREEBLOCK_OFF)))
		return 0;
	return block;
}

/* The size of pymalloc's block at addr: its pool's size class; 0 if its
 * header cannot be read. */
static __always_inline __u64 inline_block_size(__u64 addr, __u64 cookie)
{
	__u64 pool = addr & ~((1ULL << (AS_INLINE_POOL_BITS(cookie) & 31)) - 1);
	__u32 szidx = 0;

	if (bpf_probe_read_user(&szidx, sizeof(szidx), (void *)(pool + AS_POOL_SZIDX_OFF)))
		return 0;
	if (szidx >= AS_POOL_CLASSES_MAX)
		return 0; /* not a pool header */
	return (__u64)(szidx + 1) << (AS_INLINE_ALIGN_BITS(cookie) & 7);
}

SEC("uprobe")
int obj_inline(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct stack_trace *st = NULL;
	__u64 addr, size, stack_id;
	bool py = false;

	if (is_self(tgid))
		return 0;
	if (AS_COOKIE_FN(cookie) == ALLOC_FN_PYOBJ_BLOCK_FREE) {
		count_hit_cpu(tgid, HIT_FREE);
		addr = inline_block(ctx, cookie);
		if (addr)
			release_freed(ctx, tgid, addr, true);
		return 0;
	}
	count_hit_cpu(tgid, HIT_ENTER);
	addr = inline_block(ctx, cookie);
	size = addr ? inline_block_size(addr, cookie) : 0;
	if (!size || size < min_size || size > max_size)
		return 0;
	if (sample_bytes) {
		struct inflight *in = bpf_task_storage_get(&inflight, bpf_get_current_task_btf(), 0,
							   BPF_LOCAL_STORAGE_GET_F_CREATE);

		if (!in || !sample_take(in, size))
			return 0;
	}
	/* Frame 0: the out-of-line object allocator whose code this is. */
	stack_id =
		take_stack(ctx, tgid, PT_REGS_IP(ctx) - AS_INLINE_FN_DELTA(cookie), true, &st, &py);
	if (stack_id && st)
		track_block(tgid, addr, size, stack_id, st, py, false, 0);
	return 0;
}

#endif /* PYINLINE_BPF_H */
