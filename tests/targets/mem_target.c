// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Memory that is mapped but not all resident, for tests/integration/test_residency.sh:
 * threads with stacks and glibc arenas of their own, a PROT_NONE reservation committed
 * piece by piece, and a mapping partly unmapped. Every figure it prints is exact. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "target_io.h"

#define NTHREADS      4
#define THREAD_BLOCKS 1500
#define BLOCK_SIZE    100
#define STACK_SIZE    (8 << 20)
#define PAGE	      4096

static void *volatile sink;
static void *handoff[NTHREADS];
static pthread_barrier_t leaked;
static pthread_mutex_t quit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t quit_cond = PTHREAD_COND_INITIALIZER;
static int quitting;

static __attribute__((noinline)) void thread_leak(void)
{
	for (int i = 0; i < THREAD_BLOCKS; i++)
		sink = malloc(BLOCK_SIZE);
	asm volatile("");
}

/* Threads 0 and 1 first call free: glibc makes their arena inside free (tcache_init ->
 * arena_get2 -> alloc_new_heap), where no return probe marks the call; 2 and 3 first call
 * malloc. Each arena's heap is aligned by unmapping the head and tail of a double-sized
 * mapping. The threads stay alive, with their stacks, until the target exits. */
static void *worker(void *arg)
{
	long n = (long)arg;

	if (n < 2)
		free(handoff[n]);
	thread_leak();
	pthread_barrier_wait(&leaked);
	pthread_mutex_lock(&quit_lock);
	while (!quitting)
		pthread_cond_wait(&quit_cond, &quit_lock);
	pthread_mutex_unlock(&quit_lock);
	return NULL;
}

static void threads(void)
{
	pthread_attr_t attr;
	pthread_t t;

	for (int i = 0; i < NTHREADS; i++)
		handoff[i] = malloc(BLOCK_SIZE);
	pthread_barrier_init(&leaked, NULL, NTHREADS + 1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	for (long i = 0; i < NTHREADS; i++)
		if (pthread_create(&t, &attr, worker, (void *)i))
			abort();
	pthread_attr_destroy(&attr);
	pthread_barrier_wait(&leaked);
	say("threads %d leaked %d\n", NTHREADS, NTHREADS * THREAD_BLOCKS * BLOCK_SIZE);
}

/* 1 GiB of address space, of which 2 pieces are committed and 320 pages touched. */
static __attribute__((noinline)) void reserve(void)
{
	const size_t size = 1UL << 30, first = 4 << 20, second_at = 512UL << 20;
	char *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED || mprotect(p, first, PROT_READ | PROT_WRITE) ||
	    mprotect(p + second_at, 2 << 20, PROT_READ | PROT_WRITE))
		abort();
	for (int i = 0; i < 256; i++)
		p[(size_t)i * PAGE] = 1;
	for (int i = 0; i < 64; i++)
		p[second_at + (size_t)i * PAGE] = 1;
	sink = p;
	say("reserve mapped %zu touched %d\n", size, 320 * PAGE);
}

/* 8 MiB, all touched, then its upper half unmapped: a munmap not at its start. */
static __attribute__((noinline)) void partial(void)
{
	const size_t size = 8 << 20;
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		abort();
	for (size_t i = 0; i < size; i += PAGE)
		p[i] = 1;
	if (munmap(p + size / 2, size / 2))
		abort();
	sink = p;
	say("partial left %zu\n", size / 2);
}

/* 10 blocks of 10 MiB (each a mapping of glibc's own), one of them written all over. */
static __attribute__((noinline)) void untouched(void)
{
	static char *blocks[10];

	for (int i = 0; i < 10; i++)
		blocks[i] = malloc(10 << 20);
	memset(blocks[0], 1, 10 << 20);
	sink = blocks;
	say("untouched requested %d written %d\n", 100 << 20, 10 << 20);
}

/* 4 MiB touched; its upper half given back with MADV_DONTNEED, the quarter below with
 * MADV_FREE: 1 MiB is still the program's. */
