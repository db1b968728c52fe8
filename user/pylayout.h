/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Checks a CPython layout against the buffers allocscope reads structs into,
 * and builds one from the _Py_DebugOffsets a 3.13+ process publishes: that
 * struct is in the target's writable memory, so nothing in it is trusted. */
#ifndef PYLAYOUT_H
#define PYLAYOUT_H

#include <stddef.h>
#include <linux/types.h>
#include "pyoffsets.h"

#define PY_CODE_HEAD 256 /* bytes of a code object read at once (user/pysym.c) */
#define PY_STR_HEAD  64	 /* bytes of a str object's header read at once */
/* How far a _Py_DebugOffsets field may lie from the generated table's offset
 * for the same version: build options move fields by tens of bytes (e.g.
 * Py_TRACE_REFS adds 16 to every object header), not by hundreds. */
#define PY_DEBUG_SLACK 256

/* _Py_DebugOffsets of 3.13 (Include/internal/pycore_runtime.h) up to the
 * fields allocscope reads: the first member of _PyRuntime, for debuggers. */
struct py_debug_offsets {
	char cookie[8];
	__u64 version;
	__u64 free_threaded;
	__u64 runtime_size, runtime_finalizing, runtime_interpreters_head;
	__u64 interp_size, interp_id, interp_next, interp_threads_head, interp_rest[9];
	__u64 tstate_size, tstate_prev, tstate_next, tstate_interp, tstate_current_frame,
		tstate_thread_id, tstate_native_thread_id, tstate_datastack_chunk, tstate_status;
	__u64 frame_size, frame_previous, frame_executable, frame_instr_ptr, frame_localsplus,
		frame_owner;
	__u64 code_size, code_filename, code_name, code_qualname, code_linetable, code_firstlineno,
		code_argcount, code_localsplusnames, code_localspluskinds, code_adaptive;
};

/* Bytes from a frame's start to the end of the last field the BPF walk reads,
 * or 0 when one lies at or past AS_PY_FRAME_READ. */
__u16 pylayout__frame_read(const struct py_offsets *o);

/* 0 when every field of l fits what is read: code fields in PY_CODE_HEAD,
 * str fields in PY_STR_HEAD, frame fields in AS_PY_FRAME_READ; else -EINVAL
 * with the first field that does not written to why. */
int pylayout__check(const struct py_layout *l, char *why, size_t len);

/* out := known with the fields d describes, for CPython 3.minor. -EINVAL (and
 * why) when d is not a 3.minor default build's, or when a field lies outside
 * its struct's own size, beyond 16 bits, more than PY_DEBUG_SLACK from known's
 * offset or outside what pylayout__check allows. out is untouched then. */
int pylayout__from_debug(const struct py_debug_offsets *d, int minor, const struct py_layout *known,
			 struct py_layout *out, char *why, size_t len);

#endif /* PYLAYOUT_H */
