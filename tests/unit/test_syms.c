// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of the symbolizer against live fixture processes (PIE, shared
 * library, libc, stripped + debug file, C++) and synthetic maps files. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "test_files.h"
#include "elfobj.h"
#include "syms.h"

#define MAX_ADDRS 16

/* A running fixture and the "name 0xaddr" lines it printed. */
struct child {
	pid_t pid;
	int stdin_fd;
	int nr;
	char names[MAX_ADDRS][48];
	__u64 addrs[MAX_ADDRS];
};

struct fixture {
	struct syms *syms;
	struct child symfix;
};

#define assert_frame(s, pid, at, is_ret, sym, off, mod)                                            \
	do {                                                                                       \
		struct sym_frame fr_;                                                              \
		__u64 at_ = (at);                                                                  \
                                                                                                   \
		assert_int_equal(syms__resolve(s, pid, at_, is_ret, &fr_), 0);                     \
		assert_string_equal(fr_.symbol, sym);                                              \
		assert_int_equal(fr_.offset, off);                                                 \
		assert_string_equal(fr_.module, mod);                                              \
		assert_true(fr_.addr == at_);                                                      \
	} while (0)

static int spawn(const char *exe, struct child *c)
{
	int in[2], out[2];
	char line[128];
	FILE *f;

	memset(c, 0, sizeof(*c));
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC))
		return -errno;
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (c->pid == 0) {
		/* Do not outlive a crashed test run. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		setenv("LD_LIBRARY_PATH", FIXTURE_DIR, 1);
		execl(exe, exe, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->stdin_fd = in[1];
	f = fdopen(out[0], "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && strcmp(line, "ready\n")) {
		unsigned long long addr;

		if (c->nr < MAX_ADDRS && sscanf(line, "%47s %llx", c->names[c->nr], &addr) == 2)
			c->addrs[c->nr++] = addr;
	}
	fclose(f);
	return c->nr ? 0 : -EIO;
}

static void reap(struct child *c)
{
	if (c->pid <= 0)
		return;
	close(c->stdin_fd);
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	c->pid = 0;
}

static __u64 addr_of(const struct child *c, const char *name)
{
	int i;

	for (i = 0; i < c->nr; i++) {
		if (!strcmp(c->names[i], name))
			return c->addrs[i];
	}
	fail_msg("fixture printed no address for %s", name);
	return 0;
}

/* The number of the line of SOURCE_DIR/rel that holds marker. */
static int marker_line(const char *rel, const char *marker)
{
	char path[512], line[512];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", SOURCE_DIR, rel);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, marker)) {
			fclose(f);
			return n;
		}
	}
	fclose(f);
	fail_msg("no line of %s holds %s", rel, marker);
	return 0;
}

/* frame's source file ends in /want (the compiler records a full path). */
static void assert_src(const struct sym_frame *fr, const char *want, int line)
{
	size_t n = strlen(want);

	assert_non_null(fr->src_file);
	assert_true(strlen(fr->src_file) > n && fr->src_file[strlen(fr->src_file) - n - 1] == '/');
	assert_string_equal(fr->src_file + strlen(fr->src_file) - n, want);
	assert_int_equal(fr->src_line, line);
}

static int load_child(struct syms *s, const struct child *c)
{
	char maps[64];

	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)c->pid);
	return syms__load_pid(s, c->pid, maps, "");
}

static struct elf_func elf_func_of(const char *path, const char *name)
{
	struct elfobj *o = elfobj__open(path);
	struct elf_func f = {};

	assert_non_null(o);
	assert_int_equal(elfobj__find_func(o, name, &f), 0);
	elfobj__close(o);
	f.name = NULL; /* pointed into o */
	return f;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	*state = fx;
	fx->syms = syms__new();
	if (!fx->syms || spawn(FIXTURE_DIR "/symfix", &fx->symfix))
		return -1;
	return load_child(fx->syms, &fx->symfix) ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	reap(&fx->symfix);
	syms__free(fx->syms);
	free(fx);
	return 0;
}

