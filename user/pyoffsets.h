/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* CPython struct layouts per minor version (x86-64, default GIL builds):
 * what the BPF walk reads and what the symbolizer reads from code objects.
 * Generated from each interpreter's own headers by scripts/gen-pyoffsets.sh;
 * 3.13+ processes override them from the _Py_DebugOffsets in _PyRuntime. */
#ifndef PYOFFSETS_H
#define PYOFFSETS_H

#include <linux/types.h>
#include "allocscope.h"

/* What the heap census reads (user/census.c): pymalloc's pools and the types
 * of the objects in their blocks. */
struct py_heap_layout {
	__u32 pool_size;     /* POOL_SIZE: pools are aligned to it */
	__u32 arena_size;    /* ARENA_SIZE */
	__u16 alignment;     /* ALIGNMENT: size class i holds blocks of (i + 1) * alignment */
	__u16 pool_overhead; /* the first block's offset in its pool */
	/* struct pool_header */
	__u16 pool_count; /* ref.count: blocks in use */
	__u16 pool_freeblock;
	__u16 pool_szidx;
	__u16 pool_nextoffset;
	__u16 pool_maxnextoffset;
	__u16 gc_head;	      /* sizeof(PyGC_Head), before a GC object */
	__u16 preheader;      /* 3.11+: bytes before the GC header of a type with flag_preheader */
	__u32 flag_preheader; /* tp_flags that add the pre-header; 0 before 3.11 */
	__u32 flag_gc;	      /* Py_TPFLAGS_HAVE_GC */
	__u32 flag_type_subclass; /* Py_TPFLAGS_TYPE_SUBCLASS: a metatype */
	__u32 flag_dict_subclass; /* Py_TPFLAGS_DICT_SUBCLASS: dict and its subclasses */
	__u16 ob_type;
	__u16 tp_name;
	__u16 tp_basicsize;
	__u16 tp_flags;
	__u16 dict_keys;   /* PyDictObject.ma_keys */
	__u16 dict_values; /* PyDictObject.ma_values */
};

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
	struct py_heap_layout heap;
};

/* The layout of CPython 3.minor, or NULL when it is not supported. */
const struct py_layout *pyoffsets__find(int major, int minor);

#endif /* PYOFFSETS_H */
