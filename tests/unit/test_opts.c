// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for command-line parsing: defaults, valid and invalid option
 * tables with their exact error lines, help text, and the number parser. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "allocscope.h"
#include "opts.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_ARGS      64
#define TRY_HELP      "Try 'allocscope --help' for more information.\n"

struct run {
	int ret;
	char *out;
	char *err;
	char line[8192]; /* argv strings live here while cfg points into them */
	char *argv[MAX_ARGS + 1];
};

/* Runs opts__parse on a command line split at spaces ("" = no options). */
static void parse(struct run *r, const char *cmdline, struct config *cfg)
{
	size_t out_len, err_len;
	FILE *out, *err;
	int argc = 0;

	assert_true(strlen(cmdline) < sizeof(r->line));
	strcpy(r->line, cmdline);
	r->argv[argc++] = "allocscope";
	for (char *save, *tok = strtok_r(r->line, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		assert_true(argc < MAX_ARGS);
		r->argv[argc++] = tok;
	}
	r->argv[argc] = NULL;

	out = open_memstream(&r->out, &out_len);
	err = open_memstream(&r->err, &err_len);
	assert_non_null(out);
	assert_non_null(err);
	r->ret = opts__parse(argc, r->argv, cfg, out, err);
	fclose(out);
	fclose(err);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static void expect_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->interval_s = 10;
	c->top = 10;
	c->sort = SORT_GROWTH;
	c->max_size = UINT64_MAX;
	c->format = output__find("text");
	c->probe_mode = PROBE_MODE_FULL;
	c->placement = PLACEMENT_AUTO;
	c->live_max = AS_LIVE_MAX;
	c->push_app = "allocscope";
	c->trend_intervals = TREND_DEFAULT;
	c->old_age_s = OLD_AGE_DEFAULT_S;
}

static void assert_config_equal(const struct config *got, const struct config *want)
{
	assert_int_equal(got->npids, want->npids);
	for (size_t i = 0; i < want->npids; i++)
		assert_int_equal(got->pids[i], want->pids[i]);
	assert_string_equal(got->comm, want->comm);
	if (want->cgroup)
		assert_string_equal(got->cgroup, want->cgroup);
	else
		assert_null(got->cgroup);
	assert_string_equal(got->container, want->container);
	assert_true(got->interval_s == want->interval_s);
	assert_int_equal(got->count, want->count);
	assert_true(got->duration_s == want->duration_s);
	assert_int_equal(got->top, want->top);
	assert_int_equal(got->sort, want->sort);
	assert_int_equal(got->min_size, want->min_size);
	assert_int_equal(got->max_size, want->max_size);
	assert_ptr_equal(got->format, want->format);
	if (want->push)
		assert_string_equal(got->push, want->push);
	else
		assert_null(got->push);
	assert_string_equal(got->push_app, want->push_app);
	if (want->output)
		assert_string_equal(got->output, want->output);
	else
		assert_null(got->output);
	assert_int_equal(got->verbose, want->verbose);
	assert_int_equal(got->probe_mode, want->probe_mode);
	assert_int_equal(got->placement, want->placement);
	assert_int_equal(got->attach, want->attach);
	assert_int_equal(got->live_max, want->live_max);
	assert_int_equal(got->trend_intervals, want->trend_intervals);
	assert_true(got->old_age_s == want->old_age_s);
}

static void test_defaults(void **state)
{
	struct config cfg, want;
	struct run r;

	(void)state;
	memset(&cfg, 0xa5, sizeof(cfg));
	parse(&r, "", &cfg);
	assert_int_equal(r.ret, 0);
	assert_string_equal(r.out, "");
	assert_string_equal(r.err, "");
	expect_defaults(&want);
	assert_config_equal(&cfg, &want);
	run_free(&r);
}

/* Each valid case edits the defaults into what it expects. */
static void want_pid(struct config *c)
{
	c->npids = 1;
	c->pids[0] = 4242;
}

static void want_pids_123(struct config *c)
{
	c->npids = 3;
	c->pids[0] = 1;
	c->pids[1] = 2;
	c->pids[2] = 3;
}

static void want_pids_dedup(struct config *c)
{
	c->npids = 3;
	c->pids[0] = 7;
	c->pids[1] = 3;
	c->pids[2] = 9;
}

static void want_pid_max(struct config *c)
{
	c->npids = 1;
	c->pids[0] = 4194304;
}

static void want_comm(struct config *c)
{
	strcpy(c->comm, "gunicorn");
	c->interval_s = 5;
	c->sort = SORT_LIVE;
}

static void want_comm15(struct config *c)
{
	strcpy(c->comm, "123456789012345");
}

static void want_cgroup(struct config *c)
{
	c->cgroup = "/system.slice/foo.service";
}

static void want_container(struct config *c)
{
	strcpy(c->container, "3f2a9c");
}

static void want_json(struct config *c)
{
	want_pid(c);
	c->format = output__find("json");
	c->output = "growth.jsonl";
	c->duration_s = 60;
}

/* Profiles cover every site unless -T says otherwise. */
static void want_folded(struct config *c)
{
	c->format = output__find("folded");
	c->top = 10000;
}

static void want_pprof(struct config *c)
{
	want_folded(c);
	c->format = output__find("pprof");
	c->output = "heap.pb.gz";
}

static void want_pprof_top(struct config *c)
{
	want_pprof(c);
	c->top = 5;
}

static void want_push(struct config *c)
{
	c->push = "http://pyroscope:4040";
	c->push_app = "shop";
}

static void want_half_second(struct config *c)
{
	c->interval_s = 0.5;
}

static void want_day(struct config *c)
{
	c->interval_s = 86400;
}

static void want_count(struct config *c)
{
	c->count = 3;
}

static void want_top(struct config *c)
{
	c->top = 10000;
}

static void want_allocs(struct config *c)
{
	c->sort = SORT_ALLOCS;
}

static void want_sizes(struct config *c)
{
	c->min_size = 64 * 1024;
	c->max_size = 2ULL << 30;
}

static void want_equal_sizes(struct config *c)
{
	c->min_size = 1024;
	c->max_size = 1024;
}

static void want_hex_size(struct config *c)
{
	c->min_size = 0x100;
}

static void want_verbose3(struct config *c)
{
	c->verbose = 3;
}

static void want_diag(struct config *c)
{
	c->probe_mode = PROBE_MODE_NOOP;
	c->placement = PLACEMENT_ENTRY;
}

static void want_perf(struct config *c)
{
	c->attach = ATTACH_PERF;
}

static void want_live(struct config *c)
{
	c->live_max = 4 << 20;
}

static void want_live_min(struct config *c)
{
	c->live_max = 1024;
}

static void want_depth(struct config *c)
{
	c->max_depth = 127;
}

static void want_rss(struct config *c)
{
	c->mode = TRACE_MODE_RSS;
	c->fault_sample = 8;
}

static void want_fp(struct config *c)
{
	c->unwind = UNWIND_FP;
	c->max_depth = 8;
}

static void want_no_governor(struct config *c)
{
	c->max_overhead = 0;
}

static void want_no_census(struct config *c)
{
	c->census = false;
}

static void want_census_budget(struct config *c)
{
	c->census_budget_ms = 250;
}

static void want_governor_5(struct config *c)
{
	c->max_overhead = 5;
}

static void want_output(struct config *c)
{
	c->output = "-x";
}

static void want_sample_512k(struct config *c)
{
	c->sample_bytes = 512 << 10;
}

static void want_sample_max(struct config *c)
{
	c->sample_bytes = 1 << 30;
}

static void want_sample_one(struct config *c)
{
	c->sample_bytes = 1;
	c->min_size = 64;
}

static void want_trend(struct config *c)
{
	c->sort = SORT_TREND;
	c->trend_intervals = 3;
	c->old_age_s = 2;
}

static void want_trend_max(struct config *c)
{
	c->trend_intervals = TREND_MAX;
	c->old_age_s = 0.5;
}

static void want_none(struct config *c)
{
	(void)c;
}

static void want_pid_5_3(struct config *c)
{
	want_pid(c);
	c->interval_s = 5;
	c->count = 3;
}

static const struct valid_case {
	const char *args;
	void (*want)(struct config *c);
} valid_cases[] = {
	{"--pid 4242", want_pid},
	{"-p 4242", want_pid},
	{"-p4242", want_pid},
	{"--pid=4242", want_pid},
	{"--pi 4242", want_pid}, /* unique prefix, as getopt_long allows */
	{"-p 1,2,3", want_pids_123},
	{"-p 1 -p 2,3", want_pids_123},
	{"-p 7,3,7 -p 3,9,9", want_pids_dedup},
	{"-p 4194304", want_pid_max},
	{"--comm gunicorn -i 5 -s live", want_comm},
	{"--comm 123456789012345", want_comm15},
	{"-p 4242 5 3", want_pid_5_3}, /* [INTERVAL [COUNT]], as in bcc's tools */
	{"5 -p 4242 3", want_pid_5_3},
	{"-p 4242 -n 3 5", want_pid_5_3},
	{"0.5", want_half_second},
	{"--cgroup /system.slice/foo.service", want_cgroup},
	{"--container 3f2a9c", want_container},
	{"--container 3F2A9C", want_container}, /* docker ps prints lowercase; either is taken */
	{"-p 4242 --format json -o growth.jsonl -d 60", want_json},
	{"--format folded", want_folded},
	{"--format pprof -o heap.pb.gz", want_pprof},
	{"-T 5 --format pprof -o heap.pb.gz", want_pprof_top},
	{"--push http://pyroscope:4040 --push-app shop", want_push},
	{"-i 0.5", want_half_second},
	{"--interval=.5", want_half_second},
	{"-i 86400", want_day},
	{"-n 3", want_count},
	{"--count 3", want_count},
	{"-T 10000", want_top},
	{"--sort allocs", want_allocs},
	{"--sort trend --trend-intervals 3 --old-age 2", want_trend},
	{"--trend-intervals 16 --old-age 0.5", want_trend_max},
	{"--min-size 64K --max-size 2G", want_sizes},
	{"--min-size 64k --max-size 2048M", want_sizes},
	{"--min-size 1K --max-size 1024", want_equal_sizes},
	{"--min-size 0x100", want_hex_size},
	{"--sample-bytes 512K", want_sample_512k},
	{"--sample-bytes=524288", want_sample_512k},
	{"--sample-bytes 1G", want_sample_max},
	{"--sample-bytes 1 --min-size 64", want_sample_one},
	{"-vvv", want_verbose3},
	{"-v -v --verbose", want_verbose3},
	{"--probe-mode noop --placement entry", want_diag},
	{"--probe-mode=noop --placement=entry", want_diag},
	{"--attach perf", want_perf},
	{"--attach=perf", want_perf},
	{"--max-live-blocks 4M", want_live},
	{"--max-live-blocks 1024", want_live_min},
	{"--max-depth 127", want_depth},
	{"--mode rss --fault-sample 8", want_rss},
	{"--unwind fp --max-depth=8", want_fp},
	{"--max-overhead 0", want_no_governor},
	{"--max-overhead=5", want_governor_5},
	{"--no-census", want_no_census},
	{"--census-budget 250", want_census_budget},
	{"--census-budget 1000", want_none}, /* the default */
	{"--max-overhead 20", want_none},    /* the default */
	{"-o -x", want_output},		     /* a value may start with '-' */
	{"--format text --probe-mode full --placement auto --attach auto --unwind cfi --max-depth "
	 "64",
	 want_none},
};

static void test_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(valid_cases); i++) {
		const struct valid_case *c = &valid_cases[i];
		struct config cfg, want;
		struct run r;

		print_message("valid: %s\n", c->args);
		parse(&r, c->args, &cfg);
		assert_string_equal(r.err, "");
		assert_int_equal(r.ret, 0);
		expect_defaults(&want);
		c->want(&want);
		assert_config_equal(&cfg, &want);
		run_free(&r);
	}
}

