// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Finding pymalloc at run time, so that a stripped LTO build (Debian's
 * python3.11, where _PyObject_Malloc is a static function without a symbol)
 * works like any other: 3.12+ keep the tables in _PyRuntime (offsets from
 * the headers, user/pyoffsets.c); earlier versions in statics of obmalloc.c
 * that the exported PyMem_GetAllocator copies (user/pymemdecode.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfobj.h"
#include "path.h"
#include "procmem.h"
#include "pyalloc.h"
#include "why.h"
#include "pymemdecode.h"
#include "pyoffsets.h"

#define GETALLOC_BYTES 512 /* PyMem_GetAllocator is some 60-160 bytes */
/* More references to an allocator function than this: calls promoted (fn_refs). */
#define PROMOTED_REFS	  16
#define PROMOTED_SCAN_MAX (256u << 20) /* executable mapping scanned at most */

static __s32 le32(const __u8 *p)
{
	return (__s32)((__u32)p[0] | (__u32)p[1] << 8 | (__u32)p[2] << 16 | (__u32)p[3] << 24);
}

/* PyMemAllocatorEx as the process holds it. */
struct mem_table {
	__u64 ctx;
	__u64 fns[AS_PYOBJ_FNS];
};

_Static_assert(sizeof(struct mem_table) == PYMEM_TABLE_SIZE, "PyMemAllocatorEx");

/* The tables of the raw and object domains, as ELF addresses of o. */
static int find_tables(struct elfobj *o, int minor, __u64 *raw, __u64 *obj)
{
	const struct py_layout *l = pyoffsets__find(3, minor);
	__u8 code[GETALLOC_BYTES];
	struct elf_func f;
	size_t len;
	int err;

	if (!l)
		return -ENOENT;
	if (l->runtime_alloc_obj != AS_PY_NONE) {
		err = elfobj__find_object(o, "_PyRuntime", &f);
		*raw = f.vaddr + l->runtime_alloc_raw;
		*obj = f.vaddr + l->runtime_alloc_obj;
		return err;
	}
	err = elfobj__find_func(o, "PyMem_GetAllocator", &f);
	if (err)
		return err;
	len = f.size && f.size < sizeof(code) ? f.size : sizeof(code);
	err = elfobj__read(o, f.file_off, code, len);
	if (!err)
		err = pymemdecode__table(code, len, f.vaddr, PYMEM_DOMAIN_RAW, raw);
	if (!err)
		err = pymemdecode__table(code, len, f.vaddr, PYMEM_DOMAIN_OBJ, obj);
	return err;
}

/* Reads the table at ELF address vaddr of the file v maps. */
static int read_table(pid_t pid, struct elfobj *o, const struct vma *v, __u64 vaddr, __u64 *addr,
		      struct mem_table *t)
{
	const struct elf_seg *segs;
	size_t n = elfobj__segments(o, &segs);
	__u64 bias;
	int err = elfobj__bias(segs, n, v->start, v->offset, &bias);

	if (err)
		return err;
	*addr = vaddr + bias;
	return procmem__read(pid, *addr, t, sizeof(*t));
}

static const char *const fn_names[AS_PYOBJ_FNS] = {"malloc", "calloc", "realloc", "free"};

/* Each function in an executable mapping of the interpreter's own file. */
static int check_fns(const struct procmaps *maps, const struct vma *v, const struct mem_table *t,
		     struct pyalloc *out, char *why, size_t whylen)
{
	for (size_t i = 0; i < AS_PYOBJ_FNS; i++) {
		const struct vma *at = procmaps__find(maps, t->fns[i]);

		if (!at || !at->exec || !file_id__eq(procmaps__file_id(at), procmaps__file_id(v)))
			return why__say(
				-ENOTSUP, why, whylen,
				"the object allocator's %s (%#llx) is not code of %s but of %s: "
				"replaced by an extension",
				fn_names[i], (unsigned long long)t->fns[i], path_base(v->path),
				at && at->path[0] ? at->path : "no file");
		out->fns[i] = t->fns[i];
		out->file_offs[i] = t->fns[i] - at->start + at->offset;
	}
	return 0;
}

/* Code addresses compared with fn's address, or loaded to be compared:
 * profile-guided builds (Debian's python3.11: 190 of them) promote the hot
 * indirect calls through the table to "if (table.malloc == fn) <fn's code,
 * inlined> else call table.malloc", and the inlined copies never enter fn.
 * Unpromoted builds have a handful (the table initializers, the
 * _PyMem_PymallocEnabled checks). Counted by encodings, not by decoding
 * the whole text: cmp $fn,%r64 (48/49 81 f8+r, 48 3d), cmpq $fn,disp(%rip)
 * (48 81 3d) and lea fn(%rip),%r64 (48/4c 8d, modrm 00 r 101). */
static size_t fn_refs(const __u8 *text, size_t len, __u64 text_vaddr, __u64 fn)
{
	size_t n = 0;

	for (size_t i = 0; i + 7 <= len; i++) {
		const __u8 *p = text + i;
		__u64 at = text_vaddr + i;

		if ((p[0] == 0x48 || p[0] == 0x49) && p[1] == 0x81 && p[2] >= 0xf8 &&
		    (__u32)le32(p + 3) == (__u32)fn && fn < 1ULL << 31)
			n++;
		else if (p[0] == 0x48 && p[1] == 0x3d && (__u32)le32(p + 2) == (__u32)fn &&
			 fn < 1ULL << 31)
			n++;
		else if (p[0] == 0x48 && p[1] == 0x81 && p[2] == 0x3d && i + 11 <= len &&
			 (__u32)le32(p + 7) == (__u32)fn && fn < 1ULL << 31)
			n++;
		else if ((p[0] == 0x48 || p[0] == 0x4c) && p[1] == 0x8d && (p[2] & 0xc7) == 0x05 &&
			 at + 7 + le32(p + 3) == fn)
			n++;
	}
	return n;
}

/* The most references fn_refs() finds to any of the functions in the
 * executable mapping v of the file o. */
static size_t most_refs(struct elfobj *o, const struct vma *v, const struct pyalloc *pa)
{
	size_t len = v->end - v->start, most = 0;
	__u64 text_vaddr, fn;
	__u8 *text;

	if (len > PROMOTED_SCAN_MAX || elfobj__vaddr_of_offset(o, v->offset, &text_vaddr))
		return 0;
	text = malloc(len);
	if (!text)
		return 0;
	/* The file may end inside the last page of its mapping. */
	while (len && elfobj__read(o, v->offset, text, len))
		len = len > 4096 ? (len - 1) / 4096 * 4096 : 0;
	for (size_t i = 0; i < AS_PYOBJ_FNS && len; i++) {
		size_t n;

		if (elfobj__vaddr_of_offset(o, pa->file_offs[i], &fn))
			continue;
		n = fn_refs(text, len, text_vaddr, fn);
		most = n > most ? n : most;
	}
	free(text);
	return most;
}

int pyalloc__find(pid_t pid, const struct procmaps *maps, const struct vma *v, int fd, int minor,
		  struct pyalloc *out, char *why, size_t whylen)
{
	int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	struct mem_table raw, obj;
	struct elfobj *o = NULL;
	__u64 raw_at, obj_at, raw_addr;
	size_t refs;
	int err;

	memset(out, 0, sizeof(*out));
	if (own < 0)
		return -errno;
	o = elfobj__open_fd(own);
	if (!o)
		return -errno;
	err = find_tables(o, minor, &raw_at, &obj_at);
	if (err) {
		err = why__say(-ENOTSUP, why, whylen,
			       "cannot find the allocator tables of CPython 3.%d in %s", minor,
			       v->path);
		goto cleanup;
	}
	err = read_table(pid, o, v, raw_at, &raw_addr, &raw);
	if (!err)
		err = read_table(pid, o, v, obj_at, &out->table, &obj);
	if (err)
		goto cleanup;
	/* pymalloc has no context; the hooks that wrap it keep the wrapped
	 * table there (debug builds, PYTHONMALLOC=debug, tracemalloc). */
	if (obj.ctx) {
		err = why__say(-ENOTSUP, why, whylen,
			       "its object allocator is wrapped by a hook (a debug build, "
			       "PYTHONMALLOC=debug or tracemalloc): not probed");
		goto cleanup;
	}
	if (obj.fns[0] == raw.fns[0]) {
		why__say(
			-ENOTSUP, why, whylen,
			"its objects go to the C allocator (PYTHONMALLOC=malloc), whose probes see "
			"them already");
		err = -EALREADY;
		goto cleanup;
	}
	err = check_fns(maps, v, &obj, out, why, whylen);
	if (!err && (refs = most_refs(o, v, out)) > PROMOTED_REFS)
		out->promoted = refs;
cleanup:
	elfobj__close(o);
	return err;
}
