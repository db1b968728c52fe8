// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for the growth report: deltas across snapshots, ranking, totals,
 * and the text and JSON renderings against golden files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "report.h"
#include "rowkey.h"
#include "textsafe.h"

#define GOLDEN_DIR SOURCE_DIR "/tests/unit/golden/"
#define KiB	   1024ULL
#define MiB	   (1024 * KiB)
/* 2026-11-21 10:41:02 UTC */
#define T0	      1795257662.0
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct report_site site(__u32 pid, __u64 stack_id, __u64 allocs, __u64 alloc_bytes,
			       __u64 frees, __u64 free_bytes)
{
	struct report_site s = {
		.stack_id = stack_id,
		.pid = pid,
		.stats = {.alloc_bytes = alloc_bytes,
			  .allocs = allocs,
			  .free_bytes = free_bytes,
			  .frees = frees},
	};

	snprintf(s.comm, sizeof(s.comm), "proc%u", pid);
	return s;
}

/* Feeds one snapshot and finishes it; the header gets fixed time values. */
static void snapshot(struct report *r, const struct report_site *sites, size_t n, double interval,
		     struct report_header *hdr, struct report_row **rows, size_t *nrows)
{
	size_t i;

	memset(hdr, 0, sizeof(*hdr));
	hdr->time = T0;
	hdr->interval_s = interval;
	hdr->targets = "pid 4242";
	for (i = 0; i < n; i++)
		assert_int_equal(report__add(r, &sites[i]), 0);
	assert_int_equal(report__finish(r, hdr, rows, nrows), 0);
}

static const struct report_row *find_row(const struct report_row *rows, size_t n, __u32 pid,
					 __u64 stack_id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rows[i].site.pid == pid && rows[i].site.stack_id == stack_id)
			return &rows[i];
	return NULL;
}

static void assert_order(const struct report_row *rows, size_t n, const __u64 *stack_ids,
			 size_t nids)
{
	size_t i;

	assert_int_equal(n, nids);
	for (i = 0; i < n; i++) {
		if (rows[i].site.stack_id != stack_ids[i])
			fail_msg("row %zu: stack %llu, expected %llu", i,
				 (unsigned long long)rows[i].site.stack_id,
				 (unsigned long long)stack_ids[i]);
	}
}

static char *render(bool json, const struct report_header *hdr, const struct report_row *rows,
		    size_t nrows)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (json)
		report__print_json(f, hdr, rows, nrows);
	else
		report__print_text(f, hdr, rows, nrows);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_fmt_bytes(void **state)
{
	static const struct {
		double in;
		const char *out;
	} cases[] = {
		{0, "0 B"},
		{1, "1 B"},
		{512, "512 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{1048575, "1.0 MiB"}, /* rounds up into the next unit */
		{12.0 * MiB, "12.0 MiB"},
		{3.2 * 1024 * MiB, "3.2 GiB"},
		{5.0 * 1024 * 1024 * MiB, "5.0 TiB"},
		{-512, "-512 B"},
		{-1536, "-1.5 KiB"},
		{-0.2, "0 B"},
		{102.4 * KiB, "102.4 KiB"},
	};
	char buf[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		report__fmt_bytes(buf, sizeof(buf), cases[i].in);
		if (strcmp(buf, cases[i].out))
			fail_msg("%.1f: got \"%s\", expected \"%s\"", cases[i].in, buf,
				 cases[i].out);
	}
}

/* A site seen for the first time grew by all its live bytes, and its
 * interval counters are its cumulative ones. */
static void test_first_snapshot(void **state)
{
	struct report *r = report__new(SORT_GROWTH, 10);
	struct report_site s[] = {site(1, 10, 4, 4096, 1, 1024)};
	struct report_header hdr;
	struct report_row *rows;
	size_t n;

	(void)state;
	assert_non_null(r);
	snapshot(r, s, 1, 2.0, &hdr, &rows, &n);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].live_bytes, 3072);
	assert_int_equal(rows[0].live_objects, 3);
	assert_int_equal(rows[0].growth_bytes, 3072);
	assert_true(rows[0].growth_rate == 1536.0);
	assert_int_equal(rows[0].allocs, 4);
	assert_int_equal(rows[0].frees, 1);
	assert_int_equal(rows[0].alloc_bytes, 4096);
	assert_int_equal(rows[0].free_bytes, 1024);
	assert_int_equal(rows[0].nframes, 0);
	assert_string_equal(rows[0].site.comm, "proc1");
	report__free(r);
}

/* Before anything was allocated: a fresh report with no site at all is
 * still a report (nothing to rank, nothing allocated), not an error. */
static void test_empty_first_report(void **state)
{
	struct report *r = report__new(SORT_GROWTH, 10);
	struct report_header hdr = {.interval_s = 1.0};
	struct report_row *rows = NULL;
	size_t n = 99;

	(void)state;
	assert_non_null(r);
	assert_int_equal(report__finish(r, &hdr, &rows, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(hdr.nsites, 0);
	assert_int_equal(hdr.live_bytes, 0);
	assert_int_equal(report__finish(r, &hdr, &rows, &n), 0);
	assert_int_equal(n, 0);
	report__free(r);
}

/* The Python heap census: its text table under the sites (a hostile type name
 * cut and made safe) and its JSON arrays, present only when a process was censused. */
static void test_census(void **state)
{
	static const struct report_pyheap heap = {.pid = 42,
						  .truncated = true,
						  .pools = 7916,
						  .pool_size = 16384,
						  .unreadable_pools = 2,
						  .unreadable_bytes = 32768,
						  .large_blocks = 3,
						  .ms = 297.4};
	static const struct report_pytype types[] = {
		{42, "int", 4000161, 128005152, 3999743, 127991776, 3999743, 127991776},
		{42, "evil\x1b[2Jname-longer-than-the-column", 2, 64, -1, -32, 0, 0},
	};
	struct report_header hdr = {.interval_s = 1.0};
	char *text, *json;

	(void)state;
	json = render(true, &hdr, NULL, 0);
	assert_null(strstr(json, "python_types"));
	free(json);
	hdr.pyheaps = &heap;
	hdr.npyheaps = 1;
	hdr.pytypes = types;
	hdr.npytypes = 2;
	text = render(false, &hdr, NULL, 0);
	assert_non_null(strstr(
		text,
		"python types, pid 42: 7916 pools, 3 large blocks in 297 ms, truncated "
		"(--census-budget); unreadable:\n"
		"  2 pools / 32.0 KiB\n"
		"  TYPE                                OBJS      BYTES     +OBJS      +BYTES "
		"START+OBJ     START+B\n"
		"  int                              4000161  122.1 MiB  +3999743  +122.1 MiB  "
		"+3999743  +122.1 MiB\n"
		"  evil?[2Jname-longer-than-the-c         2       64 B        -1       -32 B  "
		"      +0           0\n\n"));
	assert_null(strchr(text, '\x1b'));
	free(text);
	/* 80 columns: the since-start columns go, every line fits */
	hdr.cols = 80;
	text = render(false, &hdr, NULL, 0);
	assert_non_null(strstr(
		text,
		"python types, pid 42: 7916 pools, 3 large blocks in 297 ms, truncated\n"
		"  (--census-budget); unreadable: 2 pools / 32.0 KiB\n"
		"  TYPE                                OBJS      BYTES     +OBJS      +BYTES\n"
		"  int                              4000161  122.1 MiB  +3999743  +122.1 MiB\n"));
	for (char *line = text, *nl; (nl = strchr(line, '\n')); line = nl + 1)
		if (nl - line > 80)
			fail_msg("line of %td columns: %.*s", nl - line, (int)(nl - line), line);
	free(text);
	hdr.cols = 0;
	json = render(true, &hdr, NULL, 0);
	assert_non_null(strstr(json, ",\"python_types\":[{\"pid\":42,\"type\":\"int\","
				     "\"objects\":4000161,\"bytes\":128005152,"
				     "\"growth_objects\":3999743,\"growth_bytes\":127991776,"
				     "\"start_growth_objects\":3999743,"
				     "\"start_growth_bytes\":127991776},"));
	assert_non_null(strstr(json, "\"type\":\"evil\\u001b[2Jname-longer-than-the-column\""));
	assert_non_null(strstr(json,
			       "\"python_heaps\":[{\"pid\":42,\"truncated\":true,"
			       "\"pools\":7916,\"pool_size\":16384,\"unreadable_pools\":2,"
			       "\"unreadable_bytes\":32768,\"swapped_pages\":0,\"large_blocks\":3,"
			       "\"untyped_blocks\":0,\"untyped_bytes\":0,\"ms\":297.400}]}"));
	free(json);
}

static void test_deltas_across_snapshots(void **state)
{
	struct report *r = report__new(SORT_GROWTH, 10);
	/* 10 grows, 20 shrinks, 30 appears in the second snapshot */
	struct report_site s1[] = {site(1, 10, 10, 1000, 0, 0), site(1, 20, 5, 5000, 0, 0)};
	struct report_site s2[] = {site(1, 20, 5, 5000, 3, 3000), site(1, 10, 25, 2500, 5, 500),
				   site(1, 30, 2, 64, 0, 0)};
	struct report_site s3[] = {site(1, 10, 25, 2500, 5, 500), site(1, 20, 5, 5000, 3, 3000),
				   site(1, 30, 4, 128, 4, 128)};
	const struct report_row *row;
	struct report_header hdr;
	struct report_row *rows;
	size_t n;

	(void)state;
	snapshot(r, s1, 2, 1.0, &hdr, &rows, &n);
	snapshot(r, s2, 3, 4.0, &hdr, &rows, &n);
	assert_int_equal(n, 3);

	row = find_row(rows, n, 1, 10);
	assert_non_null(row);
	assert_int_equal(row->live_bytes, 2000);
	assert_int_equal(row->live_objects, 20);
	assert_int_equal(row->growth_bytes, 1000);
	assert_true(row->growth_rate == 250.0);
	assert_int_equal(row->allocs, 15);
	assert_int_equal(row->frees, 5);
	assert_int_equal(row->alloc_bytes, 1500);
	assert_int_equal(row->free_bytes, 500);

	row = find_row(rows, n, 1, 20);
	assert_non_null(row);
	assert_int_equal(row->live_bytes, 2000);
	assert_int_equal(row->growth_bytes, -3000);
	assert_true(row->growth_rate == -750.0);
	assert_int_equal(row->allocs, 0);
	assert_int_equal(row->frees, 3);

	row = find_row(rows, n, 1, 30);
	assert_non_null(row);
	assert_int_equal(row->growth_bytes, 64);
	assert_int_equal(row->allocs, 2);

	/* third snapshot: 30 freed everything but was active, so it stays;
	 * 10 and 20 did nothing but still hold memory */
	snapshot(r, s3, 3, 1.0, &hdr, &rows, &n);
	assert_int_equal(n, 3);
	row = find_row(rows, n, 1, 30);
	assert_non_null(row);
	assert_int_equal(row->live_bytes, 0);
	assert_int_equal(row->growth_bytes, -64);
	assert_int_equal(row->allocs, 2);
	assert_int_equal(row->frees, 4);
	row = find_row(rows, n, 1, 10);
	assert_non_null(row);
	assert_int_equal(row->growth_bytes, 0);
	assert_int_equal(row->allocs, 0);
	report__free(r);
}

/* The same stack in two processes is two sites. */
static void test_key_includes_pid(void **state)
{
	struct report *r = report__new(SORT_GROWTH, 10);
	struct report_site s1[] = {site(1, 10, 1, 100, 0, 0), site(2, 10, 1, 200, 0, 0)};
	struct report_site s2[] = {site(1, 10, 1, 100, 0, 0), site(2, 10, 3, 600, 0, 0)};
	struct report_header hdr;
	struct report_row *rows;
	size_t n;

	(void)state;
	snapshot(r, s1, 2, 1.0, &hdr, &rows, &n);
	snapshot(r, s2, 2, 1.0, &hdr, &rows, &n);
	assert_int_equal(n, 2);
	assert_int_equal(rows[0].site.pid, 2);
	assert_int_equal(rows[0].growth_bytes, 400);
	assert_int_equal(rows[1].site.pid, 1);
	assert_int_equal(rows[1].growth_bytes, 0);
	report__free(r);
}

/* A kernel entry deleted and created again restarts its counters: it is
 * treated as new rather than producing huge unsigned deltas. */
static void test_counter_restart(void **state)
{
	struct report *r = report__new(SORT_GROWTH, 10);
	struct report_site s1[] = {site(1, 10, 100, 10000, 50, 5000)};
	struct report_site s2[] = {site(1, 10, 2, 200, 0, 0)};
	struct report_header hdr;
	struct report_row *rows;
	size_t n;

	(void)state;
	snapshot(r, s1, 1, 1.0, &hdr, &rows, &n);
	snapshot(r, s2, 1, 1.0, &hdr, &rows, &n);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].allocs, 2);
	assert_int_equal(rows[0].frees, 0);
	assert_int_equal(rows[0].growth_bytes, 200);
	report__free(r);
}

