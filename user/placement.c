// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Probe placement: which instructions x86 uprobes emulate, and how far into an
 * allocator function a probe can move and still see the same arguments. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <capstone/capstone.h>

#include "placement.h"

/* Moving a probe runs the skipped instructions before it. Keep that window
 * small: most prologues reach their first push, jcc or call within a few
 * instructions; jemalloc 5.3's free computes its fast-path check in nine
 * register-only instructions before its first jcc at +48. */
#define MAX_SKIP   11
#define MAX_OFFSET 64

/* General-purpose registers by hardware number. */
enum gpr {
	GPR_RAX,
	GPR_RCX,
	GPR_RDX,
	GPR_RBX,
	GPR_RSP,
	GPR_RBP,
	GPR_RSI,
	GPR_RDI,
	GPR_R8,
	GPR_R9,
	GPR_R10,
	GPR_R11,
	GPR_R12,
	GPR_R13,
	GPR_R14,
	GPR_R15,
	GPR_COUNT
};

/*
 * What arch/x86/kernel/uprobes.c emulates on 6.x (read from 6.18).
 * arch_uprobe_analyze_insn() decides: uprobe_init_insn() refuses the probe
 * outright when is_prefix_bad() sees an ES/CS/SS/DS or LOCK prefix; then
 * branch_setup_xol_ops() and push_setup_xol_ops() give ->emulate() to the
 * instructions they accept, and arch_uprobe_skip_sstep() runs it instead of
 * the single-step. Everything else is copied out of line and run under TF.
 *
 * branch_setup_xol_ops():
 *   - jmp rel8/rel32 (eb, e9), call rel32 (e8), jcc rel8 (70-7f) and
 *     jcc rel32 (0f 80-8f); with a 0x66 prefix it returns -ENOTSUPP, so such
 *     a branch cannot be probed at all;
 *   - 0x90 after any prefixes, and since 6.16 (commit 610f6e14c29d
 *     "uprobes/x86: Add support to emulate NOP instructions") any exact copy
 *     of the kernel's x86_nops[1..8]: 90, 66 90, 0f 1f 00, ...,
 *     0f 1f 84 00 00 00 00 00. Longer x86_nops[] carry a CS prefix and are
 *     refused. 6.18 can also rewrite a probed 5-byte nop into a call to a
 *     trampoline (arch_uprobe_optimize()).
 * push_setup_xol_ops():
 *   - push reg (50-57) with no prefix, or with exactly the REX prefix 0x41
 *     (push r8-r15); 66 50 or 48 50 are single-stepped.
 *
 * Measured on 6.18.44 under KVM with a perf uprobe event per instruction:
 * push r12, je, jmp, call, nop, 66 90, nopl take 1.0-1.2 us per hit; test,
 * mov, cmp [rip], endbr64, 48 50 and the 9-byte nopw take 12-18 us.
 *
 * We answer "emulated" only where 6.18 and the later rewrite (commit
 * 8a5c6cbfe4a3 "x86/insn,uprobes,alternative: Unify insn_is_nop()") agree:
 * 41 90 is xchg eax, r8d, which 6.18 wrongly emulates as a nop (measured),
 * and f3 90 (pause) is single-stepped again after that commit. Answering "no"
 * only costs speed; a wrong "yes" would promise a cheap probe we do not get.
 */
