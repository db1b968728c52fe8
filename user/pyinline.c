// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Finding pymalloc's inlined copies (see pyinline.h). The code is decoded
 * once, linearly (compilers put no data in x86-64 text, and every probe lands
 * on an instruction this sweep decoded), into short records; the patterns
 * are then matched on the records. A probe must see what it reads on every
 * path that reaches it: no branch may land between the instruction that
 * loads or stores the block and the probe, and no instruction there may
 * write the block's register. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <capstone/capstone.h>

#include "allocscope.h"
#include "array.h"
#include "placement.h"
#include "pyinline.h"

/* Code scanned at most, and records kept: an interpreter has a few MiB of
 * code (Debian's python3.11: 2.8 MiB, 0.7 M instructions, 14 MiB of
 * records); a file the target made up cannot make the scan hold more. */
#define SCAN_MAX       (32u << 20)
#define RECS_MAX       (3u << 20)
#define SITES_MAX      4096 /* probes placed at most (Debian's python3.11: 216) */
#define TAKE_WINDOW    8    /* records from the pool test to the block's load */
#define COUNT_WINDOW   3    /* from the block's load to ++ref.count */
#define PROBE_WINDOW   10   /* from the load or store to an emulated instruction */
#define MOVE_LOOKBACK  8    /* from the pointer's copy to the pool mask */
#define STORE_WINDOW   48   /* from the pool mask to the store into the pool */
#define NEWPOOL_WINDOW 12   /* from the slow path's start to its call */
#define POOL_FREEBLOCK 0x8
#define POOL_NEXTPOOL  0x10

enum rec_kind {
	R_OTHER,
	R_LOAD,	   /* mov r64, [base + index + disp] */
	R_CMP_RR,  /* cmp r64, r64 */
	R_JE,	   /* je rel */
	R_JCC,	   /* another conditional jump, rel */
	R_JMP,	   /* jmp rel */
	R_CALL,	   /* call rel */
	R_END,	   /* ret, indirect jmp or call, undecodable: a window ends */
	R_INC_MEM, /* add dword [base + disp], 1 or inc dword [...] */
	R_AND,	   /* and r64, imm */
	R_MOV_RR,  /* mov r64, r64 */
	R_STORE,   /* mov qword [base + disp], r64 */
};

struct rec {
	__u32 off;    /* from the start of the scan */
	__u32 target; /* branches: offset of the target (UINT32_MAX: outside) */
	__s32 imm;    /* R_LOAD, R_INC_MEM, R_STORE: disp; R_AND: the mask */
	__u16 writes; /* registers written */
	__u8 kind;
	__s8 a, b; /* registers (AS_GPR_*, -1: none): see below */
	bool emulated;
	bool indexed; /* R_LOAD: an index register, or rip-relative */
};
/* a, b by kind: R_LOAD dst, base; R_CMP_RR both operands; R_INC_MEM -, base;
 * R_AND dst, -; R_MOV_RR dst, src; R_STORE base, src. */

struct scan {
	struct rec *recs;
	size_t nrecs, cap;
	__u8 *targets; /* bit per byte: a direct branch lands here */
	size_t len;
};

unsigned int pyinline__pool_bits(int minor)
{
	return minor >= 10 ? 14 : 12; /* 16 KiB pools with the radix tree (3.10+) */
}

unsigned int pyinline__align_bits(int minor)
{
	return minor >= 8 ? 4 : 3;
}

static int gpr64(const cs_x86_op *op)
{
	return op->type == X86_OP_REG && op->size == 8 ? placement__gpr_of(op->reg) : -1;
}

static bool is_target(const struct scan *s, __u32 off)
{
	return off < s->len && (s->targets[off / 8] >> (off % 8) & 1);
}

static void mark_target(struct scan *s, __u64 target)
{
	if (target < s->len)
		s->targets[target / 8] |= 1u << (target % 8);
}

