// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The unwinder's worker: per process, the executable mappings the BPF walker
 * searches (unw_procs), pointing into per-file tables (unwtab.c). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "allocscope.h"
#include "array.h"
#include "cfi.h"
#include "log.h"
#include "procmaps.h"
#include "unwind.h"
#include "unwtab.h"

/* After a rescan that found nothing new, unknown pcs (JIT code, a corrupt
 * stack) may ask again only this much later. */
#define IDLE_RESCAN_NS (2ULL * 1000 * 1000 * 1000)
/* The longest unwinder__scan waits: a process mapping many large (or
 * hostile) files starts being traced while its tables are still built,
 * and a signal to stop is heard meanwhile. */
#define SCAN_WAIT_NS (5ULL * 1000 * 1000 * 1000)

enum request_kind {
	REQ_SCAN,
	REQ_FORGET,
};

struct request {
	__u32 tgid;
	enum request_kind kind;
	__u64 ticket;
};

/* What the kernel holds for one process, and the tables it references. */
struct task {
	__u32 tgid;
	struct unwtab_file **files;
	size_t nfiles;
	size_t files_cap;
	struct unw_mapping maps[AS_UNW_MAPPINGS];
	__u32 nmaps;
};

struct unwinder {
	int procs_fd;
	int verbose;
	struct unwtab *tables;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* work queued or stopping */
	pthread_cond_t done; /* a request completed */
	struct request *queue;
	size_t nqueue;
	size_t queue_cap;
	__u64 issued;
	__u64 completed;
	bool stopping;
	/* Worker-owned. */
	struct task **tasks;
	size_t ntasks;
	size_t tasks_cap;
	struct unw_proc *scratch;
};

static __u64 monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static struct task *find_task(struct unwinder *u, __u32 tgid, size_t *idx)
{
	for (size_t i = 0; i < u->ntasks; i++) {
		if (u->tasks[i]->tgid == tgid) {
			if (idx)
				*idx = i;
			return u->tasks[i];
		}
	}
	return NULL;
}

static struct task *get_task(struct unwinder *u, __u32 tgid)
{
	struct task *k = find_task(u, tgid, NULL), **tasks;

	if (k)
		return k;
	tasks = array_grow(u->tasks, &u->tasks_cap, u->ntasks + 1, sizeof(*tasks));
	k = calloc(1, sizeof(*k));
	if (!tasks || !k) {
		free(k);
		return NULL;
	}
	u->tasks = tasks;
	k->tgid = tgid;
	u->tasks[u->ntasks++] = k;
	return k;
}

static void release_files(struct unwinder *u, struct unwtab_file **files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		unwtab__put(u->tables, files[i]);
}

static void forget(struct unwinder *u, __u32 tgid)
{
	size_t i;
	struct task *k = find_task(u, tgid, &i);

	bpf_map_delete_elem(u->procs_fd, &tgid);
	if (!k)
		return;
	release_files(u, k->files, k->nfiles);
	free(k->files);
	free(k);
	u->tasks[i] = u->tasks[--u->ntasks];
}

/* Mappings the walker never meets as a caller: the kernel's vsyscall page
 * and the uprobe trampolines' page. */
static bool skipped(const struct vma *v)
{
	return !strcmp(v->path, "[vsyscall]") || !strcmp(v->path, "[uprobes]");
}

/* One executable mapping: its table, or the frame-pointer rule for code
 * without a file (JIT, vDSO) or without usable CFI. */
