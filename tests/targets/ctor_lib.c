// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libctor_lib.so, a DT_NEEDED library of ctor_target: its constructor, which ld.so's
 * _dl_init runs before any of the executable's code, keeps LIB_CTOR_BYTES live from
 * lib_ctor_alloc(). */
#include <stdlib.h>

#define LIB_CTOR_BYTES 3333

void *lib_ctor_alloc(size_t n);

void *volatile lib_ctor_block;

__attribute__((noinline)) void *lib_ctor_alloc(size_t n)
{
	void *p = malloc(n);

	asm volatile("" ::: "memory");
	return p;
}

__attribute__((constructor)) static void lib_init(void)
{
	lib_ctor_block = lib_ctor_alloc(LIB_CTOR_BYTES);
}
