/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Growth report: turns cumulative per-site counters into per-interval deltas,
 * ranks sites, and renders text or JSON. Pure logic on structs and FILE *. */
#ifndef REPORT_H
#define REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "allocscope.h"
#include "cgroup.h"
#include "syms.h"
#include "trend.h"

enum report_sort {
	SORT_GROWTH, /* growth_bytes in this interval, then live_bytes */
	SORT_LIVE,   /* live_bytes, then growth_bytes */
	SORT_ALLOCS, /* allocs in this interval, then live_bytes */
	SORT_TREND,  /* growing sites first, then growth over the trend's intervals */
};

/* One site's cumulative counters since tracing started, as read from BPF. */
struct report_site {
	__u64 stack_id;
	__u64 group; /* sites of one nonzero group are one row; 0: a row of its own */
	__u32 pid;
	bool exited; /* the process exited: shown once more, marked */
	char comm[AS_COMM_LEN];
	struct site_stats stats;
	/* A mapping site: its live bytes are what is resident now (user/mapcat.c), beside
	 * what is mapped; the counters only say how many mappings it made. */
	bool mapping;
	/* A heap site of a process the governor took off its heap probes: its
	 * live bytes are those of that moment (frees since are not seen). */
	bool frozen;
	__u64 mapped_bytes;
	__u64 resident_bytes;
	/* The process's container, short id (the pprof label); "" when none. */
	char container[CGROUP_SHORT_LEN + 1];
	/* Its live blocks' ages (user/age.c), when the walk saw any of them. */
	bool aged;
	__u64 oldest_ns; /* age of its oldest live block */
	__u64 old_bytes; /* bytes of live blocks older than hdr->old_age_s */
	/* Kept by the report across snapshots; callers leave it zeroed. */
	struct trend_history history;
};

/* What a report explains of one live process's anonymous RSS (user/mapcat.c). */
struct report_process {
	__u32 pid;
	char comm[AS_COMM_LEN];
	__u64 rss_anon;		 /* /proc/PID/statm: resident - shared */
	__u64 heap_live;	 /* live heap blocks, requested bytes */
	__u64 heap_not_resident; /* of heap_live, in allocator memory with no pages (untouched) */
	__u64 allocator;	 /* resident in the allocator's memory, less the resident heap */
	__u64 mappings;		 /* mapping sites, resident */
	__u64 thread_stacks;	 /* resident, the main thread's [stack] included */
	__u64 data;		 /* written data pages of the executable and libraries */
	__u64 faulted;		 /* --mode rss: pages faulted in, less those given back */
	bool rss_only;		 /* traced by its page faults alone: faulted is the explanation */
	__s64 unexplained;	 /* rss_anon less the resident heap and the five above */
	/* Its container, pod and pid inside. */
	struct cgroup_ident ident;
};

/* What tracing cost one process over the interval (user/cost.c): an
 * estimate, from its probe runs priced at a trap cost measured at start. */
struct report_cost {
	__u32 pid;
	bool governed;	    /* --max-overhead took its heap probes away */
	bool rss;	    /* and charges its page faults since */
	double traps_per_s; /* probe runs per second */
	double probe_s;	    /* estimated time the process spent in them */
	double cpu_s;	    /* its CPU time over the interval (utime + stime) */
	double share;	    /* probe_s / cpu_s, at most 1; NAN when cpu_s is 0 */
};

/* One of the sites a row stands for. */
struct report_member {
	__u64 stack_id;
	__s64 live_bytes;
	__u32 pid;
	bool exited;
	char comm[AS_COMM_LEN];
};

/* The native frames of some of a Python row's stacks (the allocator left
 * out): the paths by which one line reached the allocator. */
struct report_path {
	__s64 live_bytes;
	size_t nstacks;
	size_t nframes;
	const struct sym_frame *frames;
};

/* A row: one site, or every site of a group summed. site is the member with
 * the most live bytes (its stack is shown), with the row's summed stats and
 * exited only when every member exited. */
struct report_row {
	struct report_site site;
	const struct report_member *members; /* by (pid, stack_id) */
	size_t nmembers;
	size_t nprocs;	    /* distinct pids among the members */
	__s64 live_bytes;   /* alloc_bytes - free_bytes */
	__s64 live_objects; /* allocs - frees */
	__s64 growth_bytes; /* live_bytes change since the previous report */
	double growth_rate; /* growth_bytes per second */
	__u64 allocs;	    /* in this interval */
	__u64 frees;	    /* in this interval */
	__u64 alloc_bytes;  /* in this interval */
	__u64 free_bytes;   /* in this interval */
	__u64 reallocs;	    /* of allocs: resizes of a block (realloc) */
	size_t nframes;	    /* filled by the caller before printing */
	__u32 cut;	    /* stack_trace.cut: why the stack ends early, 0 if whole */
	struct sym_frame frames[AS_MAX_FRAMES];
	const struct report_path *paths; /* filled by the caller for Python rows, else NULL */
	size_t npaths;
	struct trend trend; /* over the last --trend-intervals */
	/* The members' live-block ages: the oldest, and their old bytes summed. */
	bool aged;
	__u64 oldest_ns;
	__u64 old_bytes;
};

