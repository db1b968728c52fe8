// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Prints one struct py_layout initializer (user/pyoffsets.h) for the CPython
 * whose headers it is compiled against; scripts/gen-pyoffsets.sh builds it
 * once per interpreter. Every number is an offsetof()/sizeof() of those headers.
 *
 * 3.13+: given a file holding the start of the live _PyRuntime (its
 * _Py_DebugOffsets), it also checks the offsets against the interpreter's own. */
#define Py_BUILD_CORE 1 /* the runtime, thread and frame structs are internal */
#include <Python.h>
#include <frameobject.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if PY_VERSION_HEX >= 0x030B0000
#include <internal/pycore_frame.h>
#endif
#if PY_VERSION_HEX >= 0x03090000
#include <internal/pycore_interp.h>
#include <internal/pycore_runtime.h>
#elif PY_VERSION_HEX >= 0x03080000
#include <internal/pycore_pystate.h>
#elif PY_VERSION_HEX >= 0x03070000
#include <internal/pystate.h>
#endif

#define NONE (-1L) /* printed as AS_PY_NONE */

static int bad;

/* pymalloc's sizes are macros of Objects/obmalloc.c before 3.12, in no
 * header: gen-pyoffsets.sh measures them (sys._debugmallocstats()) and
 * passes them in; 3.12+ headers define them too, and must agree. */
#if !defined(OBM_ALIGNMENT) || !defined(OBM_POOL_SIZE) || !defined(OBM_ARENA_SIZE)
#error "build with -DOBM_ALIGNMENT=.. -DOBM_POOL_SIZE=.. -DOBM_ARENA_SIZE=.. (gen-pyoffsets.sh)"
#endif

#if PY_VERSION_HEX >= 0x030C0000
#include <internal/pycore_obmalloc.h>
typedef struct pool_header census_pool;
#if ALIGNMENT != OBM_ALIGNMENT || POOL_SIZE != OBM_POOL_SIZE || ARENA_SIZE != OBM_ARENA_SIZE
#error "pycore_obmalloc.h and the measured pymalloc sizes disagree"
#endif
#else
/* struct pool_header of Objects/obmalloc.c (3.6-3.11, unchanged over them),
 * which no installed header declares. */
typedef struct census_pool {
	union {
		void *_padding;
		unsigned int count;
	} ref;
	void *freeblock;
	struct census_pool *nextpool, *prevpool;
	unsigned int arenaindex, szidx, nextoffset, maxnextoffset;
} census_pool;
#endif
#if PY_VERSION_HEX >= 0x03090000
#include <internal/pycore_gc.h>
#endif

static void field(const char *name, long v)
{
	if (v == NONE) {
		printf("\t\t.%s = AS_PY_NONE,\n", name);
		return;
	}
	if (v < 0 || v >= 0xffff) { /* would not fit a __u16 besides AS_PY_NONE */
		fprintf(stderr, "pyoffsets_probe: %s = %ld out of range\n", name, v);
		bad = 1;
	}
	printf("\t\t.%s = %ld,\n", name, v);
}

#if PY_VERSION_HEX >= 0x030D0000
static void check(const char *name, long ours, uint64_t theirs)
{
	if ((uint64_t)ours != theirs) {
		fprintf(stderr, "pyoffsets_probe: %s: headers say %ld, _Py_DebugOffsets %llu\n",
			name, ours, (unsigned long long)theirs);
		bad = 1;
	}
}

