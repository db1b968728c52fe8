// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Row keys: 64-bit hashes of symbolized stacks (names, not addresses, so that
 * processes with other address layouts agree), and their per-report cache. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "rowkey.h"

static __u64 mix(__u64 h, __u64 v)
{
	h ^= v;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 31);
}

static __u64 mix_text(__u64 h, const char *s)
{
	while (s && *s)
		h = mix(h, (unsigned char)*s++);
	return mix(h, 0);
}

/* A native frame: its name and offset, or where no symbol covers it, its
 * module and address (which only processes sharing the layout agree on). */
static __u64 mix_native(__u64 h, const struct sym_frame *f)
{
	h = mix_text(h, f->module);
	if (!f->symbol || !strcmp(f->symbol, "[unknown]"))
		return mix(h, f->addr);
	h = mix_text(h, f->symbol);
	return mix(h, f->offset);
}

/* A Python frame by its file, function and line; one that could not be
 * named (file "?") by its word, so that unnamed frames never merge. */
static __u64 mix_python(__u64 h, const struct sym_frame *f)
{
	if (!strcmp(f->file, "?"))
		return mix(h, f->addr);
	h = mix_text(h, f->file);
	h = mix_text(h, f->symbol);
	return mix(h, (__u64)f->line);
}

static __u64 nonzero(__u64 h)
{
	return h ? h : 1;
}

__u64 rowkey__stack(const struct sym_frame *frames, size_t n, __u32 cut)
{
	__u64 h = 0x9e3779b97f4a7c15ULL;
	bool python = false;
	size_t i;

	for (i = 1; i < n && !python; i++)
		python = rowkey__python(&frames[i]);
	h = mix(h, python);
	if (n)
		h = mix_native(h, &frames[0]);
	for (i = 1; i < n; i++) {
		if (rowkey__python(&frames[i]))
			h = mix_python(h, &frames[i]);
		else if (!python)
			h = mix_native(h, &frames[i]);
	}
	if (!python)
		h = mix(h, cut);
	return nonzero(h);
}

__u64 rowkey__native(const struct sym_frame *frames, size_t n)
{
	__u64 h = 0x243f6a8885a308d3ULL;

	for (size_t i = 1; i < n; i++)
		if (!rowkey__python(&frames[i]))
			h = mix_native(h, &frames[i]);
	return nonzero(h);
}

__u64 rowkey__of_pid(__u64 key, __u32 pid)
{
	return nonzero(mix(key, 0x100000000ULL | pid));
}

static int cmp_entry(const void *a, const void *b)
{
	const struct rowkey_entry *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

bool rowkey__lookup(const struct rowkey_cache *c, __u32 pid, __u64 stack_id, __u64 *key)
{
	struct rowkey_entry want = {.pid = pid, .stack_id = stack_id};
	const struct rowkey_entry *e;

	if (!c->nold)
		return false;
	e = bsearch(&want, c->old, c->nold, sizeof(*c->old), cmp_entry);
	if (e)
		*key = e->key;
	return e;
}

int rowkey__keep(struct rowkey_cache *c, __u32 pid, __u64 stack_id, __u64 key)
{
	struct rowkey_entry *grown;

	grown = array_grow(c->cur, &c->cur_cap, c->ncur + 1, sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	c->cur = grown;
	c->cur[c->ncur++] = (struct rowkey_entry){.stack_id = stack_id, .key = key, .pid = pid};
	return 0;
}

void rowkey__next(struct rowkey_cache *c)
{
	free(c->old);
	if (c->ncur)
		qsort(c->cur, c->ncur, sizeof(*c->cur), cmp_entry);
	c->old = c->cur;
	c->nold = c->ncur;
	c->cur = NULL;
	c->ncur = c->cur_cap = 0;
}

void rowkey__free(struct rowkey_cache *c)
{
	free(c->old);
	free(c->cur);
	memset(c, 0, sizeof(*c));
}
