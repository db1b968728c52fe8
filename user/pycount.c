// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The census's counts by type name and its report rows: growth by name against earlier
 * censuses (a type's address may be reused, its name is what the reader sees). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "pycount.h"

#pragma GCC poison u8 u16 u32 u64 s8 s16 s32 s64

void pycounts__free(struct pycounts *s)
{
	for (size_t i = 0; i < s->nr; i++)
		free(s->v[i].name);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

int pycounts__add(struct pycounts *s, const char *name, __u64 objects, __u64 bytes)
{
	struct pycount *g = array_grow(s->v, &s->cap, s->nr + 1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	s->v = g;
	s->v[s->nr] = (struct pycount){strdup(name), objects, bytes};
	if (!s->v[s->nr].name)
		return -ENOMEM;
	s->nr++;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct pycount *)a)->name, ((const struct pycount *)b)->name);
}

void pycounts__merge(struct pycounts *s)
{
	size_t k = 0;

	if (!s->nr)
		return;
	qsort(s->v, s->nr, sizeof(*s->v), cmp_name);
	for (size_t i = 1; i < s->nr; i++) {
		if (!strcmp(s->v[i].name, s->v[k].name)) {
			s->v[k].objects += s->v[i].objects;
			s->v[k].bytes += s->v[i].bytes;
			free(s->v[i].name);
		} else {
			s->v[++k] = s->v[i];
		}
	}
	s->nr = k + 1;
}

int pycounts__copy(struct pycounts *dst, const struct pycounts *src)
{
	int err = 0;

	pycounts__free(dst);
	for (size_t i = 0; i < src->nr && !err; i++)
		err = pycounts__add(dst, src->v[i].name, src->v[i].objects, src->v[i].bytes);
	return err;
}

static const struct pycount *find(const struct pycounts *s, const char *name)
{
	struct pycount key = {.name = (char *)name};

	return s->nr ? bsearch(&key, s->v, s->nr, sizeof(*s->v), cmp_name) : NULL;
}

static int cmp_row_bytes(const void *a, const void *b)
{
	const struct report_pytype *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strcmp(x->type, y->type);
}

static void fill(struct report_pytype *r, __u32 pid, const char *name, __u64 objects, __u64 bytes,
		 const struct pycounts *prev, const struct pycounts *start)
{
	const struct pycount *p = find(prev, name), *s = find(start, name);

	*r = (struct report_pytype){.pid = pid, .type = name, .objects = objects, .bytes = bytes};
	if (prev->nr) {
		r->growth_objects = (__s64)objects - (__s64)(p ? p->objects : 0);
		r->growth_bytes = (__s64)bytes - (__s64)(p ? p->bytes : 0);
	}
	if (start->nr) {
		r->start_objects = (__s64)objects - (__s64)(s ? s->objects : 0);
		r->start_bytes = (__s64)bytes - (__s64)(s ? s->bytes : 0);
	}
}

int pycounts__rows(__u32 pid, const struct pycounts *now, const struct pycounts *prev,
		   const struct pycounts *start, unsigned int top, char *other, size_t otherlen,
		   struct report_pytype **rows, size_t *nrows, size_t *cap)
{
	size_t first = *nrows, n;
	struct report_pytype *r =
		array_grow(*rows, cap, *nrows + now->nr + prev->nr + 1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	*rows = r;
	for (size_t i = 0; i < now->nr; i++)
		fill(&r[(*nrows)++], pid, now->v[i].name, now->v[i].objects, now->v[i].bytes, prev,
		     start);
	/* Gone since the previous census: its growth is all its objects, negative. */
	for (size_t i = 0; i < prev->nr; i++)
		if (!find(now, prev->v[i].name))
			fill(&r[(*nrows)++], pid, prev->v[i].name, 0, 0, prev, start);
	n = *nrows - first;
	qsort(r + first, n, sizeof(*r), cmp_row_bytes);
	if (n > top) {
		struct report_pytype *rest = &r[first + top];

		for (size_t i = first + top + 1; i < *nrows; i++) {
			rest->objects += r[i].objects;
			rest->bytes += r[i].bytes;
			rest->growth_objects += r[i].growth_objects;
			rest->growth_bytes += r[i].growth_bytes;
			rest->start_objects += r[i].start_objects;
			rest->start_bytes += r[i].start_bytes;
		}
		snprintf(other, otherlen, "(%zu other types)", n - top);
		rest->type = other;
		*nrows = first + top + 1;
	}
	return 0;
}