/* The live interpreter's view of the same fields, from a dump of _PyRuntime. */
static void check_debug_offsets(const char *path)
{
	_Py_DebugOffsets d;
	FILE *f = fopen(path, "rb");

	if (!f || fread(&d, sizeof(d), 1, f) != 1) {
		fprintf(stderr, "pyoffsets_probe: cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	if (memcmp(d.cookie, "xdebugpy", 8) || d.version != PY_VERSION_HEX) {
		fprintf(stderr, "pyoffsets_probe: %s is not this version's _Py_DebugOffsets\n",
			path);
		exit(1);
	}
	check("runtime_interp_head", offsetof(_PyRuntimeState, interpreters.head),
	      d.runtime_state.interpreters_head);
	check("interp_tstate_head", offsetof(PyInterpreterState, threads.head),
	      d.interpreter_state.threads_head);
	check("tstate_next", offsetof(PyThreadState, next), d.thread_state.next);
	check("tstate_thread_id", offsetof(PyThreadState, thread_id), d.thread_state.thread_id);
	check("tstate_frame", offsetof(PyThreadState, current_frame), d.thread_state.current_frame);
	check("frame_back", offsetof(_PyInterpreterFrame, previous), d.interpreter_frame.previous);
	check("frame_code", offsetof(_PyInterpreterFrame, f_executable),
	      d.interpreter_frame.executable);
	check("frame_instr", offsetof(_PyInterpreterFrame, instr_ptr),
	      d.interpreter_frame.instr_ptr);
	check("frame_owner", offsetof(_PyInterpreterFrame, owner), d.interpreter_frame.owner);
	check("code_adaptive", offsetof(PyCodeObject, co_code_adaptive),
	      d.code_object.co_code_adaptive);
	check("code_filename", offsetof(PyCodeObject, co_filename), d.code_object.filename);
	check("code_name", offsetof(PyCodeObject, co_name), d.code_object.name);
	check("code_qualname", offsetof(PyCodeObject, co_qualname), d.code_object.qualname);
	check("code_firstlineno", offsetof(PyCodeObject, co_firstlineno),
	      d.code_object.firstlineno);
	check("code_linetable", offsetof(PyCodeObject, co_linetable), d.code_object.linetable);
	check("unicode_ascii_data", sizeof(PyASCIIObject), d.unicode_object.asciiobject_size);
	check("unicode_state", offsetof(PyASCIIObject, state), d.unicode_object.state);
	check("bytes_size", offsetof(PyBytesObject, ob_base.ob_size), d.bytes_object.ob_size);
	check("bytes_data", offsetof(PyBytesObject, ob_sval), d.bytes_object.ob_sval);
}
#endif

/* What the heap census (user/census.c) reads: pymalloc's pools, and each
 * object's type where its block starts (after the GC header, and 3.11+ the
 * pre-header words of managed dicts and weakrefs). */
static void census(void)
{
	printf("\t\t.heap.pool_size = %d,\n", OBM_POOL_SIZE);
	printf("\t\t.heap.arena_size = %d,\n", OBM_ARENA_SIZE);
	field("heap.alignment", OBM_ALIGNMENT);
	/* POOL_OVERHEAD: the header rounded up to ALIGNMENT */
	field("heap.pool_overhead",
	      (sizeof(census_pool) + OBM_ALIGNMENT - 1) / OBM_ALIGNMENT * OBM_ALIGNMENT);
	field("heap.pool_count", offsetof(census_pool, ref.count));
	field("heap.pool_freeblock", offsetof(census_pool, freeblock));
	field("heap.pool_szidx", offsetof(census_pool, szidx));
	field("heap.pool_nextoffset", offsetof(census_pool, nextoffset));
	field("heap.pool_maxnextoffset", offsetof(census_pool, maxnextoffset));
	field("heap.gc_head", sizeof(PyGC_Head));
#if PY_VERSION_HEX >= 0x030C0000
	/* _PyType_PreHeaderSize(): two words for a managed dict and weakref */
	field("heap.preheader", 2 * sizeof(PyObject *));
	printf("\t\t.heap.flag_preheader = %#lx,\n", (unsigned long)Py_TPFLAGS_PREHEADER);
#elif PY_VERSION_HEX >= 0x030B0000
	field("heap.preheader", 2 * sizeof(PyObject *));
	printf("\t\t.heap.flag_preheader = %#lx,\n", (unsigned long)Py_TPFLAGS_MANAGED_DICT);
#else
	field("heap.preheader", 0);
	printf("\t\t.heap.flag_preheader = 0,\n");
#endif
	printf("\t\t.heap.flag_gc = %#lx,\n", (unsigned long)Py_TPFLAGS_HAVE_GC);
	printf("\t\t.heap.flag_type_subclass = %#lx,\n", (unsigned long)Py_TPFLAGS_TYPE_SUBCLASS);
	printf("\t\t.heap.flag_dict_subclass = %#lx,\n", (unsigned long)Py_TPFLAGS_DICT_SUBCLASS);
	field("heap.ob_type", offsetof(PyObject, ob_type));
	field("heap.tp_name", offsetof(PyTypeObject, tp_name));
	field("heap.tp_basicsize", offsetof(PyTypeObject, tp_basicsize));
	field("heap.tp_flags", offsetof(PyTypeObject, tp_flags));
	field("heap.dict_keys", offsetof(PyDictObject, ma_keys));
	field("heap.dict_values", offsetof(PyDictObject, ma_values));
}

int main(int argc, char **argv)
{
#if PY_VERSION_HEX >= 0x030D0000
	if (argc > 1)
		check_debug_offsets(argv[1]);
#else
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "pyoffsets_probe: no _Py_DebugOffsets before 3.13\n");
		return 1;
	}
#endif
	printf("\t/* CPython %s */\n\t{\n", PY_VERSION);
	printf("\t\t.minor = %d,\n", PY_MINOR_VERSION);
