// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The tracing session and the only user of the BPF skeleton: load, attach to
 * targets as they appear, follow exits and execs, report every interval. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "allocscope.skel.h"
#include "array.h"
#include "binding.h"
#include "cgtarget.h"
#include "collect.h"
#include "cost.h"
#include "exitfree.h"
#include "governor.h"
#include "kernel_features.h"
#include "log.h"
#include "mapfile.h"
#include "procmaps.h"
#include "probes.h"
#include "proctree.h"
#include "pyalloc.h"
#include "pyattach.h"
#include "pyproc.h"
#include "sources.h"
#include "sampling.h"
#include "tracer.h"
#include "trapcost.h"
#include "unwind.h"
#include "path.h"

/* How often --comm, --cgroup and --container look for new processes (read
 * every /proc/PID/comm or /proc/PID/cgroup), and
 * whole-system mode for new allocator objects (reads every /proc/PID/maps). */
#define RESCAN_COMM_S	 1.0
#define RESCAN_OBJECTS_S 5.0

struct attached_object {
	struct file_id id;
	struct link_list links; /* whole-system mode: one set per object */
};

struct plan_entry {
	struct file_id id;
	struct file_id map_id; /* as the maps line that led to it shows it */
	int err;	       /* -ENOENT: not an allocator */
	struct probe_plan plan;
	struct exitfree exit; /* glibc: where thread exit flushes its cache */
};

struct tracer {
	const struct config *cfg;
	struct allocscope_bpf *skel;
	struct ring_buffer *rb;
	struct probe_progs progs;
	struct sources sources; /* heap probes, page faults, mappings */
	struct proc_table procs;
	struct collector coll;
	struct unwinder *unwinder; /* NULL with --unwind fp */
	struct plan_entry *plans;
	size_t nplans;
	struct attached_object *objs;
	size_t nobjs;
	struct output out;
	bool said_waiting;
	bool starting;	 /* attaching to the targets named on the command line */
	double counting; /* when the first probes went in: the first interval's start */
	char desc[128];
	struct report_target *traced; /* the header's list, refreshed per report */
	size_t ntraced, traced_cap;
	struct cost cost;
	int stats_fd; /* BPF_ENABLE_STATS: programs' run time, while held */
	__u32 *cost_pids;
	/* --cgroup, --container: the cgroup or container id, resolved */
	struct cgtarget cg;
	struct report_oom *ooms; /* OOM kills not reported yet: the next report is made at once */
	size_t nooms, ooms_cap;
};

static int verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && verbose < 2)
		return 0;
	if (level == LIBBPF_INFO && verbose < 1)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1U << (cap % 32));
}

/* Loading BPF and opening uprobes needs CAP_BPF + CAP_PERFMON (or the
 * older catch-all CAP_SYS_ADMIN); reading other users' maps needs root. */
static bool privileged(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return geteuid() == 0;
	return has_cap(data, CAP_SYS_ADMIN) ||
	       (has_cap(data, 39 /* CAP_BPF */) && has_cap(data, 38 /* CAP_PERFMON */));
}

/* Opens the file v maps in pid (see mapfile.h) and finds its plan. Plans
 * are per opened file (device, inode), made from that file and reused for
 * every process mapping it. *fd: the file, for the probes to go into the
 * very file planned; -1 with NULL when there is no plan. Failures to open or
 * read are not remembered: another process, or a later look, may succeed. */
static struct plan_entry *plan_for(struct tracer *t, __u32 pid, const struct vma *v, int *fd)
{
	struct plan_entry *p = NULL, *n;
	struct probe_plan plan;
	struct exitfree exit = {};
	char root[64];
	struct file_id id;
	int err;

	/* A file planned before, by the identity it was opened with, that is
	 * no allocator: nothing to attach, nothing to open (the maps line is
	 * the kernel's word for what is mapped). */
	*fd = -1;
	for (size_t i = 0; i < t->nplans; i++)
		if (t->plans[i].err && file_id__eq(t->plans[i].id, procmaps__file_id(v)))
			return &t->plans[i];
	*fd = mapfile__open(pid, v, &id);
	if (*fd < 0) {
		if (verbose)
			log_msg("pid %u: cannot open %s: %s (tried again later)\n", pid, v->path,
				mapfile__strerror(*fd));
		return NULL;
	}
	for (size_t i = 0; i < t->nplans; i++)
		if (file_id__eq(t->plans[i].id, id))
			return &t->plans[i];
	err = probes__plan_fd(*fd, t->cfg->placement, &plan);
	if (err && err != -ENOENT) {
		if (verbose)
			log_msg("pid %u: cannot read %s: %s (tried again later)\n", pid, v->path,
				mapfile__strerror(err));
		goto fail;
	}
	snprintf(root, sizeof(root), "/proc/%u/root", pid);
	if (!err)
		exitfree__find(*fd, root, v->path, &exit);
	n = realloc(t->plans, (t->nplans + 1) * sizeof(*n));
	if (!n)
		goto fail;
	t->plans = n;
	p = &t->plans[t->nplans++];
	*p = (struct plan_entry){
		.id = id, .map_id = procmaps__file_id(v), .err = err, .plan = plan, .exit = exit};
	for (size_t i = 0; !err && verbose && i < p->plan.nsites; i++) {
		const struct probe_site *s = &p->plan.sites[i];

		log_msg("%s %s: probe at +%u (%s): %s\n", v->path, probes__fns[s->fn].name,
			s->place.offset, s->place.insn, s->place.reason);
	}
	if (!err && verbose && exit.nr)
		log_msg("%s: untracked frees returning into its thread-exit tcache flush "
			"(%zu function%s) count as thread_exit_free\n",
			v->path, exit.nr, exit.nr == 1 ? "" : "s");
	return p;
fail:
	close(*fd);
	*fd = -1;
	return NULL;
}

/* allocscope's own executable defines malloc and free (its private
 * allocator, see the Makefile): probing it would trap allocscope's own
 * allocations, so it is never planned. Identified as mapped in our own
 * maps, the same (device, inode) every other process's maps show. */
static bool is_own_executable(const struct vma *v)
{
	static struct file_id self;
	static bool known;
	struct procmaps maps = {};
	const struct vma *own;

	if (!known && !procmaps__read_pid(getpid(), &maps)) {
		own = procmaps__find(&maps, (__u64)(unsigned long)is_own_executable);
		if (own)
			self = procmaps__file_id(own);
		known = true;
	}
	procmaps__free(&maps);
	return known && self.inode && file_id__eq(self, procmaps__file_id(v));
}

static bool is_code_file(const struct vma *v)
{
	return v->exec && v->path[0] == '/' && v->inode && !is_own_executable(v);
}

/* A file mapped executable more than once is planned and attached once. */
static bool seen_before(const struct procmaps *m, size_t i)
{
	const struct vma *v = &m->vmas[i];

	for (size_t j = 0; j < i; j++)
		if (is_code_file(&m->vmas[j]) &&
		    file_id__eq(procmaps__file_id(&m->vmas[j]), procmaps__file_id(v)))
			return true;
	return false;
}

/* A process running CPython gets Python frames in its stacks. One that runs
 * an interpreter we cannot follow keeps native stacks, and says why. */
static void follow_python(struct tracer *t, __u32 pid, const struct procmaps *maps)
{
	struct pyproc pp;
	char why[PATH_MAX + 128] = "";
	int err;

	/* A fork inherited its parent's interpreter (see TASK_EV_FORK). */
	if (!t->cfg->python || pysym__proc(t->coll.pysym, pid))
		return;
	err = pyproc__inspect(pid, maps, &pp, why, sizeof(why));
	if (err == -ENOENT)
		return;
	if (err) {
		log_msg("pid %u: %s; its stacks stay native\n", pid, why[0] ? why : strerror(-err));
		return;
	}
	err = pysym__add_pid(t->coll.pysym, pid, &pp);
	if (!err)
		err = bpf_map_update_elem(bpf_map__fd(t->skel->maps.py_procs), &pid, &pp.bpf,
					  BPF_ANY);
	if (err) {
		log_msg("pid %u: cannot follow CPython: %s\n", pid, strerror(errno));
		return;
	}
	log_msg("pid %u runs CPython %d.%d (%s): Python frames on\n", pid, pp.major, pp.minor,
		pp.path);
	if (t->coll.census && census__baseline(t->coll.census, pid, &pp) && verbose)
		log_msg("pid %u: no heap census: not a pymalloc heap allocscope can read\n", pid);
	if (verbose)
		log_msg("pid %u: eval loop %#llx-%#llx, thread key at %#llx, "
			"key slots at tp+%#x (%u), interpreters at %#llx\n",
			pid, (unsigned long long)pp.bpf.eval_start,
			(unsigned long long)pp.bpf.eval_end, (unsigned long long)pp.bpf.key_addr,
			pp.bpf.tsd_base, pp.bpf.tsd_keys, (unsigned long long)pp.bpf.interp_head);
}

