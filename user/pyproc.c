// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "elfobj.h"
#include "mapfile.h"
#include "procmem.h"
#include "pydecode.h"
#include "pylayout.h"
#include "pyproc.h"
#include "why.h"
#include "path.h"

#define CODE_BYTES 96 /* enough for each decoded function's lookup */

/* One ELF file as mapped in the process. */
struct mapped_elf {
	struct elfobj *o;
	__u64 bias; /* process address - ELF address */
};

static int open_mapped(pid_t pid, const struct vma *v, struct mapped_elf *out)
{
	const struct elf_seg *segs;
	struct file_id id;
	size_t n;
	int fd;

	/* The very file mapped, not whatever its path names now (mapfile.h). */
	fd = mapfile__open(pid, v, &id);
	if (fd < 0)
		return fd;
	out->o = elfobj__open_fd(fd);
	if (!out->o)
		return -errno;
	n = elfobj__segments(out->o, &segs);
	if (!elfobj__bias(segs, n, v->start, v->offset, &out->bias))
		return 0;
	elfobj__close(out->o);
	out->o = NULL;
	return -ENOEXEC;
}

/* via_slot: a GOT slot, which in these functions holds &_PyRuntime. The
 * symbol is used when known: a process caught while starting may not have
 * relocated the slot yet. */
static __u64 resolve(pid_t pid, const struct mapped_elf *m, const struct x86_ref *r, __u64 runtime)
{
	__u64 at = r->vaddr + m->bias;

	if (r->via_slot)
		at = runtime ? runtime : procmem__ptr(pid, at);
	return at ? at + r->disp : 0;
}

/* The code of function name, read from the file. */
static int read_code(struct mapped_elf *m, const char *name, __u8 *buf, __u64 *vaddr)
{
	struct elf_func f;
	int err = elfobj__find_func(m->o, name, &f);

	if (err)
		return err;
	*vaddr = f.vaddr;
	return elfobj__read(m->o, f.file_off, buf, CODE_BYTES);
}

/* "python3.11", "libpython3.6m.so.1.0", "python3.13t": version and the
 * free-threaded suffix. */
static bool version_from_name(const char *name, int *major, int *minor, bool *threaded)
{
	const char *p = strstr(name, "python");
	char *end;

	if (!p || p[6] < '0' || p[6] > '9')
		return false;
	*major = strtol(p + 6, &end, 10);
	if (*end != '.')
		return false;
	*minor = strtol(end + 1, &end, 10);
	*threaded = *end == 't';
	return true;
}

static int read_version(struct mapped_elf *m, const char *path, struct pyproc *out, char *why,
			size_t len)
{
	struct elf_func sym;
	bool threaded = false;
	__u32 hex;

	/* Py_Version (3.11+) is PY_VERSION_HEX, whatever the file is called. */
	if (!elfobj__find_object(m->o, "Py_Version", &sym) &&
	    !elfobj__read(m->o, sym.file_off, &hex, sizeof(hex))) {
		out->major = hex >> 24;
		out->minor = (hex >> 16) & 0xff;
		version_from_name(path_base(path), &(int){0}, &(int){0}, &threaded);
	} else if (!version_from_name(path_base(path), &out->major, &out->minor, &threaded)) {
		return why__say(-ENOTSUP, why, len, "cannot tell the CPython version of %s", path);
	}
	if (threaded)
		return why__say(-ENOTSUP, why, len,
				"%s is a free-threaded CPython build, which is not supported",
				path);
	return 0;
}

/* 3.13+: the interpreter describes its own layout, in memory it can write:
 * a layout that fails the checks is refused, never trusted. */
static int apply_debug_offsets(pid_t pid, __u64 runtime, struct pyproc *out, char *why, size_t len)
{
	struct py_debug_offsets d;
	char reason[160];

	if (!runtime || procmem__read(pid, runtime, &d, sizeof(d)))
		return why__say(-ENOTSUP, why, len, "%s: no _Py_DebugOffsets at _PyRuntime",
				out->path);
	if (pylayout__from_debug(&d, out->minor, &out->layout, &out->layout, reason,
				 sizeof(reason)))
		return why__say(-ENOTSUP, why, len,
				"%s: _Py_DebugOffsets refused (%s): Python frames off", out->path,
				reason);
	return 0;
}

