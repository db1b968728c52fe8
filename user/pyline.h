/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Maps a CPython bytecode offset to its source line from a code object's raw
 * line table (co_lnotab or co_linetable), for CPython 3.6 to 3.13. */
#ifndef PYLINE_H
#define PYLINE_H

#include <stddef.h>
#include <linux/types.h>

enum pyline_format {
	PYLINE_LNOTAB,	      /* 3.6-3.9 co_lnotab (Objects/lnotab_notes.txt) */
	PYLINE_LINETABLE_310, /* 3.10 co_linetable (3.10's Objects/lnotab_notes.txt) */
	PYLINE_LOCATIONS,     /* 3.11+ co_linetable (InternalDocs/locations.md) */
};

/* The line of the instruction at `offset`, given co_firstlineno and the raw
 * table bytes of the code object (co_lnotab before 3.10, else co_linetable).
 *
 * `offset` is in BYTES from the start of the bytecode (co_code, or
 * co_code_adaptive from 3.11) for every format: 2 x the index of the 16-bit
 * code unit. That is f_lasti as 3.6-3.9 store it, 2 x f_lasti on 3.10 (which
 * counts code units), and (char *)prev_instr - (char *)co_code_adaptive on
 * 3.11-3.12 (instr_ptr on 3.13). An odd offset means the code unit it lies in.
 *
 * 0, -ENOENT when the instruction has no line (3.10+: artificial instructions,
 * or an offset past the table's end), -EINVAL when the table is malformed.
 * Like CPython's PyCode_Addr2Line, reads the table only up to the entry
 * covering offset, so damage beyond it goes unnoticed. */
int pyline__line(enum pyline_format fmt, const __u8 *table, size_t len, int firstlineno,
		 __u32 offset, int *line);

/* The table format of CPython major.minor: 0, or -ENOTSUP outside 3.6-3.13,
 * the versions tests/unit/fixtures/pyline/ holds tables of. */
int pyline__format(int major, int minor, enum pyline_format *fmt);

#endif /* PYLINE_H */
