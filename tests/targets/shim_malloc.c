// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A preloaded allocator wrapper, as heaptrack's preload library or a leak
 * checker is: it defines malloc, calloc, realloc and free and forwards each
 * to the definition after it (libc's), found with dlsym(RTLD_NEXT). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

static void *(*next_malloc)(size_t);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static void (*next_free)(void *);

/* dlsym may itself call calloc (its error buffer) before the pointers are
 * set: served from here, and never given back. */
static char early[4096] __attribute__((aligned(16)));
static size_t early_used;

static void *early_alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (n > sizeof(early) - early_used)
		return NULL;
	p = early + early_used;
	early_used += n;
	return p;
}

static int is_early(const void *p)
{
	return (const char *)p >= early && (const char *)p < early + sizeof(early);
}

__attribute__((constructor)) static void resolve(void)
{
	next_calloc = dlsym(RTLD_NEXT, "calloc");
	next_malloc = dlsym(RTLD_NEXT, "malloc");
	next_realloc = dlsym(RTLD_NEXT, "realloc");
	next_free = dlsym(RTLD_NEXT, "free");
}

void *malloc(size_t n)
{
	if (!next_malloc)
		resolve();
	return next_malloc ? next_malloc(n) : early_alloc(n);
}

void *calloc(size_t nmemb, size_t size)
{
	void *p;

	if (next_calloc)
		return next_calloc(nmemb, size);
	if (size && nmemb > (size_t)-1 / size)
		return NULL;
	p = early_alloc(nmemb * size);
	if (p)
		memset(p, 0, nmemb * size);
	return p;
}

void *realloc(void *p, size_t n)
{
	if (!next_realloc)
		resolve();
	return next_realloc(p, n);
}

void free(void *p)
{
	if (!p || is_early(p))
		return;
	if (!next_free)
		resolve();
	next_free(p);
}
