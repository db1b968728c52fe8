// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A walk along one path of PyMem_GetAllocator, not a general emulator: the
 * domain argument is known, so every branch on it is decided; the path then
 * copies the domain's table to *allocator by loads from fixed addresses
 * (rip-relative in PIC code, absolute in Debian's non-PIE executable) or one
 * rep movs from a fixed address. The loader checks what the table holds. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <capstone/capstone.h>

#include "pymemdecode.h"

#define MAX_INSNS 64
#define FLAGS_WRITTEN                                                                              \
	(X86_EFLAGS_MODIFY_CF | X86_EFLAGS_MODIFY_ZF | X86_EFLAGS_MODIFY_SF |                      \
	 X86_EFLAGS_MODIFY_OF | X86_EFLAGS_RESET_CF | X86_EFLAGS_RESET_OF | X86_EFLAGS_RESET_ZF |  \
	 X86_EFLAGS_RESET_SF | X86_EFLAGS_SET_CF | X86_EFLAGS_SET_ZF | X86_EFLAGS_SET_SF |         \
	 X86_EFLAGS_SET_OF)

/* What the walk knows. */
struct walk {
	__s64 edi; /* the domain, while nothing overwrote it */
	bool edi_known;
	__s64 cmp_l; /* the last cmp/test of edi: flags of cmp_l - cmp_r */
	__s64 cmp_r;
	bool flags_known;
	__u64 rsi, rcx; /* constants loaded into rsi and rcx, for rep movs */
	bool rsi_known, rcx_known;
	__u64 lo, hi; /* span of the fixed addresses read */
	__u64 copied; /* rep movs: the source, bytes copied in copy_len */
	__u64 copy_len;
};

/* The branch's outcome from the flags of cmp_l - cmp_r (32-bit operands). */
static int taken(const struct walk *w, unsigned int id)
{
	__s32 l = (__s32)w->cmp_l, r = (__s32)w->cmp_r;
	__u32 ul = (__u32)l, ur = (__u32)r;

	switch (id) {
	case X86_INS_JE:
		return l == r;
	case X86_INS_JNE:
		return l != r;
	case X86_INS_JA:
		return ul > ur;
	case X86_INS_JAE:
		return ul >= ur;
	case X86_INS_JB:
		return ul < ur;
	case X86_INS_JBE:
		return ul <= ur;
	case X86_INS_JG:
		return l > r;
	case X86_INS_JGE:
		return l >= r;
	case X86_INS_JL:
		return l < r;
	case X86_INS_JLE:
		return l <= r;
	}
	return -1;
}

static bool is_reg(const cs_x86_op *op, x86_reg a, x86_reg b)
{
	return op->type == X86_OP_REG && (op->reg == a || op->reg == b);
}

/* A memory operand at a fixed address: rip-relative or absolute. */
static bool fixed_addr(const cs_insn *insn, const cs_x86_op *op, __u64 *addr)
{
	if (op->type != X86_OP_MEM || op->mem.index != X86_REG_INVALID ||
	    op->mem.segment != X86_REG_INVALID)
		return false;
	if (op->mem.base == X86_REG_RIP)
		*addr = insn->address + insn->size + op->mem.disp;
	else if (op->mem.base == X86_REG_INVALID)
		*addr = (__u64)op->mem.disp;
	else
		return false;
	return true;
}

/* The operands' effect on what the walk knows; false for what it cannot follow. */
static bool step(struct walk *w, const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;
	const cs_x86_op *dst = x->op_count ? &x->operands[0] : NULL;
	__u64 a;

	if ((insn->id == X86_INS_CMP || insn->id == X86_INS_TEST) && x->op_count == 2 &&
	    is_reg(dst, X86_REG_EDI, X86_REG_RDI)) {
		const cs_x86_op *src = &x->operands[1];

		/* cmp $imm,%edi; test %edi,%edi: the flags of edi - imm, edi - 0 */
		if (!w->edi_known)
			return false;
		if (insn->id == X86_INS_CMP && src->type == X86_OP_IMM)
			w->cmp_r = src->imm;
		else if (insn->id == X86_INS_TEST && is_reg(src, X86_REG_EDI, X86_REG_RDI))
			w->cmp_r = 0;
		else
			return false;
		w->cmp_l = w->edi;
		w->flags_known = true;
		return true;
	}
	/* Any other instruction writing the flags: the next branch is not decided. */
	if (x->eflags & FLAGS_WRITTEN)
		w->flags_known = false;
	if (insn->id == X86_INS_MOVSD || insn->id == X86_INS_MOVSQ) {
		/* rep movs{l,q}: rcx units from rsi */
		if (x->prefix[0] != X86_PREFIX_REP || !w->rsi_known || !w->rcx_known)
			return false;
		w->copied = w->rsi;
		w->copy_len = w->rcx * (insn->id == X86_INS_MOVSD ? 4 : 8);
		return true;
	}
	for (__u8 i = 0; i < x->op_count; i++) {
		const cs_x86_op *op = &x->operands[i];

		if ((op->access & CS_AC_READ) && insn->id != X86_INS_LEA &&
		    fixed_addr(insn, op, &a)) {
			w->lo = a < w->lo ? a : w->lo;
			w->hi = a + op->size > w->hi ? a + op->size : w->hi;
		}
	}
	if (!dst || !(dst->access & CS_AC_WRITE) || dst->type != X86_OP_REG)
		return true;
	/* A register written: edi forgotten, rsi and rcx kept when constant. */
	if (is_reg(dst, X86_REG_EDI, X86_REG_RDI))
		w->edi_known = false;
	if (is_reg(dst, X86_REG_ESI, X86_REG_RSI) || is_reg(dst, X86_REG_ECX, X86_REG_RCX)) {
		bool known = false;

		a = 0;
		if (insn->id == X86_INS_MOV && x->op_count == 2 &&
		    x->operands[1].type == X86_OP_IMM) {
			a = (__u64)x->operands[1].imm;
			known = true;
		} else if (insn->id == X86_INS_LEA && x->op_count == 2) {
			known = fixed_addr(insn, &x->operands[1], &a);
		}
		if (is_reg(dst, X86_REG_ESI, X86_REG_RSI)) {
			w->rsi = a;
			w->rsi_known = known;
		} else {
			w->rcx = a;
			w->rcx_known = known;
		}
	}
	return true;
}

static bool is_jump(const cs_insn *insn)
{
	for (__u8 i = 0; i < insn->detail->groups_count; i++)
		if (insn->detail->groups[i] == CS_GRP_JUMP)
			return true;
	return false;
}

/* Walks from vaddr to the path's ret. */
static int walk(csh h, cs_insn *insn, const __u8 *code, size_t len, __u64 vaddr, struct walk *w)
{
	__u64 pc = vaddr;

	for (int n = 0; n < MAX_INSNS; n++) {
		const __u8 *p;
		size_t left;
		uint64_t a = pc;
		int t;

		if (pc < vaddr || pc >= vaddr + len)
			return -ENOENT; /* out of the bytes given (a cold part) */
		p = code + (pc - vaddr);
		left = len - (pc - vaddr);
		if (!cs_disasm_iter(h, &p, &left, &a, insn))
			return -ENOENT;
		pc = a;
		if (insn->id == X86_INS_RET)
			return 0;
		if (insn->id == X86_INS_CALL)
			return -ENOENT;
		if (is_jump(insn)) {
			const cs_x86 *x = &insn->detail->x86;

			if (x->op_count != 1 || x->operands[0].type != X86_OP_IMM)
				return -ENOENT; /* indirect: a jump table */
			t = insn->id == X86_INS_JMP ? 1 : w->flags_known ? taken(w, insn->id) : -1;
			if (t < 0)
				return -ENOENT;
			if (t)
				pc = (__u64)x->operands[0].imm;
			continue;
		}
		if (!step(w, insn))
			return -ENOENT;
	}
	return -ENOENT;
}

int pymemdecode__table(const __u8 *code, size_t len, __u64 vaddr, enum pymem_domain domain,
		       __u64 *table)
{
	struct walk w = {.edi = domain, .edi_known = true, .lo = ~0ULL};
	cs_insn *insn = NULL;
	csh h;
	int err = -ENOENT;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return -ENOENT;
	if (cs_option(h, CS_OPT_DETAIL, CS_OPT_ON) == CS_ERR_OK && (insn = cs_malloc(h)))
		err = walk(h, insn, code, len, vaddr, &w);
	if (insn)
		cs_free(insn, 1);
	cs_close(&h);
	if (err)
		return err;
	/* One table, whole: a rep movs of it, or loads that span exactly it. */
	if (w.copy_len == PYMEM_TABLE_SIZE && w.lo == ~0ULL)
		*table = w.copied;
	else if (!w.copy_len && w.lo != ~0ULL && w.hi - w.lo == PYMEM_TABLE_SIZE)
		*table = w.lo;
	else
		return -ENOENT;
	return 0;
}
