/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The order in which ld.so searches a process's objects for a symbol: its
 * link map, read from the target's memory (bounded and validated). */
#ifndef LINKMAP_H
#define LINKMAP_H

#include <stddef.h>
#include <sys/types.h>

#include "procmaps.h"

/* Link-map entries read at most (a loop in the list ends here too). */
#define LINKMAP_MAX 4096

/* The files of pid's link map in its order: the executable, LD_PRELOAD
 * objects, DT_NEEDED libraries breadth-first, then dlopen'd ones; the
 * global symbol lookup takes the first definition in this order. Each
 * entry is placed by its dynamic section's address in maps (the target's
 * word for a name is not trusted); entries outside every file mapping
 * (the vDSO) and repeats are skipped. ids has room for max; *n gets the
 * count. 0, -ENOENT when pid has no link map (a static executable, or
 * ld.so has not set it up yet), -EINVAL for a malformed one, or -errno. */
int linkmap__order(pid_t pid, const struct procmaps *maps, struct file_id *ids, size_t max,
		   size_t *n);

/* What the kernel told pid at exec (/proc/PID/auxv): its program headers
 * (AT_PHDR, AT_PHNUM) and its interpreter's base (AT_BASE, 0 without one);
 * 0 where absent. 0 or -errno. */
struct linkmap_auxv {
	__u64 phdr, phnum, base;
};
int linkmap__auxv(pid_t pid, struct linkmap_auxv *out);

/* The position of id in ids[0..n), or n when it is not there. */
size_t linkmap__index(const struct file_id *ids, size_t n, struct file_id id);

#endif /* LINKMAP_H */
