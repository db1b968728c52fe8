// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Code that is not from a file, as a JIT makes it: machine code written into anonymous
 * memory, made executable, and called; it calls malloc, or a C function that does. Prints
 * "code 0xADDR SIZE 0xADDR2" (the functions' addresses and length) before its pid. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "target_io.h"

#define SITE __attribute__((noinline, noclone))

/* jit_leak's counts: JIT_LEAK_COUNT x malloc(JIT_LEAK_SIZE), kept; jit_deep's the same
 * with JIT_DEEP_SIZE, through jit_helper. */
#define JIT_LEAK_COUNT 300
#define JIT_LEAK_SIZE  3000
#define JIT_DEEP_SIZE  2000
/* Where the functions sit in their page: not at the mapping's start, so that a name
 * found for one is the perf map's and not a guess from the mapping. */
#define CODE_OFFSET 0x40
#define DEEP_OFFSET 0x80

typedef void *(*jit_fn_t)(void);
static jit_fn_t jit_fn, deep_fn;
static size_t jit_len;
static void *volatile kept[2 * JIT_LEAK_COUNT];

/* jit_deep's JIT code calls this, which calls malloc: the JIT frame is frames[2]. */
__attribute__((noinline, noclone)) void *jit_helper(size_t size)
{
	void *p = malloc(size);

	asm volatile("" ::: "memory");
	return p;
}

/* Writes void *f(void) { return callee(arg); } at page + off, with a frame pointer, as V8's
 * code keeps one. The return address of its call is at +0x15. */
static size_t emit(uint8_t *page, size_t off, void *callee, uint32_t arg)
{
	/* clang-format off */
	uint8_t code[] = {
		0x55,					/* push %rbp */
		0x48, 0x89, 0xe5,			/* mov %rsp,%rbp */
		0xbf, 0, 0, 0, 0,			/* mov $arg,%edi */
		0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0,	/* movabs $callee,%rax */
		0xff, 0xd0,				/* call *%rax */
		0x5d,					/* pop %rbp */
		0xc3,					/* ret */
	};
	/* clang-format on */

	memcpy(code + 5, &arg, sizeof(arg));
	memcpy(code + 11, &callee, sizeof(callee));
	memcpy(page + off, code, sizeof(code));
	return sizeof(code);
}

static void make_code(void)
{
	void *(*m)(size_t) = malloc, *(*h)(size_t) = jit_helper;
	uint8_t *page;

	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	memset(page, 0xcc, 4096); /* int3 around the functions */
	jit_len = emit(page, CODE_OFFSET, (void *)m, JIT_LEAK_SIZE);
	emit(page, DEEP_OFFSET, (void *)h, JIT_DEEP_SIZE);
	if (mprotect(page, 4096, PROT_READ | PROT_EXEC)) {
		perror("mprotect");
		exit(1);
	}
	jit_fn = (jit_fn_t)(page + CODE_OFFSET);
	deep_fn = (jit_fn_t)(page + DEEP_OFFSET);
}

/* perf_map: writes /tmp/perf-PID.map naming the functions "jit_leak_fn" and
 * "jit_deep_fn", as node --perf-basic-prof does for its code. */
SITE void perf_map(void)
{
	char path[64], line[160];
	int fd, n;

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	n = snprintf(line, sizeof(line), "%lx %zx jit_leak_fn\n%lx %zx jit_deep_fn\n",
		     (unsigned long)jit_fn, jit_len, (unsigned long)deep_fn, jit_len);
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

/* jit_deep: JIT_LEAK_COUNT x malloc(JIT_DEEP_SIZE) from jit_helper, called by JIT code. */
SITE void jit_deep(void)
{
	for (int i = 0; i < JIT_LEAK_COUNT; i++) {
		kept[JIT_LEAK_COUNT + i] = deep_fn();
		asm volatile("" ::: "memory");
	}
}

static const struct scenario scenarios[] = {
	{"perf_map", perf_map, "write /tmp/perf-PID.map naming the JIT function"},
	{"jit_leak", jit_leak, "300 x malloc(3000) from code in anonymous memory, kept"},
	{"jit_deep", jit_deep, "300 x malloc(2000) from jit_helper, called by JIT code, kept"},
};

static void prepare(const struct scenario *const *run, int nrun)
{
	(void)run, (void)nrun;
	make_code();
	say("code 0x%lx %zu 0x%lx\n", (unsigned long)jit_fn, jit_len, (unsigned long)deep_fn);
}

int main(int argc, char **argv)
{
	return target_main("jit_target", scenarios, sizeof(scenarios) / sizeof(*scenarios), argc,
			   argv, prepare);
}