/* --group-by, and its default: one row per stack when several processes are
 * traced, per process for a single --pid. */
static void test_group_by(void **state)
{
	static const struct {
		const char *args;
		enum group_by want;
	} cases[] = {
		{"-p 4242", GROUP_PROCESS},
		{"-p 1,2", GROUP_STACK},
		{"-p 1 -p 2", GROUP_STACK},
		{"-p 1,1", GROUP_PROCESS},
		{"-p 4242 --children", GROUP_STACK},
		{"--comm gunicorn", GROUP_STACK},
		{"", GROUP_STACK},
		{"-p 4242 --group-by stack", GROUP_STACK},
		{"-p 1,2 --group-by process", GROUP_PROCESS},
		{"--group-by=process", GROUP_PROCESS},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct config cfg;
		struct run r;

		print_message("group-by: '%s'\n", cases[i].args);
		parse(&r, cases[i].args, &cfg);
		assert_string_equal(r.err, "");
		assert_int_equal(r.ret, 0);
		assert_int_equal(cfg.group_by, cases[i].want);
		run_free(&r);
	}
}

static const struct invalid_case {
	const char *args;
	const char *line; /* the first line on err, without "allocscope: " */
} invalid_cases[] = {
	{"--frob", "unknown option '--frob'"},
	{"--frob=1", "unknown option '--frob'"},
	{"-x", "unknown option '-x'"},
	{"-vx", "unknown option '-x'"},
	{"--m 1", "option '--m' is ambiguous: --min-size, --max-size, --mode, --max-live-blocks, "
		  "--max-depth, --max-overhead"},
	{"--max-overhead 101", "invalid --max-overhead '101': expected a number from 0 to 100"},
	{"--census-budget 0", "invalid --census-budget '0': expected a number from 1 to 60000"},
	{"--census-budget 1s", "invalid --census-budget '1s': expected a number from 1 to 60000"},
	{"--max-overhead -1", "invalid --max-overhead '-1': expected a number from 0 to 100"},
	{"--max-overhead 5%", "invalid --max-overhead '5%': expected a number from 0 to 100"},
	{"--mode pages", "invalid --mode 'pages': expected heap or rss"},
	{"--mode rss --min-size 64",
	 "--min-size and --max-size filter allocations, which --mode rss does not see"},
	{"--fault-sample 2M", "invalid --fault-sample '2M': expected a number from 0 to 1048576"},
	{"--max-depth 0", "invalid --max-depth '0': expected a number from 1 to 127"},
	{"--max-depth 128", "invalid --max-depth '128': expected a number from 1 to 127"},
	{"--unwind dwarf", "invalid --unwind 'dwarf': expected cfi or fp"},
	{"--group-by pid", "invalid --group-by 'pid': expected stack or process"},
	{"--pid", "option '--pid' needs a value (PID[,PID...])"},
	{"-p", "option '-p' needs a value (PID[,PID...])"},
	{"-v -i", "option '-i' needs a value (SECS)"},
	{"--verbose=2", "option '--verbose' takes no value"},
	{"-p 1 foo", "invalid INTERVAL 'foo': expected seconds > 0; a command to run goes after -c "
		     "or '--'"},
	{"./app", "invalid INTERVAL './app': expected seconds > 0; a command to run goes after -c "
		  "or '--'"},
	{"0", "invalid INTERVAL '0': expected seconds > 0 and <= 86400; a command to run goes "
	      "after -c or '--'"},
	{"5 x",
	 "invalid COUNT 'x': expected a number >= 1; a command to run goes after -c or '--'"},
	{"5 0",
	 "invalid COUNT '0': expected a number >= 1; a command to run goes after -c or '--'"},
	{"5 3 1", "unexpected argument '1': after the options come at most INTERVAL and COUNT; a "
		  "command to run goes after -c or '--'"},
	{"-i 5 -p 1 10", "the interval is given twice: with -i and as '10'"},
	{"-p 1 10 -i 5", "the interval is given twice: with -i and as '10'"},
	{"-n 2 -p 1 5 3", "the count is given twice: with -n and as '3'"},
	{"--", "'--' must be followed by a command to run"},
	{"-c ls -- ls", "the command is given twice: with -c and after '--'"},
	{"-c ls -c ls", "-c can be given only once"},
	{"-p 1 -c ls",
	 "-c runs a command and traces it: it cannot be combined with --pid or --comm"},
	{"--comm x -- ls", "-c runs a command and traces it: it cannot be combined with --pid or "
			   "--comm"},
	{"--com x", "option '--com' is ambiguous: --comm, --command"},
	{"-c A=1", "the command names no program after its variable assignments (NAME=value)"},
	{"-- A=1 B=", "the command names no program after its variable assignments (NAME=value)"},
	{"-p abc", "invalid --pid 'abc': expected a process ID from 1 to 4194304"},
	{"-p 0", "invalid --pid '0': expected a process ID from 1 to 4194304"},
	{"-p -1", "invalid --pid '-1': expected a process ID from 1 to 4194304"},
	{"-p 4194305", "invalid --pid '4194305': expected a process ID from 1 to 4194304"},
	{"-p 1,,2", "invalid --pid '': expected a process ID from 1 to 4194304"},
	{"-p 1,", "invalid --pid '': expected a process ID from 1 to 4194304"},
	{"-p 12x", "invalid --pid '12x': expected a process ID from 1 to 4194304"},
	{"-p 99999999999999999999999",
	 "invalid --pid '99999999999999999999999': expected a process ID from 1 to 4194304"},
	{"--pid=", "invalid --pid '': expected a process ID from 1 to 4194304"},
	{"--comm 1234567890123456",
	 "--comm '1234567890123456' is longer than 15 characters: the kernel truncates process "
	 "names (/proc/PID/comm) to 15, so give the first 15"},
	{"--comm=", "--comm needs a process name"},
	{"--comm a --comm b", "--comm can be given only once"},
	{"-p 1 --comm x", "--pid and --comm cannot be combined"},
	{"--comm x -p 1", "--pid and --comm cannot be combined"},
	{"--cgroup / -p 1", "--cgroup and --container choose the targets by themselves: neither "
			    "combines with --pid, --comm or the other"},
	{"--container abcd --comm x", "--cgroup and --container choose the targets by themselves: "
				      "neither combines with --pid, --comm or the other"},
	{"--cgroup / --container abcd",
	 "--cgroup and --container choose the targets by "
	 "themselves: neither combines with --pid, --comm or the other"},
	{"--cgroup / --children", "--cgroup and --container follow the forks of their processes "
				  "already; --children is for --pid and --comm"},
	{"--cgroup=", "--cgroup needs a cgroup path"},
	{"--cgroup /a --cgroup /b", "--cgroup can be given only once"},
	{"-c true --cgroup /", "-c runs a command and traces it: it cannot be combined with "
			       "--cgroup or --container"},
	{"--container abc",
	 "invalid --container 'abc': expected the start of a container id, 4 to 64 hex digits"},
	{"--container abcg",
	 "invalid --container 'abcg': expected the start of a container id, 4 to 64 hex digits"},
	{"--container "
	 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
	 "invalid --container '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0': "
	 "expected the start of a container id, 4 to 64 hex digits"},
	{"--container abcd --container abcd", "--container can be given only once"},
	{"--python-objects", "--python-objects probes the interpreter of --pid or --comm targets; "
			     "give one"},
	{"-p 1 --python-objects --no-python",
	 "--python-objects charges objects to Python lines, which --no-python turns off"},
	{"--comm x --python-objects --mode rss",
	 "--python-objects adds allocator probes, which --mode rss does not use"},
	{"-i abc", "invalid --interval 'abc': expected seconds > 0"},
	{"-i 0", "invalid --interval '0': expected seconds > 0 and <= 86400"},
	{"-i 0.0", "invalid --interval '0.0': expected seconds > 0 and <= 86400"},
	{"-i -1", "invalid --interval '-1': expected seconds > 0"},
	{"-i 86400.5", "invalid --interval '86400.5': expected seconds > 0 and <= 86400"},
	{"-i inf", "invalid --interval 'inf': expected seconds > 0"},
	{"-i nan", "invalid --interval 'nan': expected seconds > 0"},
	{"-i 1e3", "invalid --interval '1e3': expected seconds > 0"},
	{"-i 5s", "invalid --interval '5s': expected seconds > 0"},
	{"-i .", "invalid --interval '.': expected seconds > 0"},
	{"--interval=", "invalid --interval '': expected seconds > 0"},
	{"-d 0", "invalid --duration '0': expected seconds > 0 and <= 31536000"},
	{"-d x", "invalid --duration 'x': expected seconds > 0"},
	{"-n 0", "invalid --count '0': expected a number >= 1"},
	{"-n -1", "invalid --count '-1': expected a number >= 1"},
	{"-n 1K", "invalid --count '1K': expected a number >= 1"},
	{"-T 0", "invalid --top '0': expected a number from 1 to 10000"},
	{"-T 10001", "invalid --top '10001': expected a number from 1 to 10000"},
	{"-s size", "invalid --sort 'size': expected growth, live, allocs or trend"},
	{"--trend-intervals 0", "invalid --trend-intervals '0': expected a number from 1 to 16"},
	{"--trend-intervals 17", "invalid --trend-intervals '17': expected a number from 1 to 16"},
	{"--old-age 0", "invalid --old-age '0': expected seconds > 0 and <= 2592000"},
	{"--old-age 1m", "invalid --old-age '1m': expected seconds > 0"},
	{"--format xml", "invalid --format 'xml': expected text, json, folded or pprof"},
	{"--format pprof", "--format pprof writes a file: give it with -o FILE"},
	{"--push pyroscope:4040",
	 "invalid --push 'pyroscope:4040': expected an http:// or https:// URL"},
	{"--push-app a{b}", "invalid --push-app 'a{b}': expected a name without spaces, braces, "
			    "'=' or ','"},
	{"--min-size 1T", "invalid --min-size '1T': expected bytes, e.g. 512, 64K or 1M"},
	{"--min-size 1KB", "invalid --min-size '1KB': expected bytes, e.g. 512, 64K or 1M"},
	{"--max-size -5", "invalid --max-size '-5': expected bytes, e.g. 512, 64K or 1M"},
	{"--max-size 99999999999G",
	 "invalid --max-size '99999999999G': expected bytes, e.g. 512, 64K or 1M"},
	{"--min-size 2K --max-size 1K",
	 "--min-size (2048 bytes) is larger than --max-size (1024 bytes)"},
	{"--max-size 0 --min-size 1", "--min-size (1 bytes) is larger than --max-size (0 bytes)"},
	{"--sample-bytes 0",
	 "invalid --sample-bytes '0': expected bytes from 1 to 1G between samples, e.g. 512K"},
	{"--sample-bytes 2G",
	 "invalid --sample-bytes '2G': expected bytes from 1 to 1G between samples, e.g. 512K"},
	{"--sample-bytes 1073741825",
	 "invalid --sample-bytes '1073741825': expected bytes from 1 to 1G between samples, e.g. "
	 "512K"},
	{"--sample-bytes 512KB",
	 "invalid --sample-bytes '512KB': expected bytes from 1 to 1G between samples, e.g. 512K"},
	{"--sample-bytes -1",
	 "invalid --sample-bytes '-1': expected bytes from 1 to 1G between samples, e.g. 512K"},
	{"--sample-bytes 64K --probe-mode noop",
	 "--sample-bytes samples what --probe-mode full accounts; --probe-mode noop accounts "
	 "nothing"},
	{"--max-live-blocks 1023",
	 "invalid --max-live-blocks '1023': expected a number from 1024 to 67108864"},
	{"--max-live-blocks 65M",
	 "invalid --max-live-blocks '65M': expected a number from 1024 to 67108864"},
	{"--probe-mode fast", "invalid --probe-mode 'fast': expected full, noop or noop-entry"},
	{"--placement exit", "invalid --placement 'exit': expected auto or entry"},
	{"--attach kprobe", "invalid --attach 'kprobe': expected auto or perf"},
	{"-o", "option '-o' needs a value (FILE)"},
	{"--output=", "--output needs a file name"},
};