/* Where pid's glibc flushes a thread's cache at its exit, from the plans
 * made so far, for processes not attached one by one (whole-system mode). */
static void note_exit_frees(struct tracer *t, __u32 pid, const struct procmaps *maps)
{
	struct exit_free_pcs pcs = {};
	size_t npcs = 0;

	/* Few plans have any (glibc's): those first, then pid's maps. */
	for (size_t j = 0; j < t->nplans; j++)
		if (!t->plans[j].err && t->plans[j].exit.nr)
			exitfree__pcs(&t->plans[j].exit, maps, t->plans[j].map_id, &pcs, &npcs);
	if (npcs)
		bpf_map_update_elem(bpf_map__fd(t->skel->maps.exit_frees), &pid, &pcs, BPF_ANY);
}

static void note_exit_frees_pid(struct tracer *t, __u32 pid)
{
	struct procmaps maps = {};

	if (!procmaps__read_pid(pid, &maps))
		note_exit_frees(t, pid, &maps);
	procmaps__free(&maps);
}

static void follow_python_pid(struct tracer *t, __u32 pid)
{
	struct procmaps maps = {};

	if (t->cfg->python && !procmaps__read_pid(pid, &maps))
		follow_python(t, pid, &maps);
	procmaps__free(&maps);
}

/* Whether pid maps an object that defines malloc and free yet. */
static bool maps_allocator(struct tracer *t, __u32 pid, const struct procmaps *maps)
{
	bool found = false;

	for (size_t i = 0; i < maps->nr && !found; i++) {
		const struct vma *v = &maps->vmas[i];
		struct plan_entry *p;
		int fd;

		if (!is_code_file(v) || seen_before(maps, i))
			continue;
		p = plan_for(t, pid, v, &fd);
		found = p && !p->err;
		if (fd >= 0)
			close(fd);
	}
	return found;
}

/* Reads pid's maps; after an exec (wait_s > 0) until ld.so has mapped an
 * allocator, for at most wait_s: the exec event comes before ld.so runs. */
static int read_image(struct tracer *t, __u32 pid, double wait_s, struct procmaps *maps)
{
	double until = now_s() + wait_s;
	int err;

	for (;;) {
		err = procmaps__read_pid(pid, maps);
		if (err || !maps->nr || wait_s <= 0 || now_s() >= until ||
		    maps_allocator(t, pid, maps))
			return err ? err : maps->nr ? 0 : -ENODATA;
		procmaps__free(maps);
		usleep(2000);
	}
}

/* Plans the file v maps in pid and attaches its probes for attach_pid (-1:
 * every process) through the very file planned; links go to links (on error
 * too, those attached so far). 0 with *count probes (0: v is no allocator),
 * or -errno. */
static int attach_vma(struct tracer *t, __u32 pid, const struct vma *v, pid_t attach_pid,
		      struct link_list *links, size_t *count)
{
	struct probe_plan plan;
	struct plan_entry *p;
	int err, fd;

	*count = 0;
	p = plan_for(t, pid, v, &fd);
	if (!p || p->err) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	plan = p->plan;
	probes__fd_path(&plan, fd);
	err = probes__attach(&t->progs, &plan, attach_pid, links);
	close(fd);
	if (!err)
		*count = probes__count(&plan);
	return err;
}

/* The allocator objects of maps, each with its plan and the file planned
 * (open); where glibc flushes a thread's cache at its exit into pcs. */
static struct bind_obj *allocator_objects(struct tracer *t, __u32 pid, const struct procmaps *maps,
					  size_t *n, struct exit_free_pcs *pcs, size_t *npcs)
{
	struct bind_obj *objs = NULL, *grown;
	size_t cap = 0;

	*n = 0;
	for (size_t i = 0; i < maps->nr; i++) {
		const struct vma *v = &maps->vmas[i];
		struct plan_entry *p;
		int fd;

		if (!is_code_file(v) || seen_before(maps, i))
			continue;
		p = plan_for(t, pid, v, &fd);
		grown = p && !p->err ? array_grow(objs, &cap, *n + 1, sizeof(*objs)) : NULL;
		if (!grown) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		objs = grown;
		objs[*n] = (struct bind_obj){.v = v, .plan = p->plan, .fd = fd};
		probes__fd_path(&objs[(*n)++].plan, fd);
		exitfree__pcs(&p->exit, maps, procmaps__file_id(v), pcs, npcs);
	}
	return objs;
}

/* Attaches the allocator functions of maps where pid's calls bind to them,
 * each through the file planned. */
static int attach_objects(struct tracer *t, __u32 pid, struct proc_entry *e,
			  const struct procmaps *maps, char *modules, size_t len, size_t *nprobes)
{
	struct exit_free_pcs pcs = {};
	struct bind_obj *objs;
	size_t n, npcs = 0;
	int status = EXIT_OK;

	objs = allocator_objects(t, pid, maps, &n, &pcs, &npcs);
	binding__resolve(pid, maps, objs, n, verbose);
	for (size_t i = 0; i < n; i++) {
		const struct vma *v = objs[i].v;
		int err = 0;

		if (status == EXIT_OK && objs[i].plan.nsites)
			err = probes__attach(&t->progs, &objs[i].plan, pid, &e->links);
		close(objs[i].fd);
		if (err) {
			log_msg("failed to attach to %s in pid %u: %s\n", v->path, pid,
				strerror(-err));
			status = err == -EPERM ? EXIT_NO_PRIVILEGE : EXIT_RUNTIME;
		}
		if (status || !objs[i].plan.nsites)
			continue;
		*nprobes += probes__count(&objs[i].plan);
		snprintf(modules + strlen(modules), len - strlen(modules), "%s%s",
			 modules[0] ? ", " : "", path_base(v->path));
	}
	if (npcs)
		bpf_map_update_elem(bpf_map__fd(t->skel->maps.exit_frees), &pid, &pcs, BPF_ANY);
	free(objs);
	return status;
}

/* --python-objects: the functions pid's CPython object allocator table
 * points to, probed like malloc's, in pid's links (the governor's demotion
 * and the exit take them with the rest). Refused, with the reason, when the
 * table holds anything but pymalloc's own functions. */
static void attach_py_objects(struct tracer *t, __u32 pid, struct proc_entry *e,
			      const struct procmaps *maps, char *modules, size_t len,
			      size_t *nprobes)
{
	const struct pyproc *pp = pysym__proc(t->coll.pysym, pid);
	const struct vma *v = NULL;
	struct link_list links = {};
	char why[PATH_MAX + 160] = "";
	struct probe_plan plan;
	struct file_id id;
	struct pyattach_counts inl = {};
	struct pyalloc pa;
	int fd = -1, err;

	if (!pp) {
		log_msg("pid %u (%s) runs no CPython allocscope follows: --python-objects adds "
			"nothing there\n",
			pid, e->comm);
		return;
	}
	for (size_t i = 0; i < maps->nr && !v; i++)
		if (maps->vmas[i].exec &&
		    file_id__eq(procmaps__file_id(&maps->vmas[i]), pp->module))
			v = &maps->vmas[i];
	fd = v ? mapfile__open(pid, v, &id) : -ENOENT;
	err = fd < 0 ? fd : pyalloc__find(pid, maps, v, fd, pp->minor, &pa, why, sizeof(why));
	if (!err && pa.promoted) {
		err = pyattach__inlined(&t->progs, t->cfg->placement, pid, v, fd, pp->minor, &pa,
					&links, &inl, why, sizeof(why));
	} else if (!err) {
		err = probes__plan_table(fd, pa.file_offs, t->cfg->placement, &plan);
		if (!err)
			err = probes__attach(&t->progs, &plan, pid, &links);
	}
	if (fd >= 0)
		close(fd);
	if (!err)
		err = probes__splice(&e->links, &links);
	if (err) {
		probes__detach(&links);
		log_msg("pid %u: --python-objects: %s%s\n", pid, why[0] ? why : strerror(-err),
			err == -EALREADY ? ""
					 : "; its small objects stay counted as the arenas they "
					   "live in");
		return;
	}
	if (pa.promoted) {
		/* What the probes cannot see is said, never left out. */
		log_msg("pid %u: --python-objects: %s inlines its object allocator into its "
			"callers (%zu places): probed at %zu copies taking blocks and %zu giving "
			"them back%s\n",
			pid, path_base(pp->path), pa.promoted, inl.takes, inl.frees,
			inl.missed ? "; some copies were not recognised, and the objects they "
				     "make or free are not seen"
				   : "");
		*nprobes += inl.probes;
		snprintf(modules + strlen(modules), len - strlen(modules),
			 "%s%s (objects, inlined)", modules[0] ? ", " : "", path_base(pp->path));
		return;
	}
	for (size_t i = 0; verbose && i < plan.nsites; i++) {
		const struct probe_site *s = &plan.sites[i];

		log_msg("%s %s (%#llx): probe at +%u (%s): %s\n", pp->path, probes__fns[s->fn].name,
			(unsigned long long)pa.fns[s->fn - ALLOC_FN_PYOBJ_MALLOC], s->place.offset,
			s->place.insn, s->place.reason);
	}
	*nprobes += probes__count(&plan);
	snprintf(modules + strlen(modules), len - strlen(modules), "%s%s (objects)",
		 modules[0] ? ", " : "", path_base(pp->path));
}

