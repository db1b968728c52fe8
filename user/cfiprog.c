// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The DW_CFA_* interpreter: one pass over a program, a row at each advance.
 * Its rules follow libdw's execute_cfi (elfutils 0.188), whose per-address
 * replay it replaces: the same rows at linear cost. */
#include <dwarf.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "cfiprog.h"

/* x86-64 DWARF register numbers (psABI figure 3.36). */
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA	16

/* libdw refuses register numbers from here on (INT32_MAX / its rule size). */
#define REG_LIMIT (INT32_MAX / 8)

enum cfiprog_cfa {
	CFA_UNDEF,   /* no CFA rule yet */
	CFA_OFFSET,  /* register + offset */
	CFA_EXPR,    /* a DWARF expression */
	CFA_INVALID, /* an offset or register change of an expression rule */
};

enum cfiprog_how {
	HOW_UNDEF,
	HOW_SAME,
	HOW_OFFSET,	/* saved at CFA + off */
	HOW_VAL_OFFSET, /* is CFA + off */
	HOW_REGISTER,
	HOW_EXPR, /* saved at the address expr computes from the CFA */
	HOW_VAL_EXPR,
};

struct reader {
	const __u8 *p, *end;
	bool bad;
};

static __u64 uleb(struct reader *r)
{
	__u64 v = 0;
	unsigned int shift = 0;

	while (r->p < r->end) {
		__u8 b = *r->p++;

		if (shift < 64)
			v |= (__u64)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

static __s64 sleb(struct reader *r)
{
	__u64 v = 0;
	unsigned int shift = 0;

	while (r->p < r->end) {
		__u8 b = *r->p++;

		if (shift < 64)
			v |= (__u64)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80)) {
			if (shift < 64 && (b & 0x40))
				v |= ~(__u64)0 << shift;
			return (__s64)v;
		}
	}
	r->bad = true;
	return 0;
}

static __u64 fixed(struct reader *r, size_t n)
{
	__u64 v = 0;

	if ((size_t)(r->end - r->p) < n) {
		r->bad = true;
		return 0;
	}
	memcpy(&v, r->p, n); /* x86-64: little-endian */
	r->p += n;
	return v;
}

/* Pointer encodings (LSB 5.0, "DWARF Exception Header Encoding"). */
int cfiprog__pointer_size(int enc)
{
	switch (enc & 0x0f) {
	case DW_EH_PE_udata2:
	case DW_EH_PE_sdata2:
		return 2;
	case DW_EH_PE_udata4:
	case DW_EH_PE_sdata4:
		return 4;
	case DW_EH_PE_absptr: /* x86-64 only: 8-byte addresses */
	case DW_EH_PE_udata8:
	case DW_EH_PE_sdata8:
		return 8;
	default:
		return -1;
	}
}

int cfiprog__read_pointer(const __u8 **p, const __u8 *end, int enc, __u64 pc, __u64 *val)
{
	int size = cfiprog__pointer_size(enc);
	__s64 v;

	if (size < 0 || (enc & 0x70 && (enc & 0x70) != DW_EH_PE_pcrel))
		return -ENOTSUP; /* textrel, datarel, funcrel: not used for x86-64 FDEs */
	if (end - *p < size)
		return -EINVAL;
	if (size == 2) {
		__u16 u;

		memcpy(&u, *p, 2);
		v = (enc & 0x0f) == DW_EH_PE_sdata2 ? (__s64)(__s16)u : (__s64)u;
	} else if (size == 4) {
		__u32 u;

		memcpy(&u, *p, 4);
		v = (enc & 0x0f) == DW_EH_PE_sdata4 ? (__s64)(__s32)u : (__s64)u;
	} else {
		memcpy(&v, *p, 8);
	}
	*p += size;
	*val = (enc & 0x70) == DW_EH_PE_pcrel ? (__u64)v + pc : (__u64)v;
	return 0;
}

void cfiprog__abi_state(struct cfiprog_state *s)
{
	/* elfutils' x86_64_abi_cfi: rbp and rip "same value", CFA unset. */
	memset(s, 0, sizeof(*s));
	s->cfa = CFA_UNDEF;
	s->rbp.how = HOW_SAME;
	s->ra.how = HOW_SAME;
}

/* The kept register regno, or NULL for one we only check. */
static struct cfiprog_reg *reg_of(struct cfiprog_state *s, __u64 regno, bool *bad)
{
	if (regno >= REG_LIMIT)
		*bad = true;
	if (regno == REG_RBP)
		return &s->rbp;
	return regno == REG_RA ? &s->ra : NULL;
}

