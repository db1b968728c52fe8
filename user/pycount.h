/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A Python heap census by type name, and the rows a report shows of it: growth against
 * the previous census and the first, the largest types by bytes, the rest summed. Pure
 * logic (user/census.c reads the process). */
#ifndef PYCOUNT_H
#define PYCOUNT_H

#include <stddef.h>
#include <linux/types.h>

#include "report.h"

struct pycount {
	char *name;
	__u64 objects, bytes;
};

struct pycounts {
	struct pycount *v; /* sorted by name once pycounts__merge ran */
	size_t nr, cap;
};

void pycounts__free(struct pycounts *s);
/* Appends a copy of name with its counts. 0 or -ENOMEM. */
int pycounts__add(struct pycounts *s, const char *name, __u64 objects, __u64 bytes);
/* Sorts by name; entries of one name (two classes Node of two modules) become one. */
void pycounts__merge(struct pycounts *s);
/* A copy of src into dst (emptied first). 0 or -ENOMEM. */
int pycounts__copy(struct pycounts *dst, const struct pycounts *src);

/* The rows of pid's census now (merged), appended to *rows (*nrows of *cap): growth since
 * prev and since start (each empty when there is none: growth 0), a type prev had and now
 * lacks included with 0 objects; largest bytes first, rows past top summed in one named
 * other ("(N other types)", written there). Row names point into now, prev or other.
 * 0 or -ENOMEM. */
int pycounts__rows(__u32 pid, const struct pycounts *now, const struct pycounts *prev,
		   const struct pycounts *start, unsigned int top, char *other, size_t otherlen,
		   struct report_pytype **rows, size_t *nrows, size_t *cap);

#endif /* PYCOUNT_H */
