// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Command line: the argp table, parsing into struct config through one number
 * parser and one seconds parser, and the checks that involve several options. */
#include <argp.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "allocscope.h"
#include "opts.h"
#include "words.h"

#define PROG	"allocscope"
#define VERSION "0.1.0"

#define PID_LIMIT      4194304 /* PID_MAX_LIMIT, include/linux/threads.h */
#define COMM_MAX       (sizeof(((struct config *)0)->comm) - 1) /* TASK_COMM_LEN - 1 */
#define INTERVAL_MAX_S 86400.0
#define DURATION_MAX_S (365 * 86400.0)
#define TOP_MAX	       10000
#define LIVE_MIN       1024
#define LIVE_LIMIT     (64 << 20)

/* The USAGE line is part of doc, so no argp short usage on top of it. */
#define HELP_FLAGS (ARGP_HELP_PRE_DOC | ARGP_HELP_LONG | ARGP_HELP_POST_DOC)

enum {
	OPT_MIN_SIZE = 256, /* long-only options: keys beyond any character */
	OPT_MAX_SIZE,
	OPT_FORMAT,
	OPT_LIVE_MAX,
	OPT_PROBE_MODE,
	OPT_PLACEMENT,
	OPT_ATTACH,
	OPT_MAX_DEPTH,
	OPT_UNWIND,
	OPT_NO_PYTHON,
	OPT_NO_CENSUS,
	OPT_CENSUS_BUDGET,
	OPT_CHILDREN,
	OPT_NO_MAPPINGS,
	OPT_GROUP_BY,
	OPT_PUSH,
	OPT_PUSH_APP,
	OPT_MAX_OVERHEAD,
	OPT_MODE,
	OPT_FAULT_SAMPLE,
	OPT_USAGE,
	OPT_SAMPLE_BYTES,
	OPT_COMM,
	OPT_CGROUP,
	OPT_CONTAINER,
	OPT_TREND_INTERVALS,
	OPT_OLD_AGE,
	OPT_PYTHON_OBJECTS,
};

enum { GRP_TARGET = 1, GRP_REPORT, GRP_FILTER, GRP_TRACE, GRP_DIAG, GRP_HELP = -1 };

static const struct config defaults = {
	.interval_s = 10,
	.top = 10,
	.sort = SORT_GROWTH,
	.min_size = 0,
	.max_size = UINT64_MAX,
	.probe_mode = PROBE_MODE_FULL,
	.placement = PLACEMENT_AUTO,
	.live_max = AS_LIVE_MAX,
	.max_depth = AS_DEPTH_DEFAULT,
	.unwind = UNWIND_CFI,
	.python = true,
	.census = true,
	.census_budget_ms = 1000,
	.mappings = true,
	.push_app = "allocscope",
	.max_overhead = MAX_OVERHEAD_DEFAULT,
	.trend_intervals = TREND_DEFAULT,
	.old_age_s = OLD_AGE_DEFAULT_S,
};

static const char doc[] =
	"Report heap growth per call site in running processes, using uprobes.\n"
	"\n"
	"USAGE: " PROG " [OPTIONS] [INTERVAL [COUNT]]\n"
	"       " PROG " [OPTIONS] -c CMD [INTERVAL [COUNT]]\n"
	"       " PROG " [OPTIONS] [INTERVAL [COUNT]] -- PROGRAM [ARG...]\n"
	"\v"
	"Without --pid, --comm, --cgroup, --container or a command, every process on the host is "
	"traced. INTERVAL and COUNT after the options are -i and -n, as in bcc's tools. SECS "
	"accept "
	"decimals (0.5); BYTES accept a K, M or G suffix (1K = 1024).\n"
	"\n"
	"Each report ranks the call sites by heap growth since the previous report and "
	"shows, per site, the bytes and blocks still allocated, the change in this "
	"interval, the allocation rate, TREND (in how many of the last --trend-intervals "
	"reports it grew; '+5/5' flags a site that grew in each: a leak), the age of its oldest "
	"live block and its bytes older than --old-age, and the call stack; the final report "
	"ends with a summary of the whole session. A Python line is one row whatever "
	"C frames lead from it to the allocator (-v lists them). --format json writes one "
	"JSON object per report per line instead; --format folded and --format pprof write "
	"each report as a profile of the live bytes per call stack.\n"
	"\n"
	"A realloc that resizes a block counts at its site as an allocation of the new "
	"size and a free of the old block, as pprof's alloc_space does; the header's "
	"rates count blocks allocated and freed, and resizes apart by the bytes they "
	"added (net), so a block grown in place reads as its growth.\n"
	"\n"
	"EXAMPLES:\n"
	"  sudo allocscope --pid 4242\n"
	"      report process 4242 every 10 seconds until Ctrl-C\n"
	"  sudo allocscope --comm gunicorn -i 5 -s live\n"
	"      all gunicorn processes, every 5 seconds, ranked by live bytes; a stack\n"
	"      several of them have is one row (--group-by process: one per process)\n"
	"  sudo allocscope -p 4242 --format json -o growth.jsonl -d 60\n"
	"      one minute of JSON reports into growth.jsonl\n"
	"  sudo allocscope -p 4242 --format pprof -o heap.pb.gz -i 30\n"
	"      heap.pb.gz replaced every 30 seconds; go tool pprof -top heap.pb.gz\n"
	"  sudo allocscope -c 'python3 manage.py runserver --noreload' -i 5\n"
	"      run the command and trace it from its first allocation\n"
	"  sudo allocscope -p 4242 5 3\n"
	"      three reports, 5 seconds apart (-i 5 -n 3)\n"
	"  sudo allocscope -p 4242 --mode rss\n"
	"      no allocator probes: resident memory by the code that faulted it in,\n"
	"      for a process whose allocation rate makes heap mode too slow\n"
	"  sudo allocscope --cgroup /system.slice/nginx.service\n"
	"      the processes of a systemd service, those it starts later included\n"
	"  sudo allocscope --container 3f2a9c\n"
	"      the processes of the docker, containerd or CRI-O container 3f2a9c...\n"
	"  sudo allocscope\n"
	"      every process on the host\n"
	"\n"
	"EXIT STATUS:\n"
	"  0   success\n"
	"  1   failure while running (load, attach or read error)\n"
	"  2   a --pid process does not exist\n"
	"  3   not enough privilege: run as root (CAP_BPF and CAP_PERFMON)\n"
	"  4   the kernel lacks support (BTF, uprobes) or refused the BPF programs\n"
	"  5   a target maps no object defining malloc and free\n"
	"  64  bad usage\n"
	"  126 the command (-c) was found but could not be run\n"
	"  127 the command (-c) was not found\n"
	"With -c, allocscope exits 0 after its final report whatever the command's own "
	"status, which it names on stderr. A Ctrl-C at the terminal reaches the command "
	"too (the same process group); a SIGTERM to allocscope, --count or --duration end "
	"the tracing only, and the command runs on.\n";

