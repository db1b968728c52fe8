// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unwind rows compiled from CFI: every rule encoding on hand-written CFI (in
 * .eh_frame, .debug_frame and a separate debug file), GCC's output for rbp-
 * and rsp-based frames and the PLT, real libraries and readelf's view of
 * them, and hostile files: a huge FDE, compression bombs, a shrinking file. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <cmocka.h>

#include "cfi.h"
#include "elfobj.h"

#define LIBC	  "/lib/x86_64-linux-gnu/libc.so.6"
#define CFIFIX	  FIXTURE_DIR "/cfifix"
#define RULES	  FIXTURE_DIR "/libcfirules.so"
#define RULES_DBG FIXTURE_DIR "/libcfirules_dbg.so"
#define BIG	  FIXTURE_DIR "/libcfibig.so"
#define SAME	  UNW_RBP_SAME
#define UNSUP	  UNW_ROW_KIND(UNW_CFA_UNSUP, UNW_RBP_SAME)

/* libelf reads the file with pread (ELF_C_READ). The first read of more
 * than 64 KiB from shrink_fd truncates the file first, as a target truncating
 * its own library while allocscope reads it does. */
static int shrink_fd = -1;

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	if (fd == shrink_fd && n > 65536) {
		assert_int_equal(ftruncate(fd, 0), 0);
		shrink_fd = -1;
	}
	return syscall(SYS_pread64, fd, buf, n, off);
}

static int build(const char *path, const char *debug_path, struct cfi_table *t)
{
	int fd = open(path, O_RDONLY), dfd = debug_path ? open(debug_path, O_RDONLY) : -1;
	int err;

	assert_true(fd >= 0);
	assert_true(!debug_path || dfd >= 0);
	err = cfi_table__build(fd, dfd, NULL, t);
	close(fd);
	if (dfd >= 0)
		close(dfd);
	return err;
}

/* Sorted, no two neighbours equal, ends with a NONE row. */
static void assert_well_formed(const struct cfi_table *t)
{
	size_t i;

	assert_true(t->nr > 0);
	assert_int_equal(t->stats.rows, t->nr);
	for (i = 1; i < t->nr; i++) {
		const struct unw_row *a = &t->rows[i - 1], *b = &t->rows[i];

		assert_true(a->pc < b->pc);
		assert_false(a->kind == b->kind && a->cfa_off == b->cfa_off &&
			     a->rbp_off8 == b->rbp_off8);
	}
	assert_int_equal(UNW_ROW_CFA(&t->rows[t->nr - 1]), UNW_CFA_NONE);
}

static __u64 func_addr(const char *path, const char *name)
{
	struct elfobj *o = elfobj__open(path);
	struct elf_func f;

	assert_non_null(o);
	assert_int_equal(elfobj__find_func(o, name, &f), 0);
	elfobj__close(o);
	return f.vaddr;
}

static void assert_row(const struct cfi_table *t, __u64 pc, int cfa, int cfa_off, int rbp,
		       int rbp_off8)
{
	const struct unw_row *r = cfi_table__find(t, pc);

	assert_non_null(r);
	if (r->kind != UNW_ROW_KIND(cfa, rbp) || r->cfa_off != cfa_off || r->rbp_off8 != rbp_off8)
		fail_msg("row at %#llx: kind %#x off %d rbp8 %d, expected kind %#x off %d rbp8 %d",
			 (unsigned long long)pc, r->kind, r->cfa_off, r->rbp_off8,
			 UNW_ROW_KIND(cfa, rbp), cfa_off, rbp_off8);
}

