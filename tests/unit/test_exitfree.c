// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Thread-exit frees in this machine's glibc (its debug file, libc6-dbg): the
 * functions found call free directly, and land at their place in a process. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "elfobj.h"
#include "exitfree.h"

#define LIBC "/lib/x86_64-linux-gnu/libc.so.6"

/* Whether [off, off + len) of o holds a direct call (e8 rel32) to target. */
static bool calls(struct elfobj *o, __u64 off, __u64 len, __u64 target)
{
	__u8 *code = malloc(len);
	__u64 va;
	bool found = false;

	assert_non_null(code);
	assert_int_equal(elfobj__read(o, off, code, len), 0);
	assert_int_equal(elfobj__vaddr_of_offset(o, off, &va), 0);
	for (__u64 i = 0; i + 5 <= len && !found; i++) {
		__s32 rel;

		memcpy(&rel, code + i + 1, sizeof(rel));
		found = code[i] == 0xe8 && va + i + 5 + rel == target;
	}
	free(code);
	return found;
}

static void test_glibc_flush_calls_free(void **state)
{
	struct exitfree ef;
	struct elfobj *o = elfobj__open(LIBC);
	struct elf_func free_fn;
	bool any = false;
	int fd = open(LIBC, O_RDONLY | O_CLOEXEC);

	(void)state;
	assert_non_null(o);
	assert_true(fd >= 0);
	assert_int_equal(exitfree__find(fd, "", LIBC, &ef), 0);
	close(fd);
	if (!ef.nr)
		skip(); /* no debug file (scripts/install-deps.sh installs libc6-dbg) */
	assert_int_equal(elfobj__find_func(o, "__libc_free", &free_fn), 0);
	for (size_t i = 0; i < ef.nr; i++)
		any |= calls(o, ef.off[i], ef.len[i], free_fn.vaddr);
	assert_true(any);
	elfobj__close(o);
}

/* Without symbols (the debug file looked for under an empty root): the
 * function found by the flush's message is the one the symbols name, up to
 * where the next function starts. */
static void test_glibc_flush_without_symbols(void **state)
{
	char root[] = "/tmp/exitfree.XXXXXX";
	struct exitfree by_sym, by_msg;
	struct elfobj *o = elfobj__open(LIBC);
	struct elf_func free_fn;
	int fd = open(LIBC, O_RDONLY | O_CLOEXEC);

	(void)state;
	assert_non_null(o);
	assert_true(fd >= 0);
	assert_non_null(mkdtemp(root));
	assert_int_equal(exitfree__find(fd, root, LIBC, &by_msg), 0);
	assert_int_equal(exitfree__find(fd, "", LIBC, &by_sym), 0);
	close(fd);
	rmdir(root);
	assert_int_equal(by_msg.nr, 1);
	assert_int_equal(elfobj__find_func(o, "__libc_free", &free_fn), 0);
	assert_true(calls(o, by_msg.off[0], by_msg.len[0], free_fn.vaddr));
	if (by_sym.nr) {
		bool same = false;

		/* Up to the next function: the symbol's size and the padding after it. */
		for (size_t i = 0; i < by_sym.nr; i++)
			same |= by_sym.off[i] == by_msg.off[0] && by_sym.len[i] <= by_msg.len[0] &&
				by_msg.len[0] < by_sym.len[i] + 64;
		assert_true(same);
	}
	elfobj__close(o);
}

/* Not glibc: nothing looked for. */
static void test_other_objects_have_none(void **state)
{
	struct exitfree ef;
	int fd = open(FIXTURE_DIR "/libsymfix.so", O_RDONLY | O_CLOEXEC);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(exitfree__find(fd, "", FIXTURE_DIR "/libsymfix.so", &ef), 0);
	assert_int_equal(ef.nr, 0);
	close(fd);
}

/* File offsets become addresses through the executable mapping that holds
 * them; another file, or a mapping without them, gives nothing. */
static void test_addresses_in_a_process(void **state)
{
	static const char maps_txt[] =
		"7f0000000000-7f0000028000 r--p 00000000 08:01 42 /lib/libc.so.6\n"
		"7f0000028000-7f000019d000 r-xp 00028000 08:01 42 /lib/libc.so.6\n"
		"7f10000a0000-7f10000b0000 r-xp 00099000 08:01 43 /lib/other.so\n";
	struct exitfree ef = {.off = {0x99000, 0x400000}, .len = {0x130, 0x10}, .nr = 2};
	struct exit_free_pcs pcs = {};
	struct procmaps maps = {};
	FILE *f = fmemopen((void *)maps_txt, sizeof(maps_txt) - 1, "r");
	size_t n = 0;

	(void)state;
	assert_non_null(f);
	assert_int_equal(procmaps__parse(f, &maps), 0);
	fclose(f);
	exitfree__pcs(&ef, &maps, (struct file_id){8, 1, 42}, &pcs, &n);
	assert_int_equal(n, 1);
	assert_int_equal(pcs.lo[0], 0x7f0000099000ULL);
	assert_int_equal(pcs.hi[0], 0x7f0000099130ULL);
	procmaps__free(&maps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glibc_flush_calls_free),
		cmocka_unit_test(test_glibc_flush_without_symbols),
		cmocka_unit_test(test_other_objects_have_none),
		cmocka_unit_test(test_addresses_in_a_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