static void test_exe_functions(void **state)
{
	struct fixture *fx = *state;
	const struct child *c = &fx->symfix;
	__u64 alpha = addr_of(c, "fix_alpha");

	assert_true(syms__has_pid(fx->syms, c->pid));
	assert_frame(fx->syms, c->pid, alpha, false, "fix_alpha", 0, "symfix");
	assert_frame(fx->syms, c->pid, alpha + 5, false, "fix_alpha", 5, "symfix");
	assert_frame(fx->syms, c->pid, addr_of(c, "fix_beta") + 3, false, "fix_beta", 3, "symfix");
	/* Static: only .symtab names it. */
	assert_frame(fx->syms, c->pid, addr_of(c, "fix_static_delta"), false, "fix_static_delta", 0,
		     "symfix");
	/* Named "fix_ver@VERS_1" in .symtab. */
	assert_frame(fx->syms, c->pid, addr_of(c, "fix_ver") + 1, false, "fix_ver", 1, "symfix");
}

static void test_library_functions(void **state)
{
	struct fixture *fx = *state;
	const struct child *c = &fx->symfix;

	/* Also named by the shorter LOCAL alias lib_g: GLOBAL wins. */
	assert_frame(fx->syms, c->pid, addr_of(c, "lib_gamma") + 2, false, "lib_gamma", 2,
		     "libsymfix.so");
	assert_frame(fx->syms, c->pid, addr_of(c, "lib_static_eps"), false, "lib_static_eps", 0,
		     "libsymfix.so");
}

static void test_return_addresses(void **state)
{
	struct fixture *fx = *state;
	const struct child *c = &fx->symfix;
	__u64 alpha = addr_of(c, "fix_alpha"), ret = addr_of(c, "beta_ret");
	struct elf_func f = elf_func_of(FIXTURE_DIR "/symfix", "fix_alpha");
	struct sym_frame fr;

	/* A real return address of the call fix_alpha -> fix_beta. */
	assert_true(ret > alpha && ret < alpha + f.size);
	assert_frame(fx->syms, c->pid, ret, true, "fix_alpha", ret - alpha, "symfix");

	/* A call as the last instruction returns to the first byte after the
	 * function: the call site (addr - 1) decides, the offset stays addr's. */
	assert_frame(fx->syms, c->pid, alpha + f.size, true, "fix_alpha", f.size, "symfix");
	assert_int_equal(syms__resolve(fx->syms, c->pid, alpha + f.size, false, &fr), 0);
	assert_string_not_equal(fr.symbol, "fix_alpha");
}

struct bias_ctx {
	struct syms *syms;
	__u32 pid;
	__u64 bias;
	const char *module;
	int checked;
};

static int check_func(const struct elf_func *f, void *ctx)
{
	struct bias_ctx *b = ctx;
	size_t len = strcspn(f->name, "@");
	struct sym_frame fr;

	if (!f->size)
		return 0;
	assert_int_equal(syms__resolve(b->syms, b->pid, b->bias + f->vaddr, false, &fr), 0);
	assert_int_equal(fr.offset, 0);
	assert_string_equal(fr.module, b->module);
	/* glibc-style aliases may pick another name for the same address. */
	if (strlen(fr.symbol) == len && !strncmp(fr.symbol, f->name, len))
		b->checked++;
	return 0;
}

/* Every sized function of the PIE and the library resolves to itself at
 * offset 0, i.e. the load bias is right for every mapping. */
