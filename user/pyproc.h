/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Finds CPython in a process (the executable or a mapped libpython3.X),
 * tells its version and gathers what the BPF walk needs to find the running
 * thread's frames: the thread-state key, the interpreter list, glibc's key
 * slots, the eval loop's address range and the struct offsets. */
#ifndef PYPROC_H
#define PYPROC_H

#include <limits.h>
#include <sys/types.h>
#include <linux/types.h>
#include "allocscope.h"
#include "procmaps.h"
#include "pyoffsets.h"

struct pyproc {
	int major, minor;
	struct py_layout layout; /* 3.13+: from the process's own _Py_DebugOffsets */
	struct py_proc bpf;	 /* the py_procs value */
	__u64 code_type; /* &PyCode_Type in the process: code objects are checked against it */
	__u64 type_type; /* &PyType_Type: the heap census checks every type against it */
	struct file_id module; /* the file holding the interpreter: its frames are replaced */
	char path[PATH_MAX];   /* that file, as mapped */
};

/* 0 when pid runs a supported CPython, with out filled; -ENOENT when it runs
 * none; another -errno when it runs one allocscope cannot follow, with the
 * reason written to why (e.g. a free-threaded build). */
int pyproc__inspect(pid_t pid, const struct procmaps *maps, struct pyproc *out, char *why,
		    size_t whylen);

#endif /* PYPROC_H */
