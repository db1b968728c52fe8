/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What one uprobe trap costs on this machine, measured at start on a
 * function of allocscope's own, as the tool's probes are placed. */
#ifndef TRAPCOST_H
#define TRAPCOST_H

#include "cost.h"

struct bpf_program;

/* Attaches prog (an empty uprobe program) to calibration functions of this
 * executable for this process only, times calls with an entry probe, with
 * an entry and a return probe and with none, and detaches. Bounded: a few
 * thousand calls (~0.05 s at today's trap costs) plus the detach.
 * 0 or -errno (out then holds the fallback figures). */
int trapcost__measure(struct bpf_program *prog, struct trap_cost *out);

#endif /* TRAPCOST_H */
