// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The symbolizer's limits, against fake CPython 3.11 code objects built in this
 * process's own memory (pysym reads them with process_vm_readv, as it reads a
 * target's): long names are cut, names are shared between stacks, and the
 * name and stack budgets hold whatever the "target" holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "pyname.h"
#include "pysym.h"

#define STATE_COMPACT_ASCII (1u << 2 | 1u << 5 | 1u << 6) /* kind 1, compact, ascii */
#define STATE_COMPACT_UCS4  (4u << 2 | 1u << 5)

static __u8 code_type[64]; /* stands for PyCode_Type: only its address is compared */
static __u8 empty_bytes[40];

/* A heap block that lives until the test ends: fake objects are never freed,
 * since the symbolizer may read them again. */
static void *keep(size_t n)
{
	void *p = aligned_alloc(16, (n + 15) & ~(size_t)15);

	assert_non_null(p);
	memset(p, 0, n);
	return p;
}

static __u64 ascii_str(const char *s)
{
	size_t n = strlen(s);
	__u8 *o = keep(48 + n + 1);
	__u64 len = n;
	__u32 state = STATE_COMPACT_ASCII;

	memcpy(o + 16, &len, 8);
	memcpy(o + 32, &state, 4);
	memcpy(o + 48, s, n + 1);
	return (__u64)(uintptr_t)o;
}

/* n copies of code point c, a compact UCS-4 str. */
static __u64 ucs4_str(__u32 c, size_t n)
{
	__u8 *o = keep(72 + 4 * n + 4);
	__u64 len = n;
	__u32 state = STATE_COMPACT_UCS4;

	memcpy(o + 16, &len, 8);
	memcpy(o + 32, &state, 4);
	for (size_t i = 0; i < n; i++)
		memcpy(o + 72 + 4 * i, &c, 4);
	return (__u64)(uintptr_t)o;
}

/* A bytes object of n zero bytes. */
static __u64 bytes(__u64 n)
{
	__u8 *o = keep(32 + n + 1);

	memcpy(o + 16, &n, 8);
	return (__u64)(uintptr_t)o;
}

/* A code object of 3.11's layout (user/pyoffsets.c) with line table table
 * (an empty one when 0). */
static __u64 code_table(__u64 file, __u64 name, int firstlineno, __u64 table)
{
	const struct py_layout *l = pyoffsets__find(3, 11);
	__u8 *o = keep(256);
	__u64 type = (__u64)(uintptr_t)code_type;

	if (!table)
		table = (__u64)(uintptr_t)empty_bytes;

	memcpy(o + 8, &type, 8);
	memcpy(o + l->code_filename, &file, 8);
	memcpy(o + l->code_name, &name, 8);
	memcpy(o + l->code_qualname, &name, 8);
	memcpy(o + l->code_linetable, &table, 8);
	memcpy(o + l->code_firstlineno, &firstlineno, 4);
	return (__u64)(uintptr_t)o;
}

static __u64 code(__u64 file, __u64 name, int firstlineno)
{
	return code_table(file, name, firstlineno, 0);
}

static struct pysym *new_sym(void)
{
	struct pysym *s = pysym__new();
	struct pyproc pp = {.major = 3, .minor = 11};

	assert_non_null(s);
	pp.layout = *pyoffsets__find(3, 11);
	pp.code_type = (__u64)(uintptr_t)code_type;
	assert_int_equal(pysym__add_pid(s, getpid(), &pp), 0);
	return s;
}

static const struct py_frame *name_stack(struct pysym *s, __u64 id, const __u64 *codes, __u32 n)
{
	struct stack_trace st = {.nr = n};

	for (__u32 i = 0; i < n; i++)
		st.pcs[i] = AS_PY_FRAME(codes[i], 0);
	return pysym__stack(s, getpid(), id, &st);
}

/* 4096 emoji (16 KB) as a name: cut to 63 of them and the marker. */
static void test_long_name_cut(void **state)
{
	struct pysym *s = new_sym();
	__u64 c = code(ascii_str("/srv/app.py"), ucs4_str(0x1f600, 4096), 7);
	const struct py_frame *f = name_stack(s, 1, &c, 1);
	char want[PYNAME_MAX + 1] = "";

	(void)state;
	for (int i = 0; i < 63; i++)
		strcat(want, "\xf0\x9f\x98\x80");
	strcat(want, PYNAME_MARK);
	assert_non_null(f);
	assert_string_equal(f[0].function, want);
	assert_string_equal(f[0].file, "/srv/app.py");
	assert_int_equal(f[0].line, 7);
	pysym__free(s);
}

