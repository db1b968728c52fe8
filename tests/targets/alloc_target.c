// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Deterministic allocation patterns with exact known counts and sizes: one noinline function
 * per scenario, each started by a line on stdin (a scenario table, as retsnoop's simfail). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "target_io.h"

/* Call sites must stay real calls: not inlined, not cloned (a clone would be named
 * "leak_malloc.constprop.0"), not elided, not turned into a tail jump to the allocator. */
#define SITE	  __attribute__((noinline, noclone))
#define BARRIER() asm volatile("" ::: "memory")
/* The pointer escapes into an asm the compiler cannot see through. */
#define ESCAPE(p) asm volatile("" : : "r"(p) : "memory")

/* Results go to volatile storage so the compiler cannot drop malloc/free pairs. */
static void *volatile sink;
static void *volatile kept[4096];
/* Blocks allocated at startup, before any tracer can be attached (untracked_free). */
static void *volatile early[10];

#define UNTRACKED_COUNT 10
#define UNTRACKED_SIZE	700

/* leak_malloc: 1000 x malloc(100), kept: 100000 B, 1000 objects. */
SITE void leak_malloc(void)
{
	for (int i = 0; i < 1000; i++) {
		kept[i] = malloc(100); /* site: leak_malloc */
		BARRIER();
	}
}

/* churn: 100000 x malloc(64) + free: 0 B live, 100000 allocs and frees. */
SITE void churn(void)
{
	for (int i = 0; i < 100000; i++) {
		sink = malloc(64);
		BARRIER();
		free(sink);
		BARRIER();
	}
}

/* leak_calloc: 200 x calloc(10, 30), kept: 60000 B, 200 objects. */
SITE void leak_calloc(void)
{
	for (int i = 0; i < 200; i++) {
		kept[1000 + i] = calloc(10, 30);
		BARRIER();
	}
}

/* grow_realloc: one buffer, realloc(NULL, 16) then doubled up to 65536 B. */
SITE void grow_realloc(void)
{
	void *p = NULL;

	for (size_t size = 16; size <= 65536; size *= 2) {
		p = realloc(p, size);
		BARRIER();
	}
	kept[1200] = p;
	BARRIER();
}

#define GROW_STEPS 1000
#define GROW_START 4096
#define GROW_STEP  64

/* grow_in_place: malloc(4096), then 1000 reallocs each 64 B larger (in place while the heap's
 * top follows the block): 68096 B, 1 object. The malloc: 1 alloc, 1 free of 4096 B; the
 * realloc: 1000 allocs (all resizes, 36128000 B) and 999 frees; the resizes added 64000 B. */
SITE void grow_in_place(void)
{
	char *p = malloc(GROW_START), *q;
	int moved = 0;

	BARRIER();
	for (int i = 1; i <= GROW_STEPS; i++) {
		uintptr_t was = (uintptr_t)p;

		q = realloc(p, GROW_START + GROW_STEP * i);
		BARRIER();
		if (!q) {
			say("error: realloc failed\n");
			break;
		}
		moved += (uintptr_t)q != was;
		p = q;
	}
	kept[1202] = p;
	say("grow_in_place: %d of %d reallocs moved the block\n", moved, GROW_STEPS);
}

/* realloc_shrink: malloc(4096), then realloc to 1000 B: 1000 B, 1 object. */
SITE void realloc_shrink(void)
{
	void *p = malloc(4096);

	BARRIER();
	p = realloc(p, 1000);
	BARRIER();
	kept[1201] = p;
}

SITE void release_by_realloc(void *p)
{
	sink = realloc(p, 0);
	BARRIER();
}

/* realloc_free: malloc(500) here, freed with realloc(p, 0) in a helper: 0 B live. */
SITE void realloc_free(void)
{
	void *p = malloc(500);

	BARRIER();
	release_by_realloc(p);
	BARRIER();
}

/* leak_memalign: 100 x posix_memalign(&p, 64, 256): 25600 B, 100 objects. */
SITE void leak_memalign(void)
{
	for (int i = 0; i < 100; i++) {
		void *p = NULL;

		if (posix_memalign(&p, 64, 256))
			p = NULL;
		kept[1300 + i] = p;
		BARRIER();
	}
}

/* leak_aligned: 50 x aligned_alloc(64, 128): 6400 B, 50 objects. */
SITE void leak_aligned(void)
{
	for (int i = 0; i < 50; i++) {
		kept[1400 + i] = aligned_alloc(64, 128);
		BARRIER();
	}
}

/* leak_reallocarray: 25 x reallocarray(NULL, 10, 40): 10000 B, 25 objects. glibc's
 * reallocarray calls realloc, which calls malloc: three probed entries, one allocation. */
SITE void leak_reallocarray(void)
{
	for (int i = 0; i < 25; i++) {
		kept[1500 + i] = reallocarray(NULL, 10, 40);
		BARRIER();
	}
}

/* 20 x memalign(32, 96): 1920 B, 20 objects. */
SITE void legacy_memalign(void)
{
	for (int i = 0; i < 20; i++) {
		kept[1600 + i] = memalign(32, 96);
		BARRIER();
	}
}

/* 10 x valloc(1000): 10000 B (the size asked for), 10 objects. */
SITE void legacy_valloc(void)
{
	for (int i = 0; i < 10; i++) {
		kept[1700 + i] = valloc(1000);
		BARRIER();
	}
}

/* leak_legacy_align: legacy_memalign() then legacy_valloc(). In glibc 2.36 memalign and
 * aligned_alloc share one address, so a tracer probing both must not count twice. */
SITE void leak_legacy_align(void)
{
	legacy_memalign();
	BARRIER();
	legacy_valloc();
	BARRIER();
}

/* Sizes through volatile so the compiler neither folds nor warns about them. */
static volatile size_t huge_size = (size_t)1 << 62;
static volatile size_t overflow_nmemb = SIZE_MAX / 2;

/* keep_after_overflow: malloc(777) kept, then reallocarray(p, SIZE_MAX / 2, 4) fails
 * and leaves it live: 777 B, 1 object. */
SITE void keep_after_overflow(void)
{
	void *p = malloc(777), *q;

	BARRIER();
	q = reallocarray(p, overflow_nmemb, 4);
	BARRIER();
	if (q)
		say("error: reallocarray(p, SIZE_MAX / 2, 4) succeeded\n");
	kept[2000] = q ? q : p;
}

/* failed_alloc: malloc(1 << 62) and calloc(SIZE_MAX / 2, 4) both return NULL; then
 * keep_after_overflow. */
SITE void failed_alloc(void)
{
	sink = malloc(huge_size);
	BARRIER();
	if (sink)
		say("error: malloc(1 << 62) succeeded\n");
	sink = calloc(overflow_nmemb, 4);
	BARRIER();
	if (sink)
		say("error: calloc(SIZE_MAX / 2, 4) succeeded\n");
	sink = NULL;
	keep_after_overflow();
	BARRIER();
}

#define XTHREAD_COUNT 100
#define XTHREAD_SIZE  300

/* cross_thread: 100 x malloc(300) in produce() on one thread, freed on another. */
SITE void produce(int fd)
{
	for (int i = 0; i < XTHREAD_COUNT; i++) {
		void *p = malloc(XTHREAD_SIZE);

		BARRIER();
		if (write(fd, &p, sizeof(p)) != sizeof(p))
			abort();
	}
}

static void *producer_main(void *arg)
{
	produce(*(int *)arg);
	return NULL;
}

SITE void consume(int fd)
{
	for (int i = 0; i < XTHREAD_COUNT; i++) {
		void *p;

		if (read(fd, &p, sizeof(p)) != sizeof(p))
			abort();
		free(p);
		BARRIER();
	}
}

static void *consumer_main(void *arg)
{
	consume(*(int *)arg);
	return NULL;
}

SITE void cross_thread(void)
{
	pthread_t prod, cons;
	int fds[2];

	/* A pipe carries the pointers: 100 * 8 bytes fits its buffer, no ordering games. */
	if (pipe(fds))
		abort();
	if (pthread_create(&cons, NULL, consumer_main, &fds[0]) ||
	    pthread_create(&prod, NULL, producer_main, &fds[1]))
		abort();
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);
	close(fds[0]);
	close(fds[1]);
}