static void test_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(invalid_cases); i++) {
		const struct invalid_case *c = &invalid_cases[i];
		char want[512];
		struct config cfg;
		struct run r;

		print_message("invalid: %s\n", c->args);
		parse(&r, c->args, &cfg);
		snprintf(want, sizeof(want), "allocscope: %s\n" TRY_HELP, c->line);
		assert_string_equal(r.err, want);
		assert_string_equal(r.out, "");
		assert_int_equal(r.ret, EXIT_USAGE);
		run_free(&r);
	}
}

static void test_pid_limit(void **state)
{
	static char args[MAX_PIDS * 8 + 16];
	struct config cfg;
	struct run r;
	size_t n;

	(void)state;
	/* parse() splits at spaces only, so one long comma list fills the table. */
	n = snprintf(args, sizeof(args), "-p ");
	for (int pid = 1; pid <= MAX_PIDS; pid++)
		n += snprintf(args + n, sizeof(args) - n, "%d,", pid);
	n += snprintf(args + n, sizeof(args) - n, "1,2,3"); /* duplicates don't count */
	assert_true(n < sizeof(args) && n < sizeof(r.line));
	parse(&r, args, &cfg);
	assert_string_equal(r.err, "");
	assert_int_equal(r.ret, 0);
	assert_int_equal(cfg.npids, MAX_PIDS);
	assert_int_equal(cfg.pids[0], 1);
	assert_int_equal(cfg.pids[MAX_PIDS - 1], MAX_PIDS);
	run_free(&r);

	args[n - 6] = '\0'; /* drop ",1,2,3" */
	strcat(args, ",99999");
	parse(&r, args, &cfg);
	assert_string_equal(r.err,
			    "allocscope: too many processes for --pid (at most 1024)\n" TRY_HELP);
	assert_int_equal(r.ret, EXIT_USAGE);
	run_free(&r);
}