/* x86_nops[2..8] of an x86-64 kernel; entry i is i + 2 bytes long. */
static const __u8 kernel_nops[][8] = {
	{0x66, 0x90},
	{0x0f, 0x1f, 0x00},
	{0x0f, 0x1f, 0x40, 0x00},
	{0x0f, 0x1f, 0x44, 0x00, 0x00},
	{0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},
	{0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00},
	{0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
};

static bool is_legacy_prefix(__u8 b)
{
	switch (b) {
	case 0x26:
	case 0x2e:
	case 0x36:
	case 0x3e: /* segment overrides */
	case 0x64:
	case 0x65:
	case 0x66:
	case 0x67:
	case 0xf0:
	case 0xf2:
	case 0xf3:
		return true;
	default:
		return false;
	}
}

static bool is_kernel_nop(const __u8 *insn, size_t len)
{
	for (size_t i = 0; i < sizeof(kernel_nops) / sizeof(kernel_nops[0]); i++) {
		size_t n = i + 2;

		if (len >= n && !memcmp(insn, kernel_nops[i], n))
			return true;
	}
	return false;
}

bool placement__is_emulated(const __u8 *insn, size_t len)
{
	bool opsize = false, rep = false;
	size_t i = 0, npfx;
	__u8 rex = 0, op;

	for (; i < len && is_legacy_prefix(insn[i]); i++) {
		switch (insn[i]) {
		case 0x26:
		case 0x2e:
		case 0x36:
		case 0x3e:
		case 0xf0:
			return false; /* is_prefix_bad(): not probeable at all */
		case 0x66:
			opsize = true;
			break;
		case 0xf3:
			rep = true;
			break;
		}
	}
	npfx = i;
	if (i < len && (insn[i] & 0xf0) == 0x40)
		rex = insn[i++];
	if (i >= len)
		return false;
	op = insn[i];

	if (op == 0x90) /* REX.B makes it xchg; rep makes it pause */
		return !(rex & 0x01) && !rep;
	if (op >= 0x50 && op <= 0x57) /* 1 byte, or 2 with REX 0x41 */
		return (i == 0) || (i == 1 && rex == 0x41);
	if (opsize) /* branches refused; 66 90 and 66 0f 1f 44 00 00 remain */
		return is_kernel_nop(insn, len);
	if (op == 0xeb || (op >= 0x70 && op <= 0x7f))
		return len - i >= 2;
	if (op == 0xe8 || op == 0xe9)
		return len - i >= 5;
	if (op == 0x0f && len - i >= 2 && insn[i + 1] >= 0x80 && insn[i + 1] <= 0x8f)
		return len - i >= 6;
	return npfx == 0 && !rex && is_kernel_nop(insn, len);
}

/* Every name of each general-purpose register, because writing edi, di or
 * dil clobbers the rdi that the probe reads. */
static const unsigned short gpr_forms[][5] = {
	[GPR_RAX] = {X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL, X86_REG_AH},
	[GPR_RCX] = {X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL, X86_REG_CH},
	[GPR_RDX] = {X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL, X86_REG_DH},
	[GPR_RBX] = {X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL, X86_REG_BH},
	[GPR_RSP] = {X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL},
	[GPR_RBP] = {X86_REG_RBP, X86_REG_EBP, X86_REG_BP, X86_REG_BPL},
	[GPR_RSI] = {X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL},
	[GPR_RDI] = {X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL},
	[GPR_R8] = {X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B},
	[GPR_R9] = {X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B},
	[GPR_R10] = {X86_REG_R10, X86_REG_R10D, X86_REG_R10W, X86_REG_R10B},
	[GPR_R11] = {X86_REG_R11, X86_REG_R11D, X86_REG_R11W, X86_REG_R11B},
	[GPR_R12] = {X86_REG_R12, X86_REG_R12D, X86_REG_R12W, X86_REG_R12B},
	[GPR_R13] = {X86_REG_R13, X86_REG_R13D, X86_REG_R13W, X86_REG_R13B},
	[GPR_R14] = {X86_REG_R14, X86_REG_R14D, X86_REG_R14W, X86_REG_R14B},
	[GPR_R15] = {X86_REG_R15, X86_REG_R15D, X86_REG_R15W, X86_REG_R15B},
};

int placement__gpr_of(unsigned int reg)
{
	if (reg == X86_REG_INVALID)
		return -1;
	for (int g = 0; g < GPR_COUNT; g++) {
		for (int i = 0; i < 5; i++) {
			if (gpr_forms[g][i] == reg)
				return g;
		}
	}
	return -1;
}

/* rsp must stay put so that the return address is still at [rsp], where a
 * uretprobe and the user stack walk expect it; rbp is the caller's frame
 * pointer that a frame-pointer walk starts from. */
static unsigned int protected_gprs(unsigned int needed)
{
	unsigned int mask = 1u << GPR_RSP | 1u << GPR_RBP;

	if (needed & ARG_RDI)
		mask |= 1u << GPR_RDI;
	if (needed & ARG_RSI)
		mask |= 1u << GPR_RSI;
	if (needed & ARG_RDX)
		mask |= 1u << GPR_RDX;
	if (needed & ARG_RCX)
		mask |= 1u << GPR_RCX;
	return mask;
}

static bool in_group(const cs_insn *insn, unsigned int grp)
{
	for (unsigned int i = 0; i < insn->detail->groups_count; i++) {
		if (insn->detail->groups[i] == grp)
			return true;
	}
	return false;
}

/* Instructions that may read a memory destination without writing it.
 * Capstone 4's access flags are not trusted on their own: it reports
 * "lock cmpxchg [rdi], rdx" and "fnstcw [rsp]" as reads. */
static bool reads_only_dest(unsigned int id)
{
	switch (id) {
	case X86_INS_CMP:
	case X86_INS_TEST:
	case X86_INS_BT:
	case X86_INS_NOP:
	case X86_INS_PREFETCH:
	case X86_INS_PREFETCHNTA:
	case X86_INS_PREFETCHT0:
	case X86_INS_PREFETCHT1:
	case X86_INS_PREFETCHT2:
	case X86_INS_PREFETCHW:
		return true;
	default:
		return false;
	}
}

/* Why insn cannot run before the probe, or NULL when it is harmless: it must
 * fall through, leave memory and the protected registers alone. Flags may
 * change; the probe never reads them. */
static const char *why_unsafe(csh h, const cs_insn *insn, unsigned int protect, char *buf,
			      size_t size)
{
	const cs_x86 *x86 = &insn->detail->x86;
	cs_regs rd, wr;
	uint8_t nrd, nwr;

	if (in_group(insn, CS_GRP_JUMP) || in_group(insn, CS_GRP_CALL) ||
	    in_group(insn, CS_GRP_RET) || in_group(insn, CS_GRP_INT) ||
	    in_group(insn, CS_GRP_IRET) || in_group(insn, CS_GRP_BRANCH_RELATIVE) ||
	    in_group(insn, X86_GRP_PRIVILEGE))
		return "changes control flow";
	switch (insn->id) {
	case X86_INS_UD0:
	case X86_INS_UD2:
	case X86_INS_UD2B:
	case X86_INS_HLT:
	case X86_INS_SYSCALL:
	case X86_INS_SYSENTER:
		return "changes control flow";
	case X86_INS_ENTER: /* capstone 4 lists no registers for it */
	case X86_INS_LEAVE:
		return "changes the stack frame";
	case X86_INS_MASKMOVQ:
	case X86_INS_MASKMOVDQU:
	case X86_INS_VMASKMOVDQU:
		return "writes memory"; /* implicitly through rdi */
	}
	if (x86->prefix[0] == X86_PREFIX_LOCK)
		return "writes memory";
	for (unsigned int i = 0; i < x86->op_count; i++) {
		const cs_x86_op *op = &x86->operands[i];

		if (op->type != X86_OP_MEM || insn->id == X86_INS_LEA)
			continue;
		if ((op->access & CS_AC_WRITE) || (i == 0 && !reads_only_dest(insn->id)))
			return "writes memory";
	}
	if (cs_regs_access(h, insn, rd, &nrd, wr, &nwr) != CS_ERR_OK)
		return "has unknown register effects";
	for (unsigned int i = 0; i < nwr; i++) {
		int gpr = placement__gpr_of(wr[i]);

		if (wr[i] == X86_REG_RIP || wr[i] == X86_REG_EIP)
			return "changes control flow";
		if (wr[i] == X86_REG_CS || wr[i] == X86_REG_DS || wr[i] == X86_REG_ES ||
		    wr[i] == X86_REG_FS || wr[i] == X86_REG_GS || wr[i] == X86_REG_SS)
			return "writes a segment register";
		if (gpr >= 0 && (protect & (1u << gpr))) {
			snprintf(buf, size, "writes %s", cs_reg_name(h, wr[i]));
			return buf;
		}
	}
	return NULL;
}

/* Long operands are cut short: the text is only for -v. */
static void format_insn(const cs_insn *insn, char *buf, size_t size)
{
	if (snprintf(buf, size, "%s%s%s", insn->mnemonic, insn->op_str[0] ? " " : "",
		     insn->op_str) < 0)
		buf[0] = '\0';
}

static void set_reason(struct placement *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

/* Names the first instruction with its operands when they fit. */
static void set_moved_reason(struct placement *out, const char *first, const char *first_mnemonic,
			     const char *mnemonic, __u32 off)
{
	if (strlen(first) + strlen(mnemonic) + 64 > sizeof(out->reason))
		first = first_mnemonic;
	set_reason(out, "first instruction '%s' is single-stepped; '%s' at +%u is emulated", first,
		   mnemonic, off);
}

/* A probe moved to +off also fires for every jump that lands in (0, off], as
 * if the function had been entered again. Sweep the bytes we were given for
 * direct branches there. Indirect branches cannot be checked; compilers do
 * not aim them into a prologue. After undecodable bytes the sweep resyncs one
 * byte later: that can only invent branches, never hide a decodable one
 * before the bad bytes. Returns the offset of an offending branch, or -1. */
static long branch_into(csh h, cs_insn *insn, const __u8 *code, size_t len, __u64 addr, __u32 off,
			__u64 *target)
{
	size_t pos = 0;

	while (pos < len) {
		const uint8_t *p = code + pos;
		size_t left = len - pos;
		uint64_t a = addr + pos;
		const cs_x86 *x86;

		if (!cs_disasm_iter(h, &p, &left, &a, insn)) {
			pos++;
			continue;
		}
		x86 = &insn->detail->x86;
		if ((in_group(insn, CS_GRP_JUMP) || in_group(insn, CS_GRP_CALL) ||
		     in_group(insn, CS_GRP_BRANCH_RELATIVE)) &&
		    x86->op_count == 1 && x86->operands[0].type == X86_OP_IMM) {
			*target = (__u64)x86->operands[0].imm;
			if (*target > addr && *target <= addr + off)
				return (long)pos;
		}
		pos += insn->size;
	}
	return -1;
}

/* Decodes the instruction at +off into out->insn, for -v. */
static void describe(csh h, cs_insn *insn, const __u8 *code, size_t len, __u64 addr, __u32 off,
		     struct placement *out)
{
	const uint8_t *p = code + off;
	size_t left = len - off;
	uint64_t a = addr + off;

	out->insn[0] = '\0';
	if (insn && off < len && cs_disasm_iter(h, &p, &left, &a, insn))
		format_insn(insn, out->insn, sizeof(out->insn));
}

/* Walks from the start until an emulated instruction, over instructions that
 * are safe to run first. Returns the chosen offset, or -1 with out->reason
 * set. */
static long walk_prologue(csh h, cs_insn *insn, const __u8 *code, size_t len, __u64 addr,
			  unsigned int needed, struct placement *out)
{
	unsigned int protect = protected_gprs(needed);
	char first[64] = "", first_mnemonic[32] = "", why_buf[48];
	__u32 off = 0;

	for (int n = 0;; n++) {
		const uint8_t *p = code + off;
		size_t left = len - off;
		uint64_t a = addr + off;
		const char *why;

		if (off >= len || !cs_disasm_iter(h, &p, &left, &a, insn)) {
			set_reason(out, "cannot decode the instruction at +%u", off);
			return -1;
		}
		if (placement__is_emulated(code + off, insn->size)) {
			if (n == 0)
				set_reason(out, "first instruction is emulated");
			else
				set_moved_reason(out, first, first_mnemonic, insn->mnemonic, off);
			return off;
		}
		if (n == 0) {
			format_insn(insn, first, sizeof(first));
			snprintf(first_mnemonic, sizeof(first_mnemonic), "%s", insn->mnemonic);
		}
		why = why_unsafe(h, insn, protect, why_buf, sizeof(why_buf));
		if (why) {
			set_reason(out, "'%s' at +%u %s", insn->mnemonic, off, why);
			return -1;
		}
		if (n == MAX_SKIP || off + insn->size >= MAX_OFFSET) {
			set_reason(out,
				   "no emulated instruction within %d instructions or %d bytes",
				   MAX_SKIP + 1, MAX_OFFSET);
			return -1;
		}
		off += insn->size;
	}
}

void placement__choose(const __u8 *code, size_t len, __u64 addr, unsigned int needed,
		       struct placement *out)
{
	cs_insn *insn = NULL;
	long off = 0, at;
	__u64 target;
	csh h = 0;

	memset(out, 0, sizeof(*out));
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK) {
		h = 0;
		set_reason(out, "disassembler unavailable");
		goto fallback;
	}
	if (cs_option(h, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK || !(insn = cs_malloc(h))) {
		set_reason(out, "disassembler unavailable");
		goto fallback;
	}

	off = walk_prologue(h, insn, code, len, addr, needed, out);
	if (off < 0)
		goto fallback;
	if (off > 0) {
		at = branch_into(h, insn, code, len, addr, off, &target);
		if (at >= 0) {
			set_reason(out, "'%s' at +%ld re-enters the prologue at +%llu",
				   insn->mnemonic, at, (unsigned long long)(target - addr));
			goto fallback;
		}
	}
	out->offset = off;
	out->emulated = true;
	describe(h, insn, code, len, addr, off, out);
	goto cleanup;

fallback:
	out->offset = 0;
	out->emulated = placement__is_emulated(code, len);
	describe(h, insn, code, len, addr, 0, out);
cleanup:
	if (insn)
		cs_free(insn, 1);
	if (h)
		cs_close(&h);
}