#define MT_THREADS 4
#define MT_KEPT	   250
#define MT_CHURN   10000

static void *volatile mt_kept[MT_THREADS * MT_KEPT];
static pthread_barrier_t mt_start;

/* 250 x malloc(128) kept per thread. */
SITE void mt_worker(int t)
{
	for (int i = 0; i < MT_KEPT; i++) {
		mt_kept[t * MT_KEPT + i] = malloc(128);
		BARRIER();
	}
}

/* 10000 x malloc(32) + free per thread. */
SITE void mt_churn(void)
{
	for (int i = 0; i < MT_CHURN; i++) {
		void *p = malloc(32);

		ESCAPE(p);
		free(p);
		BARRIER();
	}
}

static void *mt_main(void *arg)
{
	pthread_barrier_wait(&mt_start);
	mt_churn();
	mt_worker((int)(long)arg);
	mt_churn();
	return NULL;
}

/* mt_leak: 4 threads at once, each churning and leaking: mt_worker 128000 B, 1000 objects;
 * mt_churn 0 B live, 80000 allocs and frees. */
SITE void mt_leak(void)
{
	pthread_t th[MT_THREADS];

	pthread_barrier_init(&mt_start, NULL, MT_THREADS);
	for (long t = 0; t < MT_THREADS; t++)
		if (pthread_create(&th[t], NULL, mt_main, (void *)t))
			abort();
	for (int t = 0; t < MT_THREADS; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&mt_start);
}