/* cfi_rules.S: the state after step N is the row at cfi_rules+N. */
static const struct rule_case {
	int step, cfa, cfa_off, rbp, rbp_off8;
} rule_cases[] = {
	{0, UNW_CFA_RSP, 8, SAME, 0},	       {1, UNW_CFA_RSP, 16, UNW_RBP_CFA, -2},
	{2, UNW_CFA_RBP, 16, UNW_RBP_CFA, -2}, {3, UNW_CFA_RBP, 16, UNW_RBP_UNDEF, 0},
	{4, UNW_CFA_RBP, 16, SAME, 0},	       {5, UNW_CFA_RSP, 32767, SAME, 0},
	{6, UNW_CFA_RSP8, 4096, SAME, 0},      {7, UNW_CFA_UNSUP, 0, SAME, 0},
	{8, UNW_CFA_UNSUP, 0, SAME, 0},	       {9, UNW_CFA_UNSUP, 0, SAME, 0},
	{10, UNW_CFA_UNSUP, 0, SAME, 0},       {11, UNW_CFA_UNSUP, 0, SAME, 0},
	{12, UNW_CFA_UNSUP, 0, SAME, 0},       {13, UNW_CFA_RSP, 8, UNW_RBP_CFA, -128},
	{14, UNW_CFA_UNSUP, 0, SAME, 0},       {15, UNW_CFA_RSP, 8, UNW_RBP_CFA, 127},
	{16, UNW_CFA_RSP, 8, UNW_RBP_CFA, 0},  {17, UNW_CFA_UNSUP, 0, SAME, 0},
	{18, UNW_CFA_UNSUP, 0, SAME, 0},       {19, UNW_CFA_RSP, 16, SAME, 0},
	{20, UNW_CFA_RBP, 24, SAME, 0},	       {21, UNW_CFA_PLT, 10, SAME, 0},
	{22, UNW_CFA_UNSUP, 0, SAME, 0},       {23, UNW_CFA_UNSUP, 0, SAME, 0},
	{24, UNW_CFA_UNSUP, 0, SAME, 0},       {25, UNW_CFA_UNSUP, 0, SAME, 0},
	{26, UNW_CFA_END, 0, SAME, 0},	       {27, UNW_CFA_RSP, 8, SAME, 0},
	{28, UNW_CFA_RSP, 24, SAME, 0},	       {29, UNW_CFA_RSP, 8, SAME, 0},
	{30, UNW_CFA_RSP, -8, SAME, 0},	       {31, UNW_CFA_RSP, 8, UNW_RBP_CFA, 2},
};

static void test_every_rule_encoding(void **state)
{
	__u64 base = func_addr(RULES, "cfi_rules");
	struct cfi_table t;
	size_t i;

	(void)state;
	assert_int_equal(build(RULES, NULL, &t), 0);
	assert_well_formed(&t);
	assert_false(t.from_debug_frame);
	for (i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]); i++) {
		const struct rule_case *c = &rule_cases[i];

		assert_row(&t, base + c->step, c->cfa, c->cfa_off, c->rbp, c->rbp_off8);
	}
	/* Steps 7-12 say the same (UNSUP): one row. */
	assert_int_equal(cfi_table__find(&t, base + 12)->pc, base + 7);
	/* 13 unsupported steps, both rows of the signal frame and two rows of
	 * cfi_more, before merging. */
	assert_int_equal(t.stats.unsupported, 17);
	assert_int_equal(t.stats.fdes, 6);
	cfi_table__free(&t);
}

static void test_signal_frame_is_unsupported(void **state)
{
	__u64 sig = func_addr(RULES, "cfi_signal");
	struct cfi_table t;

	(void)state;
	assert_int_equal(build(RULES, NULL, &t), 0);
	assert_int_equal(t.stats.signal_frames, 1);
	assert_int_equal(cfi_table__find(&t, sig)->kind, UNSUP);
	assert_int_equal(cfi_table__find(&t, sig + 1)->kind, UNSUP);
	cfi_table__free(&t);
}

/* cfi_more: DW_CFA_restore brings back the CIE's rule; a register change of
 * an expression CFA leaves no CFA rule; a restore_state without a remembered
 * state makes the rest of the FDE unusable (libdw's reading, kept). */