/* Sites 1..4 in one process, built so that each key has ties:
 *           1     2     3     4
 * growth  +300  +300  +100  +300
 * live     300   800   900   300
 * allocs     3     1     1     3   (in the second interval) */
static void tie_sites(struct report *r, struct report_header *hdr, struct report_row **rows,
		      size_t *n)
{
	struct report_site s1[] = {site(7, 1, 0, 0, 0, 0), site(7, 2, 1, 500, 0, 0),
				   site(7, 3, 1, 800, 0, 0), site(7, 4, 0, 0, 0, 0)};
	struct report_site s2[] = {site(7, 4, 3, 300, 0, 0), site(7, 3, 2, 900, 0, 0),
				   site(7, 2, 2, 800, 0, 0), site(7, 1, 3, 300, 0, 0)};

	snapshot(r, s1, 4, 1.0, hdr, rows, n);
	snapshot(r, s2, 4, 1.0, hdr, rows, n);
}

static void test_sort_growth(void **state)
{
	const __u64 want[] = {2, 1, 4, 3}; /* +300 by live, then by stack; +100 */
	struct report *r = report__new(SORT_GROWTH, 10);
	struct report_header hdr;
	struct report_row *rows;
	size_t n;

	(void)state;
	tie_sites(r, &hdr, &rows, &n);
	assert_order(rows, n, want, 4);
	report__free(r);
}

static void test_sort_live(void **state)
{
	const __u64 want[] = {3, 2, 1, 4}; /* 900, 800, 300 x2 by stack */
	struct report *r = report__new(SORT_LIVE, 10);
	struct report_site s1[] = {site(7, 1, 1, 500, 0, 0), site(7, 2, 0, 0, 0, 0)};
	struct report_site s2[] = {site(7, 1, 1, 500, 0, 0), site(7, 2, 1, 500, 0, 0)};
	struct report_header hdr;
	struct report_row *rows;
	size_t n;

	(void)state;
	tie_sites(r, &hdr, &rows, &n);
	assert_order(rows, n, want, 4);
	report__free(r);

	/* equal live: the one that grew comes first */
	r = report__new(SORT_LIVE, 10);
	snapshot(r, s1, 2, 1.0, &hdr, &rows, &n);
	snapshot(r, s2, 2, 1.0, &hdr, &rows, &n);
	assert_int_equal(n, 2);
	assert_int_equal(rows[0].site.stack_id, 2);
	assert_int_equal(rows[1].site.stack_id, 1);
	report__free(r);
}

static void test_sort_allocs(void **state)
{
	const __u64 want[] = {1, 4, 3, 2}; /* 3 allocs by stack, then 1 alloc by live */
	struct report *r = report__new(SORT_ALLOCS, 10);
	struct report_header hdr;
	struct report_row *rows;
	size_t n;

	(void)state;
	tie_sites(r, &hdr, &rows, &n);
	assert_order(rows, n, want, 4);
	report__free(r);
}

/* Full ties fall back to pid, then stack id. */
static void test_sort_final_tie(void **state)
{
	struct report *r = report__new(SORT_GROWTH, 10);
	struct report_site s[] = {site(9, 5, 1, 64, 0, 0), site(3, 8, 1, 64, 0, 0),
				  site(9, 2, 1, 64, 0, 0), site(3, 1, 1, 64, 0, 0)};
	struct report_header hdr;
	struct report_row *rows;
	size_t n;

	(void)state;
	snapshot(r, s, 4, 1.0, &hdr, &rows, &n);
	assert_int_equal(n, 4);
	assert_int_equal(rows[0].site.pid, 3);
	assert_int_equal(rows[0].site.stack_id, 1);
	assert_int_equal(rows[1].site.pid, 3);
	assert_int_equal(rows[1].site.stack_id, 8);
	assert_int_equal(rows[2].site.pid, 9);
	assert_int_equal(rows[2].site.stack_id, 2);
	assert_int_equal(rows[3].site.pid, 9);
	assert_int_equal(rows[3].site.stack_id, 5);
	report__free(r);
}

static void test_top_n(void **state)
{
	struct report *r = report__new(SORT_LIVE, 3);
	struct report_site s[10];
	struct report_header hdr;
	struct report_row *rows;
	size_t i, n;

	(void)state;
	for (i = 0; i < 10; i++)
		s[i] = site(1, i, 1, (i + 1) * 100, 0, 0);
	snapshot(r, s, 10, 1.0, &hdr, &rows, &n);
	assert_int_equal(n, 3);
	assert_int_equal(rows[0].live_bytes, 1000);
	assert_int_equal(rows[1].live_bytes, 900);
	assert_int_equal(rows[2].live_bytes, 800);
	/* totals still cover every site, not only the rows shown */
	assert_int_equal(hdr.nsites, 10);
	assert_int_equal(hdr.live_bytes, 5500);
	report__free(r);
}

static void test_idle_sites_excluded(void **state)
{
	struct report *r = report__new(SORT_GROWTH, 10);
	/* 1 freed everything before the first report; 2 is balanced but busy */
	struct report_site s1[] = {site(1, 1, 5, 500, 5, 500), site(1, 2, 1, 8, 1, 8)};
	struct report_site s2[] = {site(1, 1, 5, 500, 5, 500), site(1, 2, 4, 32, 4, 32)};
	struct report_site s3[] = {site(1, 1, 5, 500, 5, 500), site(1, 2, 4, 32, 4, 32)};
	struct report_header hdr;
	struct report_row *rows;
	size_t n;

	(void)state;
	snapshot(r, s1, 2, 1.0, &hdr, &rows, &n);
	assert_int_equal(n, 2); /* both were active in the first interval */
	snapshot(r, s2, 2, 1.0, &hdr, &rows, &n);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].site.stack_id, 2);
	assert_int_equal(rows[0].live_bytes, 0);
	assert_int_equal(rows[0].allocs, 3);
	snapshot(r, s3, 2, 1.0, &hdr, &rows, &n);
	assert_int_equal(n, 0);
	assert_int_equal(hdr.nsites, 2);
	report__free(r);
}

static void test_exited(void **state)
{
	struct report *r = report__new(SORT_LIVE, 10);
	struct report_site s1[] = {site(1, 1, 1, 1000, 0, 0), site(2, 1, 1, 300, 0, 0)};
	struct report_site s2[] = {site(1, 1, 1, 1000, 0, 0), site(2, 1, 1, 300, 0, 0)};
	struct report_header hdr;
	struct report_row *rows;
	size_t n;
	char *out;

	(void)state;
	snapshot(r, s1, 2, 1.0, &hdr, &rows, &n);
	assert_int_equal(hdr.live_bytes, 1300);
	s2[0].exited = true;
	snapshot(r, s2, 2, 1.0, &hdr, &rows, &n);
	/* still ranked (first by live) and marked, but no longer counted live */
	assert_int_equal(n, 2);
	assert_int_equal(rows[0].site.pid, 1);
	assert_true(rows[0].site.exited);
	assert_false(rows[1].site.exited);
	assert_int_equal(hdr.live_bytes, 300);
	assert_int_equal(hdr.live_change, -1000);

	out = render(false, &hdr, rows, n);
	assert_non_null(strstr(out, "  1 proc1 [exited]\n"));
	assert_non_null(strstr(out, "  2 proc2\n"));
	free(out);
	out = render(true, &hdr, rows, n);
	assert_non_null(strstr(out, "{\"pid\":1,\"comm\":\"proc1\",\"processes\":1,\"pids\":[1],"
				    "\"stacks\":1,\"exited\":true,"));
	assert_non_null(strstr(out, "{\"pid\":2,\"comm\":\"proc2\",\"processes\":1,\"pids\":[2],"
				    "\"stacks\":1,\"exited\":false,"));
	free(out);
	report__free(r);
}

static void test_header_totals(void **state)
{
	struct report *r = report__new(SORT_GROWTH, 1);
	struct report_site s1[] = {site(1, 1, 10, 1000, 2, 200), site(1, 2, 4, 400, 0, 0)};
	struct report_site s2[] = {site(1, 1, 30, 3000, 12, 1200), site(1, 2, 8, 800, 4, 400),
				   site(2, 1, 2, 100, 0, 0)};
	struct report_header hdr;
	struct report_row *rows;
	size_t n;

	(void)state;
	snapshot(r, s1, 2, 0, &hdr, &rows, &n);
	/* first report may come at once: no rates rather than inf */
	assert_int_equal(hdr.live_bytes, 1200);
	assert_int_equal(hdr.live_change, 1200);
	assert_true(hdr.alloc_rate == 0 && hdr.free_rate == 0);
	assert_true(hdr.alloc_bytes_rate == 0 && hdr.free_bytes_rate == 0);
	assert_true(rows[0].growth_rate == 0);

	hdr.drops[DROP_LIVE_FULL] = 5;
	snapshot(r, s2, 3, 2.0, &hdr, &rows, &n);
	/* live 1800 + 400 + 100; 20 + 4 + 2 allocs, 10 + 4 frees in 2 s */
	assert_int_equal(hdr.live_bytes, 2300);
	assert_int_equal(hdr.live_change, 1100);
	assert_true(hdr.alloc_rate == 13.0);
	assert_true(hdr.free_rate == 7.0);
	assert_true(hdr.alloc_bytes_rate == 1250.0);
	assert_true(hdr.free_bytes_rate == 700.0);
	assert_int_equal(hdr.nsites, 3);
	assert_true(hdr.interval_s == 2.0);
	assert_true(hdr.time == T0);
	assert_string_equal(hdr.targets, "pid 4242");
	assert_int_equal(n, 1);
	report__free(r);
}