static void test_load_bias(void **state)
{
	struct fixture *fx = *state;
	const struct child *c = &fx->symfix;
	struct bias_ctx b = {.syms = fx->syms, .pid = c->pid};
	struct elf_func f = elf_func_of(FIXTURE_DIR "/symfix", "fix_alpha");
	struct elfobj *o;

	b.bias = addr_of(c, "fix_alpha") - f.vaddr;
	assert_true(b.bias != 0 && b.bias % 4096 == 0);
	b.module = "symfix";
	o = elfobj__open(FIXTURE_DIR "/symfix");
	assert_non_null(o);
	assert_int_equal(elfobj__for_each_func(o, check_func, &b), 0);
	elfobj__close(o);
	assert_true(b.checked >= 5);

	f = elf_func_of(FIXTURE_DIR "/libsymfix.so", "lib_gamma");
	b.bias = addr_of(c, "lib_gamma") - f.vaddr;
	b.module = "libsymfix.so";
	b.checked = 0;
	o = elfobj__open(FIXTURE_DIR "/libsymfix.so");
	assert_non_null(o);
	assert_int_equal(elfobj__for_each_func(o, check_func, &b), 0);
	elfobj__close(o);
	assert_true(b.checked >= 4);
	/* In the writable segment, where p_offset != p_vaddr. */
	f = elf_func_of(FIXTURE_DIR "/libsymfix.so", "lib_in_data");
	assert_frame(fx->syms, c->pid, b.bias + f.vaddr + 3, false, "lib_in_data", 3,
		     "libsymfix.so");
	/* Past its st_size, with no function after it: mapped, but no symbol. */
	assert_frame(fx->syms, c->pid, b.bias + f.vaddr + f.size, false, "[unknown]", 0,
		     "libsymfix.so");
}

/* A return address: its call's line, from the file's own line table, and
 * where it is in the file; the allocator's frame (not a return address)
 * gets no line. */
static void test_line_and_file_offset(void **state)
{
	struct fixture *fx = *state;
	const struct child *c = &fx->symfix;
	struct elf_func f = elf_func_of(FIXTURE_DIR "/symfix", "fix_alpha");
	__u64 ret = addr_of(c, "beta_ret"), alpha = addr_of(c, "fix_alpha");
	struct sym_frame fr;

	assert_int_equal(syms__resolve(fx->syms, c->pid, ret, true, &fr), 0);
	assert_string_equal(fr.symbol, "fix_alpha");
	assert_src(&fr, "symfix.c", marker_line("tests/unit/fixtures/symfix.c", "line: beta_ret"));
	assert_string_equal(fr.path, FIXTURE_DIR "/symfix");
	assert_true(fr.file_offset == f.file_off + (ret - alpha));
	assert_non_null(fr.build_id);
	assert_int_equal(strlen(fr.build_id), 40);
	/* Once more: from the line table kept open. */
	assert_int_equal(syms__resolve(fx->syms, c->pid, ret, true, &fr), 0);
	assert_src(&fr, "symfix.c", marker_line("tests/unit/fixtures/symfix.c", "line: beta_ret"));
	assert_int_equal(syms__resolve(fx->syms, c->pid, ret, false, &fr), 0);
	assert_null(fr.src_file);
	assert_int_equal(fr.src_line, 0);
}

static void test_libc_malloc(void **state)
{
	struct fixture *fx = *state;
	const struct child *c = &fx->symfix;
	__u64 m = addr_of(c, "malloc");

	/* glibc also names this address __libc_malloc (and __malloc). */
	assert_frame(fx->syms, c->pid, m, false, "malloc", 0, "libc.so.6");
	assert_frame(fx->syms, c->pid, m + 5, false, "malloc", 5, "libc.so.6");
}

static void test_unmapped(void **state)
{
	struct fixture *fx = *state;
	struct sym_frame fr;

	assert_int_equal(syms__resolve(fx->syms, fx->symfix.pid, 0x10, false, &fr), -ENOENT);
	assert_string_equal(fr.symbol, "[unknown]");
	assert_string_equal(fr.module, "[unknown]");
	assert_int_equal(fr.offset, 0);
	assert_true(fr.addr == 0x10);

	assert_false(syms__has_pid(fx->syms, 1u << 30));
	assert_int_equal(
		syms__resolve(fx->syms, 1u << 30, addr_of(&fx->symfix, "fix_alpha"), false, &fr),
		-ENOENT);
	assert_string_equal(fr.symbol, "[unknown]");
}

static bool wait_zombie(pid_t pid)
{
	char path[64], state = 0;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (i = 0; i < 200 && state != 'Z'; i++) {
		FILE *f = fopen(path, "r");

		/* "pid (comm) S ...": the fixture's comm has no spaces. */
		if (!f || fscanf(f, "%*d %*s %c", &state) != 1)
			state = 0;
		if (f)
			fclose(f);
		if (state != 'Z')
			usleep(10000);
	}
	return state == 'Z';
}

