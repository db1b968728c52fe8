// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A toy allocator whose malloc can leave by longjmp, so the tracer sees the call enter
 * and never return (alloc_target's lost_return). alloc_target loads it RTLD_LOCAL and
 * calls it through dlsym: it serves nobody else. */
#include <setjmp.h>
#include <stddef.h>

#define VISIBLE __attribute__((noinline, noclone, visibility("default")))

static _Alignas(16) char pool[1 << 16];
static size_t used;
static jmp_buf *escape;

/* The next malloc jumps to env instead of returning. */
VISIBLE void jmp_alloc_escape_next(jmp_buf *env)
{
	escape = env;
}

VISIBLE void *malloc(size_t size)
{
	jmp_buf *env = escape;

	if (env) {
		escape = NULL;
		longjmp(*env, 1);
	}
	size = (size + 15) & ~(size_t)15;
	if (size > sizeof(pool) - used)
		return NULL;
	used += size;
	return pool + used - size;
}

VISIBLE void free(void *p)
{
	(void)p;
}
