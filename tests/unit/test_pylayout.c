// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Layout checks: the generated table passes them, and _Py_DebugOffsets as a
 * 3.13 process may rewrite them are refused before any field is kept. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pylayout.h"

/* _Py_DebugOffsets as pyenv's CPython 3.13.0 keeps them (read from a live
 * process's _PyRuntime). */
static struct py_debug_offsets real313(void)
{
	struct py_debug_offsets d = {
		.cookie = "xdebugpy",
		.version = 0x30d00f0,
		.runtime_size = 283320,
		.runtime_finalizing = 608,
		.runtime_interpreters_head = 632,
		.interp_size = 194968,
		.interp_id = 7272,
		.interp_next = 7264,
		.interp_threads_head = 7344,
		.tstate_size = 304,
		.tstate_next = 8,
		.tstate_interp = 16,
		.tstate_current_frame = 72,
		.tstate_thread_id = 152,
		.tstate_native_thread_id = 160,
		.frame_size = 80,
		.frame_previous = 8,
		.frame_executable = 0,
		.frame_instr_ptr = 56,
		.frame_localsplus = 72,
		.frame_owner = 70,
		.code_size = 208,
		.code_filename = 112,
		.code_name = 120,
		.code_qualname = 128,
		.code_linetable = 136,
		.code_firstlineno = 68,
		.code_adaptive = 200,
	};
	return d;
}

static void test_table_passes(void **state)
{
	char why[160];

	(void)state;
	for (int minor = 6; minor <= 13; minor++) {
		const struct py_layout *l = pyoffsets__find(3, minor);

		assert_non_null(l);
		if (pylayout__check(l, why, sizeof(why)))
			fail_msg("3.%d: %s", minor, why);
		assert_true(pylayout__frame_read(&l->walk) > 0);
	}
}

/* The str fields are read from one header of unicode_ascii_data bytes. */
static void test_str_header_checked(void **state)
{
	struct py_layout l = *pyoffsets__find(3, 12);
	char why[160] = "";

	(void)state;
	l.unicode_state = 40; /* the header read is 40 bytes: state would lie past it */
	assert_int_equal(pylayout__check(&l, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "str header"));
	l = *pyoffsets__find(3, 12);
	l.code_firstlineno = 253;
	assert_int_equal(pylayout__check(&l, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "code firstlineno"));
}

static void test_real_offsets_kept(void **state)
{
	const struct py_layout *known = pyoffsets__find(3, 13);
	struct py_debug_offsets d = real313();
	struct py_layout out;
	char why[160] = "";

	(void)state;
	assert_int_equal(pylayout__from_debug(&d, 13, known, &out, why, sizeof(why)), 0);
	assert_int_equal(out.code_filename, 112);
	assert_int_equal(out.walk.interp_tstate_head, 7344);
	assert_int_equal(out.walk.frame_owner, 70);
	assert_int_equal(out.walk.cframe_frame, AS_PY_NONE);
	assert_int_equal(out.unicode_ascii_data, known->unicode_ascii_data); /* not described */
}

/* A build that moves fields a little (Py_TRACE_REFS: 16 more bytes in every
 * object header) is followed at its own offsets. */
static void test_moved_offsets_followed(void **state)
{
	const struct py_layout *known = pyoffsets__find(3, 13);
	struct py_debug_offsets d = real313();
	struct py_layout out;
	char why[160] = "";

	(void)state;
	d.code_size += 16;
	d.code_filename += 16;
	d.code_name += 16;
	d.code_qualname += 16;
	d.code_linetable += 16;
	d.code_firstlineno += 16;
	d.code_adaptive += 16;
	assert_int_equal(pylayout__from_debug(&d, 13, known, &out, why, sizeof(why)), 0);
	assert_int_equal(out.code_filename, 128);
	assert_int_equal(out.walk.code_adaptive, 216);
}

/* Each case rewrites one thing and names the field the message must name. */
static void expect_refused(struct py_debug_offsets d, const char *field)
{
	const struct py_layout *known = pyoffsets__find(3, 13);
	struct py_layout out, before;
	char why[160] = "";

	memset(&out, 0xa5, sizeof(out));
	before = out;
	assert_int_equal(pylayout__from_debug(&d, 13, known, &out, why, sizeof(why)), -EINVAL);
	if (!strstr(why, field))
		fail_msg("message \"%s\" does not name %s", why, field);
	assert_memory_equal(&out, &before, sizeof(out)); /* untouched */
}

static void test_hostile_offsets_refused(void **state)
{
	struct py_debug_offsets d;

	(void)state;
	d = real313(); /* past the struct, and past 16 bits of room */
	d.code_filename = 0xfff0;
	expect_refused(d, "code_object.filename");
	d = real313(); /* would read 0x70 once kept in 16 bits */
	d.code_size = 0x20000;
	d.code_filename = 0x10070;
	expect_refused(d, "code_object.filename");
	d = real313(); /* inside its claimed struct, but past the 256 bytes read */
	d.code_size = 512;
	d.code_linetable = 300;
	expect_refused(d, "code linetable");
	d = real313(); /* inside the frame, past the 128 bytes the BPF walk reads */
	d.frame_size = 256;
	d.frame_owner = 200;
	expect_refused(d, "frame fields");
	d = real313(); /* far from where any 3.13 build has it */
	d.interp_threads_head = 60000;
	expect_refused(d, "interpreter_state.threads_head");
	d = real313();
	d.tstate_size = 1ULL << 40;
	d.tstate_thread_id = 152;
	expect_refused(d, "thread_state.next");
	d = real313();
	d.tstate_current_frame = ~0ULL - 4; /* off + width wraps */
	expect_refused(d, "thread_state.current_frame");
}

static void test_wrong_struct_refused(void **state)
{
	struct py_debug_offsets d;

	(void)state;
	d = real313();
	memcpy(d.cookie, "xdebugpz", 8);
	expect_refused(d, "no _Py_DebugOffsets");
	d = real313();
	d.version = 0x30c01f0; /* 3.12 */
	expect_refused(d, "version");
	d = real313();
	d.free_threaded = 1;
	expect_refused(d, "free-threaded");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_passes),
		cmocka_unit_test(test_str_header_checked),
		cmocka_unit_test(test_real_offsets_kept),
		cmocka_unit_test(test_moved_offsets_followed),
		cmocka_unit_test(test_hostile_offsets_refused),
		cmocka_unit_test(test_wrong_struct_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
