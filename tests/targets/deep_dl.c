// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* libdeep_dl.so: deep_target's dl_deep scenario loads it with dlopen and leaks 4 calls deep
 * inside it, so an unwinder must use the CFI of a library that appeared after attach. */
#include <stdlib.h>

#define FN	  __attribute__((noinline, noclone))
#define BARRIER() asm volatile("" ::: "memory")

static void *volatile dl_kept[256];
static int dl_nkept;
static volatile int dl_sink;

/* Static: called directly, not through the PLT; named in .symtab. */
static FN int deep_dl_leaf(int n)
{
	for (int i = 0; i < n; i++) {
		dl_kept[dl_nkept++ % 256] = malloc(444);
		BARRIER();
	}
	return n;
}

static FN int deep_dl_c(int n)
{
	volatile char vla[n]; /* rbp-based CFA */
	int r;

	vla[0] = 4;
	r = deep_dl_leaf(n);
	return r + vla[0];
}

static FN int deep_dl_b(int n)
{
	int r = deep_dl_c(n);

	BARRIER();
	return r + 2;
}

/* n x malloc(444), kept (up to 256 blocks in all). */
__attribute__((visibility("default"))) FN int deep_dl_entry(int n)
{
	int r = deep_dl_b(n);

	dl_sink = r;
	return r - 1;
}
