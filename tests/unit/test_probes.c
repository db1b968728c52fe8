// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Attach plans on this machine's real libc: which functions are probed, that
 * aliases are probed once, and that every moved probe sits on an emulated
 * instruction at an instruction boundary. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_libc_plan_covers_the_family),
		cmocka_unit_test(test_aliases_are_probed_once),
		cmocka_unit_test(test_moved_probes_land_on_emulated_instructions),
		cmocka_unit_test(test_entry_mode_keeps_every_probe_at_entry),
		cmocka_unit_test(test_object_without_allocator_is_not_planned),
		cmocka_unit_test(test_table_rows_match_the_enum),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