static void set_reg(struct cfiprog_state *s, __u64 regno, struct cfiprog_reg rule, bool *bad)
{
	struct cfiprog_reg *reg = reg_of(s, regno, bad);

	if (reg)
		*reg = rule;
}

/* A block operand (ULEB128 length, then the bytes). */
static const __u8 *block(struct reader *r, size_t *len)
{
	__u64 n = uleb(r);
	const __u8 *b = r->p;

	if (r->bad || n > (__u64)(r->end - r->p)) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	*len = n;
	return b;
}

/* An operand times the data alignment factor, wrapping as libdw's
 * Dwarf_Word arithmetic does (never signed overflow on hostile input). */
static __s64 scaled(__u64 v, const struct cfiprog_cie *cie)
{
	return (__s64)(v * (__u64)cie->data_align);
}

/* One instruction that does not move the location. */
static void step(const struct cfiprog *p, struct reader *r, __u8 op, struct cfiprog_state *s,
		 struct cfiprog_state *stack, int *depth)
{
	const struct cfiprog_cie *cie = p->cie;
	__u64 reg, u;
	struct cfiprog_reg rule = {};

	switch (op & 0xc0) {
	case DW_CFA_offset:
		u = uleb(r);
		rule = (struct cfiprog_reg){.how = HOW_OFFSET, .off = scaled(u, cie)};
		set_reg(s, op & 0x3f, rule, &r->bad);
		return;
	case DW_CFA_restore:
		reg = op & 0x3f;
		goto restore;
	}
	switch (op) {
	case DW_CFA_nop:
		return;
	case DW_CFA_def_cfa:
	case DW_CFA_def_cfa_sf:
		reg = uleb(r);
		s->cfa_off = op == DW_CFA_def_cfa ? (__s64)uleb(r) : scaled((__u64)sleb(r), cie);
		s->cfa = CFA_OFFSET;
		s->cfa_reg = reg;
		return;
	case DW_CFA_def_cfa_register:
		s->cfa_reg = uleb(r);
		if (s->cfa != CFA_OFFSET)
			s->cfa = CFA_INVALID;
		return;
	case DW_CFA_def_cfa_offset:
	case DW_CFA_def_cfa_offset_sf:
		s->cfa_off =
			op == DW_CFA_def_cfa_offset ? (__s64)uleb(r) : scaled((__u64)sleb(r), cie);
		if (s->cfa != CFA_OFFSET)
			s->cfa = CFA_INVALID;
		return;
	case DW_CFA_def_cfa_expression:
		s->cfa_expr = block(r, &s->cfa_len);
		s->cfa = CFA_EXPR;
		return;
	case DW_CFA_undefined:
	case DW_CFA_same_value:
		rule.how = op == DW_CFA_undefined ? HOW_UNDEF : HOW_SAME;
		set_reg(s, uleb(r), rule, &r->bad);
		return;
	case DW_CFA_offset_extended:
	case DW_CFA_val_offset:
		reg = uleb(r);
		rule.how = op == DW_CFA_val_offset ? HOW_VAL_OFFSET : HOW_OFFSET;
		rule.off = scaled(uleb(r), cie);
		set_reg(s, reg, rule, &r->bad);
		return;
	case DW_CFA_offset_extended_sf:
	case DW_CFA_val_offset_sf:
		reg = uleb(r);
		rule.how = op == DW_CFA_val_offset_sf ? HOW_VAL_OFFSET : HOW_OFFSET;
		rule.off = scaled((__u64)sleb(r), cie);
		set_reg(s, reg, rule, &r->bad);
		return;
	case DW_CFA_GNU_negative_offset_extended:
		reg = uleb(r);
		rule = (struct cfiprog_reg){.how = HOW_OFFSET, .off = scaled(-uleb(r), cie)};
		set_reg(s, reg, rule, &r->bad);
		return;
	case DW_CFA_register:
		reg = uleb(r);
		uleb(r);
		set_reg(s, reg, (struct cfiprog_reg){.how = HOW_REGISTER}, &r->bad);
		return;
	case DW_CFA_expression:
	case DW_CFA_val_expression:
		reg = uleb(r);
		rule.how = op == DW_CFA_expression ? HOW_EXPR : HOW_VAL_EXPR;
		rule.expr = block(r, &rule.len);
		set_reg(s, reg, rule, &r->bad);
		return;
	case DW_CFA_restore_extended:
		reg = uleb(r);
	restore:
		/* Not in the CIE's own instructions. */
		if (!p->initial) {
			r->bad = true;
			return;
		}
		set_reg(s, reg, reg == REG_RBP ? p->initial->rbp : p->initial->ra, &r->bad);
		return;
	case DW_CFA_remember_state:
		if (*depth == CFIPROG_MAX_REMEMBER)
			r->bad = true;
		else
			stack[(*depth)++] = *s;
		return;
	case DW_CFA_restore_state:
		if (!*depth)
			r->bad = true;
		else
			*s = stack[--*depth];
		return;
	case DW_CFA_GNU_args_size:
		uleb(r);
		return;
	case DW_CFA_GNU_window_save:
		/* libdw reads it as SPARC's: registers 16-31 at CFA + 8 * (n - 16). */
		s->ra = (struct cfiprog_reg){.how = HOW_OFFSET};
		return;
	default:
		r->bad = true;
	}
}