static void add_mapping(struct unwinder *u, struct unw_proc *p, struct unwtab_file ***files,
			size_t *nfiles, size_t *cap, __u32 tgid, const struct vma *v)
{
	struct unw_mapping *m = &p->maps[p->nr];
	struct unwtab_file *f, **grown;

	*m = (struct unw_mapping){.start = v->start, .end = v->end, .table = AS_UNW_NO_TABLE};
	p->nr++;
	if (!v->path[0] || v->path[0] == '[' || unwtab__get(u->tables, tgid, v, &f))
		return;
	if (u->verbose && !f->err_told && f->build_err && f->build_err != -ENOENT &&
	    f->build_err != -ECANCELED) {
		log_msg("no unwind table for %s: %s\n", v->path, cfi_table__strerror(f->build_err));
		f->err_told = true;
	}
	grown = array_grow(*files, cap, *nfiles + 1, sizeof(*grown));
	if (!grown || unwtab__bias(f, v, &m->bias)) {
		unwtab__put(u->tables, f);
		return;
	}
	*files = grown;
	(*files)[(*nfiles)++] = f;
	m->table = f->table;
	m->nrows = f->nrows;
}

static void describe(__u32 tgid, const struct unw_proc *p, struct unwtab_file **files,
		     size_t nfiles, size_t skipped_maps)
{
	size_t rows = 0, tables = 0;
	double ms = 0;

	for (size_t i = 0; i < nfiles; i++) {
		if (files[i]->table == AS_UNW_NO_TABLE)
			continue;
		tables++;
		rows += files[i]->nrows;
		ms += files[i]->build_ms;
	}
	log_msg("unwinding pid %u: %u code mappings, %zu tables, %zu rows "
		"(%.1f KiB with the mapping list), tables built in %.0f ms%s\n",
		tgid, p->nr, tables, rows,
		(rows * sizeof(struct unw_row) + sizeof(struct unw_proc)) / 1024.0, ms,
		skipped_maps ? " (too many mappings: some left out)" : "");
}

static void scan(struct unwinder *u, __u32 tgid)
{
	struct unw_proc *p = u->scratch;
	struct procmaps maps = {};
	struct unwtab_file **files = NULL;
	size_t nfiles = 0, cap = 0, over = 0;
	struct task *k;
	bool changed;

	if (procmaps__read_pid(tgid, &maps)) {
		forget(u, tgid);
		return;
	}
	k = get_task(u, tgid);
	if (!k)
		goto cleanup;
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < maps.nr; i++) {
		const struct vma *v = &maps.vmas[i];

		if (!v->exec || skipped(v))
			continue;
		if (p->nr == AS_UNW_MAPPINGS) {
			over++;
			continue;
		}
		add_mapping(u, p, &files, &nfiles, &cap, tgid, v);
	}
	unwtab__publish(u->tables);
	changed = p->nr != k->nmaps || memcmp(p->maps, k->maps, p->nr * sizeof(p->maps[0]));
	p->rescan_after_ns = changed ? 0 : monotonic_ns() + IDLE_RESCAN_NS;
	bpf_map_update_elem(u->procs_fd, &tgid, p, BPF_ANY);
	/* Only now may the old tables go: the walker saw them until here. */
	release_files(u, k->files, k->nfiles);
	free(k->files);
	k->files = files;
	k->nfiles = nfiles;
	k->files_cap = cap;
	files = NULL;
	memcpy(k->maps, p->maps, sizeof(k->maps));
	k->nmaps = p->nr;
	if (u->verbose && changed)
		describe(tgid, p, k->files, k->nfiles, over);
cleanup:
	free(files);
	procmaps__free(&maps);
}

static void *worker(void *arg)
{
	struct unwinder *u = arg;
	struct request r;

	pthread_mutex_lock(&u->lock);
	for (;;) {
		while (!u->nqueue && !u->stopping)
			pthread_cond_wait(&u->wake, &u->lock);
		if (u->stopping)
			break;
		r = u->queue[0];
		memmove(u->queue, u->queue + 1, --u->nqueue * sizeof(r));
		pthread_mutex_unlock(&u->lock);
		if (r.kind == REQ_SCAN)
			scan(u, r.tgid);
		else
			forget(u, r.tgid);
		pthread_mutex_lock(&u->lock);
		u->completed = r.ticket;
		pthread_cond_broadcast(&u->done);
	}
	pthread_mutex_unlock(&u->lock);
	return NULL;
}

