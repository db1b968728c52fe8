// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A layout read from a process is checked field by field before any of it is
 * kept in 16 bits or used to index a buffer: a process can write anything
 * into its own _Py_DebugOffsets (0xfff0 as code_object.filename once made
 * the symbolizer read 64 KB past a 256-byte buffer). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "pylayout.h"
#include "why.h"

/* Struct sizes a process may claim: 3.13's PyInterpreterState, the largest,
 * is about 100 KB; every offset kept must fit 16 bits anyway. */
#define PY_STRUCT_MAX (1u << 20)

__u16 pylayout__frame_read(const struct py_offsets *o)
{
	unsigned int instr_size = o->instr_kind == PY_INSTR_POINTER ? 8 : 4;
	unsigned int ends[] = {o->frame_back + 8u, o->frame_code + 8u, o->frame_instr + instr_size,
			       o->frame_owner != AS_PY_NONE ? o->frame_owner + 1u : 0};
	unsigned int end = 0;

	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		if (ends[i] > end)
			end = ends[i];
	return end < AS_PY_FRAME_READ ? end : 0;
}

int pylayout__check(const struct py_layout *l, char *why, size_t len)
{
	const struct {
		const char *name;
		__u16 off;
		unsigned int width, room;
	} f[] = {
		{"code filename", l->code_filename, 8, PY_CODE_HEAD},
		{"code name", l->code_name, 8, PY_CODE_HEAD},
		{"code linetable", l->code_linetable, 8, PY_CODE_HEAD},
		{"code firstlineno", l->code_firstlineno, 4, PY_CODE_HEAD},
		{"str state", l->unicode_state, 4, PY_STR_HEAD},
		{"str data", l->unicode_ascii_data, 0, PY_STR_HEAD},
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].off + f[i].width > f[i].room)
			return why__say(-EINVAL, why, len, "%s at %u lies past the %u bytes read",
					f[i].name, f[i].off, f[i].room);
	if (l->code_qualname != AS_PY_NONE && l->code_qualname + 8u > PY_CODE_HEAD)
		return why__say(-EINVAL, why, len,
				"code qualname at %u lies past the %u bytes read", l->code_qualname,
				PY_CODE_HEAD);
	/* the str header read is unicode_ascii_data bytes: length at 16, then state */
	if (l->unicode_ascii_data < 24 || l->unicode_state + 4u > l->unicode_ascii_data)
		return why__say(-EINVAL, why, len,
				"str header of %u bytes lacks its length or state",
				l->unicode_ascii_data);
	if (l->walk.instr_kind > PY_INSTR_POINTER)
		return why__say(-EINVAL, why, len, "unknown instruction kind %u",
				l->walk.instr_kind);
	if (!pylayout__frame_read(&l->walk))
		return why__say(-EINVAL, why, len,
				"frame fields lie past the %d bytes read of a frame",
				AS_PY_FRAME_READ);
	return 0;
}

/* One field of _Py_DebugOffsets and where it goes. */
struct debug_field {
	const char *name; /* as CPython names it */
	__u64 off, size;  /* the offset and its struct's size, from the process */
	unsigned int width;
	__u16 *dst; /* in the layout being built; holds the generated offset before */
};

static int take(const struct debug_field *f, char *why, size_t len)
{
	__u64 known = *f->dst;

	if (f->size > PY_STRUCT_MAX)
		return why__say(-EINVAL, why, len, "%s: struct size %llu is implausible", f->name,
				(unsigned long long)f->size);
	if (f->off >= AS_PY_NONE || f->off + f->width > f->size)
		return why__say(-EINVAL, why, len, "%s = %#llx lies outside its %llu-byte struct",
				f->name, (unsigned long long)f->off, (unsigned long long)f->size);
	if (known != AS_PY_NONE &&
	    (f->off + PY_DEBUG_SLACK < known || f->off > known + PY_DEBUG_SLACK))
		return why__say(-EINVAL, why, len,
				"%s = %#llx is more than %d bytes from %llu, its offset in the "
				"built-in table",
				f->name, (unsigned long long)f->off, PY_DEBUG_SLACK,
				(unsigned long long)known);
	*f->dst = f->off;
	return 0;
}

int pylayout__from_debug(const struct py_debug_offsets *d, int minor, const struct py_layout *known,
			 struct py_layout *out, char *why, size_t len)
{
	struct py_layout l = *known;
	struct py_offsets *w = &l.walk;
	const struct debug_field f[] = {
		{"runtime_state.interpreters_head", d->runtime_interpreters_head, d->runtime_size,
		 8, &l.runtime_interp_head},
		{"interpreter_state.threads_head", d->interp_threads_head, d->interp_size, 8,
		 &w->interp_tstate_head},
		{"thread_state.next", d->tstate_next, d->tstate_size, 8, &w->tstate_next},
		{"thread_state.thread_id", d->tstate_thread_id, d->tstate_size, 8,
		 &w->tstate_thread_id},
		{"thread_state.current_frame", d->tstate_current_frame, d->tstate_size, 8,
		 &w->tstate_frame},
		{"interpreter_frame.previous", d->frame_previous, d->frame_size, 8, &w->frame_back},
		{"interpreter_frame.executable", d->frame_executable, d->frame_size, 8,
		 &w->frame_code},
		{"interpreter_frame.instr_ptr", d->frame_instr_ptr, d->frame_size, 8,
		 &w->frame_instr},
		{"interpreter_frame.owner", d->frame_owner, d->frame_size, 1, &w->frame_owner},
		{"code_object.co_code_adaptive", d->code_adaptive, d->code_size, 1,
		 &w->code_adaptive},
		{"code_object.filename", d->code_filename, d->code_size, 8, &l.code_filename},
		{"code_object.name", d->code_name, d->code_size, 8, &l.code_name},
		{"code_object.qualname", d->code_qualname, d->code_size, 8, &l.code_qualname},
		{"code_object.linetable", d->code_linetable, d->code_size, 8, &l.code_linetable},
		{"code_object.firstlineno", d->code_firstlineno, d->code_size, 4,
		 &l.code_firstlineno},
	};
	int err;

	if (memcmp(d->cookie, "xdebugpy", 8))
		return why__say(-EINVAL, why, len, "no _Py_DebugOffsets at _PyRuntime");
	if ((d->version >> 24) != 3 || (int)((d->version >> 16) & 0xff) != minor)
		return why__say(-EINVAL, why, len, "_Py_DebugOffsets is for version %#llx",
				(unsigned long long)d->version);
	if (d->free_threaded)
		return why__say(-EINVAL, why, len,
				"a free-threaded CPython build, which is not supported");
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		err = take(&f[i], why, len);
		if (err)
			return err;
	}
	w->cframe_frame = AS_PY_NONE;
	err = pylayout__check(&l, why, len);
	if (!err)
		*out = l;
	return err;
}