/* A block malloc'd at one site, then grown in place by 1000 reallocs of 64
 * bytes each at another: the sites count every resize as an allocation of
 * its new size and a free of the old block (pprof's alloc_space), the header
 * gives the one malloc and the 1000 resizes with the 64000 bytes they added. */
static void test_realloc_rates(void **state)
{
	struct report *r = report__new(SORT_GROWTH, 10);
	struct report_site s[2] = {
		site(7, 0xa, 1, 4096, 1, 4096),
		/* 4096 + 64 i for i = 1..1000; all but the last freed by the next */
		site(7, 0xb, 1000, 36128000, 999, 36128000 - 68096),
	};
	const struct report_row *b;
	struct report_header hdr;
	struct report_row *rows;
	size_t n;
	char *out;

	(void)state;
	s[1].stats.reallocs = 1000;
	s[1].stats.realloc_bytes = 36128000;
	s[1].stats.realloc_old_bytes = 4096 + (36128000 - 68096);
	snapshot(r, s, 2, 2.0, &hdr, &rows, &n);
	assert_int_equal(hdr.live_bytes, 68096);
	assert_true(hdr.alloc_rate == 0.5);
	assert_true(hdr.alloc_bytes_rate == 2048.0);
	assert_true(hdr.free_rate == 0.0);
	assert_true(hdr.free_bytes_rate == 0.0);
	assert_true(hdr.realloc_rate == 500.0);
	assert_true(hdr.realloc_bytes_rate == 32000.0);
	b = find_row(rows, n, 7, 0xb);
	assert_non_null(b);
	assert_int_equal(b->allocs, 1000);
	assert_int_equal(b->alloc_bytes, 36128000);
	assert_int_equal(b->reallocs, 1000);
	assert_int_equal(b->live_objects, 1);

	out = render(false, &hdr, rows, n);
	assert_non_null(strstr(out, "allocs 0.5/s (2.0 KiB/s)  frees 0.0/s (0 B/s)  "
				    "reallocs 500/s (+31.2 KiB/s)\n"));
	free(out);
	out = render(true, &hdr, rows, n);
	assert_non_null(strstr(out, "\"realloc_rate\":500.000,\"realloc_bytes_rate\":32000.000"));
	assert_non_null(strstr(out, "\"allocs\":1000,\"frees\":999,\"alloc_bytes\":36128000,"
				    "\"free_bytes\":36059904,\"reallocs\":1000,"));
	free(out);
	report__free(r);
}

static void test_many_sites(void **state)
{
	const size_t nsites = 100000;
	struct report *r = report__new(SORT_GROWTH, 5);
	struct report_header hdr;
	struct report_row *rows;
	struct report_site s;
	size_t i, pass, n;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		/* added in descending key order so the report has to sort */
		for (i = nsites; i-- > 0;) {
			__u64 bytes = (i % 1000 + 1) * (pass + 1) * (i == 4242 ? 100 : 1);

			s = site(100 + i % 7, i, pass + 1, bytes, 0, 0);
			assert_int_equal(report__add(r, &s), 0);
		}
		memset(&hdr, 0, sizeof(hdr));
		hdr.interval_s = 1.0;
		assert_int_equal(report__finish(r, &hdr, &rows, &n), 0);
	}
	assert_int_equal(hdr.nsites, nsites);
	assert_int_equal(n, 5);
	assert_int_equal(rows[0].site.stack_id, 4242);
	assert_int_equal(rows[0].growth_bytes, 24300);
	assert_int_equal(rows[0].allocs, 1);
	for (i = 1; i < n; i++) {
		assert_int_equal(rows[i].growth_bytes, 1000);
		assert_int_equal(rows[i].site.stack_id % 1000, 999);
	}
	/* ties in growth and live go by pid, then stack id */
	assert_int_equal(rows[1].site.pid, 100);
	assert_true(rows[1].site.stack_id < rows[2].site.stack_id);
	report__free(r);
}

/* An OOM kill as the kernel's event gives it (pages), and as reports show it:
 * the text line under the first, JSON's oom_victim and oom_victims in bytes. */
static void test_oom_lines(void **state)
{
	const struct oom_event ev = {.type = TASK_EV_OOM,
				     .tgid = 4242,
				     .comm = "leaky",
				     .total_vm = 17474,
				     .anon_rss = 16352,
				     .file_rss = 308,
				     .shmem_rss = 0,
				     .pgtables = 180 << 10,
				     .tid = 4243,
				     .uid = 1000,
				     .oom_score_adj = -17,
				     .has_counters = 1};
	const struct oom_event bare = {.type = TASK_EV_OOM, .tgid = 77, .tid = 77};
	struct report_oom ooms[2];
	struct report_header hdr = {.time = T0, .interval_s = 1, .scope = "pid"};
	char *out;

	(void)state;
	report__oom_from_event(&ev, "other", 4096, &ooms[0]);
	assert_int_equal(ooms[0].pid, 4242);
	assert_string_equal(ooms[0].comm, "leaky");
	assert_int_equal(ooms[0].anon_rss, 16352ULL * 4096);
	assert_int_equal(ooms[0].pgtables, 180 << 10);
	/* Before Linux 6.8 the event has the pid alone: the tracer's name for it. */
	report__oom_from_event(&bare, "worker", 4096, &ooms[1]);
	assert_string_equal(ooms[1].comm, "worker");
	assert_false(ooms[1].has_counters);

	/* No kill: nothing is said. */
	out = render(false, &hdr, NULL, 0);
	assert_null(strstr(out, "OOM"));
	free(out);
	out = render(true, &hdr, NULL, 0);
	assert_null(strstr(out, "oom"));
	free(out);

	hdr.ooms = ooms;
	hdr.nooms = 2;
	out = render(false, &hdr, NULL, 0);
	assert_non_null(strstr(out,
			       "UTC  interval 1.0s\n"
			       "OOM-killed: pid 4242 (leaky): total-vm 68.3 MiB, anon-rss 63.9 "
			       "MiB, file-rss 1.2 MiB, shmem-rss 0 B,\n"
			       "  pgtables 180.0 KiB, uid 1000, oom_score_adj -17\n"
			       "OOM-killed: pid 77 (worker)\n"
			       "sites of OOM-killed processes are shown as they stood at the kill, "
			       "marked exited\nlive 0 B"));
	free(out);
	out = render(true, &hdr, NULL, 0);
	assert_non_null(strstr(out, "\"targets\":[],\"oom_victim\":4242,\"oom_victims\":["
				    "{\"pid\":4242,\"comm\":\"leaky\",\"total_vm_bytes\":71573504,"
				    "\"anon_rss_bytes\":66977792,\"file_rss_bytes\":1261568,"
				    "\"shmem_rss_bytes\":0,\"pgtables_bytes\":184320,\"uid\":1000,"
				    "\"oom_score_adj\":-17},{\"pid\":77,\"comm\":\"worker\"}],"
				    "\"live_bytes\""));
	free(out);
}

static void test_json_escaping(void **state)
{
	static const struct sym_frame frames[] = {
		{.addr = 0x7f0000001000ULL,
		 .symbol = "operator new(unsigned long)",
		 .offset = 4,
		 .module = "lib\"x\".so"},
		{.addr = 0xffffffffffffff00ULL, .symbol = "tab\there\nnl", .module = "a\\b"},
		{.addr = 0x1234, .symbol = "[unknown]", .module = "[unknown]"},
	};
	static const struct report_target traced[] = {{1, "x\"y", {}}, {2, "\x1b[0m", {}}};
	struct report_header hdr = {.time = T0,
				    .interval_s = 1,
				    .targets = "comm \"x\"",
				    .scope = "comm",
				    .traced = traced,
				    .ntraced = 2};
	struct report_row row = {.site = {.pid = 1, .stack_id = 1}};
	char *out;

	(void)state;
	memcpy(row.site.comm, "a\"b\\c\x01\x1f\x7f\xc3\xa9\xff", 12);
	row.nframes = 3;
	memcpy(row.frames, frames, sizeof(frames));

	out = render(true, &hdr, &row, 1);
	assert_non_null(
		strstr(out, "\"comm\":\"a\\\"b\\\\c\\u0001\\u001f\\u007f\xc3\xa9\\ufffd\""));
	assert_non_null(strstr(out,
			       "\"scope\":\"comm\",\"targets\":[{\"pid\":1,\"comm\":\"x\\\"y\"},"
			       "{\"pid\":2,\"comm\":\"\\u001b[0m\"}]"));
	assert_non_null(strstr(out,
			       "{\"addr\":\"0x7f0000001000\",\"symbol\":\"operator new("
			       "unsigned long)\",\"offset\":4,\"module\":\"lib\\\"x\\\".so\"}"));
	assert_non_null(strstr(out,
			       "{\"addr\":\"0xffffffffffffff00\",\"symbol\":"
			       "\"tab\\u0009here\\u000anl\",\"offset\":0,\"module\":\"a\\\\b\"}"));
	/* exactly one line */
	assert_non_null(strchr(out, '\n'));
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	free(out);

	/* the text form must not pass control characters to the terminal */
	memcpy(row.site.comm, "\x1b[31mred", 9);
	out = render(false, &hdr, &row, 1);
	assert_non_null(strstr(out, "  1 ?[31mred\n"));
	assert_non_null(strstr(out, "       tab?here?nl+0x0 (a\\b)\n"));
	assert_non_null(strstr(out, "       0x1234 ([unknown])\n"));
	free(out);

	/* C1 controls (CSI as U+009B, or a lone 0x9b byte) are escapes too;
	 * other non-ASCII text passes */
	memcpy(row.site.comm,
	       "\xc2\x9b"
	       "2J\x9b"
	       "1m\xc3\xa9",
	       10);
	out = render(false, &hdr, &row, 1);
	assert_non_null(strstr(out, "  1 ??2J?1m\xc3\xa9\n"));
	free(out);
}

static void test_textsafe_copy(void **state)
{
	char buf[8];

	(void)state;
	assert_string_equal(textsafe__copy(buf, sizeof(buf), "a\x1b[0m"), "a?[0m");
	/* cut at a character boundary, never inside one */
	assert_string_equal(textsafe__copy(buf, sizeof(buf), "abcdef\xc3\xa9"), "abcdef");
	assert_string_equal(textsafe__copy(buf, sizeof(buf), "\xc2\x85\xff"), "???");
	assert_string_equal(textsafe__copy(buf, 1, "abc"), "");
}

