// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for the outputs: the format table, folded lines and their
 * escaping, and reports that replace a file whole. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "output.h"
#include "push.h"

/* What fn writes of s, as a string (freed by the caller). */
static char *folded(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	output__folded_put(f, s);
	fclose(f);
	return buf;
}

static void assert_folded(const char *in, const char *want)
{
	char *got = folded(in);

	assert_string_equal(got, want);
	free(got);
}

static void test_folded_escaping(void **state)
{
	(void)state;
	assert_folded("leak_malloc", "leak_malloc");
	/* ';' would split a frame in two. */
	assert_folded("a;b", "a:b");
	/* A newline or CR would end the line; other controls, ESC and C1
	 * (U+009B, CSI) would drive a terminal showing the file. */
	assert_folded("x\ny\rz\tw", "x?y?z?w");
	assert_folded("\x1b[31mred", "?[31mred");
	assert_folded("c1\xc2\x9b", "c1?");
	/* Invalid UTF-8, one '?' per byte; valid UTF-8 kept. */
	assert_folded("bad\xff\xfe", "bad??");
	assert_folded("caf\xc3\xa9", "caf\xc3\xa9");
	/* Spaces stay: the count is after a line's last space. */
	assert_folded("std::vector<int, std::allocator<int> >::push_back(int const&)",
		      "std::vector<int, std::allocator<int> >::push_back(int const&)");
	assert_folded("", "[unknown]");
	assert_folded(NULL, "[unknown]");
}

static void test_frame_name(void **state)
{
	struct sym_frame named = {.addr = 0x401000, .symbol = "main", .module = "app"};
	struct sym_frame stripped = {.addr = 0x7f0000001234,
				     .symbol = "[unknown]",
				     .module = "libfoo.so",
				     .path = "/usr/lib/libfoo.so",
				     .file_offset = 0x1234};
	struct sym_frame anon = {.addr = 0x7f00dead0000, .symbol = "[unknown]", .module = "[jit]"};
	char buf[64];

	(void)state;
	output__frame_name(&named, buf, sizeof(buf));
	assert_string_equal(buf, "main");
	output__frame_name(&stripped, buf, sizeof(buf));
	assert_string_equal(buf, "libfoo.so+0x1234");
	output__frame_name(&anon, buf, sizeof(buf));
	assert_string_equal(buf, "0x7f00dead0000");
}

static void test_table(void **state)
{
	(void)state;
	assert_string_equal(output__names(), "text, json, folded or pprof");
	assert_ptr_equal(output__find("folded"), &output_folded);
	assert_ptr_equal(output__find("pprof"), &output_pprof);
	assert_null(output__find("xml"));
	assert_true(output__find("pprof")->binary);
	assert_false(output__find("folded")->binary);
	assert_false(output__find("text")->whole);
}

/* Two rows: a leak under main (C, with one Python frame above it) and a row
 * with nothing live, which a flame graph has no width for. */
static void rows_fixture(struct report_row rows[3])
{
	memset(rows, 0, 3 * sizeof(*rows));
	rows[0].live_bytes = 100000;
	rows[0].nframes = 4;
	rows[0].frames[0] = (struct sym_frame){.symbol = "malloc", .module = "libc.so.6"};
	rows[0].frames[1] = (struct sym_frame){.symbol = "leak;malloc", .module = "app"};
	rows[0].frames[2] = (struct sym_frame){.symbol = "main", .module = "app"};
	rows[0].frames[3] = (struct sym_frame){
		.symbol = "handler", .module = "python", .file = "/srv/app/views.py", .line = 12};
	rows[1].live_bytes = 0;
	rows[1].nframes = 1;
	rows[1].frames[0] = (struct sym_frame){.symbol = "churn"};
	rows[2].live_bytes = 64;
	rows[2].cut = 1;
	rows[2].nframes = 1;
	rows[2].frames[0] = (struct sym_frame){.symbol = "malloc"};
}

#define FOLDED_WANT                                                                                \
	"views.py:12 handler;main;leak:malloc;malloc 100000\n"                                     \
	"[truncated];malloc 64\n"

