/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Interned strings: one copy of each name the symbolizer hands out (modules,
 * paths, build-ids, JIT and source file names), valid until the pool is freed. */
#ifndef STRPOOL_H
#define STRPOOL_H

#include <stddef.h>

/* Names must outlive the snapshots and tables they came from. */
struct strpool {
	char **slots; /* open addressing, cap is a power of two */
	size_t cap;
	size_t nr;
};

/* The pooled copy of s[0..len), or NULL when out of memory. */
const char *strpool__intern(struct strpool *p, const char *s, size_t len);
void strpool__free(struct strpool *p);

#endif /* STRPOOL_H */
