// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* String interning: open addressing on an FNV-1a hash, doubling at half full. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "strpool.h"

static __u64 hash_str(const char *s, size_t len)
{
	__u64 h = 14695981039346656037ULL; /* FNV-1a */

	while (len--)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static int strpool__grow(struct strpool *p)
{
	size_t ncap = p->cap ? p->cap * 2 : 256, i, j;
	char **ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (i = 0; i < p->cap; i++) {
		if (!p->slots[i])
			continue;
		j = hash_str(p->slots[i], strlen(p->slots[i])) & (ncap - 1);
		while (ns[j])
			j = (j + 1) & (ncap - 1);
		ns[j] = p->slots[i];
	}
	free(p->slots);
	p->slots = ns;
	p->cap = ncap;
	return 0;
}

const char *strpool__intern(struct strpool *p, const char *s, size_t len)
{
	size_t i;

	if (2 * (p->nr + 1) > p->cap && strpool__grow(p))
		return NULL;
	for (i = hash_str(s, len) & (p->cap - 1); p->slots[i]; i = (i + 1) & (p->cap - 1)) {
		if (!strncmp(p->slots[i], s, len) && !p->slots[i][len])
			return p->slots[i];
	}
	p->slots[i] = strndup(s, len);
	if (!p->slots[i])
		return NULL;
	p->nr++;
	return p->slots[i];
}

void strpool__free(struct strpool *p)
{
	size_t i;

	for (i = 0; i < p->cap; i++)
		free(p->slots[i]);
	free(p->slots);
}