static void test_snapshot_outlives_process(void **state)
{
	struct syms *s = syms__new();
	char maps[64];
	struct child c;
	__u64 beta;
	__u32 pid;

	(void)state;
	assert_non_null(s);
	assert_int_equal(spawn(FIXTURE_DIR "/symfix", &c), 0);
	assert_int_equal(load_child(s, &c), 0);
	pid = c.pid;
	beta = addr_of(&c, "fix_beta");
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);

	/* Dead but not reaped: its maps file exists and is empty. */
	kill(c.pid, SIGKILL);
	assert_true(wait_zombie(c.pid));
	assert_int_equal(syms__load_pid(s, pid, maps, ""), -ESRCH);
	assert_frame(s, pid, beta + 2, false, "fix_beta", 2, "symfix");

	reap(&c);
	assert_int_equal(access(maps, F_OK), -1);
	assert_frame(s, pid, beta + 1, false, "fix_beta", 1, "symfix");
	/* Reloading a gone process fails and keeps the old snapshot. */
	assert_int_equal(syms__load_pid(s, pid, maps, ""), -ESRCH);
	assert_frame(s, pid, beta, false, "fix_beta", 0, "symfix");

	syms__drop_pid(s, pid);
	assert_false(syms__has_pid(s, pid));
	syms__drop_pid(s, pid);
	syms__free(s);
	syms__free(NULL);
}

static void test_stripped_with_debuglink(void **state)
{
	struct syms *s = syms__new();
	struct sym_frame fr;
	struct child c;

	(void)state;
	assert_non_null(s);
	assert_int_equal(spawn(FIXTURE_DIR "/symfix.stripped", &c), 0);
	assert_int_equal(load_child(s, &c), 0);
	/* Neither name is in .dynsym: both come from symfix.debug. */
	assert_frame(s, c.pid, addr_of(&c, "fix_static_delta") + 4, false, "fix_static_delta", 4,
		     "symfix.stripped");
	assert_frame(s, c.pid, addr_of(&c, "fix_alpha"), false, "fix_alpha", 0, "symfix.stripped");
	/* The line table too. */
	assert_int_equal(syms__resolve(s, c.pid, addr_of(&c, "beta_ret"), true, &fr), 0);
	assert_string_equal(fr.symbol, "fix_alpha");
	assert_src(&fr, "symfix.c", marker_line("tests/unit/fixtures/symfix.c", "line: beta_ret"));
	reap(&c);
	syms__free(s);
}

static void test_cpp_demangled(void **state)
{
	struct syms *s = syms__new();
	struct child c;
	__u64 grow;

	(void)state;
	assert_non_null(s);
	assert_int_equal(spawn(FIXTURE_DIR "/symfix_cpp", &c), 0);
	assert_int_equal(load_child(s, &c), 0);
	grow = addr_of(&c, "ns::Widget::grow");
	assert_frame(s, c.pid, grow, false, "ns::Widget::grow(unsigned long)", 0, "symfix_cpp");
	/* Demangled once, then served from the table. */
	assert_frame(s, c.pid, grow + 1, false, "ns::Widget::grow(unsigned long)", 1, "symfix_cpp");
	reap(&c);
	syms__free(s);
}

/* Writes maps lines placing elf_path's PT_LOAD segments at base (page
 * granular, as the kernel maps them) under the name maps_name, with the
 * device and inode of id_path (the file the name reaches; NULL: elf_path);
 * a non-zero inode replaces its inode. */
static void write_maps(const char *out, const char *elf_path, const char *maps_name, __u64 base,
		       const char *id_path, __u64 inode)
{
	const struct elf_seg *segs;
	struct elfobj *o = elfobj__open(elf_path);
	FILE *f = fopen(out, "w");
	size_t i, n;

	struct stat st;

	assert_non_null(o);
	assert_non_null(f);
	assert_int_equal(stat(id_path ? id_path : elf_path, &st), 0);
	n = elfobj__segments(o, &segs);
	assert_true(n >= 2);
	for (i = 0; i < n; i++) {
		__u64 start = base + (segs[i].vaddr & ~0xfffULL);
		__u64 end = base + ((segs[i].vaddr + segs[i].filesz + 0xfff) & ~0xfffULL);

		fprintf(f, "%llx-%llx r-xp %08llx %02x:%02x %llu %s\n", (unsigned long long)start,
			(unsigned long long)end, (unsigned long long)(segs[i].offset & ~0xfffULL),
			major(st.st_dev), minor(st.st_dev),
			(unsigned long long)(inode ? inode : st.st_ino), maps_name);
	}
	fclose(f);
	elfobj__close(o);
}

