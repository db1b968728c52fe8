/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Command line: argp table, parsing into struct config, validation. */
#ifndef OPTS_H
#define OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "cgroup.h"
#include "age.h"
#include "output.h"
#include "report.h"

/* Exit statuses, one per kind of failure a user must tell apart. */
enum exit_status {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,	    /* attach/load/read failure while running */
	EXIT_NO_PROCESS = 2,	    /* --pid names a process that does not exist */
	EXIT_NO_PRIVILEGE = 3,	    /* not root / missing CAP_BPF, CAP_PERFMON, ... */
	EXIT_NO_KERNEL_SUPPORT = 4, /* no BTF, no uprobe PMU, BPF refused */
	EXIT_NO_ALLOCATOR = 5,	    /* a target maps no object defining malloc and free */
	EXIT_USAGE = 64,	    /* bad option or value (argp's EX_USAGE) */
	EXIT_CMD_CANNOT_RUN = 126,  /* -c: found, not executable (as env(1), POSIX sh) */
	EXIT_CMD_NOT_FOUND = 127,   /* -c: no such program */
};

enum probe_mode {
	PROBE_MODE_FULL, /* account every allocation (the tool) */
	PROBE_MODE_NOOP, /* empty programs at the same places (benchmark floor) */
	/* Empty programs at entries and frees, no return probes: the floor of
	 * calls rejected at their entry (uprobe sessions). */
	PROBE_MODE_NOOP_ENTRY,
};

enum trace_mode {
	TRACE_MODE_HEAP, /* allocator probes: every block and its site (the default) */
	TRACE_MODE_RSS,	 /* page faults: resident memory charged to the code faulting it in */
};

enum attach_mode {
	ATTACH_AUTO, /* uprobe_multi links when the kernel has them */
	ATTACH_PERF, /* one perf-event uprobe per probe (kernels before 6.6) */
};

enum placement_mode {
	PLACEMENT_AUTO,	 /* cheapest exact place, decided by disassembly */
	PLACEMENT_ENTRY, /* always the function's first instruction */
};

enum unwind_mode {
	UNWIND_CFI, /* CFI tables: whole stacks without frame pointers */
	UNWIND_FP,  /* frame pointers only: cheaper, short stacks for most binaries */
};

enum group_by {
	GROUP_AUTO,    /* not given: stack with several processes, process with one --pid */
	GROUP_STACK,   /* one row per stack, whatever process it is in */
	GROUP_PROCESS, /* one row per stack and process */
};

#define MAX_PIDS 1024

struct config {
	__u32 pids[MAX_PIDS];
	size_t npids;
	/* --cgroup PATH as given, NULL = none; --container: an id prefix,
	 * lowercase, "" = none. */
	const char *cgroup;
	char container[CGROUP_ID_LEN + 1];
	char comm[16];		       /* "" = no --comm */
	char **command;		       /* -c CMD split, or the words after "--"; NULL = none */
	char **command_mem;	       /* -c's words, allocated (opts__free) */
	double interval_s;	       /* -i, default 10 */
	__u64 count;		       /* -n, reports before exiting; 0 = unlimited */
	double duration_s;	       /* -d, 0 = unlimited */
	unsigned int top;	       /* -T, default 10 */
	enum report_sort sort;	       /* -s, default growth */
	__u64 min_size;		       /* --min-size, default 0 */
	__u64 max_size;		       /* --max-size, default UINT64_MAX */
	__u64 sample_bytes;	       /* --sample-bytes, mean bytes per sample; 0 = exact */
	const char *output;	       /* -o, NULL = stdout */
	int verbose;		       /* -v, repeatable */
	enum probe_mode probe_mode;    /* --probe-mode full|noop */
	enum placement_mode placement; /* --placement auto|entry */
	enum attach_mode attach;       /* --attach auto|perf */
	__u32 live_max;		       /* --max-live-blocks, default AS_LIVE_MAX */
	__u32 max_depth;	       /* --max-depth, default AS_DEPTH_DEFAULT */
	enum unwind_mode unwind;       /* --unwind cfi|fp */
	bool python;		       /* Python frames; --no-python clears */
	bool python_objects;	       /* --python-objects: probe pymalloc too */
	bool census;		       /* the Python heap census; --no-census clears */
	__u32 census_budget_ms;	       /* --census-budget: its time per report */
	bool no_bpf_loop;	       /* the kernel lacks bpf_loop (kernel_features) */
	bool mappings;		       /* mmap/munmap/mremap/brk; --no-mappings clears */
	bool children;		       /* --children: follow forks of --pid targets */
	enum group_by group_by;	       /* --group-by; never GROUP_AUTO once parsed */
	/* --format: an entry of output.c's table, default text */
	const struct output_ops *format;
	const char *push;	      /* --push URL, NULL = none */
	const char *push_app;	      /* --push-app, default "allocscope" */
	unsigned int max_overhead;    /* --max-overhead PCT of a target's CPU; 0 = no limit */
	enum trace_mode mode;	      /* --mode heap|rss */
	__u32 fault_sample;	      /* --fault-sample N: every Nth fault; 0 = automatic */
	unsigned int trend_intervals; /* --trend-intervals K, default TREND_DEFAULT */
	double old_age_s;	      /* --old-age SECS, default OLD_AGE_DEFAULT_S */
};

#define OLD_AGE_MAX_S (30 * 86400.0)

#define MAX_OVERHEAD_DEFAULT 20

/* Targets found as they appear (--comm, --cgroup, --container), rather
 * than named (--pid) or everyone. */
static inline bool config__discovers(const struct config *cfg)
{
	return cfg->comm[0] || cfg->cgroup || cfg->container[0];
}

/* Some processes are targets, not every process on the host. */
static inline bool config__targeted(const struct config *cfg)
{
	return cfg->npids || config__discovers(cfg);
}

/* Parses argv into cfg (defaults applied first) and validates it.
 * Returns 0 to run, EXIT_OK (as a positive 1000) after --help/--usage/--version was
 * printed to out, or EXIT_USAGE after one line "allocscope: <reason>" on err. */
#define OPTS_EXIT_NOW 1000
int opts__parse(int argc, char **argv, struct config *cfg, FILE *out, FILE *err);

/* Frees what opts__parse allocated in cfg (-c's words). */
void opts__free(struct config *cfg);

/* Parses a decimal or 0x number with an optional K/M/G (1024-based) suffix
 * into [lo, hi]. 0 or -EINVAL/-ERANGE. */
int opts__parse_u64(const char *s, __u64 lo, __u64 hi, bool allow_suffix, __u64 *out);

#endif /* OPTS_H */
