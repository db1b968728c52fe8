// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A program that allocates before main: its library's constructor keeps
 * 3333 bytes live (ctor_lib.c), ctor_alloc(), run by its own constructor,
 * CTOR_BYTES (argv[1]); then main_alloc() keeps MAIN_BYTES (argv[2]). For allocscope -c: only
 * probes placed before the loader runs any of the program's code see the first. Prints "pid", the
 * sizes and $CTOR_TARGET_ENV, then exits after a line on stdin (or EOF). */
#include <stdlib.h>

#include "target_io.h"

static void *volatile ctor_block, *volatile main_block;
static size_t ctor_bytes;

void *ctor_alloc(size_t n);
void *main_alloc(size_t n);

__attribute__((noinline)) void *ctor_alloc(size_t n)
{
	void *p = malloc(n);

	asm volatile("" ::: "memory");
	return p;
}

__attribute__((noinline)) void *main_alloc(size_t n)
{
	void *p = malloc(n);

	asm volatile("" ::: "memory");
	return p;
}

/* glibc passes initializers argc, argv and envp (elf/dl-init.c). */
__attribute__((constructor)) static void before_main(int argc, char **argv)
{
	ctor_bytes = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
	if (ctor_bytes)
		ctor_block = ctor_alloc(ctor_bytes);
}

int main(int argc, char **argv)
{
	size_t main_bytes = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;
	const char *env = getenv("CTOR_TARGET_ENV");

	if (main_bytes)
		main_block = main_alloc(main_bytes);
	say("pid %d\n", (int)getpid());
	say("ctor %zu main %zu env %s\n", ctor_bytes, main_bytes, env ? env : "(unset)");
	wait_line(-1);
	return argc > 3 ? atoi(argv[3]) : 0;
}
