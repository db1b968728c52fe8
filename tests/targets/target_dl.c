// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A library alloc_target loads with dlopen after tracing started: its call site lives
 * in a mapping the tracer has not seen at attach time (dlopen_leak scenario). */
#include <stdlib.h>

static void *volatile dl_kept[10];

/* 10 x malloc(1000), kept: 10000 B, 10 objects. */
__attribute__((noinline, noclone, visibility("default"))) void dl_leak(void)
{
	for (int i = 0; i < 10; i++) {
		dl_kept[i] = malloc(1000);
		asm volatile("" ::: "memory");
	}
}