#define TE_SIZES 32 /* 16, 32, ... 512 B: one tcache bin each */
#define TE_EACH	 8  /* one more than a bin holds (glibc's tcache_count, 7) */

/* Each size allocated TE_EACH times, then all freed: glibc's cache keeps 7
 * of each, until the thread ends. */
SITE void te_fill(void)
{
	void *p[TE_SIZES * TE_EACH];

	for (int i = 0; i < TE_SIZES * TE_EACH; i++) {
		p[i] = malloc(16 * (i % TE_SIZES + 1));
		ESCAPE(p[i]);
	}
	for (int i = 0; i < TE_SIZES * TE_EACH; i++)
		free(p[i]);
}

static void *te_main(void *arg)
{
	(void)arg;
	te_fill();
	return NULL;
}

/* thread_exit: 4 threads each allocate and free 256 blocks of 32 sizes and end: at each
 * end glibc frees the 7 x 32 blocks its tcache kept, and the cache itself. 0 B live. */
SITE void thread_exit(void)
{
	pthread_t th[MT_THREADS];

	for (long t = 0; t < MT_THREADS; t++)
		if (pthread_create(&th[t], NULL, te_main, NULL))
			abort();
	for (int t = 0; t < MT_THREADS; t++)
		pthread_join(th[t], NULL);
}

SITE void early_alloc(void)
{
	for (int i = 0; i < UNTRACKED_COUNT; i++) {
		early[i] = malloc(UNTRACKED_SIZE);
		BARRIER();
	}
}

/* untracked_free: frees the 10 blocks allocated at startup, before "pid" was printed. */
SITE void untracked_free(void)
{
	for (int i = 0; i < UNTRACKED_COUNT; i++) {
		free(early[i]);
		early[i] = NULL;
		BARRIER();
	}
}