/* A --comm process with no allocator yet may be caught before ld.so mapped
 * its libc: it is looked at again (next rescan or exec) before giving up. */
#define ATTACH_LOOKS 5
/* How long an exec'd target's new image may take to map its libraries. */
#define LOADER_WAIT_S 0.25

/* Said once, at the first look; the later looks only with -v. */
static void no_allocator(struct tracer *t, struct proc_entry *e)
{
	bool comm = config__discovers(t->cfg);
	__u8 one = 1;

	if (!e->looks)
		log_msg("pid %u (%s) maps no object that defines malloc and free "
			"(a stripped static executable?)%s\n",
			e->pid, e->comm,
			comm ? "; looking again after its next exec or rescan" : "");
	e->looks++;
	if (comm && e->looks < ATTACH_LOOKS) {
		/* In procs, its exec is announced (TASK_EV_EXEC) and looked at
		 * at once. */
		bpf_map_update_elem(bpf_map__fd(t->skel->maps.procs), &e->pid, &one, BPF_ANY);
		if (verbose && e->looks > 1)
			log_msg("pid %u (%s): no allocator yet (look %u of %u)\n", e->pid, e->comm,
				e->looks, ATTACH_LOOKS);
		return;
	}
	if (comm && verbose)
		log_msg("pid %u (%s): no allocator after %u looks; not traced\n", e->pid, e->comm,
			e->looks);
	e->untraceable = true;
}

/* Why pid's mappings could not be had (err from read_image), said once;
 * returns the exit status that names it. */
static int no_image(__u32 pid, int err)
{
	char comm[AS_COMM_LEN] = "?";

	targets__read_comm(pid, comm);
	if (err == -EACCES || err == -EPERM) {
		log_msg("pid %u (%s): cannot read /proc/%u/maps: %s (a process this root may not "
			"inspect, e.g. outside its namespaces)\n",
			pid, comm, pid, strerror(-err));
		return EXIT_NO_PRIVILEGE;
	}
	if (err == -ENODATA) {
		log_msg("pid %u (%s) maps no memory: a kernel thread has no heap to trace\n", pid,
			comm);
		return EXIT_NO_ALLOCATOR;
	}
	log_msg("no process with pid %u\n", pid);
	return EXIT_NO_PROCESS;
}

/* Attaches to every allocator pid maps, waiting up to wait_s for ld.so.
 * Returns an exit status. */
static int attach_image(struct tracer *t, __u32 pid, double wait_s)
{
	struct procmaps maps = {};
	struct proc_entry *e;
	char modules[256] = "", where[32] = "";
	size_t nprobes = 0;
	__u8 one = 1;
	int err, status = EXIT_OK;

	err = read_image(t, pid, wait_s, &maps);
	if (err)
		return no_image(pid, err);
	e = targets__get(&t->procs, pid);
	if (!e) {
		status = EXIT_RUNTIME;
		goto cleanup;
	}
	/* Tables before probes. Targets named at start wait for theirs (no
	 * report is due yet), so their first stacks are whole; later ones
	 * never hold up a report. */
	unwinder__scan(t->unwinder, pid, t->starting);
	follow_python(t, pid, &maps);
	if (sources__active(&t->sources, SOURCE_HEAP)) {
		status = attach_objects(t, pid, e, &maps, modules, sizeof(modules), &nprobes);
		if (status)
			goto cleanup;
		if (t->cfg->python_objects && e->links.nr)
			attach_py_objects(t, pid, e, &maps, modules, sizeof(modules), &nprobes);
		if (!e->links.nr) {
			status = EXIT_NO_ALLOCATOR;
			goto cleanup;
		}
	}
	e->attached = true;
	bpf_map_update_elem(bpf_map__fd(t->skel->maps.procs), &pid, &one, BPF_ANY);
	bpf_map_update_elem(bpf_map__fd(t->skel->maps.targets), &pid, &one, BPF_ANY);
	if (sources__active(&t->sources, SOURCE_FAULTS))
		bpf_map_update_elem(bpf_map__fd(t->skel->maps.rss_targets), &pid, &one, BPF_ANY);

	collect__load_syms(&t->coll, pid);
	/* The container by its short id, as docker ps shows it. */
	if (e->ident.container[0])
		snprintf(where, sizeof(where), " in container %.*s", CGROUP_SHORT_LEN,
			 e->ident.container);
	if (sources__active(&t->sources, SOURCE_HEAP))
		log_msg("tracing pid %u (%s)%s: %zu probes in %s\n", pid, e->comm, where, nprobes,
			modules);
	else
		log_msg("tracing pid %u (%s)%s: page faults, no allocator probes\n", pid, e->comm,
			where);
cleanup:
	/* Kept, marked, so --comm rescans neither retry nor report it again. */
	if (status != EXIT_OK && e && !e->attached) {
		probes__detach(&e->links);
		unwinder__forget(t->unwinder, pid);
		if (status == EXIT_NO_ALLOCATOR)
			no_allocator(t, e);
		else
			e->untraceable = true;
	}
	procmaps__free(&maps);
	return status;
}

/* Attaches to every allocator pid maps. Returns an exit status. */
static int attach_pid(struct tracer *t, __u32 pid)
{
	return attach_image(t, pid, 0);
}

/* The descendants of one target being attached (--children). */
struct descendants {
	struct tracer *t;
	size_t traced, untraceable;
	char pids[64]; /* the first few traced, for the message */
};

/* A process that exited while it was being attached and whose pid went to
 * another process: that one is no descendant, and is let go. */
static void let_go(struct tracer *t, struct proc_entry *e)
{
	log_msg("pid %u exited while being attached and its number was reused: not traced\n",
		e->pid);
	bpf_map_delete_elem(bpf_map__fd(t->skel->maps.targets), &e->pid);
	unwinder__forget(t->unwinder, e->pid);
	probes__detach(&e->links);
	e->exited = true;
}

static void attach_descendant(__u32 pid, unsigned long long start, void *ctx)
{
	struct descendants *d = ctx;
	struct proc_entry *e = targets__find(&d->t->procs, pid);
	unsigned long long now;
	size_t len = strlen(d->pids);

	/* Named on the command line too, or already found under another (or
	 * found untraceable); or allocscope itself, started from inside the
	 * target's tree. */
	if ((e && (e->attached || e->untraceable)) || pid == (__u32)getpid())
		return;
	if (attach_pid(d->t, pid) != EXIT_OK) {
		d->untraceable++; /* said by attach_image */
		return;
	}
	/* Its start time changed while it was attached: the pid is another
	 * process's now. Gone without a successor, its exit says so. */
	e = targets__find(&d->t->procs, pid);
	if (e && !targets__start_ticks(pid, &now) && now != start) {
		let_go(d->t, e);
		return;
	}
	if (d->traced++ < 4)
		snprintf(d->pids + len, sizeof(d->pids) - len, "%s%u", len ? ", " : "", pid);
	else if (d->traced == 5)
		snprintf(d->pids + len, sizeof(d->pids) - len, ", ...");
}

/* --children: the processes a target forked before allocscope started are
 * traced too (its later forks are announced by the fork tracepoint, from
 * the moment it was attached: the walk reads each process's children only
 * after attaching it, so none falls between the two). */
static void attach_descendants(struct tracer *t, const struct proc_entry *root)
{
	struct descendants d = {.t = t};
	__u32 pid = root->pid;
	char comm[AS_COMM_LEN], more_msg[48] = "";
	bool more;
	int n;

	memcpy(comm, root->comm, sizeof(comm)); /* root may move as the table grows */
	n = proctree__walk("/proc", pid, PROCTREE_MAX, attach_descendant, &d, &more);
	if (n < 0)
		return; /* gone: its exit is on its way */
	if (!n) {
		log_msg("pid %u (%s) has no child processes yet; those it starts will be traced\n",
			pid, comm);
		return;
	}
	if (d.untraceable)
		snprintf(more_msg, sizeof(more_msg), "; %zu more could not be traced",
			 d.untraceable);
	log_msg("tracing pid %u (%s) and its %zu existing descendant%s%s%s%s\n", pid, comm,
		d.traced, d.traced == 1 ? "" : "s", d.traced ? ": " : "", d.pids, more_msg);
	if (more)
		log_msg("pid %u has more than %d descendants: the rest are not traced\n", pid,
			PROCTREE_MAX);
}