static void test_text_details(void **state)
{
	struct report_header hdr = {.time = T0, .interval_s = 3, .targets = "pid 4242"};
	struct report_row row = {.site = {.pid = 4242, .stack_id = 1, .comm = "t"}};
	char sym[300], *out, *line, *save;
	size_t i;

	(void)state;
	out = render(false, &hdr, NULL, 0);
	assert_non_null(strstr(out, "drops: none\n"));
	assert_non_null(strstr(out, "  no allocations seen yet\n"));
	free(out);

	hdr.final = true;
	hdr.nsites = 3;
	hdr.drops[DROP_UNTRACKED_FREE] = 12;
	hdr.drops[DROP_LIVE_FULL] = 3;
	out = render(false, &hdr, NULL, 0);
	assert_non_null(strstr(out, "UTC  interval 3.0s  pid 4242  (final)\n"));
	assert_non_null(strstr(out, "drops: live_full 3, untracked_free 12\n"));
	assert_non_null(strstr(out, "  no live allocations and no activity\n"));
	free(out);

	/* long names are cut with "..." to fit 100 columns; offset and module stay */
	for (i = 0; i < DROP_COUNT; i++)
		hdr.drops[i] = UINT64_MAX;
	memset(sym, 'x', sizeof(sym) - 1);
	sym[sizeof(sym) - 1] = '\0';
	row.nframes = 2;
	row.frames[0] = (struct sym_frame){
		.addr = 0x1000, .symbol = sym, .offset = 0x1c, .module = "libfoo.so"};
	row.frames[1] = (struct sym_frame){.addr = 0x2000, .symbol = "f", .module = sym};
	/* the widest row the columns are sized for: 7-digit pid (pid_max
	 * 4194304), 15-character comm, exited, 4-digit values in every unit */
	row.site.pid = 4194303;
	strcpy(row.site.comm, "fifteen_chars_x");
	row.site.exited = true;
	row.live_bytes = 1073636966;
	row.growth_bytes = -row.live_bytes;
	row.growth_rate = -row.live_bytes;
	row.live_objects = 9999999;
	row.allocs = row.frees = 99999999;
	out = render(false, &hdr, &row, 1);
	assert_non_null(strstr(out, "xxx...+0x1c (libfoo.so)\n"));
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strlen(line) > 100)
			fail_msg("%zu columns: %s", strlen(line), line);
	free(out);
}

/* One differing line; for long lines (the JSON report is one line) only a
 * window around the first difference, so the change is easy to spot. */
static void print_line_diff(size_t line, const char *a, size_t la, const char *b, size_t lb)
{
	size_t col = 0, from;

	while (col < la && col < lb && a[col] == b[col])
		col++;
	from = col > 40 ? col - 40 : 0;
	fprintf(stderr, "line %zu, column %zu:\n", line, col + 1);
	fprintf(stderr, "- %s%.*s\n", from ? "..." : "", (int)(la - from < 100 ? la - from : 100),
		a + from);
	fprintf(stderr, "+ %s%.*s\n", from ? "..." : "", (int)(lb - from < 100 ? lb - from : 100),
		b + from);
}

/* Compares out with a golden file, printing the lines that differ. Run with
 * UPDATE_GOLDEN=1 to rewrite the golden file after an intended change. */
static void assert_golden(const char *name, const char *out)
{
	char path[512], tmp[512], *want = NULL;
	const char *a, *b;
	size_t len = 0, line = 1, shown = 0;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s%s", GOLDEN_DIR, name);
	if (getenv("UPDATE_GOLDEN")) {
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(out, f);
		assert_int_equal(fclose(f), 0);
		return;
	}
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: %s (UPDATE_GOLDEN=1 creates it)", path, strerror(errno));
	assert_int_not_equal(getdelim(&want, &len, '\0', f), -1);
	fclose(f);
	if (!strcmp(want, out)) {
		free(want);
		return;
	}

	fprintf(stderr, "%s differs (- golden, + actual):\n", name);
	for (a = want, b = out; (*a || *b) && shown < 20; line++) {
		size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");

		if (la != lb || memcmp(a, b, la)) {
			print_line_diff(line, a, la, b, lb);
			shown++;
		}
		a += la + (a[la] == '\n');
		b += lb + (b[lb] == '\n');
	}
	snprintf(tmp, sizeof(tmp), "%s/%s.XXXXXX", getenv("TMPDIR") ?: "/tmp", name);
	fd = mkstemp(tmp);
	if (fd >= 0) {
		if (write(fd, out, strlen(out)) == (ssize_t)strlen(out))
			fprintf(stderr, "actual output: %s (diff -u %s %s)\n", tmp, path, tmp);
		close(fd);
	}
	free(want);
	fail_msg("%s does not match", name);
}

#define FRAME(a, sym, off, mod)                                                                    \
	{                                                                                          \
		.addr = (a), .symbol = (sym), .offset = (off), .module = (mod)                     \
	}
#define PY_FRAME(a, sym, f, l)                                                                     \
	{                                                                                          \
		.addr = (a), .symbol = (sym), .module = "python", .file = (f), .line = (l)         \
	}

/* A call site with a line table: "leak_small (alloc_target.c:57)". */
static const struct sym_frame leak_frames[] = {
	FRAME(0x7f3a12e4a0e0ULL, "malloc", 0, "libc.so.6"),
	{.addr = 0x55d0c0a0123cULL,
	 .symbol = "leak_small",
	 .offset = 0x1c,
	 .module = "alloc_target",
	 .path = "/opt/app/alloc_target",
	 .file_offset = 0x123c,
	 .build_id = "9c0ffee0",
	 .src_file = "/build/tests/targets/alloc_target.c",
	 .src_line = 57},
	FRAME(0x55d0c0a01455ULL, "main", 0x55, "alloc_target"),
};
/* Code without a symbol in a file (stripped): named by its file offset. */
static const struct sym_frame churn_frames[] = {
	FRAME(0x7f3a12e4a0e0ULL, "malloc", 0, "libc.so.6"),
	FRAME(0x7f3a12f00010ULL, "std::vector<int, std::allocator<int> >::_M_realloc_insert", 0x30,
	      "libstdc++.so.6"),
	{.addr = 0x55d0c0a01300ULL,
	 .symbol = "[unknown]",
	 .module = "alloc_target",
	 .path = "/opt/app/alloc_target",
	 .file_offset = 0x1300},
};
/* A CPython site: the allocator, then Python frames in place of the interpreter's. */
static const struct sym_frame python_frames[] = {
	FRAME(0x7f3a12e4a300ULL, "realloc", 0, "libc.so.6"),
	PY_FRAME(AS_PY_FRAME(0x7f3a10000040ULL, 36), "SessionStore.on_message",
		 "/srv/app/sessions.py", 42),
	PY_FRAME(AS_PY_FRAME(0x7f3a10000400ULL, 120), "consume", "/srv/app/sessions.py", 57),
};
/* JIT code, named by the process's perf map, then without a name. */
static const struct sym_frame worker_frames[] = {
	FRAME(0x7f3a12e4a200ULL, "calloc", 0, "libc.so.6"),
	FRAME(0x3ef8c5c0a0d2ULL, "LazyCompile:*leak /srv/app.js:3", 0x12, "[jit]"),
	FRAME(0x7f3a12aa0000ULL, "[unknown]", 0, "[jit]"),
};

/* 5151 exited: only 4242 is traced now. */
static const struct report_target golden_traced[] = {{4242, "alloc_target", {}}};
static const struct report_process golden_procs[] = {
	{.pid = 4242,
	 .comm = "alloc_target",
	 .rss_anon = 80 * MiB + 600 * 1024,
	 .heap_live = 60 * MiB,
	 .allocator = 10 * MiB,
	 .mappings = 5 * MiB,
	 .thread_stacks = 200 * 1024,
	 .data = 300 * 1024,
	 .unexplained = 5 * MiB + 100 * 1024},
};

/* Two processes over two reports: a leak, a churning site that shrank, a
 * new site, an exited process and an idle site that is left out. */
static void golden_report(struct report *r, struct report_header *hdr, struct report_row **rows,
			  size_t *n)
{
	struct report_site s1[] = {
		site(4242, 0xa1, 3072, 3 * MiB, 0, 0),
		site(4242, 0xb2, 50000, 20 * MiB, 49000, 18 * MiB),
		site(4242, 0xc3, 10, 1000, 10, 1000),
		site(5151, 0xd4, 1, 512, 0, 0),
	};
	struct report_site s2[] = {
		site(4242, 0xa1, 4096, 4 * MiB, 0, 0),
		site(4242, 0xb2, 60000, 24 * MiB, 59900, 23 * MiB),
		site(4242, 0xc3, 10, 1000, 10, 1000),
		site(4242, 0xe5, 3, 96, 1, 32),
		site(5151, 0xd4, 1, 512, 0, 0),
	};
	size_t i;

	snprintf(s1[3].comm, sizeof(s1[3].comm), "worker");
	s2[4] = s1[3];
	s2[4].exited = true;
	for (i = 0; i < 4; i++)
		strcpy(s2[i].comm, "alloc_target");
	/* Two of the realloc site's three allocations resized a 32-byte block. */
	s2[3].stats.reallocs = 2;
	s2[3].stats.realloc_bytes = 64;
	s2[3].stats.realloc_old_bytes = 64;
	snapshot(r, s1, 4, 10.0, hdr, rows, n);
	snapshot(r, s2, 5, 10.0, hdr, rows, n);
	hdr->drops[DROP_UNTRACKED_FREE] = 12;
	hdr->stops[UNWIND_STOP_NO_MAPPING] = 2;
	hdr->stops[UNWIND_STOP_DEPTH_CAP] = 7;
	hdr->py_no_thread = 3;
	hdr->scope = "pid";
	hdr->traced = golden_traced;
	hdr->ntraced = 1;
	hdr->stacks = 4;
	hdr->stack_size = 8 * MiB + 4096;
	hdr->stacks_mapped = 4 * hdr->stack_size;
	hdr->stacks_resident = 48 * 1024;
	hdr->alloc_mapped = 132 * MiB;
	hdr->alloc_resident = 10 * MiB + 200 * 1024;
	hdr->procs = golden_procs;
	hdr->nprocs = 1;
	hdr->nprocs_total = 3;

	for (i = 0; i < *n; i++) {
		const struct sym_frame *fr = NULL;
		size_t nfr = 0;

		switch ((*rows)[i].site.stack_id) {
		case 0xa1:
			fr = leak_frames, nfr = 3;
			break;
		case 0xb2:
			fr = churn_frames, nfr = 3;
			break;
		case 0xe5:
			fr = python_frames, nfr = 3;
			break;
		case 0xd4:
			fr = worker_frames, nfr = 2;
			(*rows)[i].cut = UNWIND_STOP_NO_MAPPING + 1;
			break;
		}
		(*rows)[i].nframes = nfr;
		if (nfr)
			memcpy((*rows)[i].frames, fr, nfr * sizeof(*fr));
	}
}

/* A mapping site ranks by what is resident and grows as pages are touched; the row says of
 * how much address space. */