/* One process's net heap growth over the whole session: its sites' live
 * bytes at the last report that saw them. */
struct report_proc_growth {
	__u32 pid;
	bool exited;
	char comm[AS_COMM_LEN];
	__s64 live_bytes;
};

/* The whole session, given with the final report. */
struct report_summary {
	double duration_s; /* the intervals' sum */
	__u64 reports;
	struct site_stats total; /* every site's allocations and frees since the start */
	const struct report_proc_growth *procs; /* by pid */
	size_t nprocs;
	struct report_row *sites; /* top sites by growth since the start (live bytes) */
	size_t nsites;
};

/* A process the OOM killer chose, with its memory as the kernel's "Killed
 * process" line gives it (user/report_oom.c). */
struct report_oom {
	__u32 pid;
	char comm[AS_COMM_LEN];
	bool has_counters; /* the kernel said (Linux 6.8+): the fields below are set */
	__u32 uid;
	__s16 oom_score_adj;
	__u64 total_vm; /* bytes of address space */
	__u64 anon_rss; /* resident bytes, by kind */
	__u64 file_rss;
	__u64 shmem_rss;
	__u64 pgtables; /* bytes of page tables */
};

/* A process traced: named with --pid, matched by --comm, or a descendant. */
struct report_target {
	__u32 pid;
	char comm[AS_COMM_LEN];
	struct cgroup_ident ident; /* its container, pod and pid inside */
};

/* A row of the Python heap census (user/census.c): one type of one process,
 * or the rest of its types summed ("(N other types)"). */
struct report_pytype {
	__u32 pid;
	const char *type;
	__u64 objects;
	__u64 bytes; /* block sizes: pymalloc's size class, or a large block's size */
	__s64 growth_objects, growth_bytes; /* since the previous census */
	__s64 start_objects, start_bytes;   /* since the first census of the process */
};

/* What one process's census covered. */
struct report_pyheap {
	__u32 pid;
	bool truncated;		/* the time budget ran out: counts are partial */
	__u64 pools;		/* pymalloc pools read */
	__u32 pool_size;	/* POOL_SIZE of the interpreter */
	__u64 unreadable_pools; /* pool headers whose pools could not be parsed */
	__u64 unreadable_bytes; /* their bytes */
	__u64 swapped;		/* pages at pool boundaries swapped out: not read */
	__u64 large_blocks;	/* probed blocks above 512 bytes looked at */
	__u64 untyped_blocks;	/* blocks in use with no object header, dict tables aside */
	__u64 untyped_bytes;
	double ms; /* time taken */
};

struct report_header {
	double time;	     /* Unix time of the report, seconds */
	double interval_s;   /* seconds since the previous report */
	const char *targets; /* e.g. "pid 4242", "comm gunicorn (3 processes)" */
	__s64 live_bytes;    /* all sites of processes still alive */
	__s64 live_change;   /* since the previous report */
	double alloc_rate;   /* allocations per second in this interval */
	double free_rate;
	double alloc_bytes_rate;
	double free_bytes_rate;
	/* Allocations and frees above are of blocks made and freed; a resize
	 * (realloc) counts apart, by its rate and the bytes it added, net. */
	double realloc_rate;
	double realloc_bytes_rate;
	size_t nsites;			/* sites known in total */
	bool final;			/* the last report (Ctrl-C, --count, --duration) */
	bool rss;			/* --mode rss: sites are pages faulted in */
	__u64 drops[DROP_COUNT];	/* cumulative, filled by the caller */
	__u64 stops[UNWIND_STOP_COUNT]; /* stack walks that ended early, cumulative */
	__u64 py_no_thread; /* allocations in the interpreter without its thread state */
	/* --sample-bytes: the mean bytes between samples; byte and object
	 * counts are then estimates (site.stats.samples: how many sampled).
	 * 0: exact. */
	__u64 sample_bytes;
	/* Rendering. */
	unsigned int cols; /* text width (report__text_cols); 0: REPORT_COLS */
	bool verbose;	   /* list every native path of a Python row */