/* A scratch directory and symbolizer, removed even when an assert fails. */
struct scratch {
	char dir[32];
	struct syms *syms;
};

static int scratch_setup(void **state)
{
	struct scratch *sc = calloc(1, sizeof(*sc));

	*state = sc;
	if (!sc)
		return -1;
	strcpy(sc->dir, "/tmp/test_syms.XXXXXX");
	sc->syms = syms__new();
	return sc->syms && mkdtemp(sc->dir) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int scratch_teardown(void **state)
{
	struct scratch *sc = *state;

	if (sc) {
		nftw(sc->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		syms__free(sc->syms);
		free(sc);
	}
	return 0;
}

/* A container's file seen through its root, and a deleted mapping whose
 * path still opens: both from a maps file written here. */
static void test_root_and_deleted(void **state)
{
	struct scratch *sc = *state;
	struct syms *s = sc->syms;
	const __u64 base = 0x7f0012340000ULL;
	struct sym_frame fr;
	struct elf_func f;
	char maps[64];

	snprintf(maps, sizeof(maps), "%s/maps", sc->dir);
	write_maps(maps, FIXTURE_DIR "/libsymfix.so", "/libsymfix.so (deleted)", base, NULL, 0);

	assert_int_equal(syms__load_pid(s, 100, maps, FIXTURE_DIR), 0);
	assert_int_equal(syms__load_pid(s, 101, maps, FIXTURE_DIR), 0);
	f = elf_func_of(FIXTURE_DIR "/libsymfix.so", "lib_gamma");
	assert_frame(s, 100, base + f.vaddr + 1, false, "lib_gamma", 1, "libsymfix.so");
	assert_frame(s, 101, base + f.vaddr + 1, false, "lib_gamma", 1, "libsymfix.so");
	f = elf_func_of(FIXTURE_DIR "/libsymfix.so", "lib_static_eps");
	assert_frame(s, 101, base + f.vaddr, false, "lib_static_eps", 0, "libsymfix.so");
	f = elf_func_of(FIXTURE_DIR "/libsymfix.so", "lib_in_data");
	assert_frame(s, 101, base + f.vaddr + 3, false, "lib_in_data", 3, "libsymfix.so");

	/* The deleted file's path now names another inode (an upgrade): its
	 * symbols would be wrong, so there are none. */
	write_maps(maps, FIXTURE_DIR "/libsymfix.so", "/libsymfix.so (deleted)", base, NULL, 4242);
	assert_int_equal(syms__load_pid(s, 102, maps, FIXTURE_DIR), 0);
	assert_frame(s, 102, base + f.vaddr + 3, false, "[unknown]", 0, "libsymfix.so");
	/* Still a place in a file, for offline lookup. */
	assert_int_equal(syms__resolve(s, 102, base + f.vaddr + 3, false, &fr), 0);
	assert_string_equal(fr.path, "/libsymfix.so");
	assert_true(fr.file_offset == f.file_off + 3);
	assert_null(fr.build_id);
}

/* An ET_EXEC file mapped a second time by the program, next to where the
 * loader put it (node does so for V8's builtins): code there is named by
 * its file offset; bytes past the last function's segment get no name
 * (the last symbol, _fini, has no size), and anonymous code is [jit]. */
static void test_exec_remapped(void **state)
{
	struct scratch *sc = *state;
	struct syms *s = sc->syms;
	struct elf_func f = elf_func_of(FIXTURE_DIR "/symfix_exec", "fix_alpha");
	const __u64 remap = 0x7f0000000000ULL;
	const struct elf_seg *segs, *text = NULL;
	struct elfobj *o = elfobj__open(FIXTURE_DIR "/symfix_exec");
	struct sym_frame fr;
	char maps[64];
	struct stat st;
	__u64 gap;
	size_t i, n;
	FILE *m;

	assert_non_null(o);
	n = elfobj__segments(o, &segs);
	for (i = 0; i < n; i++) {
		if (f.vaddr >= segs[i].vaddr && f.vaddr < segs[i].vaddr + segs[i].filesz)
			text = &segs[i];
	}
	assert_non_null(text);
	/* The first byte after the code, in the page that holds its end. */
	gap = text->offset + text->filesz;
	assert_true(gap % 4096 != 0);
	snprintf(maps, sizeof(maps), "%s/maps", sc->dir);
	write_maps(maps, FIXTURE_DIR "/symfix_exec", FIXTURE_DIR "/symfix_exec", 0, NULL, 0);
	assert_int_equal(stat(FIXTURE_DIR "/symfix_exec", &st), 0);
	m = fopen(maps, "a");
	assert_non_null(m);
	fprintf(m, "%llx-%llx r-xp 00000000 %02x:%02x %llu %s\n", (unsigned long long)remap,
		(unsigned long long)(remap + ((gap + 4095) & ~4095ULL)), major(st.st_dev),
		minor(st.st_dev), (unsigned long long)st.st_ino, FIXTURE_DIR "/symfix_exec");
	fprintf(m, "7f0000100000-7f0000101000 rwxp 00000000 00:00 0 \n");
	fclose(m);
	elfobj__close(o);

	assert_int_equal(syms__load_pid(s, 300, maps, ""), 0);
	assert_frame(s, 300, f.vaddr + 1, false, "fix_alpha", 1, "symfix_exec");
	assert_frame(s, 300, remap + f.file_off + 1, false, "fix_alpha", 1, "symfix_exec");
	assert_frame(s, 300, remap + gap, false, "[unknown]", 0, "symfix_exec");
	assert_int_equal(syms__resolve(s, 300, remap + gap, false, &fr), 0);
	assert_true(fr.file_offset == gap);
	assert_frame(s, 300, 0x7f0000100010ULL, false, "[unknown]", 0, "[jit]");
	assert_int_equal(syms__resolve(s, 300, 0x7f0000100010ULL, false, &fr), 0);
	assert_null(fr.path);
}

/* The distribution layout: the stripped file in the root, its debug file
 * only under /usr/lib/debug/.build-id/xx/rest.debug. */
static void test_build_id_debug_dir(void **state)
{
	static const char *const dirs[] = {"/bin", "/usr", "/usr/lib", "/usr/lib/debug",
					   "/usr/lib/debug/.build-id"};
	char path[256], hex[41] = "", maps[256];
	struct scratch *sc = *state;
	const char *dir = sc->dir;
	const __u64 base = 0x560000000000ULL;
	struct elfobj *o;
	struct elf_func f;
	__u8 id[20];
	size_t i;

	o = elfobj__open(FIXTURE_DIR "/symfix.stripped");
	assert_non_null(o);
	assert_int_equal(elfobj__build_id(o, id, sizeof(id)), 20);
	assert_null(elfobj__open_debug(o, "/nonexistent", "/bin/symfix"));
	elfobj__close(o);
	for (i = 0; i < sizeof(id); i++)
		sprintf(hex + 2 * i, "%02x", id[i]);

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", dir, dirs[i]);
		assert_int_equal(mkdir(path, 0755), 0);
	}
	snprintf(path, sizeof(path), "%s/usr/lib/debug/.build-id/%.2s", dir, hex);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/usr/lib/debug/.build-id/%.2s/%s.debug", dir, hex, hex + 2);
	copy_file(FIXTURE_DIR "/symfix.debug", path);
	snprintf(path, sizeof(path), "%s/bin/symfix", dir);
	copy_file(FIXTURE_DIR "/symfix.stripped", path);
	snprintf(maps, sizeof(maps), "%s/maps", dir);
	write_maps(maps, FIXTURE_DIR "/symfix.stripped", "/bin/symfix", base, path, 0);

	assert_int_equal(syms__load_pid(sc->syms, 7, maps, dir), 0);
	f = elf_func_of(FIXTURE_DIR "/symfix.debug", "fix_static_delta");
	assert_frame(sc->syms, 7, base + f.vaddr + 2, false, "fix_static_delta", 2, "symfix");
}

/* The elfobj calls the symbolizer and the probe planner rely on. */
static void test_elfobj(void **state)
{
	struct elf_func f, impl;
	__u8 id[20], did[20];
	struct elfobj *o, *d;
	__u64 off, vaddr;
	char magic[4];

	(void)state;
	o = elfobj__open(FIXTURE_DIR "/symfix");
	assert_non_null(o);
	assert_true(elfobj__is_dyn(o));
	assert_true(elfobj__has_symtab(o));
	/* The version suffix is ignored when matching names. */
	assert_int_equal(elfobj__find_func(o, "fix_ver", &f), 0);
	assert_int_equal(elfobj__find_func(o, "fix_versioned_implementation", &impl), 0);
	assert_true(f.vaddr == impl.vaddr);
	assert_false(impl.global);
	/* Undefined in the executable: a PLT import is not a definition. */
	assert_int_equal(elfobj__find_func(o, "malloc", &f), -ENOENT);

	assert_int_equal(elfobj__find_func(o, "fix_alpha", &f), 0);
	assert_true(f.global && !f.dynamic && f.size > 0);
	assert_int_equal(elfobj__offset_of_vaddr(o, f.vaddr, &off), 0);
	assert_true(off == f.file_off);
	assert_int_equal(elfobj__vaddr_of_offset(o, off, &vaddr), 0);
	assert_true(vaddr == f.vaddr);
	assert_int_equal(elfobj__read(o, 0, magic, sizeof(magic)), 0);
	assert_memory_equal(magic, "\177ELF", 4);
	assert_int_equal(elfobj__read(o, 1ULL << 40, magic, sizeof(magic)), -EIO);
	assert_int_equal(elfobj__build_id(o, id, sizeof(id)), 20);
	elfobj__close(o);

	o = elfobj__open(FIXTURE_DIR "/symfix.stripped");
	assert_non_null(o);
	assert_false(elfobj__has_symtab(o));
	assert_string_equal(elfobj__debuglink(o), "symfix.debug");
	d = elfobj__open_debug(o, "", FIXTURE_DIR "/symfix.stripped");
	assert_non_null(d);
	assert_int_equal(elfobj__build_id(d, did, sizeof(did)), 20);
	assert_memory_equal(id, did, 20);
	elfobj__close(d);
	elfobj__close(o);

	assert_null(elfobj__open(SOURCE_DIR "/tests/unit/fixtures/maps_basic.txt"));
	assert_int_equal(errno, ENOEXEC);
	assert_null(elfobj__open(FIXTURE_DIR "/no-such-file"));
	assert_int_equal(errno, ENOENT);
	elfobj__close(NULL);
}

static void test_missing_maps(void **state)
{
	struct syms *s = syms__new();

	(void)state;
	assert_non_null(s);
	assert_int_equal(syms__load_pid(s, 5, "/proc/2147483647/maps", ""), -ESRCH);
	assert_false(syms__has_pid(s, 5));
	syms__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exe_functions),
		cmocka_unit_test(test_library_functions),
		cmocka_unit_test(test_return_addresses),
		cmocka_unit_test(test_load_bias),
		cmocka_unit_test(test_line_and_file_offset),
		cmocka_unit_test(test_libc_malloc),
		cmocka_unit_test(test_unmapped),
		cmocka_unit_test(test_snapshot_outlives_process),
		cmocka_unit_test(test_stripped_with_debuglink),
		cmocka_unit_test(test_cpp_demangled),
		cmocka_unit_test_setup_teardown(test_root_and_deleted, scratch_setup,
						scratch_teardown),
		cmocka_unit_test_setup_teardown(test_exec_remapped, scratch_setup,
						scratch_teardown),
		cmocka_unit_test_setup_teardown(test_build_id_debug_dir, scratch_setup,
						scratch_teardown),
		cmocka_unit_test(test_elfobj),
		cmocka_unit_test(test_missing_maps),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