/* How long after its start pid was found, if it started after allocscope:
 * --comm finds new processes by reading /proc once a second. */
static bool found_late(__u32 pid, double *late_s)
{
	unsigned long long started, self;
	struct timespec ts;
	double hz = sysconf(_SC_CLK_TCK);

	if (targets__start_ticks(pid, &started) || targets__start_ticks((__u32)getpid(), &self) ||
	    started < self || clock_gettime(CLOCK_BOOTTIME, &ts))
		return false;
	*late_s = ts.tv_sec + ts.tv_nsec / 1e9 - started / hz;
	return *late_s >= 0.1;
}

/* Whether pid is a target of --comm, --cgroup or --container now. */
static bool discovered(struct tracer *t, __u32 pid)
{
	char comm[AS_COMM_LEN];

	if (pid == (__u32)getpid())
		return false;
	if (t->cfg->comm[0])
		return !targets__read_comm(pid, comm) && !strcmp(comm, t->cfg->comm);
	return cgtarget__member(&t->cg, pid);
}

static int scan_comm_cb(__u32 pid, void *ctx)
{
	struct tracer *t = ctx;
	struct proc_entry *e;
	double late_s;

	/* Known ones first: a cgroup file costs more to read than a table. */
	e = targets__find(&t->procs, pid);
	if (e && (e->attached || e->exited || e->untraceable))
		return 0;
	if (!discovered(t, pid))
		return 0;
	/* A process that cannot be traced is skipped, not fatal: others may.
	 * One whose maps could not be had (a kernel thread, as every one in
	 * the root cgroup is; one root may not inspect) is said once, not at
	 * every rescan. */
	if (attach_pid(t, pid) != EXIT_OK) {
		if (!targets__find(&t->procs, pid) && targets__exists(pid) &&
		    (e = targets__get(&t->procs, pid)))
			e->untraceable = true;
		return 0;
	}
	if (!t->starting && found_late(pid, &late_s))
		log_msg("pid %u was found %.1f s after it started; what it allocated "
			"before is not seen\n",
			pid, late_s);
	e = targets__find(&t->procs, pid);
	if (t->cfg->children && e)
		attach_descendants(t, e);
	return 0;
}

/* Whether a probe set is already attached to the file v maps. The maps line
 * is the kernel's word for what is mapped, so it is enough to skip; a new
 * object is opened and keyed by what was opened. */
static bool object_attached(const struct tracer *t, const struct vma *v)
{
	for (size_t j = 0; j < t->nobjs; j++)
		if (file_id__eq(t->objs[j].id, procmaps__file_id(v)))
			return true;
	return false;
}

/* Whole-system mode: one probe set per allocator object, for every process. */
static int scan_objects_cb(__u32 pid, void *ctx)
{
	struct tracer *t = ctx;
	struct procmaps maps = {};

	if (procmaps__read_pid(pid, &maps))
		return 0;
	for (size_t i = 0; sources__active(&t->sources, SOURCE_HEAP) && i < maps.nr; i++) {
		const struct vma *v = &maps.vmas[i];
		struct link_list links = {};
		struct attached_object *n;
		size_t count;
		int err;

		if (!is_code_file(v) || object_attached(t, v))
			continue;
		err = attach_vma(t, pid, v, -1, &links, &count);
		if (!err && !count)
			continue;
		n = realloc(t->objs, (t->nobjs + 1) * sizeof(*n));
		if (!n) {
			probes__detach(&links);
			break;
		}
		t->objs = n;
		/* Kept after a failed attach too, so it is not retried every
		 * scan. Remembered by the maps line's identity, as
		 * object_attached() compares (on btrfs, fstat's device is the
		 * subvolume's, and the object would be attached again). */
		t->objs[t->nobjs++] = (struct attached_object){procmaps__file_id(v), links};
		if (err)
			log_msg("failed to attach to %s: %s\n", v->path, strerror(-err));
		else
			log_msg("tracing every process using %s: %zu probes\n", v->path, count);
	}
	/* Every scan, so processes that were running before allocscope (no
	 * first-site event in time) and execs are covered too. */
	note_exit_frees(t, pid, &maps);
	procmaps__free(&maps);
	return 0;
}

static void rescan(struct tracer *t)
{
	const struct config *cfg = t->cfg;

	if (config__discovers(cfg)) {
		targets__for_each_pid(scan_comm_cb, t);
		if (targets__count_attached(&t->procs) || t->said_waiting)
			return;
		if (cfg->comm[0])
			log_msg("no %sprocess named '%s' yet; waiting for one to start "
				"(Ctrl-C to stop)\n",
				t->procs.nr ? "traceable " : "", cfg->comm);
		else
			log_msg("no %sprocess in %s %s yet; waiting for one to enter it "
				"(Ctrl-C to stop)\n",
				t->procs.nr ? "traceable " : "",
				cfg->cgroup ? "cgroup" : "container",
				cfg->cgroup ? t->cg.path : t->cg.container);
		t->said_waiting = true;
	} else if (!t->cfg->npids) {
		targets__for_each_pid(scan_objects_cb, t);
	}
}

/* exec: the BPF side purged the old image's state; the new image may use
 * another allocator, so targets are planned again, once ld.so has mapped
 * its libraries. */
/* A new image of a process not traced yet (e may be NULL): new looks, once
 * ld.so has mapped its libraries. */
static void attach_new_image(struct tracer *t, __u32 pid, struct proc_entry *e)
{
	if (e) {
		e->untraceable = false;
		e->looks = 0;
	}
	attach_image(t, pid, LOADER_WAIT_S);
}

static void handle_exec(struct tracer *t, const struct task_event *ev, struct proc_entry *e)
{
	bool wanted = !t->cfg->comm[0] || !strncmp(ev->comm, t->cfg->comm, AS_COMM_LEN);

	syms__drop_pid(t->coll.syms, ev->tgid);
	pysym__drop_pid(t->coll.pysym, ev->tgid);
	census__drop_pid(t->coll.census, ev->tgid);
	unwinder__forget(t->unwinder, ev->tgid);
	t->coll.stale_stacks = true;
	if (!e || e->exited)
		return;
	if (!e->attached) {
		/* A --comm process still waiting for its allocator: a new
		 * image is worth new looks. */
		memcpy(e->comm, ev->comm, sizeof(e->comm));
		if (config__discovers(t->cfg) && wanted)
			attach_new_image(t, ev->tgid, e);
		return;
	}
	log_msg("pid %u exec'd %.16s; earlier sites dropped\n", e->pid, ev->comm);
	targets__remove(&t->procs, ev->tgid);
	if (wanted)
		attach_image(t, ev->tgid, LOADER_WAIT_S);
}

/* A process that is gone, or will be before it runs again: it stops being
 * traced; its sites are shown once more, marked exited. */
static void mark_gone(struct tracer *t, struct proc_entry *e)
{
	e->exited = true;
	unwinder__forget(t->unwinder, e->pid);
	bpf_map_delete_elem(bpf_map__fd(t->skel->maps.exit_frees), &e->pid);
	probes__detach(&e->links);
}

/* The OOM killer chose ev->tgid (e: its entry, if any). A target's kill is
 * reported at once (tracer__run), its sites as they stood at the kill: the
 * exit keeps their counters (bpf/oom.bpf.h), and user space deletes them
 * only after that report. SIGKILL cannot be caught: the victim stops being a
 * target here, not at its exit event, so that when it was the last one the
 * report at once is the final one. */