static __attribute__((noinline)) void advise(void)
{
	const size_t size = 4 << 20;
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		abort();
	for (size_t i = 0; i < size; i += PAGE)
		p[i] = 1;
	if (madvise(p + size / 2, size / 2, MADV_DONTNEED) ||
	    madvise(p + size / 4, size / 4, MADV_FREE))
		abort();
	sink = p;
	say("advise left %zu\n", size / 4);
}

/* The break raised by 1 MiB, touched, then lowered by 768 KiB: 256 KiB left. */
static __attribute__((noinline)) void brk_shrink(void)
{
	const long size = 1 << 20;
	char *p = sbrk(size);

	if (p == (void *)-1)
		abort();
	for (long i = 0; i < size; i += PAGE)
		p[i] = 1;
	if (sbrk(-(size / 4 * 3)) == (void *)-1)
		abort();
	say("brk_shrink left %ld\n", size / 4);
}

/* 2 MiB touched, moved by mremap onto a placeholder elsewhere, then the lower half of its
 * new place unmapped: 1 MiB left, found only where the pages moved to. */
static __attribute__((noinline)) void remap(void)
{
	const size_t size = 2 << 20;
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *q = mmap(NULL, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || q == MAP_FAILED)
		abort();
	for (size_t i = 0; i < size; i += PAGE)
		p[i] = 1;
	if (mremap(p, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, q) != q || munmap(q, size / 2))
		abort();
	sink = q;
	say("remap left %zu\n", size / 2);
}

/* 4 MiB at a 2 MiB boundary with MADV_HUGEPAGE, every page written: two transparent huge
 * pages where the kernel can make them, 1024 small pages where it cannot. */
static __attribute__((noinline)) void touch_huge(void)
{
	const size_t size = 4 << 20, align = 2 << 20;
	char *m = mmap(NULL, size + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);
	char *p;

	if (m == MAP_FAILED)
		abort();
	p = (char *)(((unsigned long)m + align - 1) & ~(align - 1));
	if (madvise(p, size, MADV_HUGEPAGE))
		abort();
	for (size_t i = 0; i < size; i += PAGE)
		p[i] = 1;
	sink = p;
}

static __attribute__((noinline)) void huge(void)
{
	touch_huge();
	say("huge touched %d\n", 4 << 20);
}

/* The same in a process that disabled huge pages (prctl): the mapping still asks for them,
 * the kernel makes small pages. Last: the process keeps huge pages off. */
static __attribute__((noinline)) void huge_off(void)
{
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0))
		abort();
	touch_huge();
	say("huge_off touched %d\n", 4 << 20);
}

static const struct scenario scenarios[] = {
	{"threads", threads, "4 threads leak 100-byte blocks in arenas of their own"},
	{"reserve", reserve, "1 GiB PROT_NONE reservation, 2 pieces committed, 320 pages touched"},
	{"partial", partial, "8 MiB mapping touched, upper half unmapped"},
	{"untouched", untouched, "10 x malloc(10 MiB), one of them written"},
	{"advise", advise, "4 MiB touched, 2 MiB MADV_DONTNEED, 1 MiB MADV_FREE: 1 MiB left"},
	{"brk_shrink", brk_shrink, "break raised 1 MiB, touched, lowered 768 KiB: 256 KiB left"},
	{"huge", huge, "4 MiB with MADV_HUGEPAGE, every page written: 4 MiB"},
	{"huge_off", huge_off, "the same after PR_SET_THP_DISABLE: small pages, 4 MiB"},
	{"remap", remap, "2 MiB touched, moved by mremap, half of it unmapped: 1 MiB left"},
};

int main(int argc, char **argv)
{
	int rc = target_main("mem_target", scenarios, sizeof(scenarios) / sizeof(*scenarios), argc,
			     argv, NULL);

	pthread_mutex_lock(&quit_lock);
	quitting = 1;
	pthread_cond_broadcast(&quit_cond);
	pthread_mutex_unlock(&quit_lock);
	return rc;
}