static void test_restore_and_malformed(void **state)
{
	__u64 m = func_addr(RULES, "cfi_more");
	struct cfi_table t;
	int i;

	(void)state;
	assert_int_equal(build(RULES, NULL, &t), 0);
	assert_row(&t, m, UNW_CFA_RSP, 8, SAME, 0);
	assert_row(&t, m + 1, UNW_CFA_RSP, 16, UNW_RBP_CFA, -2);
	assert_row(&t, m + 2, UNW_CFA_RSP, 16, SAME, 0);
	assert_int_equal(cfi_table__find(&t, m + 3)->pc, m + 2);
	assert_row(&t, m + 4, UNW_CFA_UNSUP, 0, SAME, 0);
	assert_row(&t, m + 5, UNW_CFA_RSP, 8, SAME, 0);
	for (i = 6; i <= 8; i++) {
		assert_row(&t, m + i, UNW_CFA_UNSUP, 0, SAME, 0);
		assert_int_equal(cfi_table__find(&t, m + i)->pc, m + 6);
	}
	cfi_table__free(&t);
}

/* 14 bytes without CFI after cfi_gap_a; cfi_gap_c follows cfi_gap_b with
 * the rule cfi_gap_b ends with, so no row marks the boundary. */
static void test_gaps_and_merged_neighbours(void **state)
{
	__u64 a = func_addr(RULES, "cfi_gap_a"), b = func_addr(RULES, "cfi_gap_b");
	__u64 c = func_addr(RULES, "cfi_gap_c");
	const struct unw_row *r;
	struct cfi_table t;

	(void)state;
	assert_int_equal(b - a, 2 + 14);
	assert_int_equal(build(RULES, NULL, &t), 0);
	r = cfi_table__find(&t, a + 2);
	assert_int_equal(r->pc, a + 2);
	assert_int_equal(r->kind, UNW_ROW_KIND(UNW_CFA_NONE, SAME));
	assert_ptr_equal(cfi_table__find(&t, b - 1), r);
	assert_row(&t, b, UNW_CFA_RSP, 8, SAME, 0);
	assert_int_equal(cfi_table__find(&t, b)->pc, b);
	assert_row(&t, b + 1, UNW_CFA_RSP, 16, SAME, 0);
	assert_int_equal(cfi_table__find(&t, c)->pc, b + 2);
	/* After the last FDE, and before the first: no CFI. */
	assert_int_equal(cfi_table__find(&t, c + 1)->pc, c + 1);
	assert_int_equal(UNW_ROW_CFA(cfi_table__find(&t, c + 1)), UNW_CFA_NONE);
	assert_int_equal(UNW_ROW_CFA(cfi_table__find(&t, 0xffffffff)), UNW_CFA_NONE);
	assert_null(cfi_table__find(&t, func_addr(RULES, "cfi_rules") - 1));
	cfi_table__free(&t);
}

static void assert_tables_equal(const struct cfi_table *a, const struct cfi_table *b)
{
	assert_int_equal(a->nr, b->nr);
	assert_memory_equal(a->rows, b->rows, a->nr * sizeof(*a->rows));
	assert_int_equal(a->stats.fdes, b->stats.fdes);
	assert_int_equal(a->stats.unsupported, b->stats.unsupported);
	assert_int_equal(a->stats.signal_frames, b->stats.signal_frames);
}

/* The same CFI emitted into .debug_frame (absolute FDE addresses, "S" for
 * the signal frame) compiles to the same rows. */
static void test_debug_frame_matches_eh_frame(void **state)
{
	struct cfi_table eh, dbg;

	(void)state;
	assert_int_equal(build(RULES, NULL, &eh), 0);
	assert_int_equal(build(RULES_DBG, NULL, &dbg), 0);
	assert_true(dbg.from_debug_frame);
	assert_tables_equal(&eh, &dbg);
	cfi_table__free(&eh);
	cfi_table__free(&dbg);
}

/* Stripped of .debug_frame, the file has no CFI of its own; its separate
 * debug file (with a compressed .debug_frame) has it. */