/* One decoded instruction as a record. */
static void describe(csh h, const cs_insn *insn, __u64 base, struct scan *s, struct rec *r)
{
	const cs_x86 *x = &insn->detail->x86;
	const cs_x86_op *o0 = &x->operands[0], *o1 = &x->operands[1];
	cs_regs rd, wr;
	uint8_t nrd = 0, nwr = 0;

	r->a = r->b = -1;
	r->target = UINT32_MAX;
	if (cs_regs_access(h, insn, rd, &nrd, wr, &nwr) == CS_ERR_OK) {
		for (unsigned int i = 0; i < nwr; i++) {
			int g = placement__gpr_of(wr[i]);

			if (g >= 0)
				r->writes |= 1u << g;
		}
	} else {
		r->writes = 0xffff;
	}
	switch (insn->id) {
	case X86_INS_MOV:
		if (x->op_count != 2)
			break;
		if (gpr64(o0) >= 0 && o1->type == X86_OP_MEM) {
			r->kind = R_LOAD;
			r->a = gpr64(o0);
			r->b = placement__gpr_of(o1->mem.base);
			r->indexed = o1->mem.index != X86_REG_INVALID || r->b < 0;
			r->imm = o1->mem.disp;
		} else if (gpr64(o0) >= 0 && gpr64(o1) >= 0) {
			r->kind = R_MOV_RR;
			r->a = gpr64(o0);
			r->b = gpr64(o1);
		} else if (o0->type == X86_OP_MEM && o0->size == 8 && gpr64(o1) >= 0 &&
			   o0->mem.index == X86_REG_INVALID && o0->mem.segment == X86_REG_INVALID) {
			r->kind = R_STORE;
			r->a = placement__gpr_of(o0->mem.base);
			r->b = gpr64(o1);
			r->imm = o0->mem.disp;
		}
		break;
	case X86_INS_CMP:
		if (x->op_count == 2 && gpr64(o0) >= 0 && gpr64(o1) >= 0) {
			r->kind = R_CMP_RR;
			r->a = gpr64(o0);
			r->b = gpr64(o1);
		}
		break;
	case X86_INS_ADD:
	case X86_INS_INC:
		if (o0->type == X86_OP_MEM && o0->size == 4 && o0->mem.index == X86_REG_INVALID &&
		    (insn->id == X86_INS_INC ||
		     (x->op_count == 2 && o1->type == X86_OP_IMM && o1->imm == 1))) {
			r->kind = R_INC_MEM;
			r->b = placement__gpr_of(o0->mem.base);
			r->imm = o0->mem.disp;
		}
		break;
	case X86_INS_AND:
		if (x->op_count == 2 && gpr64(o0) >= 0 && o1->type == X86_OP_IMM) {
			r->kind = R_AND;
			r->a = gpr64(o0);
			r->imm = o1->imm;
		}
		break;
	case X86_INS_RET:
		r->kind = R_END;
		break;
	default:
		break;
	}
	if (cs_insn_group(h, insn, CS_GRP_JUMP) || cs_insn_group(h, insn, CS_GRP_CALL)) {
		bool direct = x->op_count == 1 && o0->type == X86_OP_IMM;
		__u64 t = direct ? (__u64)o0->imm - base : UINT64_MAX;

		if (!direct)
			r->kind = R_END;
		else if (cs_insn_group(h, insn, CS_GRP_CALL))
			r->kind = R_CALL;
		else if (insn->id == X86_INS_JMP)
			r->kind = R_JMP;
		else
			r->kind = insn->id == X86_INS_JE ? R_JE : R_JCC;
		if (direct && t < s->len) {
			r->target = t;
			mark_target(s, t);
		}
	}
}