#if PY_VERSION_HEX >= 0x03070000
	field("runtime_interp_head", offsetof(_PyRuntimeState, interpreters.head));
#else
	field("runtime_interp_head", NONE); /* 3.6: a static interp_head in pystate.c */
#endif

#if PY_VERSION_HEX >= 0x030C0000
	/* 3.12+: the allocator tables live in the runtime (before, static in obmalloc.c) */
	field("runtime_alloc_raw", offsetof(_PyRuntimeState, allocators.standard.raw));
	field("runtime_alloc_obj", offsetof(_PyRuntimeState, allocators.standard.obj));
#else
	field("runtime_alloc_raw", NONE);
	field("runtime_alloc_obj", NONE);
#endif

#if PY_VERSION_HEX >= 0x030B0000
	field("walk.interp_tstate_head", offsetof(PyInterpreterState, threads.head));
#else
	field("walk.interp_tstate_head", offsetof(PyInterpreterState, tstate_head));
#endif
	field("walk.tstate_next", offsetof(PyThreadState, next));
	field("walk.tstate_thread_id", offsetof(PyThreadState, thread_id));

#if PY_VERSION_HEX >= 0x030D0000
	/* 3.13: the thread state points at the frame itself */
	field("walk.tstate_frame", offsetof(PyThreadState, current_frame));
	field("walk.cframe_frame", NONE);
#elif PY_VERSION_HEX >= 0x030B0000
	/* 3.11, 3.12: through the _PyCFrame on the C stack */
	field("walk.tstate_frame", offsetof(PyThreadState, cframe));
	field("walk.cframe_frame", offsetof(_PyCFrame, current_frame));
#else
	field("walk.tstate_frame", offsetof(PyThreadState, frame));
	field("walk.cframe_frame", NONE);
#endif

#if PY_VERSION_HEX >= 0x030B0000
	field("walk.frame_back", offsetof(_PyInterpreterFrame, previous));
#if PY_VERSION_HEX >= 0x030D0000
	field("walk.frame_code", offsetof(_PyInterpreterFrame, f_executable));
	field("walk.frame_instr", offsetof(_PyInterpreterFrame, instr_ptr));
#else
	field("walk.frame_code", offsetof(_PyInterpreterFrame, f_code));
	field("walk.frame_instr", offsetof(_PyInterpreterFrame, prev_instr));
#endif
	field("walk.frame_owner", offsetof(_PyInterpreterFrame, owner));
	field("walk.code_adaptive", offsetof(PyCodeObject, co_code_adaptive));
#else
	field("walk.frame_back", offsetof(PyFrameObject, f_back));
	field("walk.frame_code", offsetof(PyFrameObject, f_code));
	field("walk.frame_instr", offsetof(PyFrameObject, f_lasti));
	field("walk.frame_owner", NONE);
	field("walk.code_adaptive", NONE);
#endif

#if PY_VERSION_HEX >= 0x030B0000
	printf("\t\t.walk.instr_kind = PY_INSTR_POINTER,\n");
#elif PY_VERSION_HEX >= 0x030A0000
	printf("\t\t.walk.instr_kind = PY_INSTR_LASTI_UNITS,\n");
#else
	printf("\t\t.walk.instr_kind = PY_INSTR_LASTI_BYTES,\n");
#endif
#if PY_VERSION_HEX >= 0x030C0000
	/* entry frames the interpreter pushes for calls from C: no code to show */
	printf("\t\t.walk.shim_owner = %d,\n", FRAME_OWNED_BY_CSTACK);
#else
	printf("\t\t.walk.shim_owner = 0xff,\n");
#endif

	field("code_filename", offsetof(PyCodeObject, co_filename));
	field("code_name", offsetof(PyCodeObject, co_name));
#if PY_VERSION_HEX >= 0x030B0000
	field("code_qualname", offsetof(PyCodeObject, co_qualname));
#else
	field("code_qualname", NONE);
#endif
	field("code_firstlineno", offsetof(PyCodeObject, co_firstlineno));
#if PY_VERSION_HEX >= 0x030A0000
	field("code_linetable", offsetof(PyCodeObject, co_linetable));
#else
	field("code_linetable", offsetof(PyCodeObject, co_lnotab));
#endif

	field("unicode_ascii_data", sizeof(PyASCIIObject));
	field("unicode_compact_data", sizeof(PyCompactUnicodeObject));
	field("unicode_state", offsetof(PyASCIIObject, state));
	field("bytes_size", offsetof(PyBytesObject, ob_base.ob_size));
	field("bytes_data", offsetof(PyBytesObject, ob_sval));
	census();
	printf("\t},\n");
	return bad;
}