static void test_separate_debug_file(void **state)
{
	struct cfi_table eh, t = {.nr = 1};

	(void)state;
	assert_int_equal(build(RULES_DBG, NULL, &eh), 0);
	assert_int_equal(build(FIXTURE_DIR "/libcfirules_dbg.stripped", NULL, &t), -ENOENT);
	assert_null(t.rows);
	assert_int_equal(t.nr, 0);
	assert_int_equal(build(FIXTURE_DIR "/libcfirules_dbg.stripped",
			       FIXTURE_DIR "/libcfirules_dbg.debug", &t),
			 0);
	assert_true(t.from_debug_frame);
	assert_tables_equal(&eh, &t);
	cfi_table__free(&eh);
	cfi_table__free(&t);
}

static void test_errors(void **state)
{
	struct cfi_table t;

	(void)state;
	/* Code above 4 GiB: rows hold 32-bit addresses. */
	assert_int_equal(build(FIXTURE_DIR "/libcfirules_far.so", NULL, &t), -E2BIG);
	assert_null(t.rows);
	assert_int_equal(build(SOURCE_DIR "/README.md", NULL, &t), -ENOEXEC);
}

static void test_find_boundaries(void **state)
{
	struct unw_row rows[] = {{.pc = 0x10}, {.pc = 0x20}, {.pc = 0x30}};
	struct cfi_table t = {.rows = rows, .nr = 3}, empty = {};

	(void)state;
	assert_null(cfi_table__find(&t, 0));
	assert_null(cfi_table__find(&t, 0xf));
	assert_ptr_equal(cfi_table__find(&t, 0x10), &rows[0]);
	assert_ptr_equal(cfi_table__find(&t, 0x1f), &rows[0]);
	assert_ptr_equal(cfi_table__find(&t, 0x20), &rows[1]);
	assert_ptr_equal(cfi_table__find(&t, 0x30), &rows[2]);
	assert_ptr_equal(cfi_table__find(&t, 0xffffffff), &rows[2]);
	assert_null(cfi_table__find(&empty, 0x10));
	cfi_table__free(NULL);
	cfi_table__free(&empty);
}

/* Reads len bytes of function name in path; returns its address. */
static __u64 func_bytes(const char *path, const char *name, __u8 *buf, size_t len)
{
	struct elfobj *o = elfobj__open(path);
	struct elf_func f;

	assert_non_null(o);
	assert_int_equal(elfobj__find_func(o, name, &f), 0);
	assert_true(f.size >= len);
	assert_int_equal(elfobj__read(o, f.file_off, buf, len), 0);
	elfobj__close(o);
	return f.vaddr;
}

static const __u8 *find_bytes(const __u8 *buf, size_t len, const char *pat, size_t n)
{
	size_t i;

	for (i = 0; i + n <= len; i++) {
		if (!memcmp(buf + i, pat, n))
			return buf + i;
	}
	return NULL;
}

/* GCC gives cfi_vla (a VLA) a frame pointer: after push %rbp the CFA is
 * rsp+16 with rbp saved at CFA-16; after mov %rsp,%rbp it is rbp+16. */
static void test_gcc_rbp_frame(void **state)
{
	const __u8 *push, *mov;
	struct cfi_table t;
	__u8 code[32];
	__u64 fn = func_bytes(CFIFIX, "cfi_vla", code, sizeof(code));

	(void)state;
	assert_int_equal(build(CFIFIX, NULL, &t), 0);
	assert_well_formed(&t);
	assert_row(&t, fn, UNW_CFA_RSP, 8, SAME, 0);
	push = find_bytes(code, sizeof(code), "\x55", 1);
	mov = find_bytes(code, sizeof(code), "\x48\x89\xe5", 3);
	assert_non_null(push);
	assert_non_null(mov);
	assert_row(&t, fn + (push - code) + 1, UNW_CFA_RSP, 16, UNW_RBP_CFA, -2);
	assert_row(&t, fn + (mov - code) + 3, UNW_CFA_RBP, 16, UNW_RBP_CFA, -2);
	assert_int_equal(cfi_table__find(&t, fn + (mov - code) + 3)->pc, fn + (mov - code) + 3);
	cfi_table__free(&t);
}

/* cfi_big starts with sub $imm32,%rsp: beyond it the CFA is rsp+imm+8, which
 * needs 8-byte units. */
