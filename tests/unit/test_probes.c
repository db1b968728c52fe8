// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Attach plans on this machine's real libc: which functions are probed, that
 * aliases are probed once, and that every moved probe sits on an emulated
 * instruction at an instruction boundary. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "elfobj.h"
#include "probes.h"

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"

static const struct probe_site *site_of(const struct probe_plan *p, enum alloc_fn fn)
{
	for (size_t i = 0; i < p->nsites; i++)
		if (p->sites[i].fn == fn)
			return &p->sites[i];
	return NULL;
}

static void test_libc_plan_covers_the_family(void **state)
{
	struct probe_plan plan;

	(void)state;
	assert_int_equal(probes__plan(LIBC, PLACEMENT_AUTO, &plan), 0);
	assert_string_equal(plan.path, LIBC);
	assert_non_null(site_of(&plan, ALLOC_FN_MALLOC));
	assert_non_null(site_of(&plan, ALLOC_FN_CALLOC));
	assert_non_null(site_of(&plan, ALLOC_FN_REALLOC));
	assert_non_null(site_of(&plan, ALLOC_FN_FREE));
	assert_non_null(site_of(&plan, ALLOC_FN_POSIX_MEMALIGN));
	assert_non_null(site_of(&plan, ALLOC_FN_VALLOC));
}

static void test_aliases_are_probed_once(void **state)
{
	struct probe_plan plan;

	(void)state;
	assert_int_equal(probes__plan(LIBC, PLACEMENT_AUTO, &plan), 0);
	for (size_t i = 0; i < plan.nsites; i++)
		for (size_t j = i + 1; j < plan.nsites; j++)
			assert_int_not_equal(plan.sites[i].func_off, plan.sites[j].func_off);
}

/* The probe must land where the kernel emulates the instruction, or stay at
 * the entry; and free must not be probed on its single-stepped `test`. */
static void test_moved_probes_land_on_emulated_instructions(void **state)
{
	struct elfobj *o = elfobj__open(LIBC);
	struct probe_plan plan;
	__u8 insn[16];

	(void)state;
	assert_non_null(o);
	assert_int_equal(probes__plan(LIBC, PLACEMENT_AUTO, &plan), 0);
	for (size_t i = 0; i < plan.nsites; i++) {
		const struct probe_site *s = &plan.sites[i];

		assert_int_equal(elfobj__read(o, s->func_off + s->place.offset, insn, sizeof(insn)),
				 0);
		if (s->place.offset)
			assert_true(placement__is_emulated(insn, sizeof(insn)));
		assert_true(s->place.offset < 32);
	}
	assert_true(site_of(&plan, ALLOC_FN_FREE)->place.emulated);
	elfobj__close(o);
}

static void test_entry_mode_keeps_every_probe_at_entry(void **state)
{
	struct probe_plan plan;

	(void)state;
	assert_int_equal(probes__plan(LIBC, PLACEMENT_ENTRY, &plan), 0);
	for (size_t i = 0; i < plan.nsites; i++)
		assert_int_equal(plan.sites[i].place.offset, 0);
}

static void test_object_without_allocator_is_not_planned(void **state)
{
	struct probe_plan plan;

	(void)state;
	assert_int_equal(probes__plan(FIXTURE_DIR "/libsymfix.so", PLACEMENT_AUTO, &plan), -ENOENT);
	assert_int_equal(probes__plan(FIXTURE_DIR "/no-such-file", PLACEMENT_AUTO, &plan), -ENOENT);
}

/* glibc exports every name it defines; aligned_alloc and memalign are one
 * function, one site carrying both names. */
static void test_libc_exports_and_aliases(void **state)
{
	struct probe_plan plan;
	const struct probe_site *s;

	(void)state;
	assert_int_equal(probes__plan(LIBC, PLACEMENT_AUTO, &plan), 0);
	assert_true(plan.exports & (1u << ALLOC_FN_MALLOC));
	assert_true(plan.exports & (1u << ALLOC_FN_FREE));
	assert_true(plan.exports & (1u << ALLOC_FN_MEMALIGN));
	s = site_of(&plan, ALLOC_FN_ALIGNED_ALLOC);
	assert_non_null(s);
	assert_int_equal(s->names, (1u << ALLOC_FN_ALIGNED_ALLOC) | (1u << ALLOC_FN_MEMALIGN));
	assert_null(site_of(&plan, ALLOC_FN_MEMALIGN));
}

