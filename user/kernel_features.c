// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Kernel feature probes run before the BPF object is loaded, so that a kernel
 * without an optional helper gets a smaller configuration instead of a verifier error. */
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "kernel_features.h"
#include "log.h"

int kernel_features__bpf_loop(void)
{
	const char *force = getenv("ALLOCSCOPE_NO_BPF_LOOP");

	if (force && !strcmp(force, "1"))
		return 0;
	/* bpf_loop: Linux 5.17 (commit e6f2dd0f8067). Uprobe programs are of
	 * the kprobe type, and the helper is offered to every program type. */
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_loop, NULL);
}

void kernel_features__adjust(struct config *cfg)
{
	if (kernel_features__bpf_loop() != 0)
		return;
	cfg->no_bpf_loop = true;
	cfg->unwind = UNWIND_FP;
	cfg->python = false;
	log_msg("this kernel has no bpf_loop (Linux 5.17+): native stacks are walked with "
		"frame pointers only (--unwind fp, at most %d callers), without Python frames\n",
		AS_FP_LOOP_FRAMES);
}