/* The library next to this executable, or $ENV_NAME if set. */
static void *open_beside(const char *env_name, const char *file, int flags)
{
	char path[PATH_MAX + 32];
	const char *env = getenv(env_name);
	void *h;

	if (env && *env) {
		snprintf(path, sizeof(path), "%s", env);
	} else {
		char exe[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		char *slash;

		exe[n > 0 ? n : 0] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		snprintf(path, sizeof(path), "%s/%s", slash ? exe : ".", file);
	}
	h = dlopen(path, flags);
	if (!h)
		say("error: dlopen %s: %s\n", path, dlerror());
	return h;
}

/* dlopen_leak: libtarget_dl.so's dl_leak() does 10 x malloc(1000): 10000 B, 10 objects.
 * The library is found through $ALLOC_TARGET_DL or next to this executable. */
SITE void dlopen_leak(void)
{
	void *h = open_beside("ALLOC_TARGET_DL", "libtarget_dl.so", RTLD_NOW);
	void (*fn)(void);

	if (!h)
		return;
	fn = (void (*)(void))dlsym(h, "dl_leak");
	if (!fn) {
		say("error: dlsym dl_leak: %s\n", dlerror());
		return;
	}
	fn();
	BARRIER();
}

/* libtarget_jmpalloc.so, loaded at start-up (before a tracer attaches) when lost_return
 * is to run: a malloc that can leave by longjmp. */
static void *(*jmp_malloc)(size_t);
static void (*jmp_escape_next)(jmp_buf *);
static void *volatile deep_kept[1000];

/* 1000 x malloc(100) from `depth` frames below the caller, each with 512 B of locals. */
SITE void leak_deeper(int depth)
{
	volatile char pad[512];

	pad[0] = (char)depth;
	if (depth > 0) {
		leak_deeper(depth - 1);
	} else {
		for (int i = 0; i < 1000; i++) {
			deep_kept[i] = malloc(100);
			BARRIER();
		}
	}
	BARRIER();
	(void)pad[0];
}

/* lost_return: libtarget_jmpalloc.so's malloc leaves by longjmp, so its return is never
 * seen; then 1000 x malloc(100) kept in leak_deeper, further down the stack than that
 * call was: 100000 B, 1000 objects, one stale_entry. */
SITE void lost_return(void)
{
	static jmp_buf env;

	if (!jmp_malloc || !jmp_escape_next) {
		say("error: libtarget_jmpalloc.so not loaded\n");
		return;
	}
	if (!setjmp(env)) {
		jmp_escape_next(&env);
		sink = jmp_malloc(16);
	}
	leak_deeper(8);
	BARRIER();
}

static void load_jmp_alloc(void)
{
	/* RTLD_LOCAL: its malloc and free serve only the calls made through dlsym. */
	void *h = open_beside("ALLOC_TARGET_JMPALLOC", "libtarget_jmpalloc.so",
			      RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return;
	jmp_malloc = (void *(*)(size_t))dlsym(h, "malloc");
	jmp_escape_next = (void (*)(jmp_buf *))dlsym(h, "jmp_alloc_escape_next");
}

#define SLOW_LEAK_SIZE	  4096
#define SLOW_LEAK_LIMIT_S 600

static void *volatile cache_head;

/* The leak of the demo: every block is chained into a cache nobody evicts. */
SITE void cache_insert(void)
{
	void **node = malloc(SLOW_LEAK_SIZE);

	BARRIER();
	if (!node)
		return;
	node[0] = cache_head;
	cache_head = node;
}

/* Healthy traffic next to the leak: everything allocated is freed. */
SITE void handle_request(void)
{
	for (int i = 0; i < 8; i++) {
		sink = malloc(256 + 32 * i);
		BARRIER();
		free(sink);
		BARRIER();
	}
}

/* slow_leak: 4096 B leaked every 10 ms in cache_insert(), churn in handle_request(),
 * until a line arrives on stdin or SLOW_LEAK_LIMIT_S seconds have passed. */
SITE void slow_leak(void)
{
	for (int i = 0; i < SLOW_LEAK_LIMIT_S * 100; i++) {
		handle_request();
		cache_insert();
		if (wait_line(10) != 0)
			break;
	}
}

/* leak_sampled: 200000 x malloc(256) kept: 51200000 B, 200000 objects, enough for
 * --sample-bytes 8K to sample the site some 6000 times. */
#define SAMPLED_BLOCKS 200000
static void *volatile sampled_kept[SAMPLED_BLOCKS];

SITE void leak_sampled(void)
{
	for (int i = 0; i < SAMPLED_BLOCKS; i++) {
		sampled_kept[i] = malloc(256);
		BARRIER();
	}
}

/* exec_into_calloc: replaces the image with this program running leak_calloc, so a
 * tracer must drop the old image's sites and follow the new one. It prints "pid <PID>"
 * again and waits for a line before leak_calloc, like any start. */
SITE void exec_into_calloc(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0) {
		say("error: readlink /proc/self/exe\n");
		return;
	}
	exe[n] = '\0';
	execl(exe, exe, "leak_calloc", (char *)NULL);
	say("error: exec %s\n", exe);
}

/* grow_until_oom: 1 MiB blocks kept, each written page by page here (so --mode rss
 * charges their faults to this function too), until the OOM killer ends the process
 * (test_oom.sh runs it in a memory cgroup). It gives up after GROW_LIMIT_MIB, so that a run
 * outside such a cgroup cannot take the machine's memory. */
#define GROW_BLOCK     (1 << 20)
#define GROW_LIMIT_MIB 1024

SITE void grow_until_oom(void)
{
	void *head = NULL;
	int i;

	for (i = 0; i < GROW_LIMIT_MIB; i++) {
		volatile char *p = malloc(GROW_BLOCK);

		if (!p)
			break;
		for (size_t off = sizeof(head); off < GROW_BLOCK; off += 4096)
			p[off] = 1;
		*(void *volatile *)p = head;
		head = (void *)p;
	}
	sink = head;
	say("grow_until_oom: still alive after %d MiB\n", i);
}

static const struct scenario scenarios[] = {
	{"leak_malloc", leak_malloc, "1000 x malloc(100) kept: 100000 B, 1000 objects"},
	{"churn", churn, "100000 x malloc(64) + free: 0 B live, 100000 allocs"},
	{"leak_calloc", leak_calloc, "200 x calloc(10, 30) kept: 60000 B, 200 objects"},
	{"grow_realloc", grow_realloc, "realloc(NULL, 16) doubled to 65536: 65536 B, 1 object"},
	{"grow_in_place", grow_in_place,
	 "malloc(4096) then 1000 x realloc 64 B larger: 68096 B, 1 object"},
	{"realloc_shrink", realloc_shrink, "malloc(4096) then realloc to 1000: 1000 B, 1 object"},
	{"realloc_free", realloc_free, "malloc(500) then realloc(p, 0): 0 B live, 1 alloc, 1 free"},
	{"leak_memalign", leak_memalign, "100 x posix_memalign(64, 256): 25600 B, 100 objects"},
	{"leak_aligned", leak_aligned, "50 x aligned_alloc(64, 128): 6400 B, 50 objects"},
	{"leak_reallocarray", leak_reallocarray,
	 "25 x reallocarray(NULL, 10, 40): 10000 B, 25 objects"},
	{"leak_legacy_align", leak_legacy_align, "20 x memalign(32, 96), 10 x valloc(1000)"},
	{"failed_alloc", failed_alloc, "malloc(1 << 62), calloc(SIZE_MAX / 2, 4): both NULL"},
	{"cross_thread", cross_thread, "100 x malloc(300) in produce(), freed by another thread"},
	{"mt_leak", mt_leak, "4 threads: 1000 x malloc(128) kept in mt_worker, churn in mt_churn"},
	{"thread_exit", thread_exit, "4 threads: 256 x malloc + free in te_fill each, then end"},
	{"untracked_free", untracked_free, "frees 10 x 700 B allocated at startup"},
	{"dlopen_leak", dlopen_leak, "dl_leak() in libtarget_dl.so: 10 x malloc(1000) kept"},
	{"lost_return", lost_return,
	 "a malloc left by longjmp, then 1000 x malloc(100) kept further down the stack"},
	{"slow_leak", slow_leak, "4096 B per 10 ms in cache_insert() until a stdin line"},
	{"leak_sampled", leak_sampled, "200000 x malloc(256) kept: 51200000 B, 200000 objects"},
	{"exec_into_calloc", exec_into_calloc, "exec this program again, running leak_calloc"},
	{"grow_until_oom", grow_until_oom, "1 MiB blocks, written and kept, until the OOM killer"},
};

#define NSCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

/* untracked_free frees blocks allocated before any tracer could attach; lost_return's
 * allocator must be mapped when the tracer attaches. */
static void prepare(const struct scenario *const *run, int nrun)
{
	for (int i = 0; i < nrun; i++) {
		if (run[i]->fn == untracked_free)
			early_alloc();
		if (run[i]->fn == lost_return && !jmp_malloc)
			load_jmp_alloc();
	}
}

int main(int argc, char **argv)
{
	return target_main("alloc_target", scenarios, NSCENARIOS, argc, argv, prepare);
}