static void add_site(struct probe_plan *p, enum alloc_fn fn, unsigned int names, bool exported)
{
	p->sites[p->nsites++] = (struct probe_site){.fn = fn, .names = names};
	if (exported)
		p->exports |= names;
}

#define BIT(fn) (1u << ALLOC_FN_##fn)

/* A preloaded wrapper (malloc, calloc, realloc, free) before libc: libc keeps
 * only what the wrapper does not define; an alias stays while one of its
 * names binds to it; a definition no object exports (a static function, a
 * hidden one) binds inside its object and stays. */
static void test_bind_keeps_what_calls_reach(void **state)
{
	struct probe_plan shim = {}, libc = {}, hidden = {};
	struct probe_plan *plans[] = {&shim, &libc, &hidden};
	unsigned int lost[3];

	(void)state;
	add_site(&shim, ALLOC_FN_MALLOC, BIT(MALLOC), true);
	add_site(&shim, ALLOC_FN_CALLOC, BIT(CALLOC), true);
	add_site(&shim, ALLOC_FN_REALLOC, BIT(REALLOC), true);
	add_site(&shim, ALLOC_FN_FREE, BIT(FREE), true);
	add_site(&shim, ALLOC_FN_ALIGNED_ALLOC, BIT(ALIGNED_ALLOC), true);
	add_site(&libc, ALLOC_FN_MALLOC, BIT(MALLOC), true);
	add_site(&libc, ALLOC_FN_FREE, BIT(FREE), true);
	add_site(&libc, ALLOC_FN_POSIX_MEMALIGN, BIT(POSIX_MEMALIGN), true);
	add_site(&libc, ALLOC_FN_ALIGNED_ALLOC, BIT(ALIGNED_ALLOC) | BIT(MEMALIGN), true);
	add_site(&hidden, ALLOC_FN_MALLOC, BIT(MALLOC), false);
	add_site(&hidden, ALLOC_FN_FREE, BIT(FREE), false);
	probes__bind(plans, 3, lost);
	assert_int_equal(shim.nsites, 5);
	assert_int_equal(lost[0], 0);
	assert_int_equal(libc.nsites, 2);
	assert_int_equal(libc.sites[0].fn, ALLOC_FN_POSIX_MEMALIGN);
	assert_int_equal(libc.sites[1].fn, ALLOC_FN_ALIGNED_ALLOC); /* memalign binds here */
	assert_int_equal(lost[1], BIT(MALLOC) | BIT(FREE));
	assert_int_equal(hidden.nsites, 2);
	assert_int_equal(lost[2], 0);
}

/* The same objects the other way round: the first exporter wins. */
static void test_bind_first_exporter_wins(void **state)
{
	struct probe_plan a = {}, b = {};
	struct probe_plan *plans[] = {&a, &b};
	unsigned int lost[2];

	(void)state;
	add_site(&a, ALLOC_FN_MALLOC, BIT(MALLOC), true);
	add_site(&a, ALLOC_FN_FREE, BIT(FREE), true);
	add_site(&b, ALLOC_FN_MALLOC, BIT(MALLOC), true);
	add_site(&b, ALLOC_FN_FREE, BIT(FREE), true);
	add_site(&b, ALLOC_FN_CALLOC, BIT(CALLOC), true);
	probes__bind(plans, 2, lost);
	assert_int_equal(a.nsites, 2);
	assert_int_equal(b.nsites, 1);
	assert_int_equal(b.sites[0].fn, ALLOC_FN_CALLOC);
	assert_int_equal(lost[1], BIT(MALLOC) | BIT(FREE));
}

/* libc first, then an allocator dlopen'd RTLD_LOCAL and called through
 * dlsym: libc's calls never reach it, so both keep their probes. */