static const struct argp_option options[] = {
	{NULL, 0, NULL, OPTION_DOC, "Targets (default: every process on the host):", GRP_TARGET},
	{"pid", 'p', "PID[,PID...]", 0, "Trace these processes. Repeatable; up to 1024 processes",
	 GRP_TARGET},
	{"comm", OPT_COMM, "NAME", 0,
	 "Trace the processes named NAME as in /proc/PID/comm (at most 15 characters)", GRP_TARGET},
	{"command", 'c', "CMD", 0,
	 "Run CMD and trace it from its first allocation, before main and its constructors, and "
	 "the processes it forks. CMD is one string split into words as a shell would split "
	 "them, without a shell (nothing expanded; NAME=value words first go to its "
	 "environment); or give PROGRAM [ARG...] after '--' instead. "
	 "-c runs a command; to select by name use --comm",
	 GRP_TARGET},
	{"cgroup", OPT_CGROUP, "PATH", 0,
	 "Trace the processes in cgroup PATH or below it (v1 or v2): /sys/fs/cgroup/... or a "
	 "path from a hierarchy's root such as /system.slice/foo.service. A process that "
	 "enters it later is traced within a second (at once if it execs), a target's forks "
	 "at once",
	 GRP_TARGET},
	{"container", OPT_CONTAINER, "ID", 0,
	 "Trace the processes of the docker, containerd or CRI-O container whose id starts "
	 "with ID (4 to 64 hex digits), found in their cgroup paths, those that join it later "
	 "included. It must be running: no match, or several, is an error",
	 GRP_TARGET},
	{"children", OPT_CHILDREN, NULL, 0,
	 "With --pid or --comm: also trace their descendants, those running already and "
	 "those they fork from now on (multiprocessing workers); a command's always are",
	 GRP_TARGET},

	{NULL, 0, NULL, OPTION_DOC, "Reports:", GRP_REPORT},
	{"interval", 'i', "SECS", 0, "Seconds between reports (default 10, at most 86400)",
	 GRP_REPORT},
	{"count", 'n', "N", 0, "Exit after N reports (default: until Ctrl-C)", GRP_REPORT},
	{"duration", 'd', "SECS", 0,
	 "Exit after SECS seconds, with a final report (default: until Ctrl-C)", GRP_REPORT},
	{"top", 'T', "N", 0, "Show the N highest-ranked call sites (1-10000, default 10)",
	 GRP_REPORT},
	{"sort", 's', "KEY", 0,
	 "Rank call sites by 'growth' (bytes gained in the interval, the default), 'live' "
	 "(bytes still allocated), 'allocs' (allocations in the interval) or 'trend' (sites "
	 "that grew in each of the last --trend-intervals first, then by their growth over "
	 "those intervals)",
	 GRP_REPORT},
	{"trend-intervals", OPT_TREND_INTERVALS, "K", 0,
	 "The TREND column looks at the last K intervals (1-16, default 5): '+5/5' flags a site "
	 "that grew in each of them",
	 GRP_REPORT},
	{"old-age", OPT_OLD_AGE, "SECS", 0,
	 "Live blocks older than SECS count as old bytes under each site (default 60)", GRP_REPORT},
	{"group-by", OPT_GROUP_BY, "KEY", 0,
	 "'stack' makes one row of a stack however many processes have it (the PROCESS column "
	 "counts them; the default when several processes are traced); 'process' keeps one row "
	 "per process (the default for a single --pid)",
	 GRP_REPORT},
	{"format", OPT_FORMAT, "FMT", 0,
	 "'text' (default: fits COLUMNS, else the terminal, else 100 columns), 'json' (one "
	 "object per line), 'folded' (one line per site: frames root first joined by ';', a "
	 "space, live bytes; for flamegraph.pl and speedscope) or 'pprof' (a gzipped "
	 "profile.proto for go tool pprof; needs -o). folded and pprof cover every site (-T "
	 "10000 unless -T is given)",
	 GRP_REPORT},
	{"output", 'o', "FILE", 0,
	 "Write reports to FILE instead of standard output. text and json append each report; "
	 "folded and pprof replace FILE with each report, atomically (a file written beside "
	 "it, then renamed), so a reader always finds one whole profile",
	 GRP_REPORT},
	{"push", OPT_PUSH, "URL", 0,
	 "Also POST each report as a pprof profile to a Pyroscope-compatible server at URL "
	 "(e.g. http://pyroscope:4040), as its /ingest API takes them (name APP{hostname=HOST}, "
	 "from, until, format pprof). A failed push is said and tracing goes on",
	 GRP_REPORT},
	{"push-app", OPT_PUSH_APP, "APP", 0,
	 "The application name profiles are pushed under (default allocscope)", GRP_REPORT},

	{NULL, 0, NULL, OPTION_DOC, "Filters:", GRP_FILTER},
	{"min-size", OPT_MIN_SIZE, "BYTES", 0,
	 "Count only allocations of at least BYTES (default 0)", GRP_FILTER},
	{"max-size", OPT_MAX_SIZE, "BYTES", 0,
	 "Count only allocations of at most BYTES (default: no limit)", GRP_FILTER},
	{"sample-bytes", OPT_SAMPLE_BYTES, "BYTES", 0,
	 "Sample allocations: about one per BYTES allocated (Poisson over bytes, as tcmalloc and "
	 "Go do), each sample weighted so reports estimate all of them; 1 to 1G (default: every "
	 "allocation, exact). With uprobe sessions (Linux 6.13+) unsampled calls take no return "
	 "probe",
	 GRP_FILTER},

	{NULL, 0, NULL, OPTION_DOC, "Tracing:", GRP_TRACE},
	{"mode", OPT_MODE, "MODE", 0,
	 "'heap' (default) probes the allocator: live blocks per call site, exact, at a trap per "
	 "malloc and free (a program allocating fast runs several times slower). 'rss' probes no "
	 "allocator: each page a target faults into anonymous memory is charged to the stack "
	 "that touched it, less what munmap, madvise, brk and exit give back; its cost follows "
	 "RSS growth, not the allocation rate, and a row is page-granular",
	 GRP_TRACE},
	{"fault-sample", OPT_FAULT_SAMPLE, "N", 0,
	 "--mode rss: charge every Nth page fault, weighted by N (default 0: every fault until a "
	 "CPU takes 20000 a second, then one in 16 for the rest of that tenth of a second)",
	 GRP_TRACE},
	{"max-live-blocks", OPT_LIVE_MAX, "N", 0,
	 "Track up to N allocated blocks at once; blocks beyond are dropped and counted "
	 "(1024-67108864, default 1048576)",
	 GRP_TRACE},
	{"max-depth", OPT_MAX_DEPTH, "N", 0,
	 "Walk at most N callers above the allocator (1-127, default 64); deeper stacks are "
	 "cut and counted as depth_cap",
	 GRP_TRACE},
	{"unwind", OPT_UNWIND, "HOW", 0,
	 "'cfi' (default) unwinds with each binary's call frame information, so stacks are "
	 "whole without frame pointers; 'fp' follows frame pointers only (cheaper, but code "
	 "built without them shows only the allocator's caller)",
	 GRP_TRACE},
	{"no-python", OPT_NO_PYTHON, NULL, 0,
	 "Keep the interpreter's C frames in stacks of CPython processes instead of showing "
	 "the Python frames (file:line function) they run",
	 GRP_TRACE},
	{"python-objects", OPT_PYTHON_OBJECTS, NULL, 0,
	 "Also probe CPython's object allocator (pymalloc) in --pid or --comm targets, so each "
	 "object of 512 bytes or less is charged to its Python line instead of the arenas to the "
	 "line that needed a new one; costs a trap or two per object",
	 GRP_TRACE},
	{"no-census", OPT_NO_CENSUS, NULL, 0,
	 "Do not take the heap census of CPython processes (their objects by type, read from "
	 "pymalloc's pools at each report)",
	 GRP_TRACE},
	{"census-budget", OPT_CENSUS_BUDGET, "MS", 0,
	 "Time the Python heap census may take per report (1-60000 ms, default 1000); a "
	 "census cut short is marked truncated",
	 GRP_TRACE},
	{"no-mappings", OPT_NO_MAPPINGS, NULL, 0,
	 "Do not trace mmap, mremap, munmap and brk (memory the heap probes never see, such as "
	 "CPython's 1 MiB object arenas)",
	 GRP_TRACE},
	{"max-overhead", OPT_MAX_OVERHEAD, "PCT", 0,
	 "Take the heap probes off a --pid, --comm, --cgroup, --container or -c target whose "
	 "probes cost more than PCT % "
	 "of its CPU time over an interval; its mappings stay traced and its heap sites are "
	 "marked frozen (0-100, default 20; 0: no limit)",
	 GRP_TRACE},
	{"verbose", 'v', NULL, 0,
	 "Show setup details, probe placement, drop counters, the native paths under each "
	 "Python row of text reports, and libbpf debug messages; repeat for more",
	 GRP_TRACE},

	{NULL, 0, NULL, OPTION_DOC, "Diagnostics:", GRP_DIAG},
	{"probe-mode", OPT_PROBE_MODE, "MODE", 0,
	 "'full' (default) accounts every allocation; 'noop' attaches empty programs at the "
	 "same places, to measure the cost of the probes alone; 'noop-entry' leaves out the "
	 "return probes (the floor of calls rejected at entry)",
	 GRP_DIAG},
	{"placement", OPT_PLACEMENT, "WHERE", 0,
	 "'auto' (default) puts each probe on the cheapest instruction that still sees the "
	 "arguments; 'entry' probes every function at its first instruction",
	 GRP_DIAG},
	{"attach", OPT_ATTACH, "HOW", 0,
	 "'auto' (default) uses one uprobe_multi link per program and object when the kernel "
	 "has them (6.6+); 'perf' attaches one perf-event uprobe per probe, as on older kernels",
	 GRP_DIAG},

	{NULL, 0, NULL, OPTION_DOC, "Help:", GRP_HELP},
	{"help", 'h', NULL, 0, "Show this help and exit", GRP_HELP},
	{"usage", OPT_USAGE, NULL, 0, "Show a short usage message and exit", GRP_HELP},
	{"version", 'V', NULL, 0, "Show the version and exit", GRP_HELP},
	{0},
};

