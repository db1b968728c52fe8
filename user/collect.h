/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One report: read the site and stack maps, rank, symbolize the shown
 * stacks, print; then forget the processes that exited. */
#ifndef COLLECT_H
#define COLLECT_H

#include <stdio.h>

#include "age.h"
#include "census.h"
#include "mapcat.h"
#include "opts.h"
#include "output.h"
#include "pysym.h"
#include "report.h"
#include "rowkey.h"
#include "syms.h"
#include "targets.h"

struct collector {
	int sites_fd;	   /* (pid, stack) -> slot */
	int counters_fd;   /* slot -> struct site_stats */
	int free_slots_fd; /* queue of slots deleted sites give back */
	int stacks_fd;
	int mappings_fd;       /* live_key -> struct mapping_block */
	struct census *census; /* the Python heap census, NULL when off */
	struct proc_table *procs;
	struct syms *syms;
	struct pysym *pysym; /* names Python frames of the processes running CPython */
	struct report *report;
	struct output *out;
	enum group_by group; /* GROUP_STACK or GROUP_PROCESS */
	bool verbose;	     /* text reports list a Python row's native paths */
	bool stale_stacks;   /* sites were deleted: some stacks may be unreferenced */
	__u64 *unreferenced; /* stacks no site referred to at the previous pass */
	size_t nunreferenced;
	struct rowkey_cache keys;  /* the row of each (pid, stack), kept between reports */
	struct sym_frame *scratch; /* AS_MAX_FRAMES frames to build keys and paths in */
	void **blocks;		   /* the native paths of the rows shown, freed next report */
	size_t nblocks, blocks_cap;
	struct mapcat mapcat; /* mapping categories and residency, per report */
	int live_fd;  /* live_key -> struct live_block (ages, the census's large blocks); < 0: none
		       */
	__u32 nslots; /* entries of the counters array */
	double old_age_s;     /* --old-age */
	struct age_table age; /* this report's walk of the live blocks */
};

void collect__free(struct collector *c);

/* Makes sure pid's mappings are snapshotted for symbolization. */
int collect__load_syms(struct collector *c, __u32 pid);
/* A new stack of pid with Python frames: name them while their code lives. */
void collect__name_py_stack(struct collector *c, __u32 pid, __u64 stack_id);
/* hdr: time, interval_s, targets, final and drops filled by the caller. */
int collect__report(struct collector *c, struct report_header *hdr);

#endif /* COLLECT_H */
