// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Code that is not from a file, as a JIT makes it: machine code written into anonymous
 * memory, made executable, and called; it calls malloc. Prints "code 0xADDR SIZE" (the
 * function's address and length) before its pid. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "target_io.h"

#define SITE __attribute__((noinline, noclone))

/* jit_leak's counts: JIT_LEAK_COUNT x malloc(JIT_LEAK_SIZE), kept. */
#define JIT_LEAK_COUNT 300
#define JIT_LEAK_SIZE  3000
/* Where the function sits in its page: not at the mapping's start, so that a name
 * found for it is the perf map's and not a guess from the mapping. */
#define CODE_OFFSET 0x40

static void *(*jit_fn)(void);
static size_t jit_len;
static void *volatile kept[JIT_LEAK_COUNT];

/* void *f(void) { return malloc(JIT_LEAK_SIZE); } with a frame pointer, as V8's code keeps
 * one. The return address of its call is at +0x15. */
static void make_code(void)
{
	/* clang-format off */
	uint8_t code[] = {
		0x55,					/* push %rbp */
		0x48, 0x89, 0xe5,			/* mov %rsp,%rbp */
		0xbf, 0, 0, 0, 0,			/* mov $JIT_LEAK_SIZE,%edi */
		0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,	/* movabs $malloc,%rax */
		0xff, 0xd0,				/* call *%rax */
		0x5d,					/* pop %rbp */
		0xc3,					/* ret */
	};
	/* clang-format on */

	void *(*m)(size_t) = malloc;
	uint32_t size = JIT_LEAK_SIZE;
	uint8_t *page;

	memcpy(code + 5, &size, sizeof(size));
	memcpy(code + 11, &m, sizeof(m));
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	memset(page, 0xcc, 4096); /* int3 around the function */
	memcpy(page + CODE_OFFSET, code, sizeof(code));
	if (mprotect(page, 4096, PROT_READ | PROT_EXEC)) {
		perror("mprotect");
		exit(1);
	}
	jit_fn = (void *(*)(void))(page + CODE_OFFSET);
	jit_len = sizeof(code);
}

/* perf_map: writes /tmp/perf-PID.map naming the function "jit_leak_fn", as node
 * --perf-basic-prof does for its code. */
SITE void perf_map(void)
{
	char path[64], line[96];
	int fd, n;

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	n = snprintf(line, sizeof(line), "%lx %zx jit_leak_fn\n", (unsigned long)jit_fn, jit_len);
	if (fd < 0 || write(fd, line, n) != n)
		perror(path);
	close(fd);
}

/* jit_leak: JIT_LEAK_COUNT x malloc(JIT_LEAK_SIZE) from the JIT code, kept. */
SITE void jit_leak(void)
{
	for (int i = 0; i < JIT_LEAK_COUNT; i++) {
		kept[i] = jit_fn();
		asm volatile("" ::: "memory");
	}
}

static const struct scenario scenarios[] = {
	{"perf_map", perf_map, "write /tmp/perf-PID.map naming the JIT function"},
	{"jit_leak", jit_leak, "300 x malloc(3000) from code in anonymous memory, kept"},
};

static void prepare(const struct scenario *const *run, int nrun)
{
	(void)run, (void)nrun;
	make_code();
	say("code 0x%lx %zu\n", (unsigned long)jit_fn, jit_len);
}

int main(int argc, char **argv)
{
	return target_main("jit_target", scenarios, sizeof(scenarios) / sizeof(*scenarios), argc,
			   argv, prepare);
}
