// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of the leak signal's pure parts: the per-site history of interval
 * deltas and its trend flag (user/trend.c), and live-block ages per site (user/age.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "age.h"
#include "trend.h"

#define SEC 1000000000ULL

static struct trend eval(const struct trend_history *h, unsigned int k)
{
	struct trend t;

	trend__eval(h, k, &t);
	return t;
}

/* Growth in each of the last K intervals flags the site, and only once K
 * intervals have been seen. */
static void test_growing_needs_k_intervals(void **state)
{
	struct trend_history h = {};
	struct trend t;

	(void)state;
	trend__push(&h, 100);
	trend__push(&h, 100);
	t = eval(&h, 3);
	assert_int_equal(t.intervals, 3);
	assert_int_equal(t.window, 2);
	assert_int_equal(t.grew, 2);
	assert_false(t.growing);
	trend__push(&h, 50);
	t = eval(&h, 3);
	assert_int_equal(t.window, 3);
	assert_int_equal(t.grew, 3);
	assert_true(t.growing);
	assert_int_equal(t.growth_bytes, 250);
}

/* One interval without growth in the window clears the flag; it comes back
 * once that interval falls out of the last K. */
static void test_flat_interval_clears(void **state)
{
	struct trend_history h = {};

	(void)state;
	for (int i = 0; i < 5; i++)
		trend__push(&h, 10);
	trend__push(&h, 0);
	assert_false(eval(&h, 3).growing);
	assert_int_equal(eval(&h, 3).grew, 2);
	trend__push(&h, 10);
	trend__push(&h, 10);
	assert_false(eval(&h, 3).growing);
	trend__push(&h, 10);
	assert_true(eval(&h, 3).growing);
	/* a longer window still holds the flat interval */
	assert_false(eval(&h, 4).growing);
	assert_int_equal(eval(&h, 4).grew, 3);
}

/* Churn (up, down, up...) never grows in every interval, whatever its total. */
static void test_churn_not_growing(void **state)
{
	struct trend_history h = {};

	(void)state;
	for (int i = 0; i < 20; i++)
		trend__push(&h, i % 2 ? -4096 : 8192);
	assert_false(eval(&h, 2).growing);
	assert_false(eval(&h, 5).growing);
	assert_int_equal(eval(&h, 5).grew, 2); /* the last five: -, +, -, +, - */
	assert_int_equal(eval(&h, 5).growth_bytes, 2 * 8192 - 3 * 4096);
}

/* The history keeps TREND_MAX intervals; K is clamped to it. */
static void test_history_bound(void **state)
{
	struct trend_history h = {};
	struct trend t;

	(void)state;
	trend__push(&h, -1);
	for (int i = 0; i < TREND_MAX; i++)
		trend__push(&h, 1);
	assert_int_equal(h.observed, TREND_MAX + 1);
	t = eval(&h, TREND_MAX + 10);
	assert_int_equal(t.intervals, TREND_MAX);
	assert_true(t.growing); /* the -1 fell off */
	assert_int_equal(t.growth_bytes, TREND_MAX);
	assert_int_equal(eval(&h, 0).intervals, 1);
}

/* A row of several sites: deltas summed interval by interval, its age the
 * oldest member's. A member new in the last interval adds to that one only. */
static void test_rows_add(void **state)
{
	struct trend_history a = {}, b = {}, sum = {};
	struct trend t;

	(void)state;
	trend__push(&a, 100);
	trend__push(&a, -100);
	trend__push(&a, 100);
	trend__push(&b, 300); /* appeared last interval */
	trend__add(&sum, &a);
	trend__add(&sum, &b);
	assert_int_equal(sum.observed, 3);
	t = eval(&sum, 3);
	assert_int_equal(t.grew, 2);
	assert_false(t.growing);
	assert_int_equal(t.growth_bytes, 400);
	assert_int_equal(sum.delta[0], 400);
	assert_int_equal(sum.delta[1], -100);
}

/* Old bytes are those of blocks older than the threshold (weighted sizes as
 * they come); the oldest block gives the site's age. */
static void test_age_buckets(void **state)
{
	struct age_table t = {};
	__u64 now = 1000 * SEC, oldest, old;

	(void)state;
	assert_int_equal(age__reset(&t, 8, now, 60 * SEC), 0);
	age__add(&t, 3, now - 90 * SEC, 4096); /* old */
	age__add(&t, 3, now - 61 * SEC, 100);  /* old */
	age__add(&t, 3, now - 60 * SEC, 7);    /* exactly the threshold: not older */
	age__add(&t, 3, now - 1 * SEC, 1000);
	age__add(&t, 5, now - SEC / 1000, 64); /* churn: a millisecond old */
	age__add(&t, 5, now + SEC, 64);	       /* born after the clock was read: young */
	assert_true(age__get(&t, 3, &oldest, &old));
	assert_int_equal(oldest, 90 * SEC);
	assert_int_equal(old, 4196);
	assert_true(age__get(&t, 5, &oldest, &old));
	assert_int_equal(oldest, SEC / 1000);
	assert_int_equal(old, 0);
	assert_false(age__get(&t, 4, &oldest, &old)); /* no block */
	assert_false(age__get(&t, 8, &oldest, &old)); /* beyond the table */
	assert_int_equal(t.blocks, 6);
	age__free(&t);
}

/* Each walk starts afresh; before any, nothing is known. */
static void test_age_reset(void **state)
{
	struct age_table t = {};
	__u64 oldest, old;

	(void)state;
	assert_false(age__get(&t, 0, &oldest, &old));
	assert_int_equal(age__reset(&t, 4, 100 * SEC, 2 * SEC), 0);
	age__add(&t, 1, 10 * SEC, 50);
	age__add(&t, 9, 10 * SEC, 50); /* a slot beyond the table: counted, not kept */
	assert_true(age__get(&t, 1, &oldest, &old));
	assert_int_equal(old, 50);
	assert_int_equal(age__reset(&t, 4, 200 * SEC, 2 * SEC), 0);
	assert_false(age__get(&t, 1, &oldest, &old));
	assert_int_equal(t.blocks, 0);
	age__free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_growing_needs_k_intervals),
		cmocka_unit_test(test_flat_interval_clears),
		cmocka_unit_test(test_churn_not_growing),
		cmocka_unit_test(test_history_bound),
		cmocka_unit_test(test_rows_add),
		cmocka_unit_test(test_age_buckets),
		cmocka_unit_test(test_age_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