/* When op moves the location: the new location in *loc, true. */
static bool advance(const struct cfiprog *p, struct reader *r, __u8 op, __u64 *loc)
{
	__u64 delta;

	if ((op & 0xc0) == DW_CFA_advance_loc)
		delta = op & 0x3f;
	else if (op == DW_CFA_advance_loc1)
		delta = fixed(r, 1);
	else if (op == DW_CFA_advance_loc2)
		delta = fixed(r, 2);
	else if (op == DW_CFA_advance_loc4)
		delta = fixed(r, 4);
	else if (op == DW_CFA_MIPS_advance_loc8)
		delta = fixed(r, 8);
	else if (op == DW_CFA_set_loc) {
		if (cfiprog__read_pointer(&r->p, r->end, p->cie->enc, p->sec_addr + (r->p - p->sec),
					  loc))
			r->bad = true;
		return true;
	} else
		return false;
	*loc += delta * p->cie->code_align;
	return true;
}

int cfiprog__run_fde(const struct cfiprog *p, const __u8 *insn, const __u8 *end, __u64 lo, __u64 hi,
		     cfiprog_row_fn fn, void *ctx)
{
	struct cfiprog_state stack[CFIPROG_MAX_REMEMBER], s = *p->initial;
	struct reader r = {insn, end, false};
	__u64 start = lo, loc = lo;
	int depth = 0, err;

	while (r.p < r.end) {
		__u8 op = *r.p++;

		if (!advance(p, &r, op, &loc))
			step(p, &r, op, &s, stack, &depth);
		if (r.bad)
			return fn(ctx, start, NULL);
		/* A row ends where the location first passes its start. */
		if (loc > start) {
			err = fn(ctx, start, &s);
			if (err || loc >= hi)
				return err;
			start = loc;
		}
	}
	return fn(ctx, start, &s);
}

int cfiprog__run_cie(const struct cfiprog *p, const __u8 *insn, const __u8 *end,
		     struct cfiprog_state *s)
{
	struct cfiprog_state stack[CFIPROG_MAX_REMEMBER];
	struct reader r = {insn, end, false};
	int depth = 0;
	__u64 loc = 0;

	while (r.p < r.end && !r.bad) {
		__u8 op = *r.p++;

		if (advance(p, &r, op, &loc))
			return -EINVAL; /* a CIE has no rows */
		step(p, &r, op, s, stack, &depth);
	}
	return r.bad ? -EINVAL : 0;
}

/* The DW_OP_* operations the rules we compile are made of. */
struct op {
	__u8 atom;
	__u64 a, b;
};

/* Splits expression [e, e + len) into at most max operations; -1 when it
 * has more, or one outside the set these rules use. */
static int ops(const __u8 *e, size_t len, struct op *out, int max)
{
	struct reader r = {e, e + len, false};
	int n = 0;

	while (r.p < r.end) {
		struct op o = {.atom = *r.p++};

		if (n == max)
			return -1;
		if (o.atom >= DW_OP_breg0 && o.atom <= DW_OP_breg31) {
			o.a = (__u64)sleb(&r);
		} else if (o.atom == DW_OP_bregx) {
			o.a = uleb(&r);
			o.b = (__u64)sleb(&r);
		} else if (o.atom == DW_OP_plus_uconst) {
			o.a = uleb(&r);
		} else if (!(o.atom >= DW_OP_lit0 && o.atom <= DW_OP_lit31) &&
			   o.atom != DW_OP_and && o.atom != DW_OP_ge && o.atom != DW_OP_shl &&
			   o.atom != DW_OP_plus) {
			return -1;
		}
		if (r.bad)
			return -1;
		out[n++] = o;
	}
	return n;
}

