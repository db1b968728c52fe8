/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --sample-bytes: Poisson sampling over allocated bytes, as tcmalloc, jemalloc
 * and Go's heap profiler do, and the weight of each sampled block. */
#ifndef SAMPLE_BPF_H
#define SAMPLE_BPF_H

/* Mean bytes between samples; 0: every allocation is accounted. */
const volatile __u64 sample_bytes = 0;
/* Gaps drawn uniformly from here are exponentially distributed with mean
 * sample_bytes (user/sampling.c fills both tables before load). */
const volatile __u64 sample_gaps[AS_SAMPLE_GAPS] = {};
/* x / (e^x - 1) at x = i / AS_SAMPLE_STEP_DIV, in AS_SAMPLE_ONE units. */
const volatile __u32 sample_weights[AS_SAMPLE_STEPS + 1] = {};

static __always_inline __s64 sample_gap(void)
{
	return sample_gaps[bpf_get_prandom_u32() & (AS_SAMPLE_GAPS - 1)];
}

/* Whether this thread samples an allocation of size bytes: its countdown of
 * bytes reaches 0 inside the block. A fresh gap starts after a sample (the
 * exponential distribution has no memory), so a block of S bytes is sampled
 * with probability 1 - e^(-S / mean) whatever came before it. */
static __always_inline bool sample_take(struct inflight *in, __u64 size)
{
	if (in->sample_left <= 0) /* the thread's first allocation */
		in->sample_left = sample_gap();
	if (size < (__u64)in->sample_left) {
		in->sample_left -= size;
		return false;
	}
	in->sample_left = sample_gap();
	return true;
}

/* Bytes a sampled block of size bytes stands for: size / (1 - e^(-x)), x =
 * size / mean, which is size + mean * x / (e^x - 1); the table is
 * interpolated linearly (error < 1e-5 of mean). From x = 16 on the second
 * term is below 2e-6 of mean, and dropped. */
static __always_inline __u64 sample_weight(__u64 size)
{
	__u64 mean = sample_bytes, pos, i, rem, g, g0, g1;

	if (!mean || size >= (__u64)(AS_SAMPLE_STEPS / AS_SAMPLE_STEP_DIV) * mean)
		return size;
	pos = size * AS_SAMPLE_STEP_DIV; /* < 2^41: size < 16 * AS_SAMPLE_MAX */
	i = pos / mean;
	rem = pos - i * mean;
	if (i >= AS_SAMPLE_STEPS)
		return size;
	g0 = sample_weights[i];
	g1 = sample_weights[i + 1];
	g = g0 - (g0 > g1 ? (g0 - g1) * rem / mean : 0);
	return size + ((mean * g) >> 24); /* AS_SAMPLE_ONE = 2^24 */
}

/* Objects a sampled block stands for: weight / size, rounded up or down at
 * random in proportion to the fraction, so the counts stay unbiased. */
static __always_inline __u32 sample_count(__u64 size, __u64 weight)
{
	__u64 q, r, draw;

	if (!sample_bytes || !size)
		return 1;
	q = weight / size;
	r = weight - q * size;
	draw = ((__u64)bpf_get_prandom_u32() << 32) | bpf_get_prandom_u32();
	if (r && draw % size < r)
		q++;
	return q;
}

#endif /* SAMPLE_BPF_H */
