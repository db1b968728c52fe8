// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* --sample-bytes: the gap and weight tables for the BPF side, computed once
 * before load (BPF has no floating point and no logarithm). */
#include <math.h>

#include "sampling.h"

/* The integral of -ln(v) dv from 0 to v: v - v ln v (0 at v = 0). */
static double neg_log_integral(double v)
{
	return v > 0 ? v - v * log(v) : 0;
}

void sampling__gaps(__u64 mean, __u64 gaps[AS_SAMPLE_GAPS])
{
	const double n = AS_SAMPLE_GAPS;

	/* Gap = -mean ln(1 - u), u uniform; over the bin [i/n, (i+1)/n) of u,
	 * its mean is n * mean * the integral of -ln(v) dv for v = 1 - u. */
	for (int i = 0; i < AS_SAMPLE_GAPS; i++) {
		double hi = 1 - i / n, lo = 1 - (i + 1) / n;
		double g = n * (double)mean * (neg_log_integral(hi) - neg_log_integral(lo));

		gaps[i] = g < 1 ? 1 : (__u64)llround(g);
	}
}

void sampling__weights(__u32 weights[AS_SAMPLE_STEPS + 1])
{
	weights[0] = AS_SAMPLE_ONE; /* the limit at x = 0 */
	for (int i = 1; i <= AS_SAMPLE_STEPS; i++) {
		double x = (double)i / AS_SAMPLE_STEP_DIV;

		weights[i] = (__u32)llround(x / expm1(x) * AS_SAMPLE_ONE);
	}
}

double sampling__weight(double size, double mean)
{
	return size > 0 ? size / -expm1(-size / mean) : 0;
}
