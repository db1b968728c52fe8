/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Python names as allocscope keeps them: each one capped at PYNAME_MAX bytes
 * of UTF-8, and all of them interned in one pool with a memory budget, so
 * what a target puts in its code objects cannot grow allocscope unbounded. */
#ifndef PYNAME_H
#define PYNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define PYNAME_MAX  256	  /* bytes of UTF-8 a name keeps, the marker included */
#define PYNAME_MARK "..." /* ends a name that was cut */
/* Characters of a str worth reading: each is at least one byte of UTF-8. */
#define PYNAME_CHARS PYNAME_MAX

/* n code units of width 1, 2 or 4 (a compact str's data) as UTF-8 in out,
 * NUL-terminated; its length. When they do not fit PYNAME_MAX bytes, or when
 * more is set (the str goes on past them), the name is cut at a character
 * boundary and ends with PYNAME_MARK. Units that are no Unicode scalar value
 * (surrogates, above U+10FFFF) become U+FFFD. */
size_t pyname__utf8(char out[PYNAME_MAX + 1], const void *data, size_t n, unsigned int width,
		    bool more);

struct pynames;

/* A pool that holds at most budget bytes of names (their bookkeeping
 * counted). NULL and errno on failure. */
struct pynames *pynames__new(size_t budget);
void pynames__free(struct pynames *p);

/* The pool's copy of s (equal names share one, living as long as the pool),
 * or NULL when keeping it would pass the budget or memory ran out. */
const char *pynames__intern(struct pynames *p, const char *s);

struct pynames_stats {
	size_t names, bytes; /* kept, and the bytes counted against the budget */
	__u64 refused;	     /* interns that found the pool full */
};
void pynames__stats(const struct pynames *p, struct pynames_stats *out);

#endif /* PYNAME_H */