static void test_gcc_large_frame(void **state)
{
	struct cfi_table t;
	__u8 code[8];
	__u64 fn = func_bytes(CFIFIX, "cfi_big", code, sizeof(code));
	__u32 imm;

	(void)state;
	assert_memory_equal(code, "\x48\x81\xec", 3);
	memcpy(&imm, code + 3, 4);
	assert_true(imm + 8 > 32767 && (imm + 8) % 8 == 0);
	assert_int_equal(build(CFIFIX, NULL, &t), 0);
	assert_row(&t, fn, UNW_CFA_RSP, 8, SAME, 0);
	assert_row(&t, fn + 7, UNW_CFA_RSP8, (imm + 8) / 8, SAME, 0);
	assert_row(&t, func_addr(CFIFIX, "cfi_plain"), UNW_CFA_RSP, 8, SAME, 0);
	assert_row(&t, func_addr(CFIFIX, "main"), UNW_CFA_RSP, 8, SAME, 0);
	cfi_table__free(&t);
}

static void section_range(const char *path, const char *name, __u64 *addr, __u64 *size)
{
	int fd = open(path, O_RDONLY);
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;
	Elf *elf;

	assert_true(fd >= 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	assert_int_equal(elf_getshdrstrndx(elf, &shstrndx), 0);
	*size = 0;
	while ((scn = elf_nextscn(elf, scn))) {
		if (gelf_getshdr(scn, &sh) &&
		    !strcmp(elf_strptr(elf, shstrndx, sh.sh_name), name)) {
			*addr = sh.sh_addr;
			*size = sh.sh_size;
		}
	}
	elf_end(elf);
	close(fd);
	assert_true(*size > 0);
}

/* .plt: PLT0 pushes once (rsp+16), then jumps through the GOT (rsp+24); each
 * entry pushes its index at byte 11, hence the PLT rule with threshold 11. */
static void test_plt(void **state)
{
	struct cfi_table t;
	__u64 plt = 0, size;

	(void)state;
	section_range(CFIFIX, ".plt", &plt, &size);
	assert_true(size >= 32);
	assert_int_equal(build(CFIFIX, NULL, &t), 0);
	assert_row(&t, plt, UNW_CFA_RSP, 16, SAME, 0);
	assert_row(&t, plt + 6, UNW_CFA_RSP, 24, SAME, 0);
	assert_row(&t, plt + 16, UNW_CFA_PLT, 11, SAME, 0);
	assert_int_equal(cfi_table__find(&t, plt + 16)->pc, plt + 16);
	assert_row(&t, plt + size - 1, UNW_CFA_PLT, 11, SAME, 0);
	cfi_table__free(&t);
}

/* crt1's _start says "undefined rip": the outermost frame. */
static void test_start_is_outermost(void **state)
{
	struct cfi_table t;

	(void)state;
	assert_int_equal(build(CFIFIX, NULL, &t), 0);
	assert_row(&t, func_addr(CFIFIX, "_start"), UNW_CFA_END, 0, SAME, 0);
	cfi_table__free(&t);
}

static void test_libc(void **state)
{
	struct cfi_table t;

	(void)state;
	assert_int_equal(build(LIBC, NULL, &t), 0);
	assert_well_formed(&t);
	assert_false(t.from_debug_frame);
	assert_row(&t, func_addr(LIBC, "malloc"), UNW_CFA_RSP, 8, SAME, 0);
	assert_row(&t, func_addr(LIBC, "free"), UNW_CFA_RSP, 8, SAME, 0);
	assert_in_range(t.nr, 10000, 99999);
	assert_true(t.stats.fdes > 1000);
	/* __longjmp, __restore_rt, vfork and the like: a handful. */
	assert_in_range(t.stats.unsupported, 1, 50);
	assert_true(t.stats.signal_frames >= 1);
	cfi_table__free(&t);
}

/* readelf --debug-dump=frames-interp as an independent reference. */
struct interp {
	const struct cfi_table *t;
	__u64 lo, hi;	       /* current FDE */
	bool in_fde, fde_rows; /* in an FDE, which printed rows */
	int rbp_col, ra_col;   /* value columns (0: the CFA), -1: absent */
	char cie_row[3][32];   /* last row of the last CIE: CFA, rbp, ra */
	struct {
		__u64 lo, hi;
	} * fdes;
	size_t nfdes, checked, mismatches;
};

/* The row readelf's CFA, rbp and ra columns should compile to; false for a
 * CFA expression (compiled to PLT or UNSUP). */
static bool expected_row(char v[3][32], struct unw_row *e)
{
	const char *cfa = v[0];
	int off;

	*e = (struct unw_row){.kind = UNSUP};
	if (!strcmp(v[2], "u")) {
		e->kind = UNW_ROW_KIND(UNW_CFA_END, SAME);
		return true;
	}
	if (strcmp(v[2], "c-8"))
		return true;
	if (!strcmp(cfa, "exp"))
		return false;
	if (strncmp(cfa, "rsp", 3) && strncmp(cfa, "rbp", 3))
		return true;
	off = atoi(cfa + 3);
	if (!strncmp(cfa, "rsp", 3) && (off < -32768 || off > 32767)) {
		if (off % 8)
			return true;
		e->kind = UNW_ROW_KIND(UNW_CFA_RSP8, SAME);
		off /= 8;
	} else if (off < -32768 || off > 32767) {
		return true;
	} else {
		e->kind = UNW_ROW_KIND(cfa[1] == 's' ? UNW_CFA_RSP : UNW_CFA_RBP, SAME);
	}
	e->cfa_off = off;
	if (v[1][0] == 'c' && atoi(v[1] + 1) % 8 == 0 && abs(atoi(v[1] + 1) / 8) <= 127) {
		e->kind = UNW_ROW_KIND(UNW_ROW_CFA(e), UNW_RBP_CFA);
		e->rbp_off8 = atoi(v[1] + 1) / 8;
	} else if (strcmp(v[1], "u") && strcmp(v[1], "s")) {
		*e = (struct unw_row){.kind = UNSUP};
	}
	return true;
}

static void interp_check(struct interp *s, __u64 loc, char v[3][32])
{
	const struct unw_row *r = cfi_table__find(s->t, loc);
	struct unw_row e;
	bool exact = expected_row(v, &e);

	s->checked++;
	if (!r || (exact ? r->kind != e.kind || r->cfa_off != e.cfa_off || r->rbp_off8 != e.rbp_off8
			 : r->kind != UNSUP && UNW_ROW_CFA(r) != UNW_CFA_PLT)) {
		if (s->mismatches++ < 5)
			print_message("%#llx: readelf %s %s %s\n", (unsigned long long)loc, v[0],
				      v[1], v[2]);
	}
}

/* Splits a table line into columns; "r9 (r9)" is one column. */
static int columns(char *line, char *col[], int max)
{
	int n = 0;
	char *tok;

	for (tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n")) {
		if (tok[0] == '(' && n)
			continue;
		if (n < max)
			col[n++] = tok;
	}
	return n;
}

static void interp_line(struct interp *s, char *line)
{
	char *col[32], v[3][32];
	unsigned long long lo, hi;
	int n, i;
	char *p;

	if ((p = strstr(line, " pc=")) && sscanf(p, " pc=%llx..%llx", &lo, &hi) == 2) {
		if (s->in_fde && !s->fde_rows)
			interp_check(s, s->lo, s->cie_row);
		s->fdes = realloc(s->fdes, (s->nfdes + 1) * sizeof(*s->fdes));
		s->fdes[s->nfdes].lo = s->lo = lo;
		s->fdes[s->nfdes++].hi = s->hi = hi;
		s->in_fde = true;
		s->fde_rows = false;
		return;
	}
	if (strstr(line, " CIE ")) {
		if (s->in_fde && !s->fde_rows)
			interp_check(s, s->lo, s->cie_row);
		s->in_fde = false;
		return;
	}
	n = columns(line, col, 32);
	if (n > 1 && !strcmp(col[0], "LOC")) {
		s->rbp_col = s->ra_col = -1;
		for (i = 2; i < n; i++) {
			if (!strcmp(col[i], "rbp"))
				s->rbp_col = i - 1;
			if (!strcmp(col[i], "ra"))
				s->ra_col = i - 1;
		}
		return;
	}
	if (n < 2 || strlen(col[0]) != 16 || strspn(col[0], "0123456789abcdef") != 16)
		return;
	snprintf(v[0], 32, "%s", col[1]);
	snprintf(v[1], 32, "%s", s->rbp_col > 0 && s->rbp_col + 1 < n ? col[s->rbp_col + 1] : "u");
	snprintf(v[2], 32, "%s", s->ra_col > 0 && s->ra_col + 1 < n ? col[s->ra_col + 1] : "u");
	if (!s->in_fde) {
		memcpy(s->cie_row, v, sizeof(v));
		return;
	}
	s->fde_rows = true;
	if (strtoull(col[0], NULL, 16) < s->hi)
		interp_check(s, strtoull(col[0], NULL, 16), v);
}

static bool fde_starts_at(const struct interp *s, __u64 pc)
{
	size_t i;

	for (i = 0; i < s->nfdes; i++) {
		if (s->fdes[i].lo == pc && s->fdes[i].hi > pc)
			return true;
	}
	return false;
}

/* Every row readelf prints, and a NONE row at each FDE end that no other FDE
 * starts at. Returns the rows compared. */
static size_t check_against_readelf(const char *path, const struct cfi_table *t)
{
	struct interp s = {.t = t, .rbp_col = -1, .ra_col = -1};
	char cmd[512], line[1024];
	size_t i;
	FILE *f;

	/* -wN: not the separate debug file (libc6-dbg's has a NOBITS .eh_frame,
	 * which makes readelf fail). */
	snprintf(cmd, sizeof(cmd), "readelf -wN --debug-dump=frames-interp %s", path);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		interp_line(&s, line);
	if (s.in_fde && !s.fde_rows)
		interp_check(&s, s.lo, s.cie_row);
	assert_int_equal(pclose(f), 0);
	for (i = 0; i < s.nfdes; i++) {
		const struct unw_row *r = cfi_table__find(t, s.fdes[i].hi);

		if (s.fdes[i].lo < s.fdes[i].hi && !fde_starts_at(&s, s.fdes[i].hi) &&
		    UNW_ROW_CFA(r) != UNW_CFA_NONE)
			s.mismatches++;
	}
	free(s.fdes);
	assert_int_equal(s.mismatches, 0);
	return s.checked;
}

static void test_readelf_agrees(void **state)
{
	struct cfi_table t;

	(void)state;
	assert_int_equal(build(CFIFIX, NULL, &t), 0);
	assert_true(check_against_readelf(CFIFIX, &t) >= 10);
	cfi_table__free(&t);
	assert_int_equal(build(LIBC, NULL, &t), 0);
	assert_true(check_against_readelf(LIBC, &t) >= 10000);
	cfi_table__free(&t);
}

/* Other large real libraries: C++ (libstdc++, linked by this test) and
 * CPython's interpreter loop, when a libpython3.11 is installed. */
static void test_readelf_agrees_more(void **state)
{
	const char *libs[] = {"/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
			      "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"};
	struct cfi_table t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		if (i && access(libs[i], R_OK))
			continue;
		assert_int_equal(build(libs[i], NULL, &t), 0);
		assert_true(check_against_readelf(libs[i], &t) >= 10000);
		cfi_table__free(&t);
	}
}

