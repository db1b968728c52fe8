/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What tracing costs each target: its probe runs (the BPF hits map), priced
 * at the trap cost measured at start plus the programs' own run time
 * (BPF_ENABLE_STATS), against the CPU time the target used (/proc/PID/stat). */
#ifndef COST_H
#define COST_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "allocscope.h"
#include "report.h"

/* Nanoseconds one trap costs the traced thread, beyond the program run. */
struct trap_cost {
	double enter_ns;  /* a uprobe on an emulated instruction (entry, free) */
	double return_ns; /* what a uretprobe adds to its entry */
	bool measured;	  /* false: the fallback figures below */
};

/* Used when the calibration cannot run: this machine's December figures
 * (entry ~4.9 us, return ~1.5 us more), which ratios hold better than
 * absolute values; said with -v. */
#define TRAP_ENTER_NS_FALLBACK	5000.0
#define TRAP_RETURN_NS_FALLBACK 1500.0

/* One process as last sampled. */
struct cost_proc {
	__u32 pid;
	unsigned long long start_ticks; /* tells a reused pid */
	unsigned long long cpu_ticks;	/* utime + stime */
	__u64 hits[HIT_COUNT];
	bool fresh; /* first sample: no interval yet */
	bool seen;  /* in the current sample */
};

struct cost {
	int hits_fd;
	int cpu_hits_fd;	 /* runs still pending per CPU (bpf/cost.bpf.h); -1: none */
	int prog_fds[HIT_COUNT]; /* the program counted under each kind; -1: none */
	__u64 run_ns[HIT_COUNT], run_cnt[HIT_COUNT];
	struct trap_cost trap;
	struct cost_proc *procs;
	size_t nprocs, cap;
	double self_cpu_s; /* allocscope's CPU time at the last sample */
	bool sampled;
	unsigned long long boot_ticks; /* CLOCK_BOOTTIME at the last sample, in ticks */
	struct report_cost *out;
	size_t nout, out_cap;
	double ticks_per_s;
	int ncpus;
};

/* fds stay the caller's. */
int cost__init(struct cost *c, int hits_fd, int cpu_hits_fd, const int prog_fds[HIT_COUNT],
	       const struct trap_cost *trap);
void cost__free(struct cost *c);

/* The interval since the last call: fills hdr's cost fields, c->out (sorted
 * by estimated probe time, largest first) with every process of pids (the
 * targets; pids == NULL: every process with probe runs in the interval). */
int cost__sample(struct cost *c, double interval_s, const __u32 *pids, size_t npids,
		 struct report_header *hdr);

/* Pure parts, for the unit tests. */

/* utime + stime and the start time, in clock ticks, from the text of
 * /proc/PID/stat (its comm may hold spaces and parentheses). 0 or -EINVAL. */
int cost__parse_stat(const char *buf, unsigned long long *cpu_ticks,
		     unsigned long long *start_ticks);
/* Seconds spent in the probes for dhits runs, at run_ns[k] nanoseconds of
 * program per run of kind k. */
double cost__probe_s(const __u64 dhits[HIT_COUNT], const struct trap_cost *trap,
		     const double run_ns[HIT_COUNT]);

#endif /* COST_H */