struct parse_ctx {
	struct config *cfg;
	FILE *out;
	FILE *err;
	bool exit_now;		      /* --help, --usage or --version was handled */
	bool failed;		      /* an error line was printed */
	bool top_set;		      /* -T was given */
	bool interval_set, count_set; /* -i, -n were given */
	const char *pos[2];	      /* [INTERVAL [COUNT]] after the options */
	int dashdash;		      /* argv index of "--", or argc */
};

static error_t __attribute__((format(printf, 2, 3)))
usage_error(struct parse_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	fputs(PROG ": ", ctx->err);
	va_start(ap, fmt);
	vfprintf(ctx->err, fmt, ap);
	va_end(ap);
	fputs("\nTry '" PROG " --help' for more information.\n", ctx->err);
	ctx->failed = true;
	return EINVAL;
}

int opts__parse_u64(const char *s, __u64 lo, __u64 hi, bool allow_suffix, __u64 *out)
{
	const char *digits = s;
	unsigned long long v;
	unsigned int shift = 0;
	int base = 10;
	char *end;

	if (!s)
		return -EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		digits = s + 2;
	}
	/* strtoull() alone would skip blanks, take a sign (turning "-1" into
	 * 2^64-1) and accept an empty string as 0. */
	if (base == 16 ? !isxdigit((unsigned char)*digits) : !isdigit((unsigned char)*digits))
		return -EINVAL;
	errno = 0;
	v = strtoull(digits, &end, base);
	if (errno == ERANGE)
		return -ERANGE;
	if (allow_suffix && *end) {
		switch (*end++) {
		case 'K':
		case 'k':
			shift = 10;
			break;
		case 'M':
		case 'm':
			shift = 20;
			break;
		case 'G':
		case 'g':
			shift = 30;
			break;
		default:
			return -EINVAL;
		}
		if (*end)
			return -EINVAL;
		if (v > (UINT64_MAX >> shift))
			return -ERANGE;
		v <<= shift;
	}
	if (*end)
		return -EINVAL;
	if (v < lo || v > hi)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Plain decimal seconds in (0, hi]. strtod() alone would also accept blanks,
 * signs, exponents, hex floats, "inf" and "nan". */
