// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of mapping kinds: the stacks glibc, jemalloc and CPython map memory from,
 * as allocscope names their frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "mapkind.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* An arena made inside free: no return probe marks the call, the stack does. */
static void test_arena_in_free(void **state)
{
	const char *syms[] = {"mmap", "alloc_new_heap", "arena_get2",	"tcache_init",
			      "free", "worker",		"start_thread", "clone3"};
	const char *clone[] = {"mmap", "[unknown]", "arena_get2.part.0", "worker"};
	const char *without_dbg[] = {"mmap", "[unknown]", "[unknown]", "free", "worker"};

	(void)state;
	assert_int_equal(mapkind__classify(syms, NULL, N(syms)), MAP_KIND_ALLOCATOR);
	assert_int_equal(mapkind__classify(clone, NULL, N(clone)), MAP_KIND_ALLOCATOR);
	/* without libc6-dbg the static functions have no name, but free is exported */
	assert_int_equal(mapkind__classify(without_dbg, NULL, N(without_dbg)), MAP_KIND_ALLOCATOR);
}

static void test_thread_stack(void **state)
{
	const char *syms[] = {"mmap", "pthread_create@@GLIBC_2.34", "threads", "main"};
	const char *mods[] = {"libc.so.6", "libc.so.6", "mem_target", "mem_target"};

	(void)state;
	assert_int_equal(mapkind__classify(syms, mods, N(syms)), MAP_KIND_STACK);
}

/* CPython's object arenas are the program's own mappings: sites. */
static void test_program_mappings(void **state)
{
	const char *py[] = {"mmap",	      "_PyObject_ArenaMmap", "new_arena",
			    "pymalloc_alloc", "_PyObject_Malloc",    "PyList_Append"};
	const char *near[] = {"mmap",		"freeaddrinfo",
			      "malloc_info",	"mallocator_init",
			      "free_list_push", "pthread_create_hook"};
	const char *none[] = {NULL, "[unknown]"};

	(void)state;
	assert_int_equal(mapkind__classify(py, NULL, N(py)), MAP_KIND_SITE);
	/* names that only begin like an allocator function are not one */
	assert_int_equal(mapkind__classify(near, NULL, N(near)), MAP_KIND_SITE);
	assert_int_equal(mapkind__classify(none, NULL, N(none)), MAP_KIND_SITE);
	assert_int_equal(mapkind__classify(NULL, NULL, 0), MAP_KIND_SITE);
}

/* jemalloc and tcmalloc: their internals by prefix, any frame in their library, and the
 * C++ operators that call them. An allocator below pthread_create is still an allocator. */
static void test_other_allocators(void **state)
{
	const char *je[] = {"mmap", "je_pages_map", "je_extent_alloc_mmap", "main"};
	const char *stripped[] = {"mmap", "[unknown]", "main"};
	const char *stripped_mods[] = {"libc.so.6", "libjemalloc.so.2", "app"};
	const char *tc[] = {"mmap", "tcmalloc::SystemAlloc(unsigned long)", "main"};
	const char *cxx[] = {"mmap", "operator new(unsigned long)", "main"};
	const char *tls[] = {"mmap", "malloc", "allocate_dtv", "pthread_create"};

	(void)state;
	assert_int_equal(mapkind__classify(je, NULL, N(je)), MAP_KIND_ALLOCATOR);
	assert_int_equal(mapkind__classify(stripped, stripped_mods, N(stripped)),
			 MAP_KIND_ALLOCATOR);
	assert_int_equal(mapkind__classify(tc, NULL, N(tc)), MAP_KIND_ALLOCATOR);
	assert_int_equal(mapkind__classify(cxx, NULL, N(cxx)), MAP_KIND_ALLOCATOR);
	assert_int_equal(mapkind__classify(tls, NULL, N(tls)), MAP_KIND_ALLOCATOR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arena_in_free),
		cmocka_unit_test(test_thread_stack),
		cmocka_unit_test(test_program_mappings),
		cmocka_unit_test(test_other_allocators),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