static void test_mapping_site(void **state)
{
	struct report *r = report__new(SORT_LIVE, 10);
	struct report_site s = site(7, 0x10, 1, 1UL << 30, 0, 0),
			   h = site(7, 0x20, 1, 2 * MiB, 0, 0);
	struct report_header hdr;
	struct report_row *rows;
	size_t n;
	char *out;

	(void)state;
	s.mapping = true;
	s.mapped_bytes = 1UL << 30;
	s.resident_bytes = 256 * 4096;
	snapshot(r, (struct report_site[]){s, h}, 2, 1.0, &hdr, &rows, &n);
	assert_int_equal(n, 2);
	/* 1 MiB resident of a 1 GiB reservation ranks below a 2 MiB heap block */
	assert_int_equal(rows[0].site.stack_id, 0x20);
	assert_int_equal(rows[1].live_bytes, 256 * 4096);
	assert_int_equal(rows[1].growth_bytes, 256 * 4096);
	assert_int_equal(hdr.live_bytes, 2 * MiB + 256 * 4096);

	s.resident_bytes = 320 * 4096;
	snapshot(r, (struct report_site[]){s, h}, 2, 1.0, &hdr, &rows, &n);
	assert_int_equal(rows[1].live_bytes, 320 * 4096);
	assert_int_equal(rows[1].growth_bytes, 64 * 4096);
	assert_int_equal(hdr.live_change, 64 * 4096);

	out = render(false, &hdr, rows, n);
	assert_non_null(strstr(out, "       1.2 MiB resident of 1.0 GiB mapped\n"));
	free(out);
	out = render(true, &hdr, rows, n);
	assert_non_null(
		strstr(out, "\"live_bytes\":1310720,\"live_objects\":1,\"growth_bytes\":262144"));
	assert_non_null(strstr(out, "\"mapped_bytes\":1073741824,\"resident_bytes\":1310720"));
	free(out);
	report__free(r);
}

/* Thread stacks of different sizes are summed; the process lines stop at five. */
static void test_memory_lines(void **state)
{
	struct report_process procs[7];
	struct report_header hdr = {.time = T0, .interval_s = 1};
	char *out;

	(void)state;
	for (int i = 0; i < 7; i++)
		procs[i] = (struct report_process){.pid = 100 + i,
						   .comm = "w",
						   .rss_anon = MiB,
						   .heap_live = MiB / 2,
						   .unexplained = MiB / 2};
	/* --mode rss: the pages faulted in are the whole explanation */
	procs[1] = (struct report_process){.pid = 98,
					   .comm = "py",
					   .rss_anon = 100 * MiB,
					   .faulted = 95 * MiB,
					   .rss_only = true,
					   .unexplained = 5 * MiB};
	/* node's Buffers: 1000 MiB requested, 900 MiB of it never touched */
	procs[0] = (struct report_process){.pid = 99,
					   .comm = "node",
					   .rss_anon = 107 * MiB,
					   .heap_live = 1000 * MiB,
					   .heap_not_resident = 900 * MiB,
					   .allocator = 3 * MiB,
					   .data = MiB, /* libraries' written pages */
					   .unexplained = 3 * MiB};
	hdr.stacks = 3;
	hdr.stacks_mapped = 10 * MiB;
	hdr.stacks_resident = 12 * 1024;
	hdr.procs = procs;
	hdr.nprocs = 7;
	hdr.nprocs_total = 9;
	out = render(false, &hdr, NULL, 0);
	assert_non_null(strstr(out, "thread stacks: 3, 10.0 MiB mapped, 12.0 KiB resident\n"));
	assert_null(strstr(out, "allocator:"));
	assert_non_null(strstr(out, "pid 104 w: explained 50 % of 1.0 MiB anon RSS (512.0 KiB "
				    "unexplained)\n"));
	assert_null(strstr(out, "pid 105 "));
	assert_non_null(strstr(out, "pid 98 py: explained 95 % of 100.0 MiB anon RSS (5.0 MiB "
				    "unexplained)\n  faulted 95.0 MiB + data 0 B (faulted: pages "
				    "faulted in since attach, less those given back)\n"));
	assert_non_null(strstr(
		out,
		"pid 99 node: explained 97 % of 107.0 MiB anon RSS (3.0 MiB "
		"unexplained)\n  heap 1000.0 MiB + allocator 3.0 MiB + mappings 0 B + "
		"stacks 0 B + data 1.0 MiB\n  900.0 MiB of the heap is not resident (requested, "
		"never touched)\n"));
	assert_non_null(strstr(out, "... 4 more processes\n"));
	free(out);
	out = render(true, &hdr, NULL, 0);
	assert_non_null(strstr(
		out, "{\"pid\":106,\"comm\":\"w\",\"rss_anon\":1048576,"
		     "\"heap_live\":524288,\"heap_not_resident\":0,\"allocator\":0,\"mappings\":0,"
		     "\"thread_stacks\":0,\"data\":0,\"faulted\":0,\"unexplained\":524288}],"
		     "\"processes_total\":9"));
	free(out);
}

/* A process in a container: its short id, pod UID and pid inside on its
 * reconciliation line and in the JSON targets and processes; none of the
 * three fields for a process outside containers. */
static void test_container_fields(void **state)
{
	static const struct cgroup_ident in = {
		.container = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		.pod_uid = "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
		.nspid = 7};
	struct report_process procs[2] = {
		{.pid = 100, .comm = "app", .rss_anon = MiB, .heap_live = MiB, .ident = in},
		{.pid = 101, .comm = "host", .rss_anon = MiB, .heap_live = MiB},
	};
	struct report_target traced[2] = {{100, "app", in}, {101, "host", {}}};
	struct report_header hdr = {.time = T0,
				    .interval_s = 1,
				    .procs = procs,
				    .nprocs = 2,
				    .nprocs_total = 2,
				    .traced = traced,
				    .ntraced = 2,
				    .scope = "cgroup"};
	char *out;

	(void)state;
	out = render(false, &hdr, NULL, 0);
	/* 100 columns: the line wraps after the pid inside. */
	assert_non_null(strstr(out, "pid 100 app container 0123456789ab pod "
				    "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d (pid 7 inside):\n  "
				    "explained 100 % of 1.0 MiB anon RSS (0 B unexplained)\n"));
	assert_non_null(strstr(out, "pid 101 host: explained 100 %"));
	free(out);
	out = render(true, &hdr, NULL, 0);
	assert_non_null(strstr(out,
			       "\"targets\":[{\"pid\":100,\"comm\":\"app\",\"container\":"
			       "\"0123456789ab\",\"pod_uid\":\"1a2b3c4d-5e6f-7a8b-9c0d-"
			       "1e2f3a4b5c6d\",\"nspid\":7},{\"pid\":101,\"comm\":\"host\"}]"));
	assert_non_null(strstr(out, "{\"pid\":100,\"comm\":\"app\",\"container\":"
				    "\"0123456789ab\",\"pod_uid\":\"1a2b3c4d-5e6f-7a8b-9c0d-"
				    "1e2f3a4b5c6d\",\"nspid\":7,\"rss_anon\":1048576,"));
	assert_non_null(strstr(out, "{\"pid\":101,\"comm\":\"host\",\"rss_anon\":1048576,"));
	free(out);
}

/* glibc's flush at thread exit is not a loss: a line of its own, not a drop. */
static void test_thread_exit_frees(void **state)
{
	struct report_header hdr = {.time = T0, .interval_s = 1};
	char *out;

	(void)state;
	hdr.drops[DROP_EXIT_FREE] = 900;
	out = render(false, &hdr, NULL, 0);
	assert_non_null(strstr(out, "\ndrops: none\n"));
	assert_non_null(strstr(out, "\nthread-exit frees: 900 (glibc's cache flush of blocks "
				    "freed before tracing; not a loss)\n"));
	free(out);
	hdr.drops[DROP_UNTRACKED_FREE] = 3;
	out = render(false, &hdr, NULL, 0);
	assert_non_null(strstr(out, "\ndrops: untracked_free 3\n"));
	free(out);
}

/* --sample-bytes: the header says the figures are estimates (text and JSON), and JSON
 * rows carry how many blocks their site sampled; exact reports carry neither. */
static void test_sampled(void **state)
{
	struct report_header hdr = {.time = T0, .interval_s = 1, .sample_bytes = 512 * 1024};
	struct report_row row = {.live_bytes = 1000};
	char *out;

	(void)state;
	row.site.stats.samples = 42;
	out = render(false, &hdr, &row, 1);
	assert_non_null(strstr(out, "\nsampled: about one allocation per 512.0 KiB "
				    "(--sample-bytes); bytes, objects and rates are"));
	assert_non_null(strstr(out, "unsampled frees are not counted as untracked\n"));
	free(out);
	out = render(true, &hdr, &row, 1);
	assert_non_null(strstr(out, "\"sample_bytes\":524288,\"estimated\":true,"));
	assert_non_null(strstr(out, "\"samples\":42,"));
	free(out);
	hdr.sample_bytes = 0;
	out = render(false, &hdr, &row, 1);
	assert_null(strstr(out, "sampled"));
	free(out);
	out = render(true, &hdr, &row, 1);
	assert_non_null(strstr(out, "\"sample_bytes\":0,\"estimated\":false,"));
	assert_null(strstr(out, "\"samples\""));
	free(out);
}

static void test_golden_text(void **state)
{
	struct report *r = report__new(SORT_GROWTH, 10);
	struct report_header hdr;
	struct report_row *rows;
	size_t n;
	char *out;

	(void)state;
	golden_report(r, &hdr, &rows, &n);
	out = render(false, &hdr, rows, n);
	assert_golden("report_text.txt", out);
	free(out);
	report__free(r);
}

static void test_golden_json(void **state)
{
	struct report *r = report__new(SORT_GROWTH, 10);
	struct report_header hdr;
	struct report_row *rows;
	size_t n;
	char *out;

	(void)state;
	golden_report(r, &hdr, &rows, &n);
	hdr.final = true;
	out = render(true, &hdr, rows, n);
	assert_golden("report_json.json", out);
	free(out);
	report__free(r);
}

/* A site of group g (0: a row of its own). */
static struct report_site gsite(__u32 pid, __u64 stack_id, __u64 g, __u64 allocs, __u64 bytes)
{
	struct report_site s = site(pid, stack_id, allocs, bytes, 0, 0);

	s.group = g;
	return s;
}

/* Sites of one group are one row: counters summed, ranked as one, shown by
 * the member with the most live bytes; sites without a group stay apart. */
static void test_group_rows(void **state)
{
	struct report *r = report__new(SORT_LIVE, 2);
	const struct report_site s[] = {
		gsite(4, 10, 77, 4, 400), gsite(2, 11, 77, 2, 200), gsite(3, 12, 77, 3, 300),
		gsite(2, 13, 77, 1, 100), /* a second stack of pid 2 in the row */
		gsite(5, 10, 0, 9, 900),  gsite(6, 10, 0, 8, 800),
	};
	struct report_header hdr;
	struct report_row *rows;
	size_t n;

	(void)state;
	snapshot(r, s, ARRAY_SIZE(s), 1.0, &hdr, &rows, &n);
	assert_int_equal(n, 2); /* top 2 of three rows: 1000, 900, 800 */
	assert_int_equal(rows[0].live_bytes, 1000);
	assert_int_equal(rows[0].live_objects, 10);
	assert_int_equal(rows[0].growth_bytes, 1000);
	assert_int_equal(rows[0].allocs, 10);
	assert_int_equal(rows[0].nmembers, 4);
	assert_int_equal(rows[0].nprocs, 3);
	assert_int_equal(rows[0].site.pid, 4); /* the most live bytes */
	assert_int_equal(rows[0].site.stack_id, 10);
	/* members by (pid, stack) */
	assert_int_equal(rows[0].members[0].pid, 2);
	assert_int_equal(rows[0].members[0].stack_id, 11);
	assert_int_equal(rows[0].members[1].stack_id, 13);
	assert_int_equal(rows[0].members[1].live_bytes, 100);
	assert_int_equal(rows[0].members[3].pid, 4);
	assert_int_equal(rows[1].site.pid, 5);
	assert_int_equal(rows[1].nprocs, 1);
	assert_int_equal(rows[1].nmembers, 1);
	/* the header counts sites, and live bytes, as without groups */
	assert_int_equal(hdr.nsites, 6);
	assert_int_equal(hdr.live_bytes, 2700);
	report__free(r);
}