static int parse_seconds(const char *s, double hi, double *out)
{
	bool digit = false, dot = false;
	char *end;
	double v;

	for (const char *c = s; *c; c++) {
		if (isdigit((unsigned char)*c))
			digit = true;
		else if (*c == '.' && !dot)
			dot = true;
		else
			return -EINVAL;
	}
	if (!digit)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (*end || !isfinite(v))
		return -EINVAL;
	if (errno == ERANGE || !(v > 0) || v > hi)
		return -ERANGE;
	*out = v;
	return 0;
}

static error_t parse_pids(struct parse_ctx *ctx, const char *arg)
{
	struct config *cfg = ctx->cfg;
	const char *p = arg;

	for (;;) {
		size_t n = strcspn(p, ",");
		char elem[16] = "";
		__u64 pid = 0;
		size_t i;

		if (n < sizeof(elem))
			memcpy(elem, p, n);
		if (n >= sizeof(elem) || opts__parse_u64(elem, 1, PID_LIMIT, false, &pid))
			return usage_error(
				ctx, "invalid --pid '%.*s': expected a process ID from 1 to %d",
				(int)n, p, PID_LIMIT);
		for (i = 0; i < cfg->npids && cfg->pids[i] != pid; i++)
			;
		if (i == cfg->npids) {
			if (cfg->npids == MAX_PIDS)
				return usage_error(ctx, "too many processes for --pid (at most %d)",
						   MAX_PIDS);
			cfg->pids[cfg->npids++] = pid;
		}
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

static error_t parse_command(struct parse_ctx *ctx, const char *arg)
{
	char why[160];
	int err;

	if (ctx->cfg->command)
		return usage_error(ctx, "-c can be given only once");
	err = words__split(arg, &ctx->cfg->command_mem, why, sizeof(why));
	if (err == -ENOMEM)
		return usage_error(ctx, "-c: out of memory");
	if (err)
		return usage_error(ctx, "invalid -c '%s': %s", arg, why);
	ctx->cfg->command = ctx->cfg->command_mem;
	return 0;
}

static error_t parse_comm(struct parse_ctx *ctx, const char *arg)
{
	if (ctx->cfg->comm[0])
		return usage_error(ctx, "--comm can be given only once");
	if (!arg[0])
		return usage_error(ctx, "--comm needs a process name");
	if (strlen(arg) > COMM_MAX)
		return usage_error(
			ctx,
			"--comm '%s' is longer than %zu characters: the kernel truncates "
			"process names (/proc/PID/comm) to %zu, so give the first %zu",
			arg, COMM_MAX, COMM_MAX, COMM_MAX);
	strcpy(ctx->cfg->comm, arg);
	return 0;
}

/* The index of arg in a NULL-terminated list of names, or -EINVAL. */
static int parse_choice(struct parse_ctx *ctx, const char *opt, const char *arg,
			const char *const *names, const char *expected)
{
	for (int i = 0; names[i]; i++) {
		if (!strcmp(arg, names[i]))
			return i;
	}
	usage_error(ctx, "invalid --%s '%s': expected %s", opt, arg, expected);
	return -EINVAL;
}

/* Options that name one of a few choices; the lists follow the enums. */
static error_t parse_named(struct parse_ctx *ctx, int key, const char *arg)
{
	static const char *const sorts[] = {"growth", "live", "allocs", "trend", NULL};
	static const char *const modes[] = {"full", "noop", "noop-entry", NULL};
	static const char *const places[] = {"auto", "entry", NULL};
	static const char *const attaches[] = {"auto", "perf", NULL};
	static const char *const unwinds[] = {"cfi", "fp", NULL};
	static const char *const groups[] = {"stack", "process", NULL};
	static const char *const trace_modes[] = {"heap", "rss", NULL};
	struct config *cfg = ctx->cfg;
	int i;

	switch (key) {
	case 's':
		if ((i = parse_choice(ctx, "sort", arg, sorts, "growth, live, allocs or trend")) <
		    0)
			return EINVAL;
		cfg->sort = i;
		return 0;
	case OPT_FORMAT:
		cfg->format = output__find(arg);
		if (!cfg->format)
			return usage_error(ctx, "invalid --format '%s': expected %s", arg,
					   output__names());
		return 0;
	case OPT_PROBE_MODE:
		if ((i = parse_choice(ctx, "probe-mode", arg, modes, "full, noop or noop-entry")) <
		    0)
			return EINVAL;
		cfg->probe_mode = i;
		return 0;
	case OPT_PLACEMENT:
		if ((i = parse_choice(ctx, "placement", arg, places, "auto or entry")) < 0)
			return EINVAL;
		cfg->placement = i;
		return 0;
	case OPT_ATTACH:
		if ((i = parse_choice(ctx, "attach", arg, attaches, "auto or perf")) < 0)
			return EINVAL;
		cfg->attach = i;
		return 0;
	case OPT_UNWIND:
		if ((i = parse_choice(ctx, "unwind", arg, unwinds, "cfi or fp")) < 0)
			return EINVAL;
		cfg->unwind = i;
		return 0;
	case OPT_MODE:
		if ((i = parse_choice(ctx, "mode", arg, trace_modes, "heap or rss")) < 0)
			return EINVAL;
		cfg->mode = i;
		return 0;
	case OPT_GROUP_BY:
		if ((i = parse_choice(ctx, "group-by", arg, groups, "stack or process")) < 0)
			return EINVAL;
		cfg->group_by = GROUP_STACK + i;
		return 0;
	default:
		return ARGP_ERR_UNKNOWN;
	}
}

static error_t parse_size(struct parse_ctx *ctx, const char *opt, const char *arg, __u64 *out)
{
	if (opts__parse_u64(arg, 0, UINT64_MAX, true, out))
		return usage_error(ctx, "invalid --%s '%s': expected bytes, e.g. 512, 64K or 1M",
				   opt, arg);
	return 0;
}

static error_t parse_time(struct parse_ctx *ctx, const char *opt, const char *arg, double hi,
			  double *out)
{
	int err = parse_seconds(arg, hi, out);

	if (err == -EINVAL)
		return usage_error(ctx, "invalid --%s '%s': expected seconds > 0", opt, arg);
	if (err)
		return usage_error(ctx, "invalid --%s '%s': expected seconds > 0 and <= %.0f", opt,
				   arg, hi);
	return 0;
}

static error_t parse_count(struct parse_ctx *ctx, const char *opt, const char *arg, __u64 lo,
			   __u64 hi, bool suffix, __u64 *out)
{
	if (opts__parse_u64(arg, lo, hi, suffix, out)) {
		if (hi == UINT64_MAX)
			return usage_error(ctx, "invalid --%s '%s': expected a number >= %llu", opt,
					   arg, (unsigned long long)lo);
		return usage_error(ctx, "invalid --%s '%s': expected a number from %llu to %llu",
				   opt, arg, (unsigned long long)lo, (unsigned long long)hi);
	}
	return 0;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct parse_ctx *ctx = state->input;
	struct config *cfg = ctx->cfg;
	__u64 v;
	int e;

	switch (key) {
	case 'p':
		return parse_pids(ctx, arg);
	case OPT_COMM:
		return parse_comm(ctx, arg);
	case 'c':
		return parse_command(ctx, arg);
	case 'i':
		ctx->interval_set = true;
		return parse_time(ctx, "interval", arg, INTERVAL_MAX_S, &cfg->interval_s);
	case 'd':
		return parse_time(ctx, "duration", arg, DURATION_MAX_S, &cfg->duration_s);
	case 'n':
		ctx->count_set = true;
		return parse_count(ctx, "count", arg, 1, UINT64_MAX, false, &cfg->count);
	case 'T':
		if ((e = parse_count(ctx, "top", arg, 1, TOP_MAX, false, &v)))
			return e;
		cfg->top = v;
		ctx->top_set = true;
		return 0;
	case OPT_LIVE_MAX:
		if ((e = parse_count(ctx, "max-live-blocks", arg, LIVE_MIN, LIVE_LIMIT, true, &v)))
			return e;
		cfg->live_max = v;
		return 0;
	case OPT_MAX_DEPTH:
		if ((e = parse_count(ctx, "max-depth", arg, 1, AS_DEPTH_MAX, false, &v)))
			return e;
		cfg->max_depth = v;
		return 0;
	case OPT_MAX_OVERHEAD:
		if ((e = parse_count(ctx, "max-overhead", arg, 0, 100, false, &v)))
			return e;
		cfg->max_overhead = v;
		return 0;
	case OPT_TREND_INTERVALS:
		if ((e = parse_count(ctx, "trend-intervals", arg, 1, TREND_MAX, false, &v)))
			return e;
		cfg->trend_intervals = v;
		return 0;
	case OPT_OLD_AGE:
		return parse_time(ctx, "old-age", arg, OLD_AGE_MAX_S, &cfg->old_age_s);
	case OPT_FAULT_SAMPLE:
		if ((e = parse_count(ctx, "fault-sample", arg, 0, 1 << 20, false, &v)))
			return e;
		cfg->fault_sample = v;
		return 0;
	case OPT_MIN_SIZE:
		return parse_size(ctx, "min-size", arg, &cfg->min_size);
	case OPT_MAX_SIZE:
		return parse_size(ctx, "max-size", arg, &cfg->max_size);
	case OPT_SAMPLE_BYTES:
		if (opts__parse_u64(arg, 1, AS_SAMPLE_MAX, true, &cfg->sample_bytes))
			return usage_error(ctx,
					   "invalid --sample-bytes '%s': expected bytes from 1 to "
					   "1G between samples, e.g. 512K",
					   arg);
		return 0;
	case 'o':
		if (!arg[0])
			return usage_error(ctx, "--output needs a file name");
		cfg->output = arg;
		return 0;
	case OPT_PUSH:
		if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8))
			return usage_error(ctx,
					   "invalid --push '%s': expected an http:// or "
					   "https:// URL",
					   arg);
		cfg->push = arg;
		return 0;
	case OPT_PUSH_APP:
		/* Pyroscope's application names: no braces, which open the labels. */
		if (!arg[0] || strpbrk(arg, "{}=, "))
			return usage_error(ctx,
					   "invalid --push-app '%s': expected a name "
					   "without spaces, braces, '=' or ','",
					   arg);
		cfg->push_app = arg;
		return 0;
	case 'v':
		cfg->verbose++;
		return 0;
	case OPT_NO_PYTHON:
		cfg->python = false;
		return 0;
	case OPT_PYTHON_OBJECTS:
		cfg->python_objects = true;
		return 0;
	case OPT_NO_CENSUS:
		cfg->census = false;
		return 0;
	case OPT_CENSUS_BUDGET:
		if ((e = parse_count(ctx, "census-budget", arg, 1, 60000, false, &v)))
			return e;
		cfg->census_budget_ms = v;
		return 0;
	case OPT_NO_MAPPINGS:
		cfg->mappings = false;
		return 0;
	case OPT_CHILDREN:
		cfg->children = true;
		return 0;
	case OPT_CGROUP:
		if (cfg->cgroup)
			return usage_error(ctx, "--cgroup can be given only once");
		if (!arg[0])
			return usage_error(ctx, "--cgroup needs a cgroup path");
		cfg->cgroup = arg;
		return 0;
	case OPT_CONTAINER:
		if (cfg->container[0])
			return usage_error(ctx, "--container can be given only once");
		if (cgroup__parse_id_prefix(arg, cfg->container))
			return usage_error(ctx,
					   "invalid --container '%s': expected the start of a "
					   "container id, %d to %d hex digits",
					   arg, CGROUP_ID_MIN, CGROUP_ID_LEN);
		return 0;
	case 'h':
	case OPT_USAGE:
	case 'V':
		if (key == 'V')
			fputs(PROG " " VERSION "\n", ctx->out);
		else
			argp_help(state->root_argp, ctx->out,
				  key == 'h' ? HELP_FLAGS : ARGP_HELP_USAGE, PROG);
		ctx->exit_now = true;
		return ECANCELED; /* stop parsing, as getopt-based tools exit here */
	case ARGP_KEY_ARG:
		if (state->arg_num < 2) {
			ctx->pos[state->arg_num] = arg;
			return 0;
		}
		return usage_error(ctx,
				   "unexpected argument '%s': after the options come at most "
				   "INTERVAL and COUNT; a command to run goes after -c or '--'",
				   arg);
	default:
		return parse_named(ctx, key, arg);
	}
}

