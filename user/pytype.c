// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Type objects of a CPython process, validated and cached by address for one census. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pypool.h"
#include "pytype.h"
#include "textsafe.h"

#pragma GCC poison u8 u16 u32 u64 s8 s16 s32 s64

#define TYPE_BYTES 256 /* room for a type object up to tp_flags (168 in 3.6-3.13) */
#define META_DEPTH 4   /* metatypes of metatypes followed at most */

static __u64 word(const __u8 *p, size_t off)
{
	__u64 v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

void pytypes__reset(struct pytypes *t, const struct py_heap_layout *h, __u64 type_type,
		    const struct pytype_source *src)
{
	if (t->v)
		memset(t->v, 0, t->cap * sizeof(*t->v));
	t->n = 0;
	t->h = h;
	t->type_type = type_type;
	t->src = *src;
}

void pytypes__free(struct pytypes *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static struct pytype *slot_of(struct pytypes *t, __u64 addr)
{
	size_t mask = t->cap - 1, i = (addr * 0x9E3779B97F4A7C15ULL >> 20) & mask;

	while (t->v[i].state && t->v[i].addr != addr)
		i = (i + 1) & mask;
	return &t->v[i];
}

static int grow(struct pytypes *t)
{
	struct pytype *old = t->v;
	size_t oldcap = t->cap;

	t->cap = oldcap ? oldcap * 2 : 1024;
	t->v = calloc(t->cap, sizeof(*t->v));
	if (!t->v) {
		t->v = old;
		t->cap = oldcap;
		return -ENOMEM;
	}
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].state)
			*slot_of(t, old[i].addr) = old[i];
	free(old);
	return 0;
}

/* tp_name, bounded: a name running past its page is read up to the page's end; one with
 * no NUL in PYTYPE_NAME_MAX bytes is refused. */
static bool read_name(struct pytypes *t, __u64 at, char *out)
{
	char raw[PYTYPE_NAME_MAX];
	size_t len = sizeof(raw);
	__u64 page_end = (at | 4095) + 1;

	if (!at)
		return false;
	if (at + len > page_end && t->src.read(t->src.ctx, at, raw, len))
		len = page_end - at;
	if (t->src.read(t->src.ctx, at, raw, len) || !memchr(raw, '\0', len) || !raw[0])
		return false;
	textsafe__copy(out, PYTYPE_NAME_MAX, raw);
	return true;
}

static struct pytype *lookup(struct pytypes *t, __u64 addr, int depth);

/* Fills n from the type object at n->addr; false when it is none. */
static bool read_type(struct pytypes *t, struct pytype *n, int depth)
{
	const struct py_heap_layout *h = t->h;
	const struct pytype *meta;
	__u8 raw[TYPE_BYTES];
	__u64 mt, basicsize;

	/* Up to tp_flags only: a static type may end its mapping. */
	if ((size_t)h->tp_flags + 8 > sizeof(raw) ||
	    t->src.read(t->src.ctx, n->addr, raw, (size_t)h->tp_flags + 8))
		return false;
	n->flags = word(raw, h->tp_flags);
	basicsize = word(raw, h->tp_basicsize);
	if (!basicsize || basicsize > (1u << 20))
		return false;
	mt = word(raw, h->ob_type);
	if (mt != t->type_type) {
		if (depth >= META_DEPTH || mt == n->addr)
			return false;
		meta = lookup(t, mt, depth + 1);
		if (!meta || !(meta->flags & h->flag_type_subclass))
			return false;
	}
	n->offset = pypool__object_offset(h, n->flags);
	n->dict = n->flags & h->flag_dict_subclass;
	return read_name(t, word(raw, h->tp_name), n->name);
}

static struct pytype *lookup(struct pytypes *t, __u64 addr, int depth)
{
	struct pytype *s;

	if (!addr || addr & 7)
		return NULL;
	if (t->cap) {
		s = slot_of(t, addr);
		if (s->state)
			return s->state == 1 ? s : NULL;
	}
	if (t->src.may_be_type && !t->src.may_be_type(t->src.ctx, addr))
		return NULL;
	if ((t->n + 1) * 2 > t->cap && grow(t))
		return NULL;
	s = slot_of(t, addr);
	if (!s->state) {
		struct pytype n = {.addr = addr, .state = 2};

		/* Refused until proven: a metatype loop ends here. Filled apart: a
		 * metatype's lookup may grow the table. */
		*s = n;
		t->n++;
		if (read_type(t, &n, depth))
			n.state = 1;
		s = slot_of(t, addr);
		*s = n;
	}
	return s->state == 1 ? s : NULL;
}

struct pytype *pytypes__lookup(struct pytypes *t, __u64 addr)
{
	return lookup(t, addr, 0);
}

struct pytype *pytypes__classify(struct pytypes *t, const __u8 *b, size_t len, __u32 *hint)
{
	__u32 offs[5], n;
	struct pytype *p;

	offs[0] = *hint;
	n = 1 + pypool__candidates(t->h, offs + 1);
	for (__u32 i = 0; i < n; i++) {
		__u32 off = offs[i];

		if ((i && off == *hint) || off + t->h->ob_type + 8 > len)
			continue;
		/* Not tp_basicsize: a compact str is smaller than str's. */
		p = lookup(t, word(b, off + t->h->ob_type), 0);
		if (p && p->offset == off) {
			*hint = off;
			return p;
		}
	}
	return NULL;
}
