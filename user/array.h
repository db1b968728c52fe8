/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Growing heap arrays: the one helper every module uses to make room. */
#ifndef ARRAY_H
#define ARRAY_H

#include <stdlib.h>

/* buf with room for need (>= 1) elements of elem bytes (maybe moved;
 * capacity doubles from 16), or NULL with buf and *cap intact. */
static inline void *array_grow(void *buf, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 16;
	void *nb;

	if (need <= *cap)
		return buf;
	while (ncap < need)
		ncap *= 2;
	nb = realloc(buf, ncap * elem);
	if (nb)
		*cap = ncap;
	return nb;
}

#endif /* ARRAY_H */