static const struct argp_option *find_short(int c)
{
	for (const struct argp_option *o = options; o->name || o->key || o->doc; o++) {
		if (o->key == c)
			return o;
	}
	return NULL;
}

/* The option that name (len bytes) spells or abbreviates, as getopt_long()
 * takes unique prefixes; NULL if none, or if ambiguous with the candidates
 * listed in amb. */
static const struct argp_option *find_long(const char *name, size_t len, char *amb, size_t size)
{
	const struct argp_option *found = NULL;
	int matches = 0;
	size_t used = 0;

	amb[0] = '\0';
	for (const struct argp_option *o = options; o->name || o->key || o->doc; o++) {
		if (!o->name || strncmp(o->name, name, len))
			continue;
		if (strlen(o->name) == len)
			return o;
		if (used < size)
			used += snprintf(amb + used, size - used, "%s--%s", matches ? ", " : "",
					 o->name);
		found = o;
		matches++;
	}
	return matches == 1 ? found : NULL;
}

static bool is_exit_option(const struct argp_option *o)
{
	return o->key == 'h' || o->key == 'V' || o->key == OPT_USAGE;
}

enum scan { SCAN_NEXT, SCAN_STOP, SCAN_ERROR };

static enum scan scan_long(struct parse_ctx *ctx, int argc, char **argv, int *i)
{
	const char *name = argv[*i] + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct argp_option *o;
	char amb[160];

