/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where to put a uprobe inside an allocator function. x86 uprobes emulate a
 * few instructions (push reg, jmp/jcc/call rel, nop) and single-step all the
 * others out of line, which costs a second trap (~12 us vs ~1 us in a VM).
 * We decode from the function start with capstone and move the probe forward
 * past instructions that change nothing the probe reads. */
#ifndef PLACEMENT_H
#define PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* Bits of the argument registers a probe must still find intact. */
enum arg_reg {
	ARG_RDI = 1 << 0,
	ARG_RSI = 1 << 1,
	ARG_RDX = 1 << 2,
	ARG_RCX = 1 << 3,
};

struct placement {
	__u32 offset;	 /* from the function start */
	bool emulated;	 /* the instruction at offset is emulated by the kernel */
	char insn[64];	 /* "push r12", "je 0x1f" ... as decoded, for -v */
	char reason[96]; /* why this place, for -v */
};

/* code: the function's first bytes (up to len), at virtual address addr.
 * needed: enum arg_reg bits the probe reads. Never fails: when unsure it
 * chooses offset 0 and says why. */
void placement__choose(const __u8 *code, size_t len, __u64 addr, unsigned int needed,
		       struct placement *out);

/* Whether the kernel emulates this single instruction (no single-step). */
bool placement__is_emulated(const __u8 *insn, size_t len);

/* The general-purpose register (by hardware number, rax=0 ... r15=15, as
 * AS_GPR_* in allocscope.h) capstone's x86 register reg is part of, or -1. */
int placement__gpr_of(unsigned int reg);

#endif /* PLACEMENT_H */