/* Each member's deltas are its own: a member that appears adds its live
 * bytes as growth, one that leaves (its process exited and was forgotten)
 * takes its bytes out of the row without a negative growth; an exited member
 * leaves the row alive until all have exited. */
static void test_group_deltas(void **state)
{
	struct report *r = report__new(SORT_GROWTH, 10);
	struct report_site s1[] = {gsite(1, 10, 5, 1, 100), gsite(2, 20, 5, 2, 200)};
	struct report_site s2[] = {gsite(1, 10, 5, 2, 150), gsite(2, 20, 5, 2, 200),
				   gsite(3, 30, 5, 1, 1000)};
	struct report_site s3[] = {gsite(2, 20, 5, 3, 260), gsite(3, 30, 5, 1, 1000)};
	struct report_header hdr;
	struct report_row *rows;
	size_t n;

	(void)state;
	snapshot(r, s1, 2, 1.0, &hdr, &rows, &n);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].growth_bytes, 300);
	s2[0].exited = true;
	snapshot(r, s2, 3, 2.0, &hdr, &rows, &n);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0].live_bytes, 1350);
	assert_int_equal(rows[0].growth_bytes, 1050);
	assert_true(rows[0].growth_rate == 525);
	assert_int_equal(rows[0].allocs, 2);
	assert_int_equal(rows[0].nprocs, 3);
	assert_false(rows[0].site.exited); /* two of three alive */
	assert_true(rows[0].members[0].exited);
	snapshot(r, s3, 2, 1.0, &hdr, &rows, &n);
	assert_int_equal(rows[0].live_bytes, 1260);
	assert_int_equal(rows[0].growth_bytes, 60); /* pid 1 left: not -150 */
	assert_int_equal(rows[0].nprocs, 2);
	s3[0].exited = s3[1].exited = true;
	snapshot(r, s3, 2, 1.0, &hdr, &rows, &n);
	assert_true(rows[0].site.exited);
	report__free(r);
}

static void render_lines_within(const char *out, size_t cols)
{
	const char *line = out, *nl;

	for (; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl);
		if ((size_t)(nl - line) > cols)
			fail_msg("line of %zu columns (> %zu): %.*s", (size_t)(nl - line), cols,
				 (int)(nl - line), line);
	}
}

/* The PROCESS column of a row of several processes, in text and JSON. */
static void test_group_render(void **state)
{
	struct report *r = report__new(SORT_LIVE, 10);
	struct report_site s[] = {gsite(7, 1, 9, 1, 100), gsite(8, 2, 9, 2, 200),
				  gsite(9, 3, 9, 1, 50), gsite(9, 4, 0, 1, 10)};
	struct report_header hdr;
	struct report_row *rows;
	size_t n;
	char *out;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(s); i++)
		strcpy(s[i].comm, "python3");
	snapshot(r, s, ARRAY_SIZE(s), 1.0, &hdr, &rows, &n);
	assert_int_equal(n, 2);
	out = render(false, &hdr, rows, n);
	assert_non_null(strstr(out, "  3 procs python3\n"));
	assert_non_null(strstr(out, "  9 python3\n"));
	free(out);
	out = render(true, &hdr, rows, n);
	assert_non_null(strstr(out,
			       "{\"pid\":8,\"comm\":\"python3\",\"processes\":3,\"pids\":[7,8,9],"
			       "\"stacks\":3,\"exited\":false,\"live_bytes\":350,"));
	assert_non_null(strstr(out, "{\"pid\":9,\"comm\":\"python3\",\"processes\":1,\"pids\":[9],"
				    "\"stacks\":1,"));
	assert_null(strstr(out, "native_paths")); /* none given */
	free(out);

	/* other names are counted; exited once all members are */
	strcpy(s[0].comm, "worker");
	snapshot(r, s, ARRAY_SIZE(s), 1.0, &hdr, &rows, &n);
	hdr.cols = 110; /* at 100 the TREND column leaves no room for the count */
	out = render(false, &hdr, rows, n);
	assert_non_null(strstr(out, "  3 procs python3 (+1 names)\n"));
	free(out);
	hdr.cols = 100;
	out = render(false, &hdr, rows, n);
	assert_non_null(strstr(out, "  3 procs python3\n"));
	free(out);
	/* the name before the count of other names */
	for (size_t i = 0; i < ARRAY_SIZE(s); i++)
		s[i].exited = true;
	snapshot(r, s, ARRAY_SIZE(s), 1.0, &hdr, &rows, &n);
	hdr.cols = 80;
	out = render(false, &hdr, rows, n);
	assert_non_null(strstr(out, "  3 procs python3 [exited]\n"));
	render_lines_within(out, 80);
	free(out);
	report__free(r);
}

/* A Python row's native paths: counted in text, listed with -v and in JSON. */
static void test_native_paths(void **state)
{
	static const struct sym_frame a[] = {{.addr = 0x10,
					      .symbol = "scanstring_unicode",
					      .offset = 0x75e,
					      .module = "_json.so",
					      .file = NULL,
					      .line = 0},
					     {.addr = 0x20,
					      .symbol = "scanner_call",
					      .offset = 0x5f,
					      .module = "_json.so",
					      .file = NULL,
					      .line = 0}};
	static const struct sym_frame b[] = {{.addr = 0x30,
					      .symbol = "scanner_call",
					      .offset = 0x60,
					      .module = "_json.so",
					      .file = NULL,
					      .line = 0}};
	const struct report_path paths[] = {
		{.live_bytes = 700, .nstacks = 3, .nframes = 2, .frames = a},
		{.live_bytes = 300, .nstacks = 1, .nframes = 1, .frames = b}};
	struct report_header hdr = {.time = T0, .interval_s = 1, .nsites = 1};
	struct report_row row = {.site = {.pid = 42, .stack_id = 1, .comm = "python3"}};
	char *out;

	(void)state;
	row.live_bytes = 1000;
	row.nframes = 2;
	row.frames[0] = (struct sym_frame){.addr = 0x1000,
					   .symbol = "malloc",
					   .offset = 0,
					   .module = "libc.so.6",
					   .file = NULL,
					   .line = 0};
	row.frames[1] = (struct sym_frame){.addr = 0x8000000000000001ULL,
					   .symbol = "raw_decode",
					   .offset = 0,
					   .module = "python",
					   .file = "/usr/lib/python3.12/json/decoder.py",
					   .line = 353};
	row.paths = paths;
	row.npaths = 2;
	out = render(false, &hdr, &row, 1);
	assert_non_null(
		strstr(out, "       decoder.py:353 raw_decode\n"
			    "       [2 native paths reach the allocator here; -v lists them]\n"));
	assert_null(strstr(out, "scanner_call"));
	free(out);
	hdr.verbose = true;
	out = render(false, &hdr, &row, 1);
	assert_non_null(strstr(out, "       native path 1 of 2: 700 B live, 3 stacks\n"
				    "         scanstring_unicode+0x75e (_json.so)\n"
				    "         scanner_call+0x5f (_json.so)\n"
				    "       native path 2 of 2: 300 B live, 1 stack\n"
				    "         scanner_call+0x60 (_json.so)\n"));
	free(out);
	out = render(true, &hdr, &row, 1);
	assert_non_null(
		strstr(out, ",\"native_paths\":[{\"live_bytes\":700,\"stacks\":3,\"frames\":["
			    "{\"addr\":\"0x10\",\"symbol\":\"scanstring_unicode\",\"offset\":1886,"
			    "\"module\":\"_json.so\"},{\"addr\":\"0x20\""));
	assert_non_null(
		strstr(out, "{\"live_bytes\":300,\"stacks\":1,\"frames\":[{\"addr\":\"0x30\""));
	free(out);
}

/* Narrower than 100 columns, RATE goes first, then FREES, ALLOCS and OBJS; no
 * line of the widest row passes the width; names end in "...". */
/* Every memory line at its widest: a long name, the largest sizes. */
static const struct report_process wide_procs[] = {
	{.pid = 4194303,
	 .comm = "fifteen_chars_x",
	 .rss_anon = 1023 * MiB * 1024,
	 .heap_live = 1023 * MiB * 1024,
	 .heap_not_resident = 1023 * MiB,
	 .allocator = 1023 * MiB * 1024,
	 .mappings = 1023 * MiB * 1024,
	 .thread_stacks = 1023 * MiB,
	 .unexplained = 1023 * MiB * 1024},
};

static void test_text_widths(void **state)
{
	static const struct {
		unsigned int cols;
		const char *header;
	} cases[] = {
		{100, "  #       LIVE    OBJS      GROWTH          RATE  TREND   ALLOCS    FREES  "
		      "PROCESS\n"},
		{0, "  #       LIVE    OBJS      GROWTH          RATE  TREND   ALLOCS    FREES  "
		    "PROCESS\n"},
		{96, "  #       LIVE    OBJS      GROWTH          RATE  TREND   ALLOCS    FREES  "
		     "PROCESS\n"},
		{95, "  #       LIVE    OBJS      GROWTH  TREND   ALLOCS    FREES  PROCESS\n"},
		{82, "  #       LIVE    OBJS      GROWTH  TREND   ALLOCS    FREES  PROCESS\n"},
		{81, "  #       LIVE    OBJS      GROWTH  TREND   ALLOCS  PROCESS\n"},
		{80, "  #       LIVE    OBJS      GROWTH  TREND   ALLOCS  PROCESS\n"},
		{72, "  #       LIVE    OBJS      GROWTH  TREND  PROCESS\n"},
		{64, "  #       LIVE    OBJS      GROWTH  TREND  PROCESS\n"},
		{63, "  #       LIVE    OBJS      GROWTH  PROCESS\n"},
		{60, "  #       LIVE    OBJS      GROWTH  PROCESS\n"},
		{20, "  #       LIVE    OBJS      GROWTH  PROCESS\n"}, /* laid out as 60 */
	};
	struct report_header hdr = {.time = T0, .interval_s = 3, .final = true, .nsites = 1};
	struct report_row row = {.site = {.pid = 4194303, .stack_id = 1, .exited = true}};
	char sym[300], where[80], *out;

	(void)state;
	memset(sym, 'x', sizeof(sym) - 1);
	sym[sizeof(sym) - 1] = '\0';
	memset(where, 'f', sizeof(where) - 1);
	where[sizeof(where) - 1] = '\0';
	strcpy(row.site.comm, "fifteen_chars_x");
	hdr.targets = "pids 1000001,1000002,1000003,1000004,1000005,1000006,1000007";
	hdr.stacks = 99999;
	hdr.stacks_mapped = 1023 * MiB * 1024;
	hdr.stacks_resident = 1023 * MiB;
	hdr.alloc_mapped = 1023 * MiB * 1024;
	hdr.alloc_resident = 1023 * MiB;
	hdr.procs = wide_procs;
	hdr.nprocs = 1;
	hdr.nprocs_total = 99999;
	hdr.py_no_thread = 123456789;
	for (size_t i = 0; i < DROP_COUNT; i++)
		hdr.drops[i] = UINT64_MAX;
	row.live_bytes = 1073636966;
	row.growth_bytes = -row.live_bytes;
	row.growth_rate = -row.live_bytes;
	row.live_objects = 9999999;
	row.allocs = row.frees = 99999999;
	row.nframes = 4;
	row.frames[0] = (struct sym_frame){.addr = 0x1000,
					   .symbol = sym,
					   .offset = 0x1c,
					   .module = "libfoo.so",
					   .file = NULL,
					   .line = 0};
	row.frames[1] = (struct sym_frame){
		.addr = 0x2000, .symbol = "f", .offset = 0, .module = sym, .file = NULL, .line = 0};
	row.frames[2] = (struct sym_frame){.addr = 0x8000000000000001ULL,
					   .symbol = sym,
					   .offset = 0,
					   .module = "python",
					   .file = where,
					   .line = 99999};
	row.frames[3] = (struct sym_frame){.addr = 0x3,
					   .symbol = "mmap",
					   .offset = 0,
					   .module = "syscall",
					   .file = NULL,
					   .line = 0};
	row.cut = 1 + UNWIND_STOP_DEPTH_CAP;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t cols = cases[i].cols ? cases[i].cols : 100;

		print_message("%u columns\n", cases[i].cols);
		hdr.cols = cases[i].cols;
		out = render(false, &hdr, &row, 1);
		assert_non_null(strstr(out, cases[i].header));
		assert_non_null(strstr(out, "xxx...+0x1c (libfoo.so)\n"));
		assert_non_null(strstr(out, "(final)\n"));
		render_lines_within(out, cols < 60 ? 60 : cols);
		free(out);
	}
	hdr.cols = 80;
	out = render(false, &hdr, &row, 1);
	assert_non_null(strstr(out, "  1 1023.9 MiB 9999999 -1023.9 MiB      - 99999999  "
				    "4194303 fifteen_... [exited]\n"));
	free(out);
}

