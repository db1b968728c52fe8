/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Source file and line of a code address, from the DWARF line table of an
 * ELF file (the mapped file itself or its separate debug file), via libdw. */
#ifndef SRCLINE_H
#define SRCLINE_H

#include <linux/types.h>

struct elfobj;
struct srcline;

/* What one file's debug sections may cost once inflated: libdw reads each
 * whole (libc's take 12 MiB, a large C++ library's several hundred). */
#define SRCLINE_MAX_DEBUG (256u << 20)

/* Takes o (closed with the result, or on failure). NULL and errno set:
 * ENOENT when o has no line table, EFBIG beyond SRCLINE_MAX_DEBUG. */
struct srcline *srcline__open(struct elfobj *o);
void srcline__free(struct srcline *l);

/* The line table's row for ELF address vaddr. *file is the path as the
 * compiler recorded it, valid until srcline__free. 0 or -ENOENT. */
int srcline__find(struct srcline *l, __u64 vaddr, const char **file, int *line);

#endif /* SRCLINE_H */