/* cfi_big.S: one FDE of 128001 one-byte rows (rsp+8, rsp+16, ...), then
 * the NONE row. Rebuilding each row's state from the FDE's start made this
 * file take 83 s; the alarm is a hang bound, far above the milliseconds a
 * single pass takes. */
static void test_big_fde(void **state)
{
	__u64 fn = func_addr(BIG, "cfi_big_fde");
	struct cfi_table t;
	size_t i;

	(void)state;
	signal(SIGALRM, SIG_DFL); /* it may be inherited ignored */
	alarm(60);
	assert_int_equal(build(BIG, NULL, &t), 0);
	alarm(0);
	assert_well_formed(&t);
	assert_int_equal(t.stats.fdes, 1);
	assert_int_equal(t.nr, 128001 + 1);
	for (i = 0; i < t.nr - 1; i++) {
		const struct unw_row *r = &t.rows[i];

		if (r->pc != fn + i || r->kind != UNW_ROW_KIND(UNW_CFA_RSP, SAME) ||
		    r->cfa_off != (i % 2 ? 16 : 8))
			fail_msg("row %zu: pc %#x kind %#x off %d", i, r->pc, r->kind, r->cfa_off);
	}
	assert_int_equal(t.rows[t.nr - 1].pc, fn + 128001);
	assert_int_equal(UNW_ROW_CFA(&t.rows[t.nr - 1]), UNW_CFA_NONE);
	cfi_table__free(&t);
}

