/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What a mapping is, from the names of the frames that made it. Pure: names in, kind out. */
#ifndef MAPKIND_H
#define MAPKIND_H

#include <stddef.h>

enum map_kind {
	MAP_KIND_HEAP = 1,  /* not a mapping: a heap site */
	MAP_KIND_SITE,	    /* a mapping charged to its stack */
	MAP_KIND_ALLOCATOR, /* made on the way through an allocator function */
	MAP_KIND_STACK,	    /* a thread stack (pthread_create) */
	MAP_KIND_FAULT,	    /* --mode rss: pages faulted in, not a mapping */
};

/* The kind of a mapping site from the names of its frames (innermost first; NULL names
 * allowed): allocator if any frame is an allocator function or in an allocator library,
 * thread stack if any is pthread_create's. */
enum map_kind mapkind__classify(const char *const *symbols, const char *const *modules, size_t n);

#endif /* MAPKIND_H */