	o = find_long(name, len, amb, sizeof(amb));
	if (!o && amb[0]) {
		usage_error(ctx, "option '--%.*s' is ambiguous: %s", (int)len, name, amb);
		return SCAN_ERROR;
	}
	if (!o) {
		usage_error(ctx, "unknown option '--%.*s'", (int)len, name);
		return SCAN_ERROR;
	}
	if (!o->arg && eq) {
		usage_error(ctx, "option '--%s' takes no value", o->name);
		return SCAN_ERROR;
	}
	if (o->arg && !eq && ++*i >= argc) {
		usage_error(ctx, "option '--%s' needs a value (%s)", o->name, o->arg);
		return SCAN_ERROR;
	}
	return is_exit_option(o) ? SCAN_STOP : SCAN_NEXT;
}

static enum scan scan_short(struct parse_ctx *ctx, int argc, char **argv, int *i)
{
	const char *s = argv[*i];

	for (int j = 1; s[j]; j++) {
		const struct argp_option *o = find_short((unsigned char)s[j]);

		if (!o) {
			usage_error(ctx, "unknown option '-%c'", s[j]);
			return SCAN_ERROR;
		}
		if (is_exit_option(o))
			return SCAN_STOP;
		if (!o->arg)
			continue;
		if (!s[j + 1] && ++*i >= argc) {
			usage_error(ctx, "option '-%c' needs a value (%s)", s[j], o->arg);
			return SCAN_ERROR;
		}
		break;
	}
	return SCAN_NEXT;
}