static void test_cancelled_build(void **state)
{
	atomic_bool cancel = true;
	struct cfi_table t = {.nr = 1};
	int fd = open(BIG, O_RDONLY);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(cfi_table__build(fd, -1, &cancel, &t), -ECANCELED);
	assert_null(t.rows);
	assert_int_equal(t.nr, 0);
	close(fd);
}

/* Peak RSS of this process, in MiB. */
static long max_rss_mib(void)
{
	struct rusage ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss / 1024;
}

/* Each bomb holds a zlib-gabi section that inflates to 256 MiB of zeros
 * (Makefile BOMB_MIB). Beside a real .debug_frame, only that is read; as the
 * .debug_frame itself, its compression header is refused. This process
 * (libc's table and the readelf cross-checks included) stays under 64 MiB. */
#define BOMB_RSS_MIB 64

static void test_compression_bombs(void **state)
{
	struct cfi_table dbg, t = {.nr = 1};

	(void)state;
	assert_int_equal(build(RULES_DBG, NULL, &dbg), 0);
	assert_int_equal(build(FIXTURE_DIR "/libcfibomb.so", NULL, &t), 0);
	assert_tables_equal(&dbg, &t);
	cfi_table__free(&t);
	assert_int_equal(build(FIXTURE_DIR "/libcfibomb_frame.so", NULL, &t), -EFBIG);
	assert_null(t.rows);
	assert_in_range(max_rss_mib(), 1, BOMB_RSS_MIB);
	cfi_table__free(&dbg);
}

