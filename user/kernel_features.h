/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the running kernel's BPF lacks of what allocscope can use, probed before
 * load, and what the configuration then does without. */
#ifndef ALLOCSCOPE_KERNEL_FEATURES_H
#define ALLOCSCOPE_KERNEL_FEATURES_H

#include <stdio.h>

#include "opts.h"

/* 1 if the kernel's verifier knows bpf_loop (Linux 5.17), 0 if it does not,
 * -errno if that cannot be told (e.g. without the privileges to load BPF). */
int kernel_features__bpf_loop(void);

/* Fits cfg to the kernel before load: without bpf_loop there is no CFI walk
 * and no Python frame walk, so cfg gets frame-pointer stacks (--unwind fp) and
 * no Python frames, and one line on err says why. When the probe cannot tell,
 * cfg is left as it is and loading decides. */
void kernel_features__adjust(struct config *cfg, FILE *err);

#endif
