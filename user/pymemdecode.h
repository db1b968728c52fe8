/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where CPython before 3.12 keeps an allocator domain's table (a static
 * PyMemAllocatorEx in obmalloc.c, without a symbol in stripped builds), read
 * out of the code of PyMem_GetAllocator, which copies it. x86-64 only. */
#ifndef PYMEMDECODE_H
#define PYMEMDECODE_H

#include <stddef.h>
#include <linux/types.h>

/* PyMemAllocatorDomain */
enum pymem_domain {
	PYMEM_DOMAIN_RAW = 0,
	PYMEM_DOMAIN_MEM = 1,
	PYMEM_DOMAIN_OBJ = 2,
};

/* PyMemAllocatorEx: ctx, malloc, calloc, realloc, free. */
#define PYMEM_TABLE_SIZE 40

/* PyMem_GetAllocator's code (len bytes at ELF address vaddr), followed as
 * it runs for domain: the address (ELF address space) of the 40-byte table
 * that path copies. 0, or -ENOENT when the path leaves the bytes given,
 * calls anything, or copies something else than one 40-byte table. */
int pymemdecode__table(const __u8 *code, size_t len, __u64 vaddr, enum pymem_domain domain,
		       __u64 *table);

#endif /* PYMEMDECODE_H */
