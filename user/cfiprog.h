/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Runs the DW_CFA_* program of one CIE or FDE once, from start to end, and
 * hands out a row at every advance: linear in the program's bytes. */
#ifndef CFIPROG_H
#define CFIPROG_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "allocscope.h"

/* remember_state nesting kept; deeper programs are malformed for us. */
#define CFIPROG_MAX_REMEMBER 32

/* What a program needs of its CIE. */
struct cfiprog_cie {
	__u64 code_align;
	__s64 data_align;
	__u64 ra_reg;
	int enc; /* pointer encoding of DW_CFA_set_loc */
	bool signal;
};

/* How to find a register: only rbp's and the return address's are kept. */
struct cfiprog_reg {
	__u8 how; /* enum cfiprog_how (cfiprog.c) */
	__s64 off;
	const __u8 *expr;
	size_t len;
};

/* The rules in force at one place of a program. */
struct cfiprog_state {
	__u8 cfa; /* enum cfiprog_cfa (cfiprog.c) */
	__u64 cfa_reg;
	__s64 cfa_off;
	const __u8 *cfa_expr;
	size_t cfa_len;
	struct cfiprog_reg rbp, ra;
};

/* One program to run: for an FDE, initial is its CIE's state after the
 * CIE's own instructions; NULL while running those. */
struct cfiprog {
	const __u8 *sec; /* the section, for pc-relative DW_CFA_set_loc */
	__u64 sec_addr;
	const struct cfiprog_cie *cie;
	const struct cfiprog_state *initial;
};

/* Bytes of a pointer in DW_EH_PE_* encoding enc, -1 for LEB128 ones. */
int cfiprog__pointer_size(int enc);
/* Reads one pointer of encoding enc at *p, which is at address pc. 0,
 * -EINVAL when it overruns end, -ENOTSUP for encodings x86-64 FDEs do not use. */
int cfiprog__read_pointer(const __u8 **p, const __u8 *end, int enc, __u64 pc, __u64 *val);

/* The state the x86-64 ABI gives before any CIE (as libdw's backend). */
void cfiprog__abi_state(struct cfiprog_state *s);

/* Called with each row [pc, next advance) and its state, or with state NULL
 * when the program turns malformed at pc (pc and all after: no rule). A
 * nonzero return stops the run with that value. */
typedef int (*cfiprog_row_fn)(void *ctx, __u64 pc, const struct cfiprog_state *s);

/* Runs an FDE's program over [lo, hi) from p->initial; every row reaches
 * fn. 0 or the value fn stopped with. */
int cfiprog__run_fde(const struct cfiprog *p, const __u8 *insn, const __u8 *end, __u64 lo, __u64 hi,
		     cfiprog_row_fn fn, void *ctx);
/* Runs a CIE's initial instructions on *s. 0, or -EINVAL when malformed. */
int cfiprog__run_cie(const struct cfiprog *p, const __u8 *insn, const __u8 *end,
		     struct cfiprog_state *s);

/* The walker's row for state s at pc (UNW_CFA_UNSUP for rules it cannot
 * follow; every row of a signal frame). */
struct unw_row cfiprog__row(const struct cfiprog_state *s, const struct cfiprog_cie *cie, __u32 pc);

#endif /* CFIPROG_H */