struct unwinder *unwinder__new(int tables_fd, int procs_fd, int verbose)
{
	struct unwinder *u = calloc(1, sizeof(*u));
	pthread_condattr_t attr;
	int err;

	if (!u)
		return NULL;
	u->procs_fd = procs_fd;
	u->verbose = verbose;
	u->tables = unwtab__new(tables_fd);
	u->scratch = malloc(sizeof(*u->scratch));
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->wake, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* for the timed wait */
	pthread_cond_init(&u->done, &attr);
	pthread_condattr_destroy(&attr);
	if (!u->tables || !u->scratch) {
		errno = ENOMEM;
		goto fail;
	}
	err = pthread_create(&u->thread, NULL, worker, u);
	if (err) {
		errno = err;
		goto fail;
	}
	u->started = true;
	return u;
fail:
	err = errno;
	unwinder__free(u);
	errno = err;
	return NULL;
}

void unwinder__free(struct unwinder *u)
{
	if (!u)
		return;
	if (u->started) {
		/* A table build under way stops within ms: exit never waits on it. */
		unwtab__cancel(u->tables);
		pthread_mutex_lock(&u->lock);
		u->stopping = true;
		pthread_cond_signal(&u->wake);
		pthread_mutex_unlock(&u->lock);
		pthread_join(u->thread, NULL);
	}
	while (u->ntasks)
		forget(u, u->tasks[0]->tgid);
	unwtab__free(u->tables);
	free(u->tasks);
	free(u->queue);
	free(u->scratch);
	pthread_cond_destroy(&u->done);
	pthread_cond_destroy(&u->wake);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

/* Queues a request (a scan already waiting covers a new one); returns the
 * ticket that completes it, 0 if it could not be queued. */
static __u64 submit(struct unwinder *u, __u32 tgid, enum request_kind kind)
{
	struct request *q;
	__u64 ticket = 0;

	pthread_mutex_lock(&u->lock);
	for (size_t i = 0; i < u->nqueue; i++) {
		if (u->queue[i].tgid == tgid && u->queue[i].kind == kind && kind == REQ_SCAN) {
			ticket = u->queue[i].ticket;
			goto unlock;
		}
	}
	q = array_grow(u->queue, &u->queue_cap, u->nqueue + 1, sizeof(*q));
	if (!q)
		goto unlock;
	u->queue = q;
	ticket = ++u->issued;
	u->queue[u->nqueue++] = (struct request){.tgid = tgid, .kind = kind, .ticket = ticket};
	pthread_cond_signal(&u->wake);
unlock:
	pthread_mutex_unlock(&u->lock);
	return ticket;
}

void unwinder__scan(struct unwinder *u, __u32 tgid, bool wait)
{
	struct timespec deadline;
	__u64 ticket, deadline_ns;
	bool timed_out = false;

	if (!u)
		return;
	ticket = submit(u, tgid, REQ_SCAN);
	if (!wait || !ticket)
		return;
	deadline_ns = monotonic_ns() + SCAN_WAIT_NS;
	deadline.tv_sec = deadline_ns / 1000000000;
	deadline.tv_nsec = deadline_ns % 1000000000;
	pthread_mutex_lock(&u->lock);
	while (u->completed < ticket && !u->stopping && !timed_out)
		timed_out = pthread_cond_timedwait(&u->done, &u->lock, &deadline) == ETIMEDOUT;
	pthread_mutex_unlock(&u->lock);
	if (timed_out && u->verbose)
		log_msg("pid %u: unwind tables still building after %llu s; "
			"tracing starts, its stacks stop at files without a table meanwhile\n",
			tgid, SCAN_WAIT_NS / 1000000000);
}

void unwinder__forget(struct unwinder *u, __u32 tgid)
{
	if (u)
		submit(u, tgid, REQ_FORGET);
}