static void handle_oom(struct tracer *t, const struct oom_event *ev, struct proc_entry *e)
{
	bool everyone = !t->cfg->npids && !t->cfg->comm[0];
	struct report_oom *o;

	if (!everyone && (!e || !e->attached)) {
		if (verbose)
			log_msg("pid %u (%.16s), not a target, was killed by the OOM killer\n",
				ev->tgid, ev->comm);
		return;
	}
	o = array_grow(t->ooms, &t->ooms_cap, t->nooms + 1, sizeof(*o));
	if (!o)
		return;
	t->ooms = o;
	o = &t->ooms[t->nooms++];
	report__oom_from_event(ev, e ? e->comm : NULL, sysconf(_SC_PAGESIZE), o);
	log_msg("pid %u (%s) was killed by the OOM killer\n", o->pid, o->comm);
	if (e && !e->exited)
		mark_gone(t, e);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct tracer *t = ctx;
	const struct task_event *ev = data;
	struct proc_entry *e;

	if (size < sizeof(*ev))
		return 0;
	e = targets__find(&t->procs, ev->tgid);
	if (ev->type == TASK_EV_FIRST_SITE) {
		targets__get(&t->procs, ev->tgid);
		collect__load_syms(&t->coll, ev->tgid);
		if (!e || !e->attached) {
			unwinder__scan(t->unwinder, ev->tgid, false);
			follow_python_pid(t, ev->tgid);
			note_exit_frees_pid(t, ev->tgid);
		}
		return 0;
	}
	if (ev->type == TASK_EV_FORK) {
		/* --comm: only while it still has the name (an exec may follow).
		 * --cgroup, --container: a fork of a target is one, wherever
		 * it is put (it was born in the cgroup). */
		if ((!e || !e->attached) &&
		    (t->cfg->children || t->cfg->cgroup || t->cfg->container[0] ||
		     !strncmp(ev->comm, t->cfg->comm, AS_COMM_LEN))) {
			const struct pyproc *parent = pysym__proc(t->coll.pysym, ev->stack_id);

			log_msg("pid %u forked from a target\n", ev->tgid);
			/* Same mappings as the parent: its interpreter, without a second look. */
			if (parent)
				pysym__add_pid(t->coll.pysym, ev->tgid, parent);
			attach_pid(t, ev->tgid);
		}
		return 0;
	}
	if (ev->type == TASK_EV_COMM_EXEC) {
		/* --comm: a new image of that name, from any parent. --cgroup
		 * and --container: any new image, of a member or not. */
		if (e && (e->attached || e->exited))
			return 0;
		if (!t->cfg->comm[0] && !cgtarget__member(&t->cg, ev->tgid))
			return 0;
		if (verbose)
			log_msg("pid %u exec'd %.16s: attaching\n", ev->tgid, ev->comm);
		attach_new_image(t, ev->tgid, e);
		return 0;
	}
	if (ev->type == TASK_EV_PY_STACK) {
		collect__name_py_stack(&t->coll, ev->tgid, ev->stack_id);
		return 0;
	}
	if (ev->type == TASK_EV_RESCAN) {
		/* New code (dlopen): build its tables. The report rereads the
		 * mappings itself when it meets an address it cannot place. */
		unwinder__scan(t->unwinder, ev->tgid, false);
		return 0;
	}
	if (ev->type == TASK_EV_EXIT) {
		if (!e)
			e = targets__get(&t->procs, ev->tgid);
		if (!e)
			return 0;
		if (!strcmp(e->comm, "?"))
			memcpy(e->comm, ev->comm, sizeof(e->comm));
		/* An OOM victim was said gone at its kill. */
		if (e->attached && !e->exited)
			log_msg("pid %u (%s) exited\n", e->pid, e->comm);
		mark_gone(t, e);
		return 0;
	}
	if (ev->type == TASK_EV_OOM) {
		if (size >= sizeof(struct oom_event))
			handle_oom(t, data, e);
		return 0;
	}
	handle_exec(t, ev, e);
	return 0;
}

/* The header's pids: at most this many, then how many more. */
#define DESC_PIDS 3

/* The processes traced now, by pid (the table's order), and the header's
 * words for them: several processes are listed (the first few) and counted,
 * since --children and --comm trace more than were named. */
static void describe_targets(struct tracer *t)
{
	const struct config *cfg = t->cfg;
	size_t n = 0, len;
	struct report_target *v;

	for (size_t i = 0; i < t->procs.nr; i++) {
		const struct proc_entry *p = &t->procs.procs[i];

		if (!p->attached || p->exited)
			continue;
		v = array_grow(t->traced, &t->traced_cap, n + 1, sizeof(*v));
		if (!v)
			break;
		t->traced = v;
		t->traced[n].pid = p->pid;
		t->traced[n].ident = p->ident;
		memcpy(t->traced[n++].comm, p->comm, sizeof(p->comm));
	}
	t->ntraced = n;
	if (cfg->comm[0]) {
		snprintf(t->desc, sizeof(t->desc), "comm %s (%zu process%s)", cfg->comm, n,
			 n == 1 ? "" : "es");
	} else if (cfg->cgroup) {
		/* The path cut to fit: the process count stays. */
		snprintf(t->desc, sizeof(t->desc), "cgroup %.80s (%zu process%s)", t->cg.path, n,
			 n == 1 ? "" : "es");
	} else if (cfg->container[0]) {
		snprintf(t->desc, sizeof(t->desc), "container %.*s (%zu process%s)",
			 CGROUP_SHORT_LEN, t->cg.container, n, n == 1 ? "" : "es");
	} else if (cfg->npids && n == 1) {
		snprintf(t->desc, sizeof(t->desc), "pid %u", t->traced[0].pid);
	} else if (cfg->npids && n > 1) {
		len = snprintf(t->desc, sizeof(t->desc), "pids ");
		for (size_t i = 0; i < n && i < DESC_PIDS; i++)
			len += snprintf(t->desc + len, sizeof(t->desc) - len, "%s%u", i ? "," : "",
					t->traced[i].pid);
		if (n > DESC_PIDS)
			len += snprintf(t->desc + len, sizeof(t->desc) - len, ",+%zu",
					n - DESC_PIDS);
		snprintf(t->desc + len, sizeof(t->desc) - len, " (%zu processes)", n);
	} else if (cfg->npids) {
		/* Every target is gone: the ones named, as named. */
		len = snprintf(t->desc, sizeof(t->desc), "pid%s ", cfg->npids > 1 ? "s" : "");
		for (size_t i = 0; i < cfg->npids && len < sizeof(t->desc) - 12; i++)
			len += snprintf(t->desc + len, sizeof(t->desc) - len, "%s%u", i ? "," : "",
					cfg->pids[i]);
	} else {
		snprintf(t->desc, sizeof(t->desc), "all processes");
	}
}

/* Transparent huge pages as the kernel's policy stands: 0 never, 1 madvise, 2 always
 * (the bracketed word of /sys/kernel/mm/transparent_hugepage/enabled). */
static __u32 thp_policy(void)
{
	static const char *const words[] = {"[never]", "[madvise]", "[always]"};
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	for (__u32 i = 2; i > 0; i--)
		if (strstr(buf, words[i]))
			return i;
	return 0;
}

/* The allocator programs: one uprobe session program for entries and
 * returns where the kernel has sessions (6.13+), so that a call rejected at
 * its entry takes no return probe; else an entry and a return program, as
 * uprobe_multi links (6.6+) or perf-event uprobes. The empty programs of the
 * benchmark floors never run as sessions: noop has entry and return probes,
 * noop-entry no return probes at all. */
static int choose_progs(struct tracer *t)
{
	const struct config *cfg = t->cfg;
	struct allocscope_bpf *skel = t->skel;
	bool multi = cfg->attach == ATTACH_AUTO && probes__multi_supported();
	bool session = multi && cfg->probe_mode == PROBE_MODE_FULL &&
		       kernel_features__uprobe_session() == 1;
	int err = 0;

	if (cfg->probe_mode != PROBE_MODE_FULL)
		t->progs = (struct probe_progs){
			.enter = skel->progs.noop_probe,
			.exit = cfg->probe_mode == PROBE_MODE_NOOP ? skel->progs.noop_probe : NULL,
			.free = skel->progs.noop_probe};
	else
		t->progs = (struct probe_progs){.enter = skel->progs.alloc_enter,
						.exit = skel->progs.alloc_exit,
						.free = skel->progs.free_enter};
	/* Loaded (and verified) only for --python-objects. */
	if (cfg->python_objects && cfg->probe_mode == PROBE_MODE_FULL)
		t->progs.inline_obj = skel->progs.obj_inline;
	bpf_program__set_autoload(skel->progs.obj_inline, t->progs.inline_obj != NULL);
	bpf_program__set_autoload(skel->progs.alloc_session, session);
	bpf_program__set_autoload(skel->progs.alloc_enter, !session);
	bpf_program__set_autoload(skel->progs.alloc_exit, !session);
	if (session)
		err = probes__use_session(&t->progs, skel->progs.alloc_session);
	else if (multi)
		err = probes__use_multi(&t->progs);
	if (err) {
		log_msg("failed to prepare uprobe_multi programs\n");
		return EXIT_RUNTIME;
	}
	if (session && verbose)
		log_msg("attaching with uprobe session links: one program at entry and return; "
			"calls rejected at entry (--min-size, --max-size, --sample-bytes) take no "
			"return probe\n");
	else if (verbose && cfg->probe_mode != PROBE_MODE_FULL)
		log_msg("attaching empty programs with %s%s\n",
			t->progs.multi ? "uprobe_multi links" : "perf-event uprobes",
			t->progs.exit ? "" : ", no return probes");
	else if (verbose)
		log_msg("attaching with %s (%s; each call takes its return probe)\n",
			t->progs.multi ? "uprobe_multi links" : "perf-event uprobes",
			multi ? "no uprobe sessions: Linux 6.13+" : "no uprobe sessions");
	return EXIT_OK;
}

