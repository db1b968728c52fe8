// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The generated CPython layout table: which versions it has, a few offsets
 * measured from 3.6.15 and 3.13.0, and the per-version shape of every entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pyoffsets.h"

#define MINOR_FIRST 6
#define MINOR_LAST  13

static void test_unsupported(void **state)
{
	(void)state;
	assert_null(pyoffsets__find(3, 5));
	assert_null(pyoffsets__find(3, 14));
	assert_null(pyoffsets__find(2, 7)); /* minor 7 exists, major 2 does not */
	assert_null(pyoffsets__find(4, 13));
}

static void test_py36(void **state)
{
	const struct py_layout *l = pyoffsets__find(3, 6);

	(void)state;
	assert_non_null(l);
	assert_int_equal(l->runtime_interp_head, AS_PY_NONE);
	assert_int_equal(l->walk.interp_tstate_head, 8);
	assert_int_equal(l->walk.tstate_thread_id, 152);
	assert_int_equal(l->walk.tstate_frame, 24);
	assert_int_equal(l->walk.frame_back, 24);
	assert_int_equal(l->walk.frame_code, 32);
	assert_int_equal(l->walk.frame_instr, 120);
	assert_int_equal(l->code_filename, 96);
	assert_int_equal(l->code_firstlineno, 36);
	assert_int_equal(l->code_linetable, 112);
	assert_int_equal(l->unicode_ascii_data, 48);
	assert_int_equal(l->unicode_compact_data, 72);
	assert_int_equal(l->bytes_data, 32);
}

/* These also match 3.13.0's own _Py_DebugOffsets. */
static void test_py313(void **state)
{
	const struct py_layout *l = pyoffsets__find(3, 13);

	(void)state;
	assert_non_null(l);
	assert_int_equal(l->runtime_interp_head, 632);
	assert_int_equal(l->walk.interp_tstate_head, 7344);
	assert_int_equal(l->walk.tstate_frame, 72);
	assert_int_equal(l->walk.frame_back, 8);
	assert_int_equal(l->walk.frame_code, 0);
	assert_int_equal(l->walk.frame_instr, 56);
	assert_int_equal(l->walk.frame_owner, 70);
	assert_int_equal(l->walk.code_adaptive, 200);
	assert_int_equal(l->walk.shim_owner, 3);
	assert_int_equal(l->code_qualname, 128);
	assert_int_equal(l->code_firstlineno, 68);
	assert_int_equal(l->code_linetable, 136);
	assert_int_equal(l->unicode_ascii_data, 40);
	assert_int_equal(l->bytes_size, 16);
}

static void assert_has(const char *name, int minor, __u16 off, bool want)
{
	if ((off != AS_PY_NONE) != want)
		fail_msg("3.%d %s: %u, expected %s", minor, name, off,
			 want ? "an offset" : "AS_PY_NONE");
}

static enum py_instr instr_kind(int minor)
{
	if (minor <= 9)
		return PY_INSTR_LASTI_BYTES;
	if (minor == 10)
		return PY_INSTR_LASTI_UNITS; /* f_lasti counts code units from 3.10 */
	return PY_INSTR_POINTER;
}

/* Which fields each version has, and how its frames tell the instruction. */
static void test_rules(void **state)
{
	int minor;

	(void)state;
	for (minor = MINOR_FIRST; minor <= MINOR_LAST; minor++) {
		const struct py_layout *l = pyoffsets__find(3, minor);
		const struct py_offsets *w;

		if (!l)
			fail_msg("3.%d missing", minor);
		w = &l->walk;
		assert_int_equal(l->minor, minor);
		assert_int_equal(w->instr_kind, instr_kind(minor));
		assert_has("runtime_interp_head", minor, l->runtime_interp_head, minor >= 7);
		assert_has("cframe_frame", minor, w->cframe_frame, minor == 11 || minor == 12);
		assert_has("frame_owner", minor, w->frame_owner, minor >= 11);
		assert_has("code_adaptive", minor, w->code_adaptive, minor >= 11);
		assert_has("code_qualname", minor, l->code_qualname, minor >= 11);
		/* every version has the rest */
		assert_has("interp_tstate_head", minor, w->interp_tstate_head, true);
		assert_has("tstate_next", minor, w->tstate_next, true);
		assert_has("tstate_thread_id", minor, w->tstate_thread_id, true);
		assert_has("tstate_frame", minor, w->tstate_frame, true);
		assert_has("frame_back", minor, w->frame_back, true);
		assert_has("frame_code", minor, w->frame_code, true);
		assert_has("frame_instr", minor, w->frame_instr, true);
		assert_has("code_filename", minor, l->code_filename, true);
		assert_has("code_name", minor, l->code_name, true);
		assert_has("code_firstlineno", minor, l->code_firstlineno, true);
		assert_has("code_linetable", minor, l->code_linetable, true);
		/* C-stack shim frames exist from 3.12 */
		if ((w->shim_owner != 0xff) != (minor >= 12))
			fail_msg("3.%d shim_owner %u", minor, w->shim_owner);
		assert_int_equal(w->frame_read, 0); /* set per process, after 3.13+ overrides */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_py36),
		cmocka_unit_test(test_py313),
		cmocka_unit_test(test_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
