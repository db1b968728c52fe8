// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per-target tracing cost: probe runs from the BPF hits map priced at the
 * measured trap cost plus each program's mean run time, over the target's
 * own CPU time. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "array.h"
#include "cost.h"
#include "targets.h"

int cost__parse_stat(const char *buf, unsigned long long *cpu_ticks,
		     unsigned long long *start_ticks)
{
	unsigned long long utime, stime, start;
	/* The comm ends at the last ')': it may hold ") " itself. */
	const char *p = strrchr(buf, ')');

	/* Fields from 3 (state): utime and stime are 14 and 15, starttime 22. */
	if (!p || sscanf(p + 1,
			 " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
			 "%*d %*d %llu",
			 &utime, &stime, &start) != 3)
		return -EINVAL;
	*cpu_ticks = utime + stime;
	*start_ticks = start;
	return 0;
}

double cost__probe_s(const __u64 dhits[HIT_COUNT], const struct trap_cost *trap,
		     const double run_ns[HIT_COUNT])
{
	const double trap_ns[HIT_COUNT] = {
		[HIT_ENTER] = trap->enter_ns,
		[HIT_RETURN] = trap->return_ns,
		[HIT_FREE] = trap->enter_ns,
	};
	double ns = 0;

	for (int k = 0; k < HIT_COUNT; k++)
		ns += dhits[k] * (trap_ns[k] + run_ns[k]);
	return ns / 1e9;
}

int cost__init(struct cost *c, int hits_fd, int cpu_hits_fd, const int prog_fds[HIT_COUNT],
	       const struct trap_cost *trap)
{
	memset(c, 0, sizeof(*c));
	c->hits_fd = hits_fd;
	c->cpu_hits_fd = cpu_hits_fd;
	memcpy(c->prog_fds, prog_fds, sizeof(c->prog_fds));
	c->trap = *trap;
	c->ticks_per_s = sysconf(_SC_CLK_TCK);
	c->ncpus = libbpf_num_possible_cpus();
	if (c->ncpus <= 0 || c->ticks_per_s <= 0)
		return -EINVAL;
	return 0;
}

void cost__free(struct cost *c)
{
	free(c->procs);
	free(c->out);
	memset(c, 0, sizeof(*c));
}

static int read_stat(__u32 pid, unsigned long long *cpu, unsigned long long *start)
{
	char path[32], buf[1024];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	return cost__parse_stat(buf, cpu, start);
}

/* Each program's mean run time over the interval (0 without stats). */
static void run_times(struct cost *c, double run_ns[HIT_COUNT])
{
	for (int k = 0; k < HIT_COUNT; k++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		run_ns[k] = 0;
		if (c->prog_fds[k] < 0 || bpf_obj_get_info_by_fd(c->prog_fds[k], &info, &len))
			continue;
		if (info.run_cnt > c->run_cnt[k])
			run_ns[k] = (double)(info.run_time_ns - c->run_ns[k]) /
				    (info.run_cnt - c->run_cnt[k]);
		c->run_ns[k] = info.run_time_ns;
		c->run_cnt[k] = info.run_cnt;
	}
}

static struct cost_proc *find_proc(struct cost *c, __u32 pid)
{
	struct cost_proc *p;

	for (size_t i = 0; i < c->nprocs; i++)
		if (c->procs[i].pid == pid)
			return &c->procs[i];
	p = array_grow(c->procs, &c->cap, c->nprocs + 1, sizeof(*p));
	if (!p)
		return NULL;
	c->procs = p;
	p = &c->procs[c->nprocs++];
	*p = (struct cost_proc){.pid = pid, .fresh = true};
	return p;
}

struct sample_ctx {
	struct cost *c;
	bool listed;
	double interval_s;
	double run_ns[HIT_COUNT];
	struct probe_hits *percpu; /* scratch, one per CPU */
	struct cpu_hits *pending;  /* scratch, one per CPU */
};

/* pid's runs, summed over the CPUs, with those still pending there (read
 * after the hits map: runs flushed between the two reads are missed by this
 * report, and counted by a later one). */
static void read_hits(struct cost *c, __u32 pid, struct probe_hits *sum, struct sample_ctx *s)
{
	__u32 zero = 0;

	memset(sum, 0, sizeof(*sum));
	if (!bpf_map_lookup_elem(c->hits_fd, &pid, s->percpu))
		for (int cpu = 0; cpu < c->ncpus; cpu++)
			for (int k = 0; k < HIT_COUNT; k++)
				sum->n[k] += s->percpu[cpu].n[k];
	if (c->cpu_hits_fd < 0 || bpf_map_lookup_elem(c->cpu_hits_fd, &zero, s->pending))
		return;
	for (int cpu = 0; cpu < c->ncpus; cpu++)
		if (s->pending[cpu].tgid == pid)
			for (int k = 0; k < HIT_COUNT; k++)
				sum->n[k] += s->pending[cpu].n[k];
}

/* One process's interval: appended to c->out when listed (a target), else
 * (whole-system mode) when it ran a probe. A process seen for the first time
 * is measured from its start if it started since the last sample, else only
 * from now on (no share yet). */