/* glibc's slot of a pthread key, from the process's own libc. */
static void find_tsd(pid_t pid, const struct procmaps *maps, struct py_proc *bpf)
{
	for (size_t i = 0; i < maps->nr && !bpf->tsd_base; i++) {
		const struct vma *v = &maps->vmas[i];
		const char *name = path_base(v->path);
		struct mapped_elf m;
		__u8 code[CODE_BYTES];
		__u64 vaddr;

		if (!v->exec || (strncmp(name, "libc.so", 7) && strncmp(name, "libc-2", 6) &&
				 strncmp(name, "libpthread", 10)))
			continue;
		if (open_mapped(pid, v, &m))
			continue;
		if (!read_code(&m, "pthread_getspecific", code, &vaddr) &&
		    pydecode__tsd(code, sizeof(code), &bpf->tsd_base, &bpf->tsd_keys))
			bpf->tsd_base = 0;
		elfobj__close(m.o);
	}
}

/* The mapping of the file defining the eval loop, opened. */
static int find_interpreter(pid_t pid, const struct procmaps *maps, struct mapped_elf *m,
			    struct elf_func *eval, const struct vma **where)
{
	char exe[PATH_MAX], link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	for (size_t i = 0; i < maps->nr; i++) {
		const struct vma *v = &maps->vmas[i];

		if (!v->exec || v->path[0] != '/')
			continue;
		if (strncmp(path_base(v->path), "libpython", 9) && strcmp(v->path, exe))
			continue;
		if (open_mapped(pid, v, m))
			continue;
		if (!elfobj__find_func(m->o, "_PyEval_EvalFrameDefault", eval)) {
			*where = v;
			return 0;
		}
		elfobj__close(m->o);
	}
	return -ENOENT;
}

int pyproc__inspect(pid_t pid, const struct procmaps *maps, struct pyproc *out, char *why,
		    size_t whylen)
{
	struct mapped_elf m = {};
	struct elf_func eval, sym;
	const struct py_layout *known;
	const struct vma *v;
	struct x86_ref ref;
	__u8 code[CODE_BYTES];
	__u64 vaddr, runtime = 0;
	char reason[160];
	int err;

	memset(out, 0, sizeof(*out));
	err = find_interpreter(pid, maps, &m, &eval, &v);
	if (err)
		return err;
	snprintf(out->path, sizeof(out->path), "%s", v->path);
	out->module = procmaps__file_id(v);
	err = read_version(&m, v->path, out, why, whylen);
	if (err)
		goto cleanup;
	known = pyoffsets__find(out->major, out->minor);
	if (!known) {
		err = why__say(-ENOTSUP, why, whylen,
			       "CPython %d.%d (%s) is not supported: 3.6 to 3.13 are", out->major,
			       out->minor, v->path);
		goto cleanup;
	}
	out->layout = *known;
	if (!elfobj__find_object(m.o, "_PyRuntime", &sym))
		runtime = sym.vaddr + m.bias;
	if (out->minor >= 13) {
		err = apply_debug_offsets(pid, runtime, out, why, whylen);
		if (err)
			goto cleanup;
	}
	out->bpf.off = out->layout.walk;
	out->bpf.off.frame_read = pylayout__frame_read(&out->bpf.off);
	if (pylayout__check(&out->layout, reason, sizeof(reason))) {
		err = why__say(-ENOTSUP, why, whylen, "%s: CPython %d.%d layout refused (%s)",
			       v->path, out->major, out->minor, reason);
		goto cleanup;
	}
	out->bpf.eval_start = eval.vaddr + m.bias;
	out->bpf.eval_end = eval.vaddr + eval.size + m.bias;
	out->bpf.text_start = v->start;
	out->bpf.text_end = v->end;
	if (!read_code(&m, "PyGILState_GetThisThreadState", code, &vaddr) &&
	    !pydecode__tss_key(code, sizeof(code), vaddr, &ref))
		out->bpf.key_addr = resolve(pid, &m, &ref, runtime);
	if (!read_code(&m, "PyInterpreterState_Head", code, &vaddr) &&
	    !pydecode__interp_head(code, sizeof(code), vaddr, &ref))
		out->bpf.interp_head = resolve(pid, &m, &ref, runtime);
	if (!elfobj__find_object(m.o, "PyCode_Type", &sym))
		out->code_type = sym.vaddr + m.bias;
	/* Exported by every build (extensions link against it), stripped or not. */
	if (!elfobj__find_object(m.o, "PyType_Type", &sym))
		out->type_type = sym.vaddr + m.bias;
	if (out->bpf.key_addr)
		find_tsd(pid, maps, &out->bpf);
	if (!out->bpf.tsd_base && !out->bpf.interp_head) {
		err = why__say(-ENOTSUP, why, whylen,
			       "%s: cannot find how CPython %d.%d keeps its thread states", v->path,
			       out->major, out->minor);
		goto cleanup;
	}
cleanup:
	elfobj__close(m.o);
	return err;
}