static int load_bpf(struct tracer *t)
{
	const struct config *cfg = t->cfg;
	struct allocscope_bpf *skel;
	const char *prog = "";
	int err;

	skel = allocscope_bpf__open();
	if (!skel) {
		log_msg("failed to open BPF object: %s\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	t->skel = skel;
	skel->rodata->min_size = cfg->min_size;
	skel->rodata->max_size = cfg->max_size;
	skel->rodata->self_tgid = getpid();
	memcpy((char *)skel->rodata->targ_comm, cfg->comm, sizeof(skel->rodata->targ_comm));
	skel->rodata->max_depth = cfg->max_depth;
	skel->rodata->unwind_cfi = cfg->unwind == UNWIND_CFI;
	skel->rodata->have_loop = !cfg->no_bpf_loop;
	skel->rodata->trace_mappings = cfg->mappings && cfg->mode == TRACE_MODE_HEAP;
	skel->rodata->trace_everyone = !config__targeted(cfg);
	skel->rodata->follow_forks = cfg->children || config__discovers(cfg);
	skel->rodata->targ_any_exec = cfg->cgroup || cfg->container[0];
	skel->rodata->objects_probed = cfg->python_objects;
	skel->rodata->rss_all = cfg->mode == TRACE_MODE_RSS && skel->rodata->trace_everyone;
	skel->rodata->fault_sample_every = cfg->fault_sample;
	skel->rodata->thp_mode = thp_policy();
	sources__prepare(&t->sources, skel->obj, cfg);
	if (cfg->mode == TRACE_MODE_RSS && !t->sources.loaded[SOURCE_FAULTS]) {
		log_msg("--mode rss needs bpf_find_vma and bpf_loop (Linux 5.17+)\n");
		return EXIT_NO_KERNEL_SUPPORT;
	}
	bpf_map__set_max_entries(skel->maps.live, cfg->live_max);
	if (cfg->sample_bytes) {
		skel->rodata->sample_bytes = cfg->sample_bytes;
		sampling__gaps(cfg->sample_bytes, (__u64 *)skel->rodata->sample_gaps);
		sampling__weights((__u32 *)skel->rodata->sample_weights);
	}
	err = choose_progs(t);
	if (err)
		return err;
	/* Without the tracepoint in the kernel's BTF the program could not load. */
	if (kernel_features__btf_tracepoint("mark_victim") != 1) {
		bpf_program__set_autoload(skel->progs.oom_victim, false);
		if (verbose)
			log_msg("the kernel has no oom:mark_victim tracepoint: OOM kills are not "
				"reported\n");
	}
	err = allocscope_bpf__load(skel);
	if (err) {
		char msg[128];

		libbpf_strerror(err, msg, sizeof(msg));
		log_msg("failed to load BPF programs: %s%s\n", msg,
			verbose ? "" : " (-v shows the verifier log)");
		return err == -EPERM ? EXIT_NO_PRIVILEGE : EXIT_NO_KERNEL_SUPPORT;
	}
	skel->links.proc_exit = bpf_program__attach(skel->progs.proc_exit);
	skel->links.proc_exec = bpf_program__attach(skel->progs.proc_exec);
	if (!skel->links.proc_exit || !skel->links.proc_exec) {
		log_msg("failed to attach process tracepoints: %s\n", strerror(errno));
		return EXIT_NO_KERNEL_SUPPORT;
	}
	skel->links.proc_fork = bpf_program__attach(skel->progs.proc_fork);
	if (!skel->links.proc_fork) {
		log_msg("failed to attach the fork tracepoint: %s\n", strerror(errno));
		return EXIT_NO_KERNEL_SUPPORT;
	}
	/* Not fatal: tracing goes on without OOM reports. */
	if (bpf_program__autoload(skel->progs.oom_victim)) {
		skel->links.oom_victim = bpf_program__attach(skel->progs.oom_victim);
		if (!skel->links.oom_victim)
			log_msg("cannot attach the oom:mark_victim tracepoint (%s): OOM kills are "
				"not reported\n",
				strerror(errno));
	}
	err = sources__start(&t->sources, cfg, &prog);
	if (err) {
		log_msg("failed to attach the %s tracepoint: %s%s\n", prog, strerror(-err),
			cfg->mode == TRACE_MODE_HEAP ? " (--no-mappings runs without it)" : "");
		return EXIT_NO_KERNEL_SUPPORT;
	}
	if (verbose && !sources__active(&t->sources, SOURCE_HEAP))
		log_msg("mode rss: page faults; no allocator uprobes are attached\n");
	t->rb = ring_buffer__new(bpf_map__fd(skel->maps.events), handle_event, t, NULL);
	if (!t->rb) {
		log_msg("failed to create ring buffer: %s\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	if (cfg->unwind == UNWIND_CFI) {
		t->unwinder = unwinder__new(bpf_map__fd(skel->maps.unwind_tables),
					    bpf_map__fd(skel->maps.unw_procs), verbose);
		if (!t->unwinder) {
			log_msg("failed to start the unwinder: %s\n", strerror(errno));
			return EXIT_RUNTIME;
		}
	}
	return EXIT_OK;
}

static int check_system(const struct config *cfg)
{
	size_t gone = 0;

	/* Among several targets, one that is gone is said and skipped. */
	for (size_t i = 0; i < cfg->npids; i++)
		gone += !targets__exists(cfg->pids[i]);
	for (size_t i = 0; i < cfg->npids; i++)
		if (!targets__exists(cfg->pids[i]))
			log_msg("no process with pid %u%s\n", cfg->pids[i],
				gone < cfg->npids ? "; tracing the others" : "");
	if (cfg->npids && gone == cfg->npids)
		return EXIT_NO_PROCESS;
	if (!privileged()) {
		log_msg("must run as root (needs CAP_BPF and CAP_PERFMON, "
			"or CAP_SYS_ADMIN)\n");
		return EXIT_NO_PRIVILEGE;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		log_msg("the kernel has no BTF (/sys/kernel/btf/vmlinux): "
			"a kernel built with CONFIG_DEBUG_INFO_BTF=y is required\n");
		return EXIT_NO_KERNEL_SUPPORT;
	}
	if (access("/sys/bus/event_source/devices/uprobe/type", R_OK)) {
		log_msg("the kernel has no uprobe support "
			"(CONFIG_UPROBE_EVENTS=y is required)\n");
		return EXIT_NO_KERNEL_SUPPORT;
	}
	return EXIT_OK;
}

/* The cost lines: the trap cost measured once, the programs' run time
 * counted from now on (the kernel counts it only while someone holds a
 * BPF_ENABLE_STATS fd). */
static int start_costs(struct tracer *t)
{
	struct allocscope_bpf *skel = t->skel;
	bool full = t->cfg->probe_mode == PROBE_MODE_FULL;
	int progs[HIT_COUNT] = {
		[HIT_ENTER] = full ? bpf_program__fd(skel->progs.alloc_enter) : -1,
		[HIT_RETURN] = full ? bpf_program__fd(skel->progs.alloc_exit) : -1,
		[HIT_FREE] = full ? bpf_program__fd(skel->progs.free_enter) : -1,
	};
	struct trap_cost trap;
	double took = now_s();
	int err;

	err = trapcost__measure(skel->progs.noop_probe, &trap);
	took = now_s() - took;
	if (verbose && err)
		log_msg("cannot measure the trap cost (%s): assuming %.0f ns per probe, %.0f ns "
			"more per return\n",
			strerror(-err), trap.enter_ns, trap.return_ns);
	else if (verbose)
		log_msg("trap cost: %.0f ns per probe, %.0f ns more per return probe "
			"(measured on functions of allocscope's own in %.0f ms)\n",
			trap.enter_ns, trap.return_ns, took * 1e3);
	t->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (t->stats_fd < 0 && verbose)
		log_msg("cannot count the BPF programs' run time (%s): the cost lines leave it "
			"out\n",
			strerror(errno));
	if (verbose && t->cfg->max_overhead && !config__targeted(t->cfg))
		log_msg("--max-overhead has no effect on every process: the probes are shared by "
			"all of them and a process cannot be spared its traps\n");
	err = cost__init(&t->cost, bpf_map__fd(skel->maps.hits), bpf_map__fd(skel->maps.cpu_hits),
			 progs, &trap);
	if (err) {
		log_msg("cannot count the cost of tracing: %s\n", strerror(-err));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

/* The cost of the interval into hdr: per target (--pid, --comm), or per
 * process that ran a probe (every process). */
static void sample_costs(struct tracer *t, double interval_s, struct report_header *hdr)
{
	bool everyone = !config__targeted(t->cfg);
	__u32 *pids = realloc(t->cost_pids, (t->ntraced + 1) * sizeof(*pids));

	if (!pids)
		return;
	t->cost_pids = pids;
	for (size_t i = 0; i < t->ntraced; i++)
		pids[i] = t->traced[i].pid;
	cost__sample(&t->cost, interval_s, everyone ? NULL : pids, t->ntraced, hdr);
}

/* Takes pid off its heap probes: its per-pid uprobe links go, while the
 * mapping tracepoints (global, filtered by the targets map, which keeps
 * pid) go on. Its heap sites stay, their live bytes frozen (collect.c marks
 * them). With --mode rss, this is where page-fault tracking is turned on
 * for pid, so its resident growth goes on being attributed. */
static void demote(struct tracer *t, struct proc_entry *e, struct report_cost *c)
{
	char msg[256];

	probes__detach(&e->links);
	e->governed = true;
	/* Its growth from now on is seen as the pages it faults in. */
	e->rss = !tracer__rss_on(t, e->pid);
	c->rss = e->rss;
	governor__message(msg, sizeof(msg), c, t->cfg->max_overhead);
	log_msg("%s\n", msg);
}

/* --max-overhead, on the interval's costs (per-pid probes only: in
 * whole-system mode one set of probes serves every process). */
static void govern(struct tracer *t, struct report_header *hdr)
{
	struct report_cost *costs = (struct report_cost *)hdr->costs;

	for (size_t i = 0; i < hdr->ncosts; i++) {
		struct proc_entry *e = targets__find(&t->procs, costs[i].pid);

		if (!e || !e->attached || e->exited)
			continue;
		costs[i].governed = e->governed;
		costs[i].rss = e->rss;
		if (hdr->cost_top ||
		    !governor__over(&costs[i], t->cfg->max_overhead, hdr->interval_s))
			continue;
		demote(t, e, &costs[i]);
		costs[i].governed = true;
	}
}

/* --cgroup: the cgroup must exist (an empty one is waited on, as --comm
 * waits for a name). --container: the id is known only from a process in
 * the container, so one must be running, and the prefix must name one. */
static int resolve_cgroup(const struct config *cfg, struct cgtarget *cg)
{
	char msg[PATH_MAX + 256];
	int err;

	if (cfg->cgroup)
		err = cgtarget__resolve(cg, cfg->cgroup, msg, sizeof(msg));
	else if (cfg->container[0])
		err = cgtarget__find_container(cg, cfg->container, msg, sizeof(msg));
	else
		return EXIT_OK;
	if (!err) {
		if (cfg->container[0])
			log_msg("container %.*s is %s\n", CGROUP_SHORT_LEN, cg->container,
				cg->container);
		return EXIT_OK;
	}
	log_msg("%s\n", msg);
	return err == -ENOENT && cfg->container[0] ? EXIT_NO_PROCESS : EXIT_USAGE;
}

int tracer__open(const struct config *cfg, struct tracer **out)
{
	struct cgtarget cg = {};
	struct tracer *t;
	int status;

	verbose = cfg->verbose;
	libbpf_set_print(print_libbpf);
	status = resolve_cgroup(cfg, &cg);
	if (!status)
		status = check_system(cfg);
	t = status ? NULL : calloc(1, sizeof(*t));
	if (!t) {
		cgtarget__free(&cg);
		return status ? status : EXIT_RUNTIME;
	}
	t->cg = cg;
	t->cfg = cfg;
	t->stats_fd = -1;
	if (output__open(&t->out, cfg->format, cfg->output) ||
	    (cfg->push && output__push(&t->out, cfg->push, cfg->push_app))) {
		status = EXIT_RUNTIME;
		goto fail;
	}
	t->coll = (struct collector){.procs = &t->procs,
				     .out = &t->out,
				     .group = cfg->group_by,
				     .verbose = cfg->verbose > 0,
				     .live_fd = -1,
				     .old_age_s = cfg->old_age_s};
	t->coll.syms = syms__new();
	t->coll.pysym = pysym__new();
	t->coll.report = report__new(cfg->sort, cfg->top);
	if (!t->coll.syms || !t->coll.pysym || !t->coll.report ||
	    report__set_trend(t->coll.report, cfg->trend_intervals)) {
		status = EXIT_RUNTIME;
		goto fail;
	}
	status = load_bpf(t);
	if (status)
		goto fail;
	t->coll.sites_fd = bpf_map__fd(t->skel->maps.sites);
	t->coll.counters_fd = bpf_map__fd(t->skel->maps.counters);
	t->coll.free_slots_fd = bpf_map__fd(t->skel->maps.free_slots);
	t->coll.stacks_fd = bpf_map__fd(t->skel->maps.stacks);
	t->coll.mappings_fd = bpf_map__fd(t->skel->maps.mappings);
	t->coll.live_fd = bpf_map__fd(t->skel->maps.live);
	t->coll.nslots = bpf_map__max_entries(t->skel->maps.counters);
	/* Folded stacks and pprof profiles have no place for it. */
	if (cfg->census && cfg->python && !cfg->format->whole) {
		t->coll.census = census__new(cfg->census_budget_ms, cfg->top);
		if (!t->coll.census) {
			status = EXIT_RUNTIME;
			goto fail;
		}
	}
	status = start_costs(t);
	if (status)
		goto fail;
	t->starting = true;
	t->counting = now_s();
	for (size_t i = 0; i < cfg->npids; i++) {
		if (!targets__exists(cfg->pids[i]))
			continue; /* said by check_system, or gone since */
		status = attach_pid(t, cfg->pids[i]);
		if (status)
			goto fail;
	}
	if (cfg->npids && !targets__count_attached(&t->procs)) {
		log_msg("no target left to trace\n");
		status = EXIT_NO_PROCESS;
		goto fail;
	}
	for (size_t i = 0; cfg->children && i < cfg->npids; i++) {
		struct proc_entry *e = targets__find(&t->procs, cfg->pids[i]);

		if (e && e->attached && !e->exited)
			attach_descendants(t, e);
	}
	rescan(t);
	t->starting = false;
	describe_targets(t);
	sample_costs(t, now_s() - t->counting, &(struct report_header){});
	*out = t;
	return EXIT_OK;
fail:
	tracer__close(t);
	return status;
}

/* The drop counters, summed over the CPUs (zeros if they cannot be read). */
static void read_drops(const struct tracer *t, __u64 out[DROP_COUNT])
{
	int fd = bpf_map__fd(t->skel->maps.drops), ncpus = libbpf_num_possible_cpus();
	__u64(*percpu)[DROP_COUNT] = ncpus > 0 ? calloc(ncpus, sizeof(*percpu)) : NULL;
	__u32 zero = 0;

	memset(out, 0, DROP_COUNT * sizeof(out[0]));
	if (percpu && !bpf_map_lookup_elem(fd, &zero, percpu))
		for (int c = 0; c < ncpus; c++)
			for (int r = 0; r < DROP_COUNT; r++)
				out[r] += percpu[c][r];
	free(percpu);
}

static int report(struct tracer *t, double interval_s, bool final)
{
	int err;
	struct report_header hdr = {
		.time = wall_s(),
		.interval_s = interval_s,
		.final = final,
	};

	describe_targets(t);
	sample_costs(t, interval_s, &hdr);
	govern(t, &hdr);
	hdr.targets = t->desc;
	hdr.scope = t->cfg->comm[0]	   ? "comm"
		    : t->cfg->cgroup	   ? "cgroup"
		    : t->cfg->container[0] ? "container"
		    : t->cfg->npids	   ? "pid"
					   : "all";
	hdr.traced = t->traced;
	hdr.ntraced = t->ntraced;
	read_drops(t, hdr.drops);
	memcpy(hdr.stops, t->skel->bss->unwind_stops, sizeof(hdr.stops));
	hdr.py_no_thread = t->skel->bss->py_no_thread;
	hdr.rss = t->cfg->mode == TRACE_MODE_RSS;
	hdr.sample_bytes = t->cfg->sample_bytes;
	hdr.ooms = t->ooms;
	hdr.nooms = t->nooms;
	err = collect__report(&t->coll, &hdr);
	if (!err)
		t->nooms = 0;
	return err;
}

int tracer__rss_on(struct tracer *t, __u32 pid)
{
	const char *prog = "";
	__u8 one = 1;
	int err = sources__enable(&t->sources, SOURCE_FAULTS, &prog);

	if (err) {
		log_msg("pid %u: cannot charge its page faults (%s): %s\n", pid, prog,
			strerror(-err));
		return err;
	}
	if (bpf_map_update_elem(bpf_map__fd(t->skel->maps.rss_targets), &pid, &one, BPF_ANY))
		return -errno;
	return 0;
}

/* The wait until wake: rounded up, so the loop never wakes just before a
 * deadline and polls again with 0; capped, so a far deadline cannot
 * overflow the int. */
static int poll_timeout_ms(double now, double wake)
{
	double ms = (wake - now) * 1000;

	if (ms <= 0)
		return 0;
	return ms > 60000 ? 60000 : (int)ms + 1;
}

int tracer__run(struct tracer *t, volatile sig_atomic_t *exiting)
{
	const struct config *cfg = t->cfg;
	/* --comm, --cgroup, --container and whole-system mode */
	bool scans = config__discovers(cfg) || !cfg->npids;
	double rescan_s = config__discovers(cfg) ? RESCAN_COMM_S : RESCAN_OBJECTS_S;
	/* Counts began while attaching, which can take a while (tables):
	 * the first interval starts there, or its rates would be inflated. */
	double start = now_s(), last = t->counting;
	/* --pid never rescans: a deadline left in the past would turn every
	 * poll below into a busy loop. */
	double next_scan = scans ? start + rescan_s : INFINITY;
	double next_report = start + cfg->interval_s;
	__u64 reports = 0;
	bool final = false, due;
	int err;

	while (!*exiting && !final) {
		double now = now_s(), wake = next_report < next_scan ? next_report : next_scan;

		if (cfg->duration_s && start + cfg->duration_s < wake)
			wake = start + cfg->duration_s;
		err = ring_buffer__poll(t->rb, poll_timeout_ms(now, wake));
		if (err < 0 && err != -EINTR) {
			log_msg("reading events failed: %s\n", strerror(-err));
			return EXIT_RUNTIME;
		}
		now = now_s();
		if (scans && now >= next_scan) {
			rescan(t);
			next_scan = now + rescan_s;
		}
		if (cfg->npids && !targets__count_attached(&t->procs)) {
			log_msg("no target left to trace\n");
			break;
		}
		if (cfg->duration_s && now >= start + cfg->duration_s)
			break;
		/* An OOM kill is reported at once, out of turn: the schedule
		 * and --count stand. */
		due = now >= next_report;
		if ((!due && !t->nooms) || *exiting)
			continue;
		final = due && cfg->count && reports + 1 >= cfg->count;
		err = report(t, now - last, final);
		if (err == -EPIPE)
			return EXIT_OK; /* e.g. `allocscope | head`: the reader has all it wanted */
		if (err) {
			log_msg("writing the report failed: %s\n", strerror(-err));
			return EXIT_RUNTIME;
		}
		last = now;
		if (!due)
			continue;
		reports++;
		next_report += cfg->interval_s;
	}
	if (!final) {
		/* Events still queued (exits) belong in the final report. */
		ring_buffer__consume(t->rb);
		/* The terminal echoed "^C" where the cursor was: the header
		 * starts on a line of its own. */
		if (*exiting == SIGINT && output__tty(&t->out))
			fputc('\n', output__tty(&t->out));
		err = report(t, now_s() - last, true);
		if (err && err != -EPIPE) {
			log_msg("writing the report failed: %s\n", strerror(-err));
			return EXIT_RUNTIME;
		}
	}
	return EXIT_OK;
}

/* The skeleton's tracepoint links, moved into l (left NULL in the skeleton,
 * whose destroy skips them then). */
static void take_skel_links(struct allocscope_bpf *skel, struct link_list *l)
{
	struct bpf_link **links[4] = {&skel->links.proc_exit, &skel->links.proc_exec,
				      &skel->links.proc_fork, &skel->links.oom_victim};
	size_t n = 4;

	l->links = calloc(n, sizeof(*l->links));
	for (size_t i = 0; l->links && i < n; i++) {
		if (!*links[i])
			continue;
		l->links[l->nr++] = (struct probe_link){.link = *links[i], .fd = -1};
		*links[i] = NULL;
	}
	l->cap = l->nr;
}

/* Every probe and tracepoint link at once, per-target, whole-system and the
 * skeleton's, in one parallel detach (each release waits for an RCU grace
 * period), before anything else is freed: no process stays probed while
 * allocscope cleans up. */
static void detach_everything(struct tracer *t)
{
	size_t n = 0;
	struct link_list *lists = calloc(t->procs.nr + t->nobjs + 2, sizeof(*lists));

	if (!lists) {
		for (size_t i = 0; i < t->nobjs; i++)
			probes__detach(&t->objs[i].links);
		targets__free(&t->procs);
		return; /* the skeleton's go with it */
	}
	for (size_t i = 0; i < t->procs.nr; i++) {
		lists[n++] = t->procs.procs[i].links;
		memset(&t->procs.procs[i].links, 0, sizeof(t->procs.procs[i].links));
	}
	for (size_t i = 0; i < t->nobjs; i++) {
		lists[n++] = t->objs[i].links;
		memset(&t->objs[i].links, 0, sizeof(t->objs[i].links));
	}
	if (t->skel)
		take_skel_links(t->skel, &lists[n++]);
	sources__take_links(&t->sources, &lists[n++]);
	probes__detach_all(lists, n);
	free(lists);
	targets__free(&t->procs);
}

/* What the Python name caches hold and what their budgets turned away. */
/* -v: the session program's runs, summed over the CPUs. */
static void log_session_runs(const struct tracer *t)
{
	int fd = bpf_map__fd(t->skel->maps.session_runs), ncpus = libbpf_num_possible_cpus();
	unsigned long long sum[2] = {0, 0};
	__u64 *percpu = ncpus > 0 ? calloc(ncpus, sizeof(*percpu)) : NULL;

	for (__u32 k = 0; percpu && k < 2; k++)
		if (!bpf_map_lookup_elem(fd, &k, percpu))
			for (int c = 0; c < ncpus; c++)
				sum[k] += percpu[c];
	free(percpu);
	log_msg("uprobe sessions: %llu calls skipped their return probe, %llu returns ran\n",
		sum[0], sum[1]);
}

static void log_python_caches(const struct pysym *s)
{
	struct pysym_stats st;

	pysym__stats(s, &st);
	if (!st.reads)
		return;
	log_msg("Python caches: %llu code objects read (%llu cache hits); %zu names in %zu KiB "
		"(%llu refused); code cache %zu KiB (emptied %llu times); stacks %zu KiB "
		"(%llu lookups left unnamed)\n",
		(unsigned long long)st.reads, (unsigned long long)st.hits, st.names,
		st.name_bytes >> 10, (unsigned long long)st.names_refused, st.code_bytes >> 10,
		(unsigned long long)st.code_flushes, st.stack_bytes >> 10,
		(unsigned long long)st.stacks_unnamed);
}

void tracer__close(struct tracer *t)
{
	if (!t)
		return;
	detach_everything(t);
	if (verbose && t->skel)
		log_msg("allocator probes hit by allocscope itself: %llu\n",
			(unsigned long long)t->skel->bss->self_hits);
	if (verbose && t->skel && sources__active(&t->sources, SOURCE_FAULTS))
		log_msg("page faults charged: %llu (%llu of them sampled, each for several); "
			"huge pages found to be small: %llu\n",
			(unsigned long long)t->skel->bss->faults_seen,
			(unsigned long long)t->skel->bss->faults_sampled,
			(unsigned long long)t->skel->bss->thp_corrections);
	if (verbose && t->skel && t->progs.session)
		log_session_runs(t);
	if (verbose && t->coll.pysym)
		log_python_caches(t->coll.pysym);
	/* After the links: a table build still running cannot keep probes in. */
	unwinder__free(t->unwinder);
	sources__free(&t->sources);
	free(t->objs);
	free(t->plans);
	free(t->traced);
	free(t->cost_pids);
	cgtarget__free(&t->cg);
	free(t->ooms);
	cost__free(&t->cost);
	if (t->stats_fd >= 0)
		close(t->stats_fd);
	ring_buffer__free(t->rb);
	allocscope_bpf__destroy(t->skel);
	syms__free(t->coll.syms);
	pysym__free(t->coll.pysym);
	report__free(t->coll.report);
	census__free(t->coll.census);
	collect__free(&t->coll);
	output__close(&t->out);
	free(t);
}
