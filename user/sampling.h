/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --sample-bytes: the tables the BPF side samples and weights with
 * (bpf/sample.bpf.h). Pure arithmetic. */
#ifndef SAMPLING_H
#define SAMPLING_H

#include <linux/types.h>

#include "allocscope.h"

/* Gaps between samples with mean bytes on average: gaps[i] is the mean of
 * the exponential distribution over its i-th of AS_SAMPLE_GAPS quantile bins
 * of equal probability, so a uniform pick is exponential at that resolution
 * and the picks average exactly mean. Each at least 1. */
void sampling__gaps(__u64 mean, __u64 gaps[AS_SAMPLE_GAPS]);

/* weights[i] = x / (e^x - 1) at x = i / AS_SAMPLE_STEP_DIV, in AS_SAMPLE_ONE
 * units: a sampled block of s bytes stands for s + mean * that at x = s / mean
 * bytes, which is s / (1 - e^(-s / mean)). */
void sampling__weights(__u32 weights[AS_SAMPLE_STEPS + 1]);

/* The exact weight, s / (1 - e^(-s / mean)), for checks. */
double sampling__weight(double size, double mean);

#endif /* SAMPLING_H */