/* A str claiming 2^62 characters: only PYNAME_CHARS of them are read. */
static void test_huge_length_bounded(void **state)
{
	struct pysym *s = new_sym();
	__u64 name = ucs4_str('a', PYNAME_CHARS), len = 1ULL << 62, c;
	const struct py_frame *f;

	(void)state;
	memcpy((__u8 *)(uintptr_t)name + 16, &len, 8);
	c = code(ascii_str("x.py"), name, 1);
	f = name_stack(s, 1, &c, 1);
	assert_non_null(f);
	assert_int_equal(strlen(f[0].function), PYNAME_MAX);
	pysym__free(s);
}

/* Frames of one code object in different stacks share one copy of its names. */
static void test_names_shared(void **state)
{
	struct pysym *s = new_sym();
	__u64 c[3] = {code(ascii_str("a.py"), ascii_str("f"), 1), 0, 0};
	const struct py_frame *f1, *f2;
	struct pysym_stats st;

	(void)state;
	c[1] = code(ascii_str("a.py"), ascii_str("g"), 2);
	c[2] = code(ascii_str("a.py"), ascii_str("h"), 3);
	f1 = name_stack(s, 1, c, 3);
	f2 = name_stack(s, 2, c + 1, 2);
	assert_non_null(f1);
	assert_non_null(f2);
	assert_ptr_equal(f1[1].function, f2[0].function);
	assert_ptr_equal(f1[0].file, f2[1].file); /* one "a.py" for every code object */
	pysym__stats(s, &st);
	assert_int_equal(st.names, 4); /* a.py f g h */
	pysym__free(s);
}

/* 20000 code objects with distinct 1000-character names: the pool stops at its
 * budget and later frames say they are not named, with their line. */
static void test_name_budget(void **state)
{
	struct pysym *s = new_sym();
	struct pysym_stats st;
	char name[1001];
	int unnamed = 0;

	(void)state;
	memset(name, 'n', 1000);
	name[1000] = '\0';
	for (int i = 0; i < 20000; i++) {
		__u64 c;
		const struct py_frame *f;

		snprintf(name, 12, "%011d", i);
		name[11] = 'n';
		c = code(ascii_str("b.py"), ascii_str(name), 100 + i);
		f = name_stack(s, i + 1, &c, 1);
		assert_non_null(f);
		assert_int_equal(f[0].line, 100 + i);
		if (strstr(f[0].function, "not named")) {
			assert_string_equal(f[0].file, "?");
			unnamed++;
		} else {
			assert_int_equal(strlen(f[0].function), PYNAME_MAX);
		}
	}
	pysym__stats(s, &st);
	assert_true(st.name_bytes <= 4u << 20);
	assert_true(unnamed > 0 && st.names_refused > 0);
	assert_int_equal(st.names + unnamed, 20000 + 1); /* + b.py */
	pysym__free(s);
}

/* Distinct 128-frame stacks until the stack budget is met: NULL then, and
 * the bytes kept stay within it. */
static void test_stack_budget(void **state)
{
	struct pysym *s = new_sym();
	__u64 c[AS_MAX_FRAMES];
	struct pysym_stats st;
	__u64 id;

	(void)state;
	c[0] = code(ascii_str("c.py"), ascii_str("deep"), 1);
	for (int i = 1; i < AS_MAX_FRAMES; i++)
		c[i] = c[0];
	for (id = 1; id < 100000; id++)
		if (!name_stack(s, id, c, AS_MAX_FRAMES))
			break;
	pysym__stats(s, &st);
	assert_true(id > 1000 && id < 100000);
	assert_true(st.stack_bytes <= 16u << 20);
	assert_int_equal(st.stacks_unnamed, 1);
	assert_non_null(name_stack(s, 1, c, AS_MAX_FRAMES)); /* named ones are kept */
	pysym__free(s);
}

/* Line tables of 1 MiB each: the code cache is emptied when it would pass
 * 8 MiB and the frames are still named; a larger table is not read. */
static void test_code_budget(void **state)
{
	struct pysym *s = new_sym();
	__u64 file = ascii_str("d.py"), table = bytes(1 << 20), c;
	struct pysym_stats st;
	const struct py_frame *f;

	(void)state;
	for (int i = 0; i < 12; i++) {
		c = code_table(file, ascii_str("big"), 10 + i, table);
		f = name_stack(s, i + 1, &c, 1);
		assert_non_null(f);
		assert_string_equal(f[0].function, "big");
		assert_int_equal(f[0].line, 10 + i);
	}
	pysym__stats(s, &st);
	assert_true(st.code_flushes >= 1);
	assert_true(st.code_bytes <= 8u << 20);
	c = code_table(file, ascii_str("huge"), 1, bytes((1 << 20) + 1));
	f = name_stack(s, 100, &c, 1);
	assert_non_null(f);
	assert_string_equal(f[0].function, "[unreadable code object]");
	pysym__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_name_cut), cmocka_unit_test(test_huge_length_bounded),
		cmocka_unit_test(test_names_shared),  cmocka_unit_test(test_name_budget),
		cmocka_unit_test(test_stack_budget),  cmocka_unit_test(test_code_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