static void frame_n(struct sym_frame *f, const char *sym, __u64 off, const char *mod, __u64 addr)
{
	*f = (struct sym_frame){
		.addr = addr, .symbol = sym, .offset = off, .module = mod, .file = NULL, .line = 0};
}

static void frame_py(struct sym_frame *f, const char *file, const char *fn, int line, __u64 w)
{
	*f = (struct sym_frame){.addr = w,
				.symbol = fn,
				.offset = 0,
				.module = "python",
				.file = file,
				.line = line};
}

/* Row keys: Python stacks by their allocator and Python frames alone, other
 * stacks by every frame's name and offset (address where unnamed). */
static void test_rowkey(void **state)
{
	struct sym_frame a[5], b[5];
	__u64 ka, kb;

	(void)state;
	/* one line reached through other C frames: one key */
	frame_n(&a[0], "malloc", 0, "libc.so.6", 0x7f0000001000);
	frame_n(&a[1], "scanstring_unicode", 0x75e, "_json.so", 0x7f0000002000);
	frame_py(&a[2], "/lib/json/decoder.py", "raw_decode", 353, 0x8000000000001000ULL);
	frame_py(&a[3], "/app/x.py", "keep", 28, 0x8000000000002000ULL);
	memcpy(b, a, sizeof(a));
	frame_n(&b[1], "scan_once_unicode", 0x5e2, "_json.so", 0x7f0000003000);
	frame_n(&b[4], "scanner_call", 0x5f, "_json.so", 0x7f0000004000);
	b[0].addr = 0x7e0000001000;	   /* another process's layout */
	b[2].addr = 0x8000000000009000ULL; /* another instruction of the line */
	ka = rowkey__stack(a, 4, 0);
	assert_true(ka != 0);
	assert_true(rowkey__stack(b, 5, 0) == ka);
	assert_true(rowkey__stack(a, 4, 1 + UNWIND_STOP_DEPTH_CAP) == ka);
	assert_true(rowkey__native(a, 4) != rowkey__native(b, 5));
	assert_true(rowkey__native(a, 4) == rowkey__native(a, 3));
	/* another line, another allocator, an unnamed frame: other keys */
	b[3].line = 29;
	assert_true(rowkey__stack(b, 5, 0) != ka);
	b[3].line = 28;
	frame_n(&b[0], "realloc", 0, "libc.so.6", 0x7f0000001000);
	assert_true(rowkey__stack(b, 5, 0) != ka);
	frame_py(&a[2], "?", "[Python frame not named]", 0, 0x8000000000001000ULL);
	memcpy(b, a, sizeof(a));
	b[2].addr = 0x8000000000009000ULL;
	assert_true(rowkey__stack(a, 4, 0) != rowkey__stack(b, 4, 0));

	/* native stacks: names and offsets, wherever they are mapped */
	frame_n(&a[0], "malloc", 0, "libc.so.6", 0x7f0000001000);
	frame_n(&a[1], "leak_malloc", 0x1a, "alloc_target", 0x55000000101a);
	frame_n(&a[2], "main", 0x15a, "alloc_target", 0x55000000115a);
	memcpy(b, a, sizeof(a));
	b[1].addr = 0x56000000101a;
	b[2].addr = 0x56000000115a;
	ka = rowkey__stack(a, 3, 0);
	assert_true(rowkey__stack(b, 3, 0) == ka);
	assert_true(rowkey__stack(b, 2, 0) != ka);
	assert_true(rowkey__stack(b, 3, 1 + UNWIND_STOP_NO_CFI) != ka);
	b[1].offset = 0x1b;
	assert_true(rowkey__stack(b, 3, 0) != ka);
	b[1].offset = 0x1a;
	frame_n(&a[1], "[unknown]", 0, "alloc_target", 0x55000000101a);
	frame_n(&b[1], "[unknown]", 0, "alloc_target", 0x56000000101a);
	assert_true(rowkey__stack(a, 3, 0) != rowkey__stack(b, 3, 0));
	b[1].addr = a[1].addr;
	assert_true(rowkey__stack(a, 3, 0) == rowkey__stack(b, 3, 0));
	/* per process */
	kb = rowkey__of_pid(ka, 1);
	assert_true(kb != ka && kb != rowkey__of_pid(ka, 2) && kb == rowkey__of_pid(ka, 1));
}

/* The cache keeps what the last report kept, and forgets the rest. */
static void test_rowkey_cache(void **state)
{
	struct rowkey_cache c = {0};
	__u64 key = 0;

	(void)state;
	assert_false(rowkey__lookup(&c, 1, 10, &key));
	assert_int_equal(rowkey__keep(&c, 2, 20, 200), 0);
	assert_int_equal(rowkey__keep(&c, 1, 10, 0), 0); /* 0: a row of its own */
	assert_int_equal(rowkey__keep(&c, 1, 5, 50), 0);
	assert_false(rowkey__lookup(&c, 2, 20, &key)); /* not before the report ends */
	rowkey__next(&c);
	assert_true(rowkey__lookup(&c, 2, 20, &key));
	assert_int_equal(key, 200);
	assert_true(rowkey__lookup(&c, 1, 10, &key));
	assert_int_equal(key, 0);
	assert_true(rowkey__lookup(&c, 1, 5, &key));
	assert_int_equal(key, 50);
	assert_false(rowkey__lookup(&c, 2, 10, &key));
	assert_int_equal(rowkey__keep(&c, 1, 5, 50), 0);
	rowkey__next(&c);
	assert_true(rowkey__lookup(&c, 1, 5, &key));
	assert_false(rowkey__lookup(&c, 2, 20, &key));
	rowkey__free(&c);
}

/* The last "oldest" in s. */
static const char *strrstr_oldest(const char *s)
{
	const char *last = NULL;

	for (const char *p = strstr(s, "oldest"); p; p = strstr(p + 1, "oldest"))
		last = p;
	return last;
}

/* Leak, churn and a site that paused once, over four intervals (K = 3). The
 * leak gains 100 B each interval; churn's live bytes go 5000, 10000, 5000,
 * 10000; the third gains 1000 B twice around a flat interval. */
static void trend_sites(struct report *r, bool final, struct report_header *hdr,
			struct report_row **rows, size_t *n)
{
	static const __u64 churn_frees[] = {0, 0, 10, 10};
	static const __u64 paused_bytes[] = {1000, 2000, 2000, 3000};

	for (int i = 0; i < 4; i++) {
		struct report_site s[] = {
			site(7, 1, i + 1, 100 * (i + 1), 0, 0),
			site(7, 2, 5 * (i + 1), 5000 * (i + 1), churn_frees[i],
			     1000 * churn_frees[i]),
			site(8, 3, i + 1, paused_bytes[i], 0, 0),
		};

		memset(hdr, 0, sizeof(*hdr));
		hdr->time = T0;
		hdr->interval_s = 1.0;
		hdr->final = final && i == 3;
		for (size_t k = 0; k < ARRAY_SIZE(s); k++)
			assert_int_equal(report__add(r, &s[k]), 0);
		assert_int_equal(report__finish(r, hdr, rows, n), 0);
	}
}

/* --sort trend: the site that grew in each of the last K intervals first,
 * though it gained least; then by growth over those intervals. */
static void test_sort_trend(void **state)
{
	const __u64 want_trend[] = {1, 2, 3}, want_growth[] = {2, 3, 1};
	struct report *r = report__new(SORT_TREND, 10);
	struct report_header hdr;
	struct report_row *rows;
	const struct report_row *row;
	size_t n;

	(void)state;
	assert_non_null(r);
	assert_int_equal(report__set_trend(r, 0), -EINVAL);
	assert_int_equal(report__set_trend(r, TREND_MAX + 1), -EINVAL);
	assert_int_equal(report__set_trend(r, 3), 0);
	trend_sites(r, false, &hdr, &rows, &n);
	assert_order(rows, n, want_trend, 3);
	assert_true(rows[0].trend.growing);
	assert_int_equal(rows[0].trend.grew, 3);
	assert_int_equal(rows[0].trend.growth_bytes, 300);
	row = find_row(rows, n, 7, 2); /* churn: +5000, then -5000, +5000 */
	assert_false(row->trend.growing);
	assert_int_equal(row->trend.grew, 2);
	assert_int_equal(row->trend.growth_bytes, 5000);
	row = find_row(rows, n, 8, 3);
	assert_false(row->trend.growing);
	assert_int_equal(row->trend.grew, 2);
	report__free(r);

	/* the same sites by the last interval's growth */
	r = report__new(SORT_GROWTH, 10);
	assert_int_equal(report__set_trend(r, 3), 0);
	trend_sites(r, false, &hdr, &rows, &n);
	assert_order(rows, n, want_growth, 3);
	report__free(r);
}