static int decode(const __u8 *code, size_t len, __u64 vaddr, struct scan *s)
{
	const uint8_t *p = code;
	size_t left = len;
	uint64_t a = vaddr;
	cs_insn *insn;
	int err = 0;
	csh h;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return -ENOTSUP;
	if (cs_option(h, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK || !(insn = cs_malloc(h))) {
		cs_close(&h);
		return -ENOTSUP;
	}
	while (left) {
		struct rec *r = NULL;
		size_t at = len - left;

		if (s->nrecs >= RECS_MAX) {
			err = -E2BIG;
			break;
		}
		r = array_grow(s->recs, &s->cap, s->nrecs + 1, sizeof(*r));
		if (!r) {
			err = -ENOMEM;
			break;
		}
		s->recs = r;
		r = &s->recs[s->nrecs++];
		memset(r, 0, sizeof(*r));
		r->off = at;
		if (!cs_disasm_iter(h, &p, &left, &a, insn)) {
			/* Undecodable: a window ends here; go on a byte later. */
			r->kind = R_END;
			r->writes = 0xffff;
			p++;
			left--;
			a++;
			continue;
		}
		r->emulated = placement__is_emulated(code + at, insn->size);
		describe(h, insn, vaddr, s, r);
	}
	cs_free(insn, 1);
	cs_close(&h);
	return err;
}

/* The first instruction after recs[from] that the kernel emulates, reached
 * only from recs[from] and with register reg intact; -1 if none is near. */
static long probe_after(const struct scan *s, size_t from, int reg)
{
	for (size_t k = from + 1; k < s->nrecs && k <= from + PROBE_WINDOW; k++) {
		const struct rec *r = &s->recs[k];

		if (is_target(s, r->off))
			return -1;
		if (r->emulated && r->kind != R_END)
			return k;
		if (r->kind == R_END || r->kind == R_CALL || (r->writes & 1u << reg))
			return -1;
	}
	return -1;
}

/* Adds a probe unless one is there already (copies that share a pop). */
static int add_site(struct pyinline *out, size_t *cap, __u64 file_off, int reg, bool deref,
		    bool frees)
{
	struct pyinline_site *n;

	for (size_t i = 0; i < out->nsites; i++)
		if (out->sites[i].file_off == file_off)
			return 0;
	if (out->nsites >= SITES_MAX)
		return -E2BIG;
	n = array_grow(out->sites, cap, out->nsites + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	out->sites = n;
	out->sites[out->nsites++] = (struct pyinline_site){file_off, (__u8)reg, deref, frees};
	if (frees)
		out->nfrees++;
	else
		out->ntakes++;
	return 0;
}

/* Index of the record at offset off, or nrecs. */
static size_t rec_at(const struct scan *s, __u32 off)
{
	size_t lo = 0, hi = s->nrecs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->recs[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nrecs && s->recs[lo].off == off ? lo : s->nrecs;
}

/* The direct call near the start of the slow path at offset off. */
static __u32 slow_path_call(const struct scan *s, __u32 off)
{
	size_t i = rec_at(s, off);

	for (size_t k = i; k < s->nrecs && k < i + NEWPOOL_WINDOW; k++) {
		const struct rec *r = &s->recs[k];

		if (r->kind == R_CALL)
			return r->target;
		if (r->kind == R_END || r->kind == R_JMP)
			break;
	}
	return UINT32_MAX;
}

/* Taking a block, from the pool test at recs[i]: the record after which
 * the block is in a register (*reg; the pool's: *pool), or -1. 0: not this
 * pattern at all. */
static long match_take(const struct scan *s, size_t i, int *reg, int *pool)
{
	const struct rec *r = &s->recs[i];
	bool jumped = false;
	int p, n;

	if (i + 4 >= s->nrecs || r->kind != R_LOAD || r->a < 0)
		return 0;
	p = r->a;
	r = &s->recs[i + 1];
	if (r->kind != R_LOAD || r->indexed || r->b != p || r->imm != POOL_NEXTPOOL)
		return 0;
	n = r->a;
	r = &s->recs[i + 2];
	if (r->kind != R_CMP_RR || !((r->a == p && r->b == n) || (r->a == n && r->b == p)))
		return 0;
	if (s->recs[i + 3].kind != R_JE)
		return 0;
	for (size_t j = i + 4, w = 0; j < s->nrecs && w < TAKE_WINDOW; j++, w++) {
		r = &s->recs[j];
		/* A copy may jump to the pop another copy shares. */
		if (r->kind == R_JMP && !jumped) {
			jumped = true;
			j = rec_at(s, r->target);
			if (j-- == 0 || j + 1 >= s->nrecs)
				return -1;
			continue;
		}
		/* Paths that join here run the same pop from a pool. */
		if (r->kind == R_END || r->kind == R_CALL || r->kind == R_JMP || r->kind == R_JE ||
		    r->kind == R_JCC)
			return -1;
		if (r->kind == R_LOAD && !r->indexed && r->b == p && r->imm == POOL_FREEBLOCK &&
		    r->a != AS_GPR_RSP) {
			for (size_t k = j + 1; k < s->nrecs && k <= j + COUNT_WINDOW; k++)
				if (s->recs[k].kind == R_INC_MEM && s->recs[k].b == p &&
				    s->recs[k].imm == 0) {
					*reg = r->a;
					*pool = p;
					return j;
				}
			return -1;
		}
		if (r->writes & 1u << p)
			return -1;
	}
	return -1;
}

/* Giving a block back, from the pool mask at recs[i]: the store of the
 * block into the pool, or 0 when there is none (the mask served another
 * purpose: a realloc's size lookup, statistics). *reg: the block's register,
 * *pool: the pool's. -1: a store of an unknown register. */
static long match_free(const struct scan *s, size_t i, __s64 mask, int *reg, int *pool)
{
	const struct rec *r = &s->recs[i];
	int x, src = -1;

	if (r->kind != R_AND || r->imm != mask)
		return 0;
	x = r->a;
	/* X = R just before, and X left alone in between. */
	for (size_t k = i; k-- > 0 && k + MOVE_LOOKBACK >= i;) {
		const struct rec *m = &s->recs[k];

		if (m->kind == R_MOV_RR && m->a == x) {
			src = m->b;
			break;
		}
		if ((m->writes & 1u << x) || m->kind == R_END || m->kind == R_CALL ||
		    m->kind == R_JMP)
			break;
	}
	for (size_t j = i + 1; j < s->nrecs && j <= i + STORE_WINDOW; j++) {
		r = &s->recs[j];
		if (r->kind == R_STORE && r->a == x && r->imm == POOL_FREEBLOCK) {
			if (src < 0 || r->b != src || src == AS_GPR_RSP)
				return -1;
			*reg = src;
			*pool = x;
			return j;
		}
		if (r->kind == R_END || r->kind == R_CALL || r->kind == R_JMP ||
		    (r->writes & 1u << x))
			return 0;
		if (src >= 0 && (r->writes & 1u << src))
			src = -1;
	}
	return 0;
}

/* The call most slow paths make, if most of them make it. */
static void find_newpool(const __u32 *calls, size_t n, __u64 off, struct pyinline *out)
{
	__u32 best = UINT32_MAX;
	size_t most = 0;

	for (size_t i = 0; i < n; i++) {
		size_t c = 0;

		if (calls[i] == UINT32_MAX || calls[i] == best)
			continue;
		for (size_t j = 0; j < n; j++)
			c += calls[j] == calls[i];
		if (c > most) {
			most = c;
			best = calls[i];
		}
	}
	if (best != UINT32_MAX && most >= 2 && most * 2 >= n) {
		out->newpool_off = off + best;
		out->newpool_calls = most;
	}
}

int pyinline__scan(struct elfobj *o, __u64 off, size_t len, __u64 vaddr, int minor,
		   struct pyinline *out)
{
	__u8 *code;
	int err;

	memset(out, 0, sizeof(*out));
	if (len > SCAN_MAX)
		return -EFBIG;
	code = malloc(len);
	if (!code)
		return -ENOMEM;
	/* The file may end inside the last page of its mapping. */
	while (len && elfobj__read(o, off, code, len))
		len = len > 4096 ? (len - 1) / 4096 * 4096 : 0;
	err = pyinline__scan_code(code, len, off, vaddr, minor, out);
	free(code);
	return err;
}

int pyinline__scan_code(const __u8 *code, size_t len, __u64 off, __u64 vaddr, int minor,
			struct pyinline *out)
{
	__s64 mask = -(1LL << pyinline__pool_bits(minor));
	struct scan s = {.len = len};
	size_t cap = 0, ncalls = 0, calls_cap = 0;
	__u32 *calls = NULL;
	int err = -ENOMEM;

	memset(out, 0, sizeof(*out));
	s.targets = calloc(len / 8 + 1, 1);
	if (!s.targets)
		goto cleanup;
	err = decode(code, len, vaddr, &s);
	for (size_t i = 0; !err && i < s.nrecs; i++) {
		long at, k;
		int reg = -1, pool = -1;

		at = match_take(&s, i, &reg, &pool);
		if (at) {
			if (at < 0) {
				out->missed_takes++;
				continue;
			}
			k = probe_after(&s, at, reg);
			if (k >= 0)
				err = add_site(out, &cap, off + s.recs[k].off, reg, false, false);
			else /* at the pop itself, single-stepped: the block is the pool's head */
				err = add_site(out, &cap, off + s.recs[at].off, pool, true, false);
			if (!err) {
				__u32 *c = array_grow(calls, &calls_cap, ncalls + 1, sizeof(*c));

				if (!c) {
					err = -ENOMEM;
					break;
				}
				calls = c;
				calls[ncalls++] = slow_path_call(&s, s.recs[i + 3].target);
			}
			continue;
		}
		at = match_free(&s, i, mask, &reg, &pool);
		if (!at)
			continue;
		/* The block's register, else the pool's: its freeblock is the
		 * block just given back. */
		if (at > 0 && (k = probe_after(&s, at, reg)) >= 0)
			err = add_site(out, &cap, off + s.recs[k].off, reg, false, true);
		else if (at > 0 && (k = probe_after(&s, at, pool)) >= 0)
			err = add_site(out, &cap, off + s.recs[k].off, pool, true, true);
		else if (at > 0) /* single-stepped: dearer, but no path is left out */
			err = add_site(out, &cap, off + s.recs[at].off, reg, false, true);
		else
			out->missed_frees++;
	}
	if (!err)
		find_newpool(calls, ncalls, off, out);
cleanup:
	if (err)
		pyinline__free(out);
	free(calls);
	free(s.targets);
	free(s.recs);
	return err;
}

void pyinline__free(struct pyinline *p)
{
	free(p->sites);
	memset(p, 0, sizeof(*p));
}
