/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CPython struct layouts per minor version (x86-64, default GIL builds):
 * what the BPF walk reads and what the symbolizer reads from code objects.
 * Generated from each interpreter's own headers by scripts/gen-pyoffsets.sh;
 * 3.13+ processes override them from the _Py_DebugOffsets in _PyRuntime. */
#ifndef PYOFFSETS_H
#define PYOFFSETS_H

#include <linux/types.h>
#include "allocscope.h"

struct py_layout {
	int minor; /* 3.minor */
	/* _PyRuntime.interpreters.head (3.7+); 3.6 keeps a static interp_head */
	__u16 runtime_interp_head;
	/* _PyRuntime.allocators.standard.{raw,obj} (3.12+): PyMemAllocatorEx
	 * tables; before 3.12 they are statics in obmalloc.c (user/pymemdecode.h) */
	__u16 runtime_alloc_raw;
	__u16 runtime_alloc_obj;
	struct py_offsets walk;
	/* PyCodeObject fields, for file:line function */
	__u16 code_filename;
	__u16 code_name;
	__u16 code_qualname; /* AS_PY_NONE before 3.11 */
	__u16 code_firstlineno;
	__u16 code_linetable; /* co_lnotab (3.6-3.9) or co_linetable (3.10+) */
	/* str: data of a compact ASCII / compact non-ASCII object, and the state bits */
	__u16 unicode_ascii_data;   /* sizeof(PyASCIIObject) */
	__u16 unicode_compact_data; /* sizeof(PyCompactUnicodeObject) */
	__u16 unicode_state;	    /* offsetof(PyASCIIObject, state) */
	/* bytes: ob_size and ob_sval */
	__u16 bytes_size;
	__u16 bytes_data;
};

/* The layout of CPython 3.minor, or NULL when it is not supported. */
const struct py_layout *pyoffsets__find(int major, int minor);

#endif /* PYOFFSETS_H */