/* A file that shrinks between its headers and its .eh_frame: a read error,
 * where a mapped file (ELF_C_READ_MMAP) killed the reader with SIGBUS. */
static void test_file_shrinks_while_read(void **state)
{
	char path[] = "/tmp/test_cfi.XXXXXX", cmd[256];
	struct cfi_table t = {.nr = 1};
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	snprintf(cmd, sizeof(cmd), "cp %s %s", LIBC, path);
	assert_int_equal(system(cmd), 0);
	shrink_fd = fd;
	assert_int_equal(cfi_table__build(fd, -1, NULL, &t), -EIO);
	assert_int_equal(shrink_fd, -1);
	assert_null(t.rows);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_rule_encoding),
		cmocka_unit_test(test_signal_frame_is_unsupported),
		cmocka_unit_test(test_restore_and_malformed),
		cmocka_unit_test(test_gaps_and_merged_neighbours),
		cmocka_unit_test(test_debug_frame_matches_eh_frame),
		cmocka_unit_test(test_separate_debug_file),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_find_boundaries),
		cmocka_unit_test(test_gcc_rbp_frame),
		cmocka_unit_test(test_gcc_large_frame),
		cmocka_unit_test(test_plt),
		cmocka_unit_test(test_start_is_outermost),
		cmocka_unit_test(test_libc),
		cmocka_unit_test(test_readelf_agrees),
		cmocka_unit_test(test_readelf_agrees_more),
		cmocka_unit_test(test_big_fde),
		cmocka_unit_test(test_cancelled_build),
		cmocka_unit_test(test_compression_bombs),
		cmocka_unit_test(test_file_shrinks_while_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
