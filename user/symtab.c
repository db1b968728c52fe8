// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One ELF file's function symbols sorted by address for lookups, aliases
 * collapsed to the name users know, C++ names demangled on first use. */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "elfobj.h"
#include "symtab.h"

/* From libstdc++ (<cxxabi.h> is C++ only); linked with -lstdc++. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

struct sym {
	__u64 start;
	__u64 size; /* 0: up to the next symbol */
	const char *name;
	bool final; /* name already demangled (or not a C++ name) */
	bool owned; /* name was allocated by the demangler */
};

struct symtab {
	struct sym *syms; /* sorted by start, one per address */
	size_t nr;
	char *names; /* backing store of the names as read */
};

/* A symbol while the table is built: names are offsets into a growing arena. */
struct rawsym {
	__u64 start;
	__u64 size;
	size_t name_off;
	size_t name_len;
	size_t unders; /* leading underscores */
	bool global;
};

struct symbuild {
	struct rawsym *raw;
	size_t nr, cap;
	char *names;
	size_t names_len, names_cap;
};

static int collect_sym(const struct elf_func *f, void *ctx)
{
	struct symbuild *b = ctx;
	/* .symtab may carry "name@VER" / "name@@VER"; users know "name". */
	size_t len = strcspn(f->name, "@");
	struct rawsym *r;
	char *names;

	if (!f->vaddr || !len)
		return 0;
	r = array_grow(b->raw, &b->cap, b->nr + 1, sizeof(*b->raw));
	if (!r)
		return -ENOMEM;
	b->raw = r;
	names = array_grow(b->names, &b->names_cap, b->names_len + len + 1, 1);
	if (!names)
		return -ENOMEM;
	b->names = names;
	r = &b->raw[b->nr++];
	r->start = f->vaddr;
	r->size = f->size;
	r->name_off = b->names_len;
	r->name_len = len;
	r->unders = strspn(f->name, "_");
	r->global = f->global;
	memcpy(b->names + b->names_len, f->name, len);
	b->names[b->names_len + len] = '\0';
	b->names_len += len + 1;
	return 0;
}

/* By address; among aliases of one address (glibc: malloc, __libc_malloc,
 * __malloc) the name users know sorts first: fewest leading underscores,
 * then GLOBAL/WEAK over LOCAL, then the shortest. */
static int cmp_rawsym(const void *a, const void *b, void *names)
{
	const struct rawsym *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->unders != y->unders)
		return x->unders < y->unders ? -1 : 1;
	if (x->global != y->global)
		return x->global ? -1 : 1;
	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	return strcmp((char *)names + x->name_off, (char *)names + y->name_off);
}

/* Sorts and keeps one symbol per address; the arena moves into t. */
static int symbuild__finish(struct symbuild *b, struct symtab *t)
{
	size_t i, n = 0;

	if (!b->nr)
		return 0;
	qsort_r(b->raw, b->nr, sizeof(*b->raw), cmp_rawsym, b->names);
	t->syms = calloc(b->nr, sizeof(*t->syms));
	if (!t->syms)
		return -ENOMEM;
	for (i = 0; i < b->nr; i++) {
		const struct rawsym *r = &b->raw[i];

		if (n && t->syms[n - 1].start == r->start) {
			/* An alias may carry the size the chosen name lacks. */
			if (r->size > t->syms[n - 1].size)
				t->syms[n - 1].size = r->size;
			continue;
		}
		t->syms[n++] = (struct sym){
			.start = r->start,
			.size = r->size,
			.name = b->names + r->name_off,
		};
	}
	t->nr = n;
	t->names = b->names;
	b->names = NULL;
	return 0;
}

/* A symbol without a size (hand-written assembly, _fini) covers up to the
 * next one, but never past the end of its PT_LOAD segment: the last one
 * would otherwise name every address beyond it, such as a second mapping
 * of the file elsewhere ("_fini+0x7f169480d362"). */
static void bound_sizes(struct symtab *t, const struct elfobj *o)
{
	const struct elf_seg *segs;
	size_t nsegs = elfobj__segments(o, &segs), i, k;

	for (i = 0; i < t->nr; i++) {
		struct sym *sym = &t->syms[i];
		__u64 end = i + 1 < t->nr ? t->syms[i + 1].start : 0;

		if (sym->size)
			continue;
		for (k = 0; k < nsegs; k++) {
			__u64 seg_end = segs[k].vaddr + segs[k].memsz;

			if (sym->start >= segs[k].vaddr && sym->start < seg_end &&
			    (!end || seg_end < end))
				end = seg_end;
		}
		sym->size = end > sym->start ? end - sym->start : 1;
	}
}

struct symtab *symtab__load(struct elfobj *o, const char *root, const char *path)
{
	struct symtab *t = calloc(1, sizeof(*t));
	struct elfobj *dbg = NULL;
	struct symbuild b = {};
	int err;

	if (!t)
		return NULL;
	/* .dynsym is read even when a debug file is found: it is all a
	 * stripped file still has, and the aliases collapse anyway. */
	if (!elfobj__has_symtab(o))
		dbg = elfobj__open_debug(o, root, path);
	err = elfobj__for_each_func(o, collect_sym, &b);
	if (!err && dbg)
		err = elfobj__for_each_func(dbg, collect_sym, &b);
	if (!err)
		err = symbuild__finish(&b, t);
	if (!err)
		bound_sizes(t, o);
	elfobj__close(dbg);
	free(b.raw);
	free(b.names);
	if (err) {
		symtab__free(t);
		errno = -err;
		return NULL;
	}
	return t;
}

void symtab__free(struct symtab *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nr; i++) {
		if (t->syms[i].owned)
			free((char *)t->syms[i].name);
	}
	free(t->syms);
	free(t->names);
	free(t);
}

/* Demangling is deferred to the first lookup: big C++ binaries have far
 * more symbols than a report ever shows. */
static void demangle(struct sym *sym)
{
	int status;
	char *d;

	sym->final = true;
	if (strncmp(sym->name, "_Z", 2))
		return;
	d = __cxa_demangle(sym->name, NULL, NULL, &status);
	if (!d)
		return;
	sym->name = d;
	sym->owned = true;
}

int symtab__find(struct symtab *t, __u64 vaddr, const char **name, __u64 *start)
{
	size_t lo = 0, hi = t->nr;
	struct sym *sym;

	/* The last symbol starting at or before vaddr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->syms[mid].start <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -ENOENT;
	sym = &t->syms[lo - 1];
	if (sym->size && vaddr - sym->start >= sym->size)
		return -ENOENT;
	if (!sym->final)
		demangle(sym);
	*name = sym->name;
	*start = sym->start;
	return 0;
}
