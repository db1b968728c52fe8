// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What a mapping is, told by the functions on the stack that made it: an allocator's own
 * memory, a thread stack, or a site of the program's. */
#include <stdbool.h>
#include <string.h>

#include "mapkind.h"

/* Functions of the malloc family and the allocators' internals that map memory for
 * themselves: glibc's arena and chunk code (static: named with libc6-dbg, and always
 * under an exported entry point such as free, which has no return probe, when it runs
 * from tcache_init), and the public entry points of every allocator. */
static const char *const alloc_fns[] = {
	"malloc",
	"calloc",
	"realloc",
	"reallocarray",
	"free",
	"cfree",
	"posix_memalign",
	"aligned_alloc",
	"memalign",
	"valloc",
	"pvalloc",
	"malloc_trim",
	"__libc_malloc",
	"__libc_calloc",
	"__libc_realloc",
	"__libc_free",
	"__libc_memalign",
	"__libc_valloc",
	"__libc_pvalloc",
	"__posix_memalign",
	"_int_malloc",
	"_int_free",
	"_int_realloc",
	"_int_memalign",
	"sysmalloc",
	"systrim",
	"alloc_new_heap",
	"new_heap",
	"grow_heap",
	"shrink_heap",
	"heap_trim",
	"arena_get2",
	"arena_get_retry",
	"_int_new_arena",
	"tcache_init",
	"malloc_consolidate",
	"mmap_chunk",
	"sysmalloc_mmap",
	"mremap_chunk",
	"operator new",
	"operator delete",
	"mallocx",
	"rallocx",
	"xallocx",
	"sdallocx",
	"dallocx",
	"tc_malloc",
	"tc_free",
	"tc_new",
	"tc_delete",
};
/* Prefixes of allocator internals (jemalloc's je_ and extent code, tcmalloc's namespace). */
static const char *const alloc_prefixes[] = {
	"je_", "extent_", "tcmalloc::", "TCMalloc", "tc_", "arena_"};
/* Libraries that are allocators: all their code is. */
static const char *const alloc_modules[] = {"libjemalloc", "libtcmalloc"};
/* glibc's thread creation: allocate_stack is inlined into pthread_create in 2.34+. */
static const char *const stack_fns[] = {"pthread_create", "__pthread_create_2_1", "allocate_stack",
					"create_thread"};

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* "malloc", "malloc@@GLIBC_2.2.5", "operator new(unsigned long)" and GCC's clones such as
 * "tcache_init.part.0" all match the function's name. */
static bool names(const char *sym, const char *fn)
{
	size_t n = strlen(fn);

	return !strncmp(sym, fn, n) && (!sym[n] || sym[n] == '@' || sym[n] == '(' ||
					sym[n] == '[' || sym[n] == ' ' || sym[n] == '.');
}

static bool in_list(const char *sym, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (names(sym, list[i]))
			return true;
	return false;
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

enum map_kind mapkind__classify(const char *const *symbols, const char *const *modules, size_t n)
{
	bool stack = false;

	for (size_t i = 0; i < n; i++) {
		const char *sym = symbols[i], *mod = modules ? modules[i] : NULL;

		for (size_t j = 0; mod && j < ARRAY_LEN(alloc_modules); j++)
			if (starts_with(mod, alloc_modules[j]))
				return MAP_KIND_ALLOCATOR;
		if (!sym)
			continue;
		if (in_list(sym, alloc_fns, ARRAY_LEN(alloc_fns)))
			return MAP_KIND_ALLOCATOR;
		for (size_t j = 0; j < ARRAY_LEN(alloc_prefixes); j++)
			if (starts_with(sym, alloc_prefixes[j]))
				return MAP_KIND_ALLOCATOR;
		stack |= in_list(sym, stack_fns, ARRAY_LEN(stack_fns));
	}
	return stack ? MAP_KIND_STACK : MAP_KIND_SITE;
}