static void test_bind_libc_shadows_nothing(void **state)
{
	struct probe_plan libc = {}, pool = {};
	struct probe_plan *plans[] = {&libc, &pool};
	unsigned int lost[2];

	(void)state;
	libc.libc = true;
	add_site(&libc, ALLOC_FN_MALLOC, BIT(MALLOC), true);
	add_site(&libc, ALLOC_FN_FREE, BIT(FREE), true);
	add_site(&pool, ALLOC_FN_MALLOC, BIT(MALLOC), true);
	add_site(&pool, ALLOC_FN_FREE, BIT(FREE), true);
	probes__bind(plans, 2, lost);
	assert_int_equal(libc.nsites, 2);
	assert_int_equal(pool.nsites, 2);
	assert_int_equal(lost[0] | lost[1], 0);
}

static void test_table_rows_match_the_enum(void **state)
{
	(void)state;
	for (size_t i = 0; i < ALLOC_FN_COUNT; i++)
		assert_int_equal(probes__fns[i].fn, i);
	assert_true(probes__fns[ALLOC_FN_MALLOC].required);
	assert_true(probes__fns[ALLOC_FN_FREE].required);
	assert_false(probes__fns[ALLOC_FN_FREE].ret);
	assert_int_equal(probes__fns[ALLOC_FN_CALLOC].shape, SHAPE_NMEMB_SIZE);
}

/* CPython's object allocator is planned from the offsets its table gives, never by name:
 * here libc's functions stand in for pymalloc's (ctx first, so the probes read rsi). */
static void test_table_plan(void **state)
{
	static const char *const names[AS_PYOBJ_FNS] = {"malloc", "calloc", "realloc", "free"};
	struct elfobj *o = elfobj__open(LIBC);
	__u64 offs[AS_PYOBJ_FNS];
	struct probe_plan plan;
	struct elf_func f;
	char path[64];
	int fd = open(LIBC, O_RDONLY | O_CLOEXEC);

	(void)state;
	assert_non_null(o);
	assert_true(fd >= 0);
	for (size_t i = 0; i < AS_PYOBJ_FNS; i++) {
		assert_int_equal(elfobj__find_func(o, names[i], &f), 0);
		offs[i] = f.file_off;
	}
	assert_int_equal(probes__plan_table(fd, offs, PLACEMENT_AUTO, &plan), 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	assert_string_equal(plan.path, path);
	assert_int_equal(plan.nsites, AS_PYOBJ_FNS);
	for (size_t i = 0; i < AS_PYOBJ_FNS; i++) {
		const struct probe_site *s = site_of(&plan, ALLOC_FN_PYOBJ_MALLOC + i);

		assert_non_null(s);
		assert_int_equal(s->func_off, offs[i]);
		assert_true(probes__fns[s->fn].by_table);
	}
	assert_true(probes__is_free(ALLOC_FN_PYOBJ_FREE));
	assert_false(probes__is_free(ALLOC_FN_PYOBJ_REALLOC));
	/* One function behind two entries is probed once. */
	offs[1] = offs[0];
	assert_int_equal(probes__plan_table(fd, offs, PLACEMENT_AUTO, &plan), 0);
	assert_int_equal(plan.nsites, AS_PYOBJ_FNS - 1);
	assert_int_equal(site_of(&plan, ALLOC_FN_PYOBJ_MALLOC)->names,
			 (1u << ALLOC_FN_PYOBJ_MALLOC) | (1u << ALLOC_FN_PYOBJ_CALLOC));
	/* And the ELF plan never looks for them by name. */
	assert_int_equal(probes__plan(LIBC, PLACEMENT_AUTO, &plan), 0);
	assert_null(site_of(&plan, ALLOC_FN_PYOBJ_MALLOC));
	assert_null(site_of(&plan, ALLOC_FN_PYOBJ_FREE));
	close(fd);
	elfobj__close(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libc_plan_covers_the_family),
		cmocka_unit_test(test_aliases_are_probed_once),
		cmocka_unit_test(test_moved_probes_land_on_emulated_instructions),
		cmocka_unit_test(test_entry_mode_keeps_every_probe_at_entry),
		cmocka_unit_test(test_object_without_allocator_is_not_planned),
		cmocka_unit_test(test_libc_exports_and_aliases),
		cmocka_unit_test(test_bind_keeps_what_calls_reach),
		cmocka_unit_test(test_bind_first_exporter_wins),
		cmocka_unit_test(test_bind_libc_shadows_nothing),
		cmocka_unit_test(test_table_rows_match_the_enum),
		cmocka_unit_test(test_table_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
