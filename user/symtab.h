/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The function symbols of one ELF file (and of its separate debug file) as
 * a table sorted by address, with one user-facing name per address. */
#ifndef SYMTAB_H
#define SYMTAB_H

#include <stddef.h>
#include <linux/types.h>

struct elfobj;
struct symtab;

/* Reads o's .symtab and .dynsym functions and, when o has no .symtab, those
 * of its debug file (elfobj__open_debug(o, root, path); path is where o is
 * mapped, without root). NULL and errno set on failure. */
struct symtab *symtab__load(struct elfobj *o, const char *root, const char *path);
void symtab__free(struct symtab *t);

/* The function covering ELF address vaddr: a symbol covers [st_value,
 * st_value + st_size), or when st_size is 0 up to the next symbol or the
 * end of its PT_LOAD segment, whichever comes first. The name
 * is demangled and stays valid until symtab__free. 0 or -ENOENT. */
int symtab__find(struct symtab *t, __u64 vaddr, const char **name, __u64 *start);

#endif /* SYMTAB_H */
