/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --max-overhead: which targets pay too much for their heap probes, and the
 * words for it. Pure logic; the tracer demotes (tracer.c, demote()). */
#ifndef GOVERNOR_H
#define GOVERNOR_H

#include <stdbool.h>
#include <stddef.h>

#include "report.h"

/* A target that used less than 5 % of a CPU over the interval is spared:
 * what its probes cost it is less than that (a mostly idle server, a slow
 * leak), and /proc counts CPU time in clock ticks (10 ms), too coarse to
 * price a share of less than GOVERN_MIN_CPU_S. */
#define GOVERN_MIN_CPU_SHARE 0.05
#define GOVERN_MIN_CPU_S     0.05

/* Whether c's estimated probe time is more than limit_pct % of its CPU time
 * over the interval of interval_s (limit_pct 0: no limit). */
bool governor__over(const struct report_cost *c, unsigned int limit_pct, double interval_s);

/* "pid 4242: probes cost ~52 % of its CPU (limit 20 %): heap probes removed,
 * now tracing mappings only" */
void governor__message(char *buf, size_t len, const struct report_cost *c, unsigned int limit_pct);

#endif /* GOVERNOR_H */