static int sample_proc(__u32 pid, void *ctx)
{
	struct sample_ctx *s = ctx;
	struct cost *c = s->c;
	unsigned long long cpu, start, cpu0 = 0;
	struct probe_hits h;
	struct cost_proc *p = find_proc(c, pid);
	struct report_cost *o;
	__u64 d[HIT_COUNT], total = 0;
	bool fresh, known;

	if (!p || read_stat(pid, &cpu, &start))
		return 0;
	read_hits(c, pid, &h, s);
	fresh = p->fresh || p->start_ticks != start;
	known = !fresh || (c->sampled && start >= c->boot_ticks);
	if (!fresh)
		cpu0 = p->cpu_ticks;
	/* A count read low (a flush between the reads) counts nothing now and
	 * keeps the higher one as the base. */
	for (int k = 0; k < HIT_COUNT; k++) {
		d[k] = fresh ? h.n[k] : h.n[k] > p->hits[k] ? h.n[k] - p->hits[k] : 0;
		if (!fresh && h.n[k] < p->hits[k])
			h.n[k] = p->hits[k];
		total += d[k];
	}
	o = (s->listed || total) ? array_grow(c->out, &c->out_cap, c->nout + 1, sizeof(*o)) : NULL;
	if (o)
		c->out = o; /* grown: the old block may be gone */
	if (o && (known || s->listed)) {
		o = &c->out[c->nout++];
		*o = (struct report_cost){.pid = pid, .traps_per_s = total / s->interval_s};
		o->probe_s = cost__probe_s(d, &c->trap, s->run_ns);
		o->cpu_s = known && cpu >= cpu0 ? (cpu - cpu0) / c->ticks_per_s : 0;
		o->share = o->cpu_s > 0 ? o->probe_s / o->cpu_s : NAN;
		if (o->share > 1)
			o->share = 1; /* the estimate overshot */
	}
	*p = (struct cost_proc){.pid = pid, .start_ticks = start, .cpu_ticks = cpu, .seen = true};
	memcpy(p->hits, h.n, sizeof(p->hits));
	return 0;
}

static int cmp_probe_s(const void *a, const void *b)
{
	const struct report_cost *x = a, *y = b;

	return (x->probe_s < y->probe_s) - (x->probe_s > y->probe_s);
}

/* Forgets the processes not seen in this sample (exited, or no longer
 * targets), here and in the hits map, which does not age entries out. */
static void prune(struct cost *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nprocs; i++) {
		if (!c->procs[i].seen) {
			bpf_map_delete_elem(c->hits_fd, &c->procs[i].pid);
			continue;
		}
		c->procs[i].seen = false;
		c->procs[n++] = c->procs[i];
	}
	c->nprocs = n;
}

/* The entries of processes that came and went between two samples, and of
 * those gone whose last runs were flushed from a CPU after they went. */
static void sweep(struct cost *c)
{
	__u32 key, *prev = NULL, gone[256];
	size_t n = 0;

	while (n < sizeof(gone) / sizeof(gone[0]) &&
	       bpf_map_get_next_key(c->hits_fd, prev, &key) == 0) {
		if (!targets__exists(key))
			gone[n++] = key;
		prev = &key;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(c->hits_fd, &gone[i]);
}

static double self_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static unsigned long long boot_ticks(const struct cost *c)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9) * c->ticks_per_s;
}

int cost__sample(struct cost *c, double interval_s, const __u32 *pids, size_t npids,
		 struct report_header *hdr)
{
	struct sample_ctx s = {.c = c, .listed = pids != NULL, .interval_s = interval_s};
	double self = self_cpu_s();

	s.percpu = calloc(c->ncpus, sizeof(*s.percpu));
	s.pending = calloc(c->ncpus, sizeof(*s.pending));
	if (!s.percpu || !s.pending) {
		free(s.percpu);
		free(s.pending);
		return -ENOMEM;
	}
	if (s.interval_s <= 0)
		s.interval_s = 1e-3;
	c->nout = 0;
	run_times(c, s.run_ns);
	/* Whole-system mode: every process, so one that starts running
	 * probes has a CPU time to be measured against. */
	if (pids)
		for (size_t i = 0; i < npids; i++)
			sample_proc(pids[i], &s);
	else
		targets__for_each_pid(sample_proc, &s);
	free(s.percpu);
	free(s.pending);
	prune(c);
	sweep(c);
	c->sampled = true;
	c->boot_ticks = boot_ticks(c);
	qsort(c->out, c->nout, sizeof(*c->out), cmp_probe_s);
	hdr->cost = true;
	hdr->costs = c->out;
	hdr->ncosts = c->nout;
	hdr->cost_top = !pids;
	hdr->cost_traps_per_s = hdr->cost_probe_s = 0;
	for (size_t i = 0; i < c->nout; i++) {
		hdr->cost_traps_per_s += c->out[i].traps_per_s;
		hdr->cost_probe_s += c->out[i].probe_s;
	}
	hdr->self_cpu_share = (self - c->self_cpu_s) / s.interval_s;
	c->self_cpu_s = self;
	hdr->trap_enter_ns = c->trap.enter_ns;
	hdr->trap_return_ns = c->trap.return_ns;
	return 0;
}
