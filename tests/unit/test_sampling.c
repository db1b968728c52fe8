// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of the --sample-bytes tables: gaps that average the mean, weights of
 * x / (e^x - 1), and estimates from sampling a known stream with them. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "sampling.h"

static __u64 gaps[AS_SAMPLE_GAPS];
static __u32 weights[AS_SAMPLE_STEPS + 1];

/* The picks average exactly the mean (to the rounding of each gap), and larger
 * quantiles give larger gaps. */
static void test_gaps_mean(void **state)
{
	const __u64 means[] = {1000, 64 << 10, 512 << 10, AS_SAMPLE_MAX};

	(void)state;
	for (size_t m = 0; m < sizeof(means) / sizeof(means[0]); m++) {
		double sum = 0;

		sampling__gaps(means[m], gaps);
		for (int i = 0; i < AS_SAMPLE_GAPS; i++) {
			sum += gaps[i];
			if (i)
				assert_true(gaps[i] >= gaps[i - 1]);
		}
		assert_true(fabs(sum / AS_SAMPLE_GAPS - means[m]) <= 0.5);
		/* the exponential's median is mean * ln 2 */
		assert_true(fabs((gaps[511] + gaps[512]) / 2.0 / means[m] - log(2)) < 0.005);
	}
}

/* A mean of one byte still gives gaps of at least one byte. */
static void test_gaps_tiny_mean(void **state)
{
	(void)state;
	sampling__gaps(1, gaps);
	for (int i = 0; i < AS_SAMPLE_GAPS; i++)
		assert_true(gaps[i] >= 1);
}

static void test_weights_table(void **state)
{
	(void)state;
	sampling__weights(weights);
	assert_int_equal(weights[0], AS_SAMPLE_ONE);
	/* x = 1: 1 / (e - 1) */
	assert_int_equal(weights[AS_SAMPLE_STEP_DIV], (__u32)llround(AS_SAMPLE_ONE / (M_E - 1)));
	for (int i = 1; i <= AS_SAMPLE_STEPS; i++)
		assert_true(weights[i] <= weights[i - 1]);
	assert_true(weights[AS_SAMPLE_STEPS] < 40); /* x = 16: 16 / (e^16 - 1), ~2e-6 */
}

/* Small blocks stand for about mean + size / 2 bytes; large ones for themselves. */
static void test_weight(void **state)
{
	(void)state;
	assert_true(fabs(sampling__weight(100, 1 << 20) - ((1 << 20) + 50)) < 1);
	assert_true(fabs(sampling__weight(1 << 30, 1 << 10) - (1 << 30)) < 1e-6);
	assert_true(fabs(sampling__weight(1000, 1000) - 1000 / (1 - exp(-1))) < 1e-9);
	assert_true(sampling__weight(0, 1000) == 0);
}

/* xorshift64: deterministic draws for the simulation. */
static __u64 next_rand(__u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The BPF side's scheme (bpf/sample.bpf.h) over a known stream: a countdown of
 * bytes from the gap table, each sampled block weighted. With 15000 samples or
 * more per size, the estimates of each size's bytes and blocks come within
 * 3 % of the truth (4 standard deviations of the smallest). */
static void test_estimates(void **state)
{
	const __u64 mean = 4096, sizes[] = {64, 1000, 4096, 64 << 10};
	const int n = 4000000;
	double est_bytes[4] = {}, est_blocks[4] = {};
	__s64 left = 0;
	__u64 seed = 0x9e3779b97f4a7c15ULL;

	(void)state;
	sampling__gaps(mean, gaps);
	for (int i = 0; i < n; i++) {
		int k = next_rand(&seed) % 4;
		__u64 size = sizes[k];

		if (left <= 0)
			left = gaps[next_rand(&seed) % AS_SAMPLE_GAPS];
		if (size < (__u64)left) {
			left -= size;
			continue;
		}
		left = gaps[next_rand(&seed) % AS_SAMPLE_GAPS];
		est_bytes[k] += sampling__weight(size, mean);
		est_blocks[k] += sampling__weight(size, mean) / size;
	}
	for (int k = 0; k < 4; k++) {
		/* each size is a quarter of the calls */
		double blocks = n / 4.0, bytes = blocks * sizes[k];

		assert_true(fabs(est_bytes[k] / bytes - 1) < 0.03);
		assert_true(fabs(est_blocks[k] / blocks - 1) < 0.03);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gaps_mean),     cmocka_unit_test(test_gaps_tiny_mean),
		cmocka_unit_test(test_weights_table), cmocka_unit_test(test_weight),
		cmocka_unit_test(test_estimates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