	/* The processes traced now, by pid (none in whole-system mode), and
	 * how they were chosen: "pid", "comm" or "all". */
	const struct report_target *traced;
	size_t ntraced;
	const char *scope;
	/* Processes the OOM killer chose since the previous report: such a
	 * report is made at once, its sites as they stood at the kill. */
	const struct report_oom *ooms;
	size_t nooms;
	/* Mapping categories over the live targets (user/mapcat.c). */
	__u64 stacks;	  /* thread stacks mapped */
	__u64 stack_size; /* bytes of each when all are alike, else 0 */
	__u64 stacks_mapped;
	__u64 stacks_resident;
	__u64 alloc_mapped; /* allocators' own memory: [heap] and their mappings */
	__u64 alloc_resident;
	const struct report_process *procs; /* by rss_anon, largest first */
	size_t nprocs;
	size_t nprocs_total; /* live processes with sites, procs being the first of them */
	/* What tracing costs (user/cost.c); shown when cost is set. */
	bool cost;
	const struct report_cost *costs; /* largest probe_s first */
	size_t ncosts;
	bool cost_top;		 /* costs are the top few of many (whole-system mode) */
	double cost_traps_per_s; /* every process's */
	double cost_probe_s;
	double self_cpu_share; /* allocscope's CPU time / the interval */
	double trap_enter_ns, trap_return_ns;
	/* Ages of live blocks: the threshold of old bytes, and the walk. */
	bool age_walked; /* the live table was walked: rows may carry ages */
	bool age_truncated;
	__u64 age_blocks;
	double old_age_s;
	/* Set by report__finish on the final report, else NULL. */
	struct report_summary *summary;
	/* The Python heap census (user/census.c), when taken. */
	const struct report_pyheap *pyheaps;
	size_t npyheaps;
	const struct report_pytype *pytypes; /* by process, then bytes, largest first */
	size_t npytypes;
};

/* The text layout of today's reports, and the narrowest one laid out. */
#define REPORT_COLS	100
#define REPORT_COLS_MIN 60

struct report;

struct report *report__new(enum report_sort sort, unsigned int top);
void report__free(struct report *r);
/* The intervals a trend looks at (--trend-intervals): 1..TREND_MAX, default
 * TREND_DEFAULT. 0 or -EINVAL. */
int report__set_trend(struct report *r, unsigned int intervals);

/* One snapshot: report__add every site, then report__finish. The previous
 * snapshot (kept inside) gives the deltas; a site not seen before grew by all
 * of its live bytes. rows (top N by sort) stay valid until the next report__add. */
int report__add(struct report *r, const struct report_site *site);
int report__finish(struct report *r, struct report_header *hdr, struct report_row **rows,
		   size_t *nrows);

void report__print_text(FILE *f, const struct report_header *hdr, const struct report_row *rows,
			size_t nrows);
void report__print_json(FILE *f, const struct report_header *hdr, const struct report_row *rows,
			size_t nrows);

/* The cost lines (user/report_cost.c), and the wrapping they share with
 * the other header lines. */
void report__print_cost_text(FILE *f, const struct report_header *hdr, size_t cols);
void report__print_cost_json(FILE *f, const struct report_header *hdr);
/* The whole-session summary after the final report (user/report_summary.c). */
void report__print_summary_text(FILE *f, const struct report_header *hdr);
void report__print_summary_json(FILE *f, const struct report_header *hdr);
/* "45s", "12m30s", "3h05m", "2d04h": an age in the text columns' room. */
void report__fmt_age(char *buf, size_t len, __u64 ns);
void report__print_wrapped(FILE *f, const char *text, size_t cols, size_t indent);

/* The OOM lines (user/report_oom.c): a victim from the kernel's event, comm
 * the name to give it when the event has none (before Linux 6.8). */
void report__oom_from_event(const struct oom_event *ev, const char *comm, __u64 page_size,
			    struct report_oom *o);
void report__print_oom_text(FILE *f, const struct report_header *hdr, size_t cols);
/* The Python heap census tables (user/report_census.c). */
void report__print_census_text(FILE *f, const struct report_header *hdr);

/* The counter's name in reports ("live_full", ...). */
const char *report__drop_label(enum drop_reason r);
const char *report__stop_label(enum unwind_stop s);

/* " container 0123456789ab pod UID (pid 7 inside)": what of these a
 * process has, each part led by a space; "" for none. */
void report__fmt_ident(char *buf, size_t len, const struct cgroup_ident *id);

/* "1.5 KiB", "12.0 MiB", "512 B": base 1024, one decimal above 1 KiB. */
void report__fmt_bytes(char *buf, size_t len, double bytes);
/* Events per second, kept short: "0.5", "1234", "12.3k", "4.2M". */
void report__fmt_rate(char *buf, size_t len, double v);

#endif /* REPORT_H */