/* TREND in text: "+3/3" flags, "g/w" counts; JSON gives the same. */
static void test_trend_render(void **state)
{
	struct report *r = report__new(SORT_TREND, 10);
	struct report_header hdr;
	struct report_row *rows;
	size_t n;
	char *out;

	(void)state;
	assert_int_equal(report__set_trend(r, 3), 0);
	trend_sites(r, false, &hdr, &rows, &n);
	out = render(false, &hdr, rows, n);
	assert_non_null(strstr(out, "  1      400 B       4      +100 B      +100 B/s   +3/3"));
	assert_non_null(strstr(out, "  2    9.8 KiB      10    +4.9 KiB    +4.9 KiB/s    2/3"));
	assert_null(strstr(out, "oldest")); /* no ages given */
	assert_null(strstr(out, "session:"));
	free(out);
	out = render(true, &hdr, rows, n);
	assert_non_null(strstr(out, "\"trend\":{\"intervals\":3,\"observed\":3,\"grew\":3,"
				    "\"growing\":true,\"growth_bytes\":300},\"age\":null,"));
	assert_non_null(strstr(out, "\"trend\":{\"intervals\":3,\"observed\":3,\"grew\":2,"
				    "\"growing\":false,\"growth_bytes\":5000}"));
	assert_non_null(strstr(out, "\"age_walk\":null"));
	assert_null(strstr(out, "\"summary\""));
	free(out);
	report__free(r);
}

/* The final report's summary: the session's totals, each process's net
 * growth (one whose sites are gone kept at its last), and the top sites by
 * growth since the start with their trends. */
static void test_summary(void **state)
{
	struct report *r = report__new(SORT_GROWTH, 2);
	struct report_site gone = site(9, 4, 2, 64, 0, 0);
	struct report_header hdr;
	struct report_row *rows;
	size_t n;
	char *out;

	(void)state;
	assert_int_equal(report__set_trend(r, 3), 0);
	gone.exited = true;
	strcpy(gone.comm, "worker");
	assert_int_equal(report__add(r, &gone), 0);
	trend_sites(r, true, &hdr, &rows, &n);
	assert_non_null(hdr.summary);
	assert_int_equal(hdr.summary->reports, 4);
	assert_true(hdr.summary->duration_s == 4.0);
	/* allocations: 4 + 20 + 4 + 2 (the exited worker's) */
	assert_int_equal(hdr.summary->total.allocs, 30);
	assert_int_equal(hdr.summary->total.alloc_bytes, 400 + 20000 + 3000 + 64);
	assert_int_equal(hdr.summary->total.frees, 10);
	assert_int_equal(hdr.summary->total.free_bytes, 10000);
	assert_int_equal(hdr.summary->nprocs, 3);
	assert_int_equal(hdr.summary->procs[0].pid, 7);
	assert_int_equal(hdr.summary->procs[0].live_bytes, 400 + 10000);
	assert_int_equal(hdr.summary->procs[2].pid, 9);
	assert_true(hdr.summary->procs[2].exited);
	assert_int_equal(hdr.summary->procs[2].live_bytes, 64);
	/* top 2 by live bytes (--top caps the summary too) */
	assert_int_equal(hdr.summary->nsites, 2);
	assert_int_equal(hdr.summary->sites[0].site.stack_id, 2);
	assert_int_equal(hdr.summary->sites[1].site.stack_id, 3);
	hdr.summary->sites[1].nframes = 2;
	frame_n(&hdr.summary->sites[1].frames[0], "malloc", 0, "libc.so.6", 0x10);
	frame_n(&hdr.summary->sites[1].frames[1], "paused_site", 0x1c, "app", 0x20);
	hdr.summary->sites[1].frames[1].src_file = "/src/app/paused.c";
	hdr.summary->sites[1].frames[1].src_line = 42;

	out = render(false, &hdr, rows, n);
	assert_non_null(
		strstr(out, "\nsession: 4 reports over 4.0s\n"
			    "allocated 22.9 KiB in 30 blocks, freed 9.8 KiB in 10 blocks\n"
			    "net growth: pid 7 proc7 +10.2 KiB\n"
			    "net growth: pid 8 proc8 +2.9 KiB\n"
			    "net growth: pid 9 worker +64 B [exited]\n"
			    "top sites by growth since the start (TREND over the last 3 "
			    "intervals):\n"
			    " 1   +9.8 KiB    2/3         7 proc7  [no stack]\n"
			    " 2   +2.9 KiB    2/3         8 proc8  paused_site (paused.c:42)\n"));
	free(out);
	out = render(true, &hdr, rows, n);
	assert_non_null(strstr(out,
			       ",\"summary\":{\"duration_s\":4.000,\"reports\":4,\"allocs\":30,"
			       "\"frees\":10,\"alloc_bytes\":23464,\"free_bytes\":10000,"
			       "\"reallocs\":0,\"processes\":[{\"pid\":7,\"comm\":\"proc7\","
			       "\"exited\":false,\"net_bytes\":10400},"));
	assert_non_null(strstr(out, "{\"pid\":9,\"comm\":\"worker\",\"exited\":true,"
				    "\"net_bytes\":64}],\"top_sites\":[{\"pid\":7,"));
	assert_non_null(strstr(out, "\"symbol\":\"paused_site\""));
	assert_int_equal(out[strlen(out) - 1], '\n');
	assert_int_equal(out[strlen(out) - 2], '}');
	free(out);
	report__free(r);
}

/* A leak among the sites that grew: flagged in the summary. */
static void test_summary_growing(void **state)
{
	struct report *r = report__new(SORT_TREND, 10);
	struct report_header hdr;
	struct report_row *rows;
	size_t n;
	char *out;

	(void)state;
	assert_int_equal(report__set_trend(r, 3), 0);
	trend_sites(r, true, &hdr, &rows, &n);
	assert_int_equal(hdr.summary->nsites, 3);
	assert_int_equal(hdr.summary->sites[2].site.stack_id, 1);
	assert_true(hdr.summary->sites[2].trend.growing);
	out = render(false, &hdr, rows, n);
	assert_non_null(strstr(out, " 3     +400 B   +3/3 growing 7 proc7  [no stack]\n"));
	free(out);
	/* narrow: the names go under their numbers, every line within the width */
	for (size_t i = 0; i < hdr.summary->nsites; i++)
		strcpy(hdr.summary->sites[i].site.comm, "fifteen_chars_x");
	hdr.summary->sites[0].site.pid = 4194303;
	hdr.cols = 60;
	out = render(false, &hdr, rows, n);
	assert_non_null(strstr(out, " 1   +9.8 KiB    2/3         4194303 fifteen_chars_x\n"
				    "      [no stack]\n"));
	render_lines_within(out, 60);
	free(out);
	report__free(r);
}

/* Ages: a row's oldest block is its oldest member's, its old bytes their sum;
 * text puts them under the row, JSON in "age". */
static void test_age_render(void **state)
{
	struct report *r = report__new(SORT_LIVE, 10);
	struct report_site s[] = {site(7, 1, 4, 4096, 0, 0), site(8, 2, 1, 1000, 0, 0),
				  site(9, 3, 1, 64, 0, 0)};
	struct report_header hdr;
	struct report_row *rows;
	size_t n;
	char *out;

	(void)state;
	s[0].group = s[1].group = 77;
	s[0].aged = s[1].aged = true;
	s[0].oldest_ns = 90 * 1000000000ULL;
	s[0].old_bytes = 4096;
	s[1].oldest_ns = 30 * 1000000000ULL;
	s[1].old_bytes = 0;
	snapshot(r, s, ARRAY_SIZE(s), 1.0, &hdr, &rows, &n);
	hdr.age_walked = true;
	hdr.age_blocks = 6;
	hdr.old_age_s = 60;
	assert_int_equal(n, 2);
	assert_true(rows[0].aged);
	assert_int_equal(rows[0].oldest_ns, 90 * 1000000000ULL);
	assert_int_equal(rows[0].old_bytes, 4096);
	assert_false(rows[1].aged); /* the walk saw none of its blocks */
	out = render(false, &hdr, rows, n);
	assert_non_null(strstr(out, "\n       oldest 1m30s, 4.0 KiB older than 60s\n"));
	assert_int_equal(strstr(out, "oldest") - out, strrstr_oldest(out) - out); /* once */
	assert_null(strstr(out, "ages: the live-block walk stopped"));
	free(out);
	out = render(true, &hdr, rows, n);
	assert_non_null(strstr(out, "\"age\":{\"oldest_s\":90.000,\"old_bytes\":4096,"
				    "\"old_threshold_s\":60.000}"));
	assert_non_null(strstr(out, "\"age_walk\":{\"blocks\":6,\"truncated\":false,"
				    "\"old_threshold_s\":60.000}"));
	free(out);
	hdr.age_truncated = true;
	out = render(false, &hdr, rows, n);
	assert_non_null(strstr(out, "ages: the live-block walk stopped after 6 blocks"));
	free(out);
	report__free(r);
}

static void test_fmt_age(void **state)
{
	static const struct {
		__u64 s;
		const char *want;
	} cases[] = {
		{0, "0.0s"},	  {9, "9.0s"},	    {45, "45s"},       {59, "59s"},
		{60, "1m00s"},	  {750, "12m30s"},  {3599, "59m59s"},  {3600, "1h00m"},
		{11100, "3h05m"}, {86400, "1d00h"}, {187200, "2d04h"},
	};
	char buf[24];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		report__fmt_age(buf, sizeof(buf), cases[i].s * 1000000000ULL);
		assert_string_equal(buf, cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fmt_bytes),
		cmocka_unit_test(test_first_snapshot),
		cmocka_unit_test(test_empty_first_report),
		cmocka_unit_test(test_deltas_across_snapshots),
		cmocka_unit_test(test_key_includes_pid),
		cmocka_unit_test(test_counter_restart),
		cmocka_unit_test(test_sort_growth),
		cmocka_unit_test(test_sort_live),
		cmocka_unit_test(test_sort_allocs),
		cmocka_unit_test(test_sort_final_tie),
		cmocka_unit_test(test_top_n),
		cmocka_unit_test(test_idle_sites_excluded),
		cmocka_unit_test(test_exited),
		cmocka_unit_test(test_header_totals),
		cmocka_unit_test(test_realloc_rates),
		cmocka_unit_test(test_many_sites),
		cmocka_unit_test(test_json_escaping),
		cmocka_unit_test(test_textsafe_copy),
		cmocka_unit_test(test_text_details),
		cmocka_unit_test(test_mapping_site),
		cmocka_unit_test(test_memory_lines),
		cmocka_unit_test(test_container_fields),
		cmocka_unit_test(test_thread_exit_frees),
		cmocka_unit_test(test_golden_text),
		cmocka_unit_test(test_golden_json),
		cmocka_unit_test(test_sort_trend),
		cmocka_unit_test(test_trend_render),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_summary_growing),
		cmocka_unit_test(test_age_render),
		cmocka_unit_test(test_fmt_age),
		cmocka_unit_test(test_sampled),
		cmocka_unit_test(test_group_rows),
		cmocka_unit_test(test_group_deltas),
		cmocka_unit_test(test_group_render),
		cmocka_unit_test(test_native_paths),
		cmocka_unit_test(test_text_widths),
		cmocka_unit_test(test_rowkey),
		cmocka_unit_test(test_rowkey_cache),
		cmocka_unit_test(test_oom_lines),
		cmocka_unit_test(test_census),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