static void test_help(void **state)
{
	static const char *const longs[] = {
		"--pid",	  "--comm",
		"--interval",	  "--count",
		"--duration",	  "--top",
		"--sort",	  "--min-size",
		"--max-size",	  "--format",
		"--output",	  "--verbose",
		"--help",	  "--max-live-blocks",
		"--probe-mode",	  "--placement",
		"--usage",	  "--version",
		"--attach",	  "--max-depth",
		"--unwind",	  "--max-overhead",
		"--sample-bytes", "--command",
		"--no-census",	  "--census-budget",
	};
	static const char *const sections[] = {
		"USAGE: allocscope [OPTIONS] [INTERVAL [COUNT]]",
		"  127 the command (-c) was not found",
		"Targets (default: every process on the host):",
		"Reports:",
		"Diagnostics:",
		"EXAMPLES:",
		"sudo allocscope --pid 4242",
		"sudo allocscope --comm gunicorn -i 5 -s live",
		"sudo allocscope -p 4242 --format json -o growth.jsonl -d 60",
		"sudo allocscope -p 4242 --format pprof -o heap.pb.gz -i 30",
		"EXIT STATUS:",
		"  64  bad usage",
	};
	struct config cfg;
	struct run r;
	const char *line;

	(void)state;
	parse(&r, "--help", &cfg);
	assert_int_equal(r.ret, OPTS_EXIT_NOW);
	assert_string_equal(r.err, "");
	for (size_t i = 0; i < ARRAY_SIZE(longs); i++) {
		if (!strstr(r.out, longs[i]))
			fail_msg("--help lacks %s", longs[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(sections); i++) {
		if (!strstr(r.out, sections[i]))
			fail_msg("--help lacks '%s'", sections[i]);
	}
	/* Words argp wraps: -c is not --comm's short form any more, and says so. */
	{
		char *flat = strdup(r.out), *w = flat;

		assert_non_null(flat);
		for (const char *c = r.out; *c; c++) {
			if ((*c == ' ' || *c == '\n') && w > flat && w[-1] == ' ')
				continue;
			*w++ = *c == '\n' ? ' ' : *c;
		}
		*w = '\0';
		assert_non_null(strstr(flat, "-c runs a command; to select by name use --comm"));
		free(flat);
	}
	/* One summary line first, then the rest within 80 columns. */
	assert_true(!strncmp(r.out, "Report heap growth per call site", 32));
	assert_true(strstr(r.out, "\n\nUSAGE: allocscope [OPTIONS] [INTERVAL [COUNT]]\n") ==
		    strchr(r.out, '\n'));
	for (line = r.out; *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		if (len > 80)
			fail_msg("--help line longer than 80 columns: %.*s", (int)len, line);
		line += len + (nl != NULL);
	}
	run_free(&r);

	/* --help stops parsing, like getopt-based tools that exit there. */
	parse(&r, "-h --frob", &cfg);
	assert_int_equal(r.ret, OPTS_EXIT_NOW);
	assert_string_equal(r.err, "");
	assert_non_null(strstr(r.out, "EXAMPLES:"));
	run_free(&r);

	parse(&r, "--version", &cfg);
	assert_int_equal(r.ret, OPTS_EXIT_NOW);
	assert_string_equal(r.out, "allocscope 0.1.0\n");
	assert_string_equal(r.err, "");
	run_free(&r);

	parse(&r, "-p 1 -V", &cfg);
	assert_int_equal(r.ret, OPTS_EXIT_NOW);
	assert_string_equal(r.out, "allocscope 0.1.0\n");
	run_free(&r);

	parse(&r, "--usage", &cfg);
	assert_int_equal(r.ret, OPTS_EXIT_NOW);
	assert_non_null(strstr(r.out, "Usage: allocscope"));
	assert_non_null(strstr(r.out, "[--max-live-blocks=N]"));
	assert_string_equal(r.err, "");
	run_free(&r);
}

static const struct u64_case {
	const char *s;
	__u64 lo, hi;
	bool suffix;
	int ret;
	__u64 v;
} u64_cases[] = {
	{"0", 0, UINT64_MAX, false, 0, 0},
	{"42", 0, UINT64_MAX, false, 0, 42},
	{"0x2a", 0, UINT64_MAX, false, 0, 42},
	{"0X2A", 0, UINT64_MAX, false, 0, 42},
	{"010", 0, UINT64_MAX, false, 0, 10}, /* decimal, not octal */
	{"18446744073709551615", 0, UINT64_MAX, false, 0, UINT64_MAX},
	{"18446744073709551616", 0, UINT64_MAX, false, -ERANGE, 0},
	{"1K", 0, UINT64_MAX, true, 0, 1024},
	{"3m", 0, UINT64_MAX, true, 0, 3 << 20},
	{"2G", 0, UINT64_MAX, true, 0, 2ULL << 30},
	{"0x10K", 0, UINT64_MAX, true, 0, 16 << 10},
	{"17179869183G", 0, UINT64_MAX, true, 0, 17179869183ULL << 30},
	{"17179869184G", 0, UINT64_MAX, true, -ERANGE, 0},
	{"1K", 0, UINT64_MAX, false, -EINVAL, 0},
	{"1KB", 0, UINT64_MAX, true, -EINVAL, 0},
	{"1T", 0, UINT64_MAX, true, -EINVAL, 0},
	{"", 0, UINT64_MAX, true, -EINVAL, 0},
	{"K", 0, UINT64_MAX, true, -EINVAL, 0},
	{"0x", 0, UINT64_MAX, false, -EINVAL, 0},
	{"-1", 0, UINT64_MAX, false, -EINVAL, 0},
	{"+1", 0, UINT64_MAX, false, -EINVAL, 0},
	{" 1", 0, UINT64_MAX, false, -EINVAL, 0},
	{"1 ", 0, UINT64_MAX, false, -EINVAL, 0},
	{"12abc", 0, UINT64_MAX, false, -EINVAL, 0},
	{"5", 1, 4, false, -ERANGE, 0},
	{"0", 1, 4, false, -ERANGE, 0},
	{"4", 1, 4, false, 0, 4},
	{"1K", 1, 1023, true, -ERANGE, 0},
};

static void test_parse_u64(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(u64_cases); i++) {
		const struct u64_case *c = &u64_cases[i];
		__u64 v = 12345;
		int ret = opts__parse_u64(c->s, c->lo, c->hi, c->suffix, &v);

		if (ret != c->ret)
			fail_msg("'%s': returned %d, expected %d", c->s, ret, c->ret);
		assert_int_equal(v, c->ret ? 12345 : c->v);
	}
	assert_int_equal(opts__parse_u64(NULL, 0, 1, false, &(__u64){0}), -EINVAL);
}

/* Runs opts__parse on exact words (parse() splits at spaces). */
static void parse_argv(struct run *r, const char *const *words, struct config *cfg)
{
	size_t out_len, err_len;
	FILE *out, *err;
	int argc = 0;

	r->argv[argc++] = "allocscope";
	for (; *words; words++) {
		assert_true(argc < MAX_ARGS);
		r->argv[argc++] = (char *)*words;
	}
	r->argv[argc] = NULL;
	out = open_memstream(&r->out, &out_len);
	err = open_memstream(&r->err, &err_len);
	assert_non_null(out);
	assert_non_null(err);
	r->ret = opts__parse(argc, r->argv, cfg, out, err);
	fclose(out);
	fclose(err);
}

static void assert_words(char **got, const char *const *want)
{
	size_t i;

	assert_non_null(got);
	for (i = 0; want[i]; i++) {
		assert_non_null(got[i]);
		assert_string_equal(got[i], want[i]);
	}
	assert_null(got[i]);
}

/* -c CMD and "-- PROGRAM ARGS": the words execvp gets, and what a command
 * implies (its descendants followed, one row per stack). */
static void test_command(void **state)
{
	static const struct {
		const char *argv[8];
		const char *words[8];
		double interval_s;
		__u64 count;
	} cases[] = {
		{{"-c", "./app --port 80", NULL}, {"./app", "--port", "80", NULL}, 10, 0},
		{{"--command=./app", "2", "5", NULL}, {"./app", NULL}, 2, 5},
		{{"-i", "1", "--", "./app", "-p", "1", "--", NULL},
		 {"./app", "-p", "1", "--", NULL},
		 1,
		 0},
		{{"3", "--", "5", NULL}, {"5", NULL}, 3, 0},
		{{"-c", "A=1 _B2='x y' ./app C=3", NULL},
		 {"A=1", "_B2=x y", "./app", "C=3", NULL},
		 10,
		 0},
		{{"--", "A=1", "=x", NULL}, {"A=1", "=x", NULL}, 10, 0},
		{{"-c", "python3 -c 'import x; x.run()'", NULL},
		 {"python3", "-c", "import x; x.run()", NULL},
		 10,
		 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct config cfg;
		struct run r;

		print_message("command: case %zu\n", i);
		parse_argv(&r, cases[i].argv, &cfg);
		assert_string_equal(r.err, "");
		assert_int_equal(r.ret, 0);
		assert_words(cfg.command, cases[i].words);
		assert_true(cfg.interval_s == cases[i].interval_s);
		assert_int_equal(cfg.count, cases[i].count);
		assert_true(cfg.children);
		assert_int_equal(cfg.group_by, GROUP_STACK);
		assert_int_equal(cfg.npids, 0);
		opts__free(&cfg);
		run_free(&r);
	}
}

/* How -c splits CMD, and what it refuses rather than pass on unexpanded. */
static void test_command_words(void **state)
{
	static const struct {
		const char *cmd;
		const char *words[6]; /* {NULL}: refused with err */
		const char *err;
	} cases[] = {
		{"  a\tb \n c  ", {"a", "b", "c", NULL}, NULL},
		{"a 'b c' \"d e\"", {"a", "b c", "d e", NULL}, NULL},
		{"a 'x\\y' \"x\\\"y\\$\\\\z\\n\"", {"a", "x\\y", "x\"y$\\z\\n", NULL}, NULL},
		{"a\\ b c\\|d", {"a b", "c|d", NULL}, NULL},
		{"a '' \"\"", {"a", "", "", NULL}, NULL},
		{"a'b'\"c\"d", {"abcd", NULL}, NULL},
		{"a '$HOME|*' b#c x~", {"a", "$HOME|*", "b#c", "x~", NULL}, NULL},
		{"", {NULL}, "invalid -c '': it names no program"},
		{"   ", {NULL}, "invalid -c '   ': it names no program"},
		{"a 'b", {NULL}, "invalid -c 'a 'b': unterminated ' at offset 2"},
		{"a \"b", {NULL}, "invalid -c 'a \"b': unterminated \" at offset 2"},
		{"a \\", {NULL}, "invalid -c 'a \\': a backslash ends it"},
		{"a > out",
		 {NULL},
		 "invalid -c 'a > out': '>' means something to a shell, and CMD runs without one: "
		 "quote it, or give sh -c '...' as CMD"},
		{"a $HOME",
		 {NULL},
		 "invalid -c 'a $HOME': '$' means something to a shell, and CMD runs without one: "
		 "quote it, or give sh -c '...' as CMD"},
		{"ls *.c",
		 {NULL},
		 "invalid -c 'ls *.c': '*' means something to a shell, and CMD runs without one: "
		 "quote it, or give sh -c '...' as CMD"},
		{"a ~/x",
		 {NULL},
		 "invalid -c 'a ~/x': '~' means something to a shell, and CMD runs without one: "
		 "quote it, or give sh -c '...' as CMD"},
		{"a #x",
		 {NULL},
		 "invalid -c 'a #x': '#' means something to a shell, and CMD runs without one: "
		 "quote it, or give sh -c '...' as CMD"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *argv[] = {"-c", cases[i].cmd, NULL};
		struct config cfg;
		struct run r;

		print_message("-c '%s'\n", cases[i].cmd);
		parse_argv(&r, argv, &cfg);
		if (cases[i].err) {
			char want[512];

			snprintf(want, sizeof(want), "allocscope: %s\n" TRY_HELP, cases[i].err);
			assert_string_equal(r.err, want);
			assert_int_equal(r.ret, EXIT_USAGE);
		} else {
			assert_string_equal(r.err, "");
			assert_int_equal(r.ret, 0);
			assert_words(cfg.command, cases[i].words);
		}
		opts__free(&cfg);
		run_free(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),      cmocka_unit_test(test_valid),
		cmocka_unit_test(test_group_by),      cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_pid_limit),     cmocka_unit_test(test_help),
		cmocka_unit_test(test_parse_u64),     cmocka_unit_test(test_command),
		cmocka_unit_test(test_command_words),
	};

	return cmocka_run_group_tests_name("opts", tests, NULL, NULL);
}
