// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Kernel feature probes run before the BPF object is loaded, so that a kernel
 * without an optional helper gets a smaller configuration instead of a verifier error. */
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "kernel_features.h"

int kernel_features__bpf_loop(void)
{
	/* bpf_loop: Linux 5.17 (commit e6f2dd0f8067). Uprobe programs are of
	 * the kprobe type, and the helper is offered to every program type. */
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_loop, NULL);
}

void kernel_features__adjust(struct config *cfg, FILE *err)
{
	if (kernel_features__bpf_loop() != 0)
		return;
	if (cfg->unwind == UNWIND_FP && !cfg->python)
		return;
	cfg->unwind = UNWIND_FP;
	cfg->python = false;
	fprintf(err, "allocscope: this kernel has no bpf_loop (Linux 5.17+): native stacks are "
		     "walked with frame pointers only (--unwind fp), without Python frames\n");
}
