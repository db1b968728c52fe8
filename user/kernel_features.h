/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the running kernel's BPF lacks of what allocscope can use, probed before
 * load, and what the configuration then does without. */
#ifndef ALLOCSCOPE_KERNEL_FEATURES_H
#define ALLOCSCOPE_KERNEL_FEATURES_H

#include "opts.h"

/* 1 if the kernel's verifier knows bpf_loop (Linux 5.17), 0 if it does not,
 * -errno if that cannot be told (e.g. without the privileges to load BPF).
 * ALLOCSCOPE_NO_BPF_LOOP=1 in the environment answers 0: how the fallback is
 * tested on kernels that have the helper. */
int kernel_features__bpf_loop(void);

/* 1 if the kernel has uprobe sessions (Linux 6.13: one program run at entry
 * and return, whose entry can skip the return), checked by loading and
 * attaching a tiny session program; 0 if not; -errno if that cannot be told.
 * ALLOCSCOPE_NO_SESSIONS=1 answers 0: how the fallback (an entry and a
 * return probe per call) is tested on kernels that have them. */
int kernel_features__uprobe_session(void);

/* 1 if the kernel's BTF has tracepoint name (its btf_trace_NAME type, which
 * a tp_btf program needs to load), 0 if not, -errno if that cannot be told. */
int kernel_features__btf_tracepoint(const char *name);

/* Fits cfg to the kernel before load: without bpf_loop there is no CFI walk
 * and no Python frame walk, so cfg gets frame-pointer stacks (--unwind fp, at
 * most AS_FP_LOOP_FRAMES callers, walked by a bounded loop) and no Python
 * frames, and one line says why. When the probe cannot tell, cfg is left as
 * it is and loading decides. */
void kernel_features__adjust(struct config *cfg);

#endif