/* argp reports getopt's errors only on stderr, and not at all under
 * ARGP_NO_ERRS, so check option syntax first with getopt_long()'s rules.
 * Stops at "--" and at --help, --usage or --version, which argp then handles
 * in order. Non-options are left to ARGP_KEY_ARG. */
static int check_syntax(struct parse_ctx *ctx, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		enum scan r;

		if (!strcmp(s, "--")) {
			ctx->dashdash = i;
			return 0;
		}
		if (s[0] != '-' || !s[1])
			continue;
		r = s[1] == '-' ? scan_long(ctx, argc, argv, &i) : scan_short(ctx, argc, argv, &i);
		if (r == SCAN_ERROR)
			return -EINVAL;
		if (r == SCAN_STOP)
			return 0;
	}
	return 0;
}

/* [INTERVAL [COUNT]] after the options, as bcc's tools take them: the same
 * values as -i and -n, given once. */
static int positional(struct parse_ctx *ctx)
{
	static const char hint[] = "; a command to run goes after -c or '--'";
	struct config *cfg = ctx->cfg;
	const char *iv = ctx->pos[0], *n = ctx->pos[1];
	int err;

	if (iv && ctx->interval_set)
		return usage_error(ctx, "the interval is given twice: with -i and as '%s'", iv);
	if (n && ctx->count_set)
		return usage_error(ctx, "the count is given twice: with -n and as '%s'", n);
	if (iv && (err = parse_seconds(iv, INTERVAL_MAX_S, &cfg->interval_s)))
		return usage_error(ctx, "invalid INTERVAL '%s': expected seconds > 0%s%s", iv,
				   err == -ERANGE ? " and <= 86400" : "", hint);
	if (n && opts__parse_u64(n, 1, UINT64_MAX, false, &cfg->count))
		return usage_error(ctx, "invalid COUNT '%s': expected a number >= 1%s", n, hint);
	return 0;
}

/* The words after "--": the command, unless -c gave one. */
static int dashdash_command(struct parse_ctx *ctx, int argc, char **argv)
{
	if (ctx->dashdash >= argc)
		return 0;
	if (ctx->dashdash + 1 == argc)
		return usage_error(ctx, "'--' must be followed by a command to run");
	if (ctx->cfg->command)
		return usage_error(ctx, "the command is given twice: with -c and after '--'");
	ctx->cfg->command = argv + ctx->dashdash + 1;
	return 0;
}