static void test_folded_lines(void **state)
{
	struct report_header hdr = {0};
	struct report_row rows[3];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	rows_fixture(rows);
	assert_int_equal(output_folded.write(f, &hdr, rows, 3), 0);
	fclose(f);
	assert_string_equal(buf, FOLDED_WANT);
	free(buf);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 4096);

	assert_non_null(f);
	assert_non_null(buf);
	assert_true(fread(buf, 1, 4095, f) < 4095);
	fclose(f);
	return buf;
}

/* -o FILE with a whole format: each report replaces FILE, nothing is left
 * beside it, and a symlink at FILE is replaced, not followed. */
static void test_replace(void **state)
{
	char dir[] = "/tmp/test_output.XXXXXX", path[128], victim[128], *got;
	struct report_header hdr = {0};
	struct report_row rows[3];
	struct output o;
	struct stat st;
	int nfiles = 0;

	(void)state;
	rows_fixture(rows);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/heap.folded", dir);
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	assert_int_equal(output__open(&o, &output_folded, path), 0);
	assert_null(o.stream);
	assert_int_equal(output__write(&o, &hdr, rows, 3), 0);
	rows[0].live_bytes = 200000;
	assert_int_equal(output__write(&o, &hdr, rows, 1), 0);
	got = slurp(path);
	assert_string_equal(got, "views.py:12 handler;main;leak:malloc;malloc 200000\n");
	free(got);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644 & ~umask(022));

	/* A symlink where the file goes is replaced, its target untouched. */
	unlink(path);
	assert_int_equal(close(creat(victim, 0600)), 0);
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(output__write(&o, &hdr, rows, 1), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_size, 0);
	output__close(&o);

	/* Nothing but the two files: no temporary left behind. */
	{
		char cmd[256];
		FILE *ls;

		snprintf(cmd, sizeof(cmd), "ls -A %s", dir);
		ls = popen(cmd, "r");
		while (fgets(cmd, sizeof(cmd), ls))
			nfiles++;
		pclose(ls);
	}
	assert_int_equal(nfiles, 2);
	unlink(path);
	unlink(victim);
	rmdir(dir);
}

/* A directory that cannot be written: the error comes at open, not later. */
static void test_open_errors(void **state)
{
	struct output o;

	(void)state;
	assert_int_equal(output__open(&o, &output_folded, "/nonexistent-dir/heap.folded"), -ENOENT);
	assert_int_equal(output__open(&o, &output_pprof, NULL), -EINVAL);
}

/* Profiles on standard output: a blank line between two. */
static void test_stream_separator(void **state)
{
	struct report_header hdr = {0};
	struct report_row rows[3];
	char *buf = NULL;
	size_t len = 0;
	struct output o = {.ops = &output_folded};

	(void)state;
	rows_fixture(rows);
	o.stream = open_memstream(&buf, &len);
	assert_int_equal(output__write(&o, &hdr, rows, 3), 0);
	assert_int_equal(output__write(&o, &hdr, rows, 3), 0);
	fclose(o.stream);
	assert_string_equal(buf, FOLDED_WANT "\n" FOLDED_WANT);
	free(buf);
}

/* The ingest URL: the base without its trailing '/', the name and its labels
 * percent-encoded, whole seconds. */
static void test_push_url(void **state)
{
	struct push *p = push__new("http://pyroscope:4040//", "shop");
	char host[256] = "", want[512], got[512];

	(void)state;
	assert_non_null(p);
	gethostname(host, sizeof(host) - 1);
	snprintf(want, sizeof(want),
		 "http://pyroscope:4040/ingest?name=shop%%7Bhostname%%3D%s%%7D&from=1795257652"
		 "&until=1795257662&format=pprof",
		 host);
	assert_int_equal(push__url(p, 1795257652.5, 1795257662.9, got, sizeof(got)), 0);
	assert_string_equal(got, want);
	assert_int_equal(push__url(p, 0, 0, got, 20), -ENAMETOOLONG);
	push__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folded_escaping),
		cmocka_unit_test(test_frame_name),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_folded_lines),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_stream_separator),
		cmocka_unit_test(test_push_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
