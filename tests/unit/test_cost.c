// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of the cost estimate and the governor: /proc/PID/stat with a hostile comm,
 * pricing probe runs, the --max-overhead decision, and the cost lines in text and JSON. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cost.h"
#include "governor.h"
#include "report.h"

static void test_parse_stat(void **state)
{
	/* A comm holding ") R 1 2" must not shift the fields: utime 1200, stime 34, start
	 * 98765. */
	const char stat[] = "4242 (evil) R 1 2) S 1 4242 4242 0 -1 4194560 100 0 0 0 1200 34 0 0 "
			    "20 0 1 0 98765 1000 200 18446744073709551615\n";
	unsigned long long cpu = 0, start = 0;

	(void)state;
	assert_int_equal(cost__parse_stat(stat, &cpu, &start), 0);
	assert_int_equal(cpu, 1234);
	assert_int_equal(start, 98765);
	assert_int_equal(cost__parse_stat("4242 (cut", &cpu, &start), -EINVAL);
	assert_int_equal(cost__parse_stat("4242 (x) S 1 2", &cpu, &start), -EINVAL);
}

static void test_probe_s(void **state)
{
	const struct trap_cost trap = {.enter_ns = 1000, .return_ns = 500, .measured = true};
	const double run_ns[HIT_COUNT] = {[HIT_ENTER] = 100, [HIT_RETURN] = 400, [HIT_FREE] = 50};
	/* 1000 mallocs and frees: 1000 x (1000 + 100) + 1000 x (500 + 400) + 1000 x (1000 + 50)
	 * ns = 3.05 ms. */
	const __u64 hits[HIT_COUNT] = {1000, 1000, 1000};

	(void)state;
	assert_float_equal(cost__probe_s(hits, &trap, run_ns), 3.05e-3, 1e-9);
}

static void test_governor(void **state)
{
	struct report_cost c = {.pid = 7, .probe_s = 0.3, .cpu_s = 1.0, .share = 0.3};
	char msg[256];

	(void)state;
	assert_true(governor__over(&c, 20, 1));
	assert_false(governor__over(&c, 30, 1));
	assert_false(governor__over(&c, 0, 1));	  /* no limit */
	assert_false(governor__over(&c, 20, 25)); /* 1 s of CPU in 25 s: under 5 % */
	c.governed = true;
	assert_false(governor__over(&c, 20, 1)); /* once */
	c.governed = false;
	c.cpu_s = 0.04; /* four ticks: too coarse to judge */
	assert_false(governor__over(&c, 20, 0.5));
	c.cpu_s = 0;
	c.share = NAN;
	assert_false(governor__over(&c, 20, 1));
	c = (struct report_cost){.pid = 7, .probe_s = 0.3, .cpu_s = 1.0, .share = 0.3};
	governor__message(msg, sizeof(msg), &c, 20);
	assert_non_null(strstr(msg, "pid 7: probes cost ~30 % of its CPU (limit 20 %)"));
}

static char *render(const struct report_header *hdr, bool json, size_t cols)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (json)
		report__print_cost_json(f, hdr);
	else
		report__print_cost_text(f, hdr, cols);
	fclose(f);
	return buf;
}

static void test_text(void **state)
{
	struct report_cost one = {
		.pid = 4242, .traps_per_s = 41000, .probe_s = 0.52, .cpu_s = 1.0, .share = 0.52};
	struct report_cost many[5] = {
		{.pid = 1, .traps_per_s = 900, .probe_s = 0.01, .cpu_s = 1, .share = 0.01},
		{.pid = 2, .governed = true, .cpu_s = 1, .share = 0},
		{.pid = 3, .traps_per_s = 12, .probe_s = 1e-5, .share = NAN},
		{.pid = 4, .traps_per_s = 5, .probe_s = 1e-5, .cpu_s = 1, .share = 1e-5},
		{.pid = 5},
	};
	struct report_header hdr = {.cost = true,
				    .costs = &one,
				    .ncosts = 1,
				    .self_cpu_share = 0.003,
				    .cost_traps_per_s = 41000};
	char *out;

	(void)state;
	out = render(&hdr, false, 100);
	assert_string_equal(out,
			    "cost: 41.0k traps/s, ~52 % of pid 4242's CPU; allocscope 0.3 % CPU\n");
	free(out);
	hdr.costs = many;
	hdr.ncosts = 5;
	hdr.cost_top = true; /* whole-system mode: the costliest three, then the total */
	hdr.cost_traps_per_s = 917;
	out = render(&hdr, false, 60);
	assert_string_equal(out, "cost: 900 traps/s, ~1 % of pid 1's CPU\n"
				 "cost: 0.0 traps/s, 0 % of pid 2's CPU [governed: heap probes\n"
				 "  removed]\n"
				 "cost: 12 traps/s, ~? % of pid 3's CPU\n"
				 "cost: 917 traps/s in 5 processes (the costliest shown);\n"
				 "  allocscope 0.3 % CPU\n");
	free(out);
	hdr.cost = false; /* a header without costs prints nothing */
	out = render(&hdr, false, 100);
	assert_string_equal(out, "");
	free(out);
}

static void test_json(void **state)
{
	struct report_cost c[2] = {
		{.pid = 9,
		 .governed = true,
		 .traps_per_s = 2,
		 .probe_s = 0.5,
		 .cpu_s = 1,
		 .share = 0.5},
		{.pid = 10, .traps_per_s = 1, .probe_s = 0.001, .share = NAN},
	};
	struct report_header hdr = {.cost = true,
				    .costs = c,
				    .ncosts = 2,
				    .self_cpu_share = 0.01,
				    .cost_traps_per_s = 3,
				    .cost_probe_s = 0.501,
				    .trap_enter_ns = 1000,
				    .trap_return_ns = 500};
	char *out = render(&hdr, true, 0);

	(void)state;
	assert_string_equal(
		out, ",\"cost\":{\"estimate\":true,\"trap_ns\":1000.000,\"return_trap_ns\":500.000,"
		     "\"allocscope_cpu_pct\":1.000,\"traps_per_s\":3.000,\"probe_ms\":501.000,"
		     "\"processes\":[{\"pid\":9,\"mode\":\"governed\",\"traps_per_s\":2.000,"
		     "\"probe_ms\":500.000,\"cpu_ms\":1000.000,\"cpu_pct\":50.000},"
		     "{\"pid\":10,\"mode\":\"exact\",\"traps_per_s\":1.000,\"probe_ms\":1.000,"
		     "\"cpu_ms\":0.000,\"cpu_pct\":null}],\"processes_total\":2}");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_stat), cmocka_unit_test(test_probe_s),
		cmocka_unit_test(test_governor),   cmocka_unit_test(test_text),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
