/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The types of a CPython process's objects, for the heap census: a block's object named by
 * its ob_type, checked to be a type object whose flags put the object where it was found,
 * each type read once per census. Reads go through a callback (user/census.c: the process;
 * tests: crafted memory). */
#ifndef PYTYPE_H
#define PYTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "pyoffsets.h"

#define PYTYPE_NAME_MAX 96 /* bytes of tp_name kept */

struct pytype {
	__u64 addr;
	__u8 state;   /* 0 empty slot, 1 a type, 2 not one */
	bool dict;    /* dict or a subclass: its tables are charged to it */
	__u32 offset; /* of the object in its block: GC header, pre-header */
	__u64 flags;
	__u64 objects, bytes; /* counted by the census */
	char name[PYTYPE_NAME_MAX];
};

struct pytype_source {
	/* len bytes at addr: 0 or -errno */
	int (*read)(void *ctx, __u64 addr, void *buf, size_t len);
	/* false: addr holds no type (inside a pool, unmapped), refused without a read */
	bool (*may_be_type)(void *ctx, __u64 addr);
	void *ctx;
};

struct pytypes {
	struct pytype *v; /* open addressing by address; cap a power of two */
	size_t cap, n;
	const struct py_heap_layout *h;
	__u64 type_type; /* &PyType_Type in the process */
	struct pytype_source src;
};

/* Empties the cache for a census of a process of layout h. */
void pytypes__reset(struct pytypes *t, const struct py_heap_layout *h, __u64 type_type,
		    const struct pytype_source *src);
void pytypes__free(struct pytypes *t);

/* The type object at addr, or NULL when it is none: its type is PyType_Type or a metatype
 * (flagged TYPE_SUBCLASS, itself a type), and tp_name is a NUL-terminated name (kept made
 * safe for a terminal). */
struct pytype *pytypes__lookup(struct pytypes *t, __u64 addr);

/* The type of the object in a block (len bytes of it at b), trying the header offsets from
 * *hint first (then left at the one that matched): a type whose flags put its object at the
 * offset tried. NULL for a block with no object header. */
struct pytype *pytypes__classify(struct pytypes *t, const __u8 *b, size_t len, __u32 *hint);

#endif /* PYTYPE_H */
