/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Compiles one ELF file's call-frame information (.eh_frame or .debug_frame)
 * into the sorted unwind rows the BPF walker binary-searches (struct unw_row). */
#ifndef CFI_H
#define CFI_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "allocscope.h"

/* Caps on what one untrusted file may cost. A CFI section is read (and
 * inflated) only up to 64 MiB: libLLVM-14's .eh_frame, among the largest,
 * is 5 MB. Rows: the BPF walker's binary search covers 2^23. */
#define CFI_MAX_SECTION	    (64u << 20)
#define CFI_MAX_SECTION_STR "64 MiB"
#define CFI_MAX_SECTIONS    65535u
#define CFI_MAX_ROWS	    (1u << 23)
#define CFI_MAX_FDES	    (1u << 21)
#define CFI_MAX_CIES	    (1u << 18)

struct cfi_stats {
	size_t fdes;	      /* FDEs compiled (those covering executable segments) */
	size_t rows;	      /* rows in the table, after merging */
	size_t unsupported;   /* CFI rows (before merging) compiled to UNW_CFA_UNSUP */
	size_t signal_frames; /* FDEs of signal trampolines (their rows are UNSUP) */
};

struct cfi_table {
	struct unw_row *rows; /* sorted by pc, no two neighbours equal */
	size_t nr;
	struct cfi_stats stats;
	bool from_debug_frame;
};

/* Compiles fd's .eh_frame (else .debug_frame of fd, else .debug_frame of
 * debug_fd when >= 0) into rows sorted by pc: equal neighbours merged, a
 * UNW_CFA_NONE row at every gap after an FDE's end. Addresses are the file's
 * own (p_vaddr). Time is linear in the section's size; the build stops
 * with -ECANCELED soon after *cancel (may be NULL) turns true. 0, -ENOENT
 * when the file has no CFI, -E2BIG when an address does not fit 32 bits,
 * -EFBIG for a section over CFI_MAX_SECTION (or inflating beyond it),
 * -EOVERFLOW beyond CFI_MAX_ROWS, _FDES or _CIES, -EIO when the file
 * shrank while read, -ENOEXEC for a file that is not ELF, or -errno. */
int cfi_table__build(int fd, int debug_fd, const atomic_bool *cancel, struct cfi_table *out);
/* Why a build failed, for -v. */
const char *cfi_table__strerror(int err);
void cfi_table__free(struct cfi_table *t);
/* The row covering pc (the last row with row.pc <= pc), or NULL. */
const struct unw_row *cfi_table__find(const struct cfi_table *t, __u32 pc);

#endif /* CFI_H */