/* The PLT stubs' rule (GCC/binutils): CFA = rsp + 8 + ((rip & 15) >= N) << 3. */
static int compile_plt(const struct op *o, __s16 *off)
{
	static const __u8 shape[9] = {DW_OP_breg7, DW_OP_breg16, DW_OP_lit15, DW_OP_and, DW_OP_lit0,
				      DW_OP_ge,	   DW_OP_lit3,	 DW_OP_shl,   DW_OP_plus};
	size_t i;

	for (i = 0; i < 9; i++) {
		if (i == 4 ? o[i].atom < DW_OP_lit0 || o[i].atom > DW_OP_lit15
			   : o[i].atom != shape[i])
			return UNW_CFA_UNSUP;
	}
	if (o[0].a != 8 || o[1].a != 0)
		return UNW_CFA_UNSUP;
	*off = o[4].atom - DW_OP_lit0;
	return UNW_CFA_PLT;
}

/* The CFA rule as an enum unw_cfa, its offset in *off. */
static int compile_cfa(const struct cfiprog_state *s, __s16 *off)
{
	struct op o[9];
	__u64 reg;
	__s64 v;
	int n;

	if (s->cfa == CFA_OFFSET) {
		reg = s->cfa_reg;
		v = s->cfa_off;
	} else if (s->cfa == CFA_EXPR) {
		n = ops(s->cfa_expr, s->cfa_len, o, 9);
		if (n == 9)
			return compile_plt(o, off);
		/* One DW_OP_bregN or DW_OP_bregx says what DW_CFA_def_cfa says. */
		if (n != 1)
			return UNW_CFA_UNSUP;
		if (o[0].atom == DW_OP_bregx) {
			reg = o[0].a;
			v = (__s64)o[0].b;
		} else if (o[0].atom >= DW_OP_breg0 && o[0].atom <= DW_OP_breg31) {
			reg = o[0].atom - DW_OP_breg0;
			v = (__s64)o[0].a;
		} else {
			return UNW_CFA_UNSUP;
		}
	} else {
		return UNW_CFA_UNSUP;
	}
	if (reg != REG_RSP && reg != REG_RBP)
		return UNW_CFA_UNSUP;
	if (v >= INT16_MIN && v <= INT16_MAX) {
		*off = v;
		return reg == REG_RSP ? UNW_CFA_RSP : UNW_CFA_RBP;
	}
	/* Frames of 32 KiB and more: rsp-based ones in 8-byte units. */
	if (reg == REG_RSP && v % 8 == 0 && v / 8 >= INT16_MIN && v / 8 <= INT16_MAX) {
		*off = v / 8;
		return UNW_CFA_RSP8;
	}
	return UNW_CFA_UNSUP;
}

/* Whether rule saves the register at CFA + *k: DW_CFA_offset, or an
 * expression saying the same (the CFA is pushed before it runs). */
static bool cfa_slot(const struct cfiprog_reg *rule, __s64 *k)
{
	struct op o[1];

	if (rule->how == HOW_OFFSET) {
		*k = rule->off;
		return true;
	}
	if (rule->how != HOW_EXPR)
		return false;
	if (!rule->len) {
		*k = 0;
		return true;
	}
	if (ops(rule->expr, rule->len, o, 1) != 1 || o[0].atom != DW_OP_plus_uconst)
		return false;
	*k = (__s64)o[0].a;
	return true;
}

/* The caller's rbp as an enum unw_rbp (offset in *off8), or -1. */
static int compile_rbp(const struct cfiprog_reg *rule, __s8 *off8)
{
	__s64 k;

	if (rule->how == HOW_UNDEF)
		return UNW_RBP_UNDEF;
	if (rule->how == HOW_SAME)
		return UNW_RBP_SAME;
	if (!cfa_slot(rule, &k) || k % 8 || k / 8 < INT8_MIN || k / 8 > INT8_MAX)
		return -1;
	*off8 = k / 8;
	return UNW_RBP_CFA;
}

struct unw_row cfiprog__row(const struct cfiprog_state *s, const struct cfiprog_cie *cie, __u32 pc)
{
	struct unw_row r = {.pc = pc, .kind = UNW_CFA_UNSUP};
	__s64 k;
	int cfa, rbp;

	if (cie->signal || cie->ra_reg != REG_RA)
		return r;
	if (s->ra.how == HOW_UNDEF) {
		/* The return address undefined: the outermost frame. */
		r.kind = UNW_ROW_KIND(UNW_CFA_END, UNW_RBP_SAME);
		return r;
	}
	if (!cfa_slot(&s->ra, &k) || k != -8)
		return r;
	cfa = compile_cfa(s, &r.cfa_off);
	rbp = compile_rbp(&s->rbp, &r.rbp_off8);
	if (cfa == UNW_CFA_UNSUP || rbp < 0)
		return (struct unw_row){.pc = pc, .kind = UNW_CFA_UNSUP};
	r.kind = UNW_ROW_KIND(cfa, rbp);
	return r;
}
