/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The Python heap by type, read from outside the process: pymalloc's pools
 * and the large blocks the heap probes know, each object named by its type,
 * with growth since the previous census and since the first. */
#ifndef CENSUS_H
#define CENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "pyproc.h"
#include "report.h"

/* A live block above pymalloc's threshold, from the heap probes' table. */
struct census_block {
	__u32 pid;
	__u64 addr;
	__u64 size;
};

struct census;

struct census *census__new(double budget_ms, unsigned int top);
void census__free(struct census *c);
/* Forgets pid's previous censuses (it exited or exec'd). */
void census__drop_pid(struct census *c, __u32 pid);

/* One report's census: begin, one census__pid per CPython process (large:
 * that process's blocks, sorted by address; their sizes are used up), then
 * the header's tables. Their strings stay valid until the next
 * census__begin. The time budget is the
 * report's, shared by its processes: those past it are marked truncated. */
void census__begin(struct census *c);
int census__pid(struct census *c, __u32 pid, const struct pyproc *pp, struct census_block *large,
		size_t nlarge);
void census__finish(struct census *c, struct report_header *hdr);

/* The first census of a process allocscope starts to follow, outside any
 * report: the base of its growth "since start". */
int census__baseline(struct census *c, __u32 pid, const struct pyproc *pp);

#endif /* CENSUS_H */