/* A command's program: the first word that is no NAME=value. */
static int check_program(struct parse_ctx *ctx)
{
	if (!words__program(ctx->cfg->command))
		return usage_error(ctx, "the command names no program after its variable "
					"assignments (NAME=value)");
	return 0;
}

/* Checks that involve more than one option, and the defaults that depend on
 * others. */
static int validate(struct parse_ctx *ctx)
{
	struct config *cfg = ctx->cfg;

	if (positional(ctx))
		return -EINVAL;
	if (cfg->npids && cfg->comm[0])
		return usage_error(ctx, "--pid and --comm cannot be combined");
	if (cfg->command && check_program(ctx))
		return -EINVAL;
	if (cfg->command && (cfg->npids || cfg->comm[0]))
		return usage_error(ctx, "-c runs a command and traces it: it cannot be combined "
					"with --pid or --comm");
	if (cfg->command && (cfg->cgroup || cfg->container[0]))
		return usage_error(ctx, "-c runs a command and traces it: it cannot be combined "
					"with --cgroup or --container");
	if ((cfg->cgroup || cfg->container[0]) &&
	    (cfg->npids || cfg->comm[0] || (cfg->cgroup && cfg->container[0])))
		return usage_error(ctx,
				   "--cgroup and --container choose the targets by themselves: "
				   "neither combines with --pid, --comm or the other");
	if (cfg->children && (cfg->cgroup || cfg->container[0]))
		return usage_error(ctx, "--cgroup and --container follow the forks of their "
					"processes already; --children is for --pid and --comm");
	/* What a command starts is part of it (a reloader's server, a
	 * wrapper's program), as perf record follows a workload's children. */
	if (cfg->command)
		cfg->children = true;
	if (cfg->children && !cfg->npids && !cfg->comm[0] && !cfg->command)
		return usage_error(ctx, "--children follows the forks of --pid or --comm targets; "
					"without them every process is traced already");
	/* Its probes go into each target's interpreter, found one by one. */
	if (cfg->python_objects && !cfg->npids && !cfg->comm[0])
		return usage_error(ctx,
				   "--python-objects probes the interpreter of --pid or --comm "
				   "targets; give one");
	if (cfg->python_objects && !cfg->python)
		return usage_error(ctx, "--python-objects charges objects to Python lines, which "
					"--no-python turns off");
	if (cfg->python_objects && cfg->mode == TRACE_MODE_RSS)
		return usage_error(ctx, "--python-objects adds allocator probes, which --mode rss "
					"does not use");
	if (cfg->format->binary && !cfg->output)
		return usage_error(ctx, "--format %s writes a file: give it with -o FILE",
				   cfg->format->name);
	/* A profile stands for the whole program, not its top few sites. */
	if (cfg->format->whole && !ctx->top_set)
		cfg->top = TOP_MAX;
	if (cfg->sample_bytes && cfg->probe_mode != PROBE_MODE_FULL)
		return usage_error(ctx, "--sample-bytes samples what --probe-mode full accounts; "
					"--probe-mode noop accounts nothing");
	if (cfg->min_size > cfg->max_size)
		return usage_error(
			ctx, "--min-size (%llu bytes) is larger than --max-size (%llu bytes)",
			(unsigned long long)cfg->min_size, (unsigned long long)cfg->max_size);
	if (cfg->mode == TRACE_MODE_RSS && (cfg->min_size || cfg->max_size != UINT64_MAX))
		return usage_error(ctx, "--min-size and --max-size filter allocations, which "
					"--mode rss does not see");
	/* Several processes (workers of one program, mostly) repeat one
	 * stack: one row each would fill the top N with one leak. */
	if (cfg->group_by == GROUP_AUTO)
		cfg->group_by = cfg->npids == 1 && !cfg->children ? GROUP_PROCESS : GROUP_STACK;
	return 0;
}

int opts__parse(int argc, char **argv, struct config *cfg, FILE *out, FILE *err)
{
	static const struct argp argp = {
		.options = options,
		.parser = parse_opt,
		.doc = doc,
	};
	struct parse_ctx ctx = {.cfg = cfg, .out = out, .err = err, .dashdash = argc};
	int ret;

	*cfg = defaults;
	cfg->format = output__find("text");
	if (check_syntax(&ctx, argc, argv))
		return EXIT_USAGE;
	/* NO_EXIT and NO_ERRS keep argp from exiting or writing to stdout and
	 * stderr behind our back; NO_HELP because we print help to out. What
	 * follows "--" is the command's, never argp's to permute. */
	ret = argp_parse(&argp, ctx.dashdash, argv, ARGP_NO_EXIT | ARGP_NO_ERRS | ARGP_NO_HELP,
			 NULL, &ctx);
	if (ctx.exit_now)
		return OPTS_EXIT_NOW;
	if (ctx.failed)
		return EXIT_USAGE;
	if (ret) {
		/* Only if check_syntax() let through what getopt refused. */
		usage_error(&ctx, "cannot parse the command line");
		return EXIT_USAGE;
	}
	if (dashdash_command(&ctx, argc, argv))
		return EXIT_USAGE;
	return validate(&ctx) ? EXIT_USAGE : 0;
}

void opts__free(struct config *cfg)
{
	free(cfg->command_mem);
	cfg->command_mem = cfg->command = NULL;
}
