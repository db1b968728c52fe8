// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Report assembly from the BPF maps: sites are read every interval, stacks
 * only for the rows shown, symbols from per-process snapshots. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "array.h"
#include "collect.h"
#include "log.h"
#include "path.h"
#include "pypool.h"

/* (Re)reads pid's mappings, opening its files through its own root. */
static int snapshot_pid(struct collector *c, __u32 pid)
{
	char maps[64], root[64];

	snprintf(maps, sizeof(maps), "/proc/%u/maps", pid);
	snprintf(root, sizeof(root), "/proc/%u/root", pid);
	return syms__load_pid(c->syms, pid, maps, root);
}

int collect__load_syms(struct collector *c, __u32 pid)
{
	return syms__has_pid(c->syms, pid) ? 0 : snapshot_pid(c, pid);
}

static bool has_python(const struct stack_trace *st)
{
	for (__u32 i = 0; i < st->nr && i < AS_MAX_FRAMES; i++)
		if (st->pcs[i] & AS_PY_FRAME_BIT)
			return true;
	return false;
}

static void python_frame(const struct py_frame *pf, __u64 word, struct sym_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->addr = word;
	f->file = pf && pf->file ? pf->file : "?";
	f->symbol = pf && pf->function ? pf->function : PYSYM_UNNAMED;
	f->line = pf ? pf->line : 0;
	f->module = "python";
}

/* Native frames of the interpreter itself (its eval loop's callees, such as
 * list_resize) give way to the Python frames; C extensions' frames stay. */
static bool interpreter_frame(const struct pyproc *pp, const struct sym_frame *f)
{
	return f->module && !strcmp(f->module, path_base(pp->path));
}

void collect__name_py_stack(struct collector *c, __u32 pid, __u64 stack_id)
{
	struct stack_trace st;

	if (c->pysym && !bpf_map_lookup_elem(c->stacks_fd, &stack_id, &st) &&
	    st.nr <= AS_MAX_FRAMES)
		pysym__stack(c->pysym, pid, stack_id, &st);
}

/* The frames of stack st of pid as reports show them, into frames; returns
 * how many. reload: a library loaded after the snapshot (an address in no
 * known mapping) may re-read the mappings, once. *complete: no address was
 * left outside every known mapping. */
static size_t stack_frames(struct collector *c, __u32 pid, __u64 stack_id,
			   const struct stack_trace *st, bool reload, struct sym_frame *frames,
			   bool *complete)
{
	const struct pyproc *pp = c->pysym ? pysym__proc(c->pysym, pid) : NULL;
	const struct py_frame *py = NULL;
	size_t n = 0;

	*complete = true;
	collect__load_syms(c, pid);
	if (pp && has_python(st))
		py = pysym__stack(c->pysym, pid, stack_id, st);
	for (__u32 i = 0; i < st->nr; i++) {
		struct sym_frame *f = &frames[n];
		/* Frame 1 of a fault is the faulting instruction itself, not a
		 * return address after a call. */
		bool is_return = i > 1 || (i == 1 && st->pcs[0] != MAP_CALL_FAULT);
		int err;

		if (!i && st->pcs[0] <= AS_MAP_CALL_MAX) {
			static const char *const calls[] = {[MAP_CALL_MMAP] = "mmap",
							    [MAP_CALL_MREMAP] = "mremap",
							    [MAP_CALL_BRK] = "brk",
							    [MAP_CALL_FAULT] = "page fault"};
			const char *name = st->pcs[0] < sizeof(calls) / sizeof(*calls)
						   ? calls[st->pcs[0]]
						   : NULL;

			*f = (struct sym_frame){.addr = st->pcs[0],
						.symbol = name ? name : "[unknown]",
						.module = st->pcs[0] == MAP_CALL_FAULT ? "fault"
										       : "syscall"};
			n++;
			continue;
		}
		if (st->pcs[i] & AS_PY_FRAME_BIT) {
			python_frame(py ? &py[i] : NULL, st->pcs[i], f);
			n++;
			continue;
		}
		err = syms__resolve(c->syms, pid, st->pcs[i], is_return, f);
		/* A library loaded after the snapshot: re-read the mappings once. */
		if (err == -ENOENT && reload) {
			reload = false;
			if (!snapshot_pid(c, pid))
				err = syms__resolve(c->syms, pid, st->pcs[i], is_return, f);
		}
		if (err == -ENOENT)
			*complete = false;
		/* Past the immediate caller, an address in neither a mapped
		 * file nor JIT code means the frame-pointer chain went
		 * astray: stop there. */
		if (i > 1 &&
		    (err == -ENOENT || (f->module[0] == '[' && strcmp(f->module, SYMS_JIT))))
			break;
		if (py && i > 0 && interpreter_frame(pp, f))
			continue;
		n++;
	}
	return n;
}

static void symbolize(struct collector *c, struct report_row *row)
{
	struct stack_trace st;
	bool complete;

	row->nframes = 0;
	if (bpf_map_lookup_elem(c->stacks_fd, &row->site.stack_id, &st) || st.nr > AS_MAX_FRAMES)
		return;
	row->cut = st.cut <= UNWIND_STOP_COUNT ? st.cut : 0;
	row->nframes = stack_frames(c, row->site.pid, row->site.stack_id, &st, !row->site.exited,
				    row->frames, &complete);
}

/* The row a site belongs to (report_site.group): with --group-by stack, its
 * stack as shown (Python frames alone when it has them), whatever process;
 * with --group-by process, a Python stack's Python frames within its
 * process, and 0 (a row of its own) for other stacks. */
static __u64 site_group(struct collector *c, __u32 pid, __u64 stack_id)
{
	struct stack_trace st;
	bool complete, python;
	__u64 key;
	size_t n;

	if (!rowkey__lookup(&c->keys, pid, stack_id, &key)) {
		if (bpf_map_lookup_elem(c->stacks_fd, &stack_id, &st) || st.nr > AS_MAX_FRAMES)
			return 0;
		python = c->pysym && pysym__proc(c->pysym, pid) && has_python(&st);
		key = 0;
		if (c->group == GROUP_PROCESS && !python)
			goto keep;
		n = stack_frames(c, pid, stack_id, &st, false, c->scratch, &complete);
		key = rowkey__stack(c->scratch, n, st.cut <= UNWIND_STOP_COUNT ? st.cut : 0);
		if (c->group == GROUP_PROCESS)
			key = rowkey__of_pid(key, pid);
		/* Frames outside the snapshot may read otherwise once it is
		 * taken again (a row shown re-reads it): not kept. */
		if (!complete)
			return key;
	}
keep:
	/* Out of memory, the key is only computed again next time. */
	(void)rowkey__keep(&c->keys, pid, stack_id, key);
	return key;
}

static int read_sites(struct collector *c)
{
	struct site_key key, next, *prev = NULL;
	struct report_site site;
	struct proc_entry *p;
	__u32 slot;
	int err = 0;

	if (!c->scratch) {
		c->scratch = calloc(AS_MAX_FRAMES, sizeof(*c->scratch));
		if (!c->scratch)
			return -ENOMEM;
	}
	while (!err && bpf_map_get_next_key(c->sites_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		memset(&site, 0, sizeof(site));
		if (bpf_map_lookup_elem(c->sites_fd, &key, &slot) ||
		    bpf_map_lookup_elem(c->counters_fd, &slot, &site.stats))
			continue; /* deleted meanwhile */
		site.stack_id = key.stack_id;
		site.pid = key.tgid;
		p = targets__get(c->procs, key.tgid);
		if (p) {
			site.exited = p->exited;
			memcpy(site.comm, p->comm, sizeof(site.comm));
			snprintf(site.container, sizeof(site.container), "%.*s", CGROUP_SHORT_LEN,
				 p->ident.container);
		}
		/* Thread stacks and allocators' own mappings are categories, not sites. */
		if (mapcat__site(&c->mapcat, c, slot, key.stack_id, &site))
			continue;
		site.frozen = p && p->governed && !site.mapping;
		/* A frozen site's frees are no longer seen: its blocks would only age. */
		site.aged =
			!site.frozen && age__get(&c->age, slot, &site.oldest_ns, &site.old_bytes);
		site.group = site_group(c, site.pid, site.stack_id);
		err = report__add(c->report, &site);
	}
	rowkey__next(&c->keys);
	return err;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The walk of the live blocks stops after this long (the table holds up to
 * --max-live-blocks entries), and the report says so. */
#define AGE_WALK_BUDGET_S 0.5
#define AGE_BATCH	  4096

/* The table a key at a time: kernels without batch operations on hash maps (before 5.6). */
static void walk_one_by_one(struct collector *c, double deadline)
{
	struct live_key key, next, *prev = NULL;
	struct live_block b;

	while (bpf_map_get_next_key(c->live_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(c->live_fd, &key, &b)) /* else freed meanwhile */
			age__add(&c->age, b.slot, b.born_ns, b.size);
		if (!(c->age.blocks % AGE_BATCH) && mono_s() > deadline) {
			c->age.truncated = true;
			return;
		}
	}
}

/* Every live block's age folded by site slot, read in batches (one system
 * call per AGE_BATCH blocks), within AGE_WALK_BUDGET_S. Ages are measured
 * against CLOCK_MONOTONIC, bpf_ktime_get_ns()'s clock. */
static void walk_ages(struct collector *c, struct report_header *hdr)
{
	struct live_key *keys = NULL;
	struct live_block *vals = NULL;
	__u64 cursor[2]; /* the kernel's position in the table, opaque */
	bool first = true;
	double start = mono_s(), deadline = start + AGE_WALK_BUDGET_S;
	int err;

	c->age.valid = false;
	if (c->live_fd < 0)
		return;
	err = age__reset(&c->age, c->nslots, (__u64)(start * 1e9), (__u64)(c->old_age_s * 1e9));
	keys = malloc(AGE_BATCH * sizeof(*keys));
	vals = malloc(AGE_BATCH * sizeof(*vals));
	if (err || !keys || !vals) {
		/* Ages are extra: out of memory, this report goes without them. */
		c->age.valid = false;
		goto cleanup;
	}
	for (;;) {
		__u32 count = AGE_BATCH;

		err = bpf_map_lookup_batch(c->live_fd, first ? NULL : cursor, cursor, keys, vals,
					   &count, NULL);
		if (err && err != -ENOENT && first) { /* no batch operations on this kernel */
			walk_one_by_one(c, deadline);
			break;
		}
		if (err && err != -ENOENT) { /* e.g. -ENOSPC: a bucket larger than a batch */
			c->age.truncated = true;
			break;
		}
		for (__u32 i = 0; i < count; i++)
			age__add(&c->age, vals[i].slot, vals[i].born_ns, vals[i].size);
		if (err == -ENOENT) /* the last batch */
			break;
		if (mono_s() > deadline) {
			c->age.truncated = true;
			break;
		}
		first = false;
	}
	hdr->age_walked = true;
	hdr->age_truncated = c->age.truncated;
	hdr->age_blocks = c->age.blocks;
	if (c->verbose)
		log_msg("ages: %llu live blocks walked in %.1f ms%s\n",
			(unsigned long long)c->age.blocks, (mono_s() - start) * 1e3,
			c->age.truncated ? " (stopped at the time bound)" : "");
cleanup:
	free(keys);
	free(vals);
}

/* Native paths listed per Python row, and the members looked at for them:
 * bounds on the work for a row standing for thousands of stacks. */
#define PATHS_MAX	 32
#define PATH_MEMBERS_MAX 1024

static int cmp_path(const void *a, const void *b)
{
	const struct report_path *x = a, *y = b;

	return x->live_bytes > y->live_bytes ? -1 : x->live_bytes < y->live_bytes;
}

static void *keep_block(struct collector *c, size_t size)
{
	void **grown = array_grow(c->blocks, &c->blocks_cap, c->nblocks + 1, sizeof(*grown));
	void *b;

	if (!grown)
		return NULL;
	c->blocks = grown;
	b = calloc(1, size);
	if (b)
		c->blocks[c->nblocks++] = b;
	return b;
}

static void free_blocks(struct collector *c)
{
	for (size_t i = 0; i < c->nblocks; i++)
		free(c->blocks[i]);
	c->nblocks = 0;
}

/* A Python row's native paths: its members' stacks told apart by their
 * native frames (rowkey__native), with the live bytes of each. */
static void row_paths(struct collector *c, struct report_row *row)
{
	struct {
		struct report_path paths[PATHS_MAX];
		__u64 keys[PATHS_MAX];
	} * b;
	struct sym_frame *frames;
	size_t i, k, n, np = 0;
	struct stack_trace st;
	bool python = false, complete;
	__u64 key;

	for (i = 1; i < row->nframes && !python; i++)
		python = rowkey__python(&row->frames[i]);
	if (!python || !(b = keep_block(c, sizeof(*b))))
		return;
	for (i = 0; i < row->nmembers && i < PATH_MEMBERS_MAX; i++) {
		const struct report_member *m = &row->members[i];

		if (bpf_map_lookup_elem(c->stacks_fd, &m->stack_id, &st) || st.nr > AS_MAX_FRAMES)
			continue;
		n = stack_frames(c, m->pid, m->stack_id, &st, false, c->scratch, &complete);
		key = rowkey__native(c->scratch, n);
		for (k = 0; k < np && b->keys[k] != key; k++)
			;
		if (k == np) {
			if (np == PATHS_MAX)
				continue;
			frames = keep_block(c, (n ? n : 1) * sizeof(*frames));
			if (!frames)
				break;
			b->keys[np] = key;
			b->paths[np].frames = frames;
			for (size_t j = 1; j < n; j++)
				if (!rowkey__python(&c->scratch[j]))
					frames[b->paths[np].nframes++] = c->scratch[j];
			np++;
		}
		b->paths[k].live_bytes += m->live_bytes;
		b->paths[k].nstacks++;
	}
	qsort(b->paths, np, sizeof(*b->paths), cmp_path);
	row->paths = b->paths;
	row->npaths = np;
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

static int push_id(__u64 **ids, size_t *nr, size_t *cap, __u64 id)
{
	__u64 *n = array_grow(*ids, cap, *nr + 1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	*ids = n;
	(*ids)[(*nr)++] = id;
	return 0;
}

/* Deletes stacks no site has referred to for two passes in a row: a site is
 * created just after its stack, so one pass could catch a stack between the
 * two and orphan the site. */
static void collect_stacks(struct collector *c)
{
	struct site_key key, next, *prev = NULL;
	__u64 id, nid, *prev_id = NULL, *refs = NULL, *cand = NULL, *doomed = NULL;
	size_t nrefs = 0, refcap = 0, ncand = 0, candcap = 0, ndoomed = 0, doomcap = 0;

	while (bpf_map_get_next_key(c->sites_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (push_id(&refs, &nrefs, &refcap, key.stack_id))
			goto cleanup;
	}
	qsort(refs, nrefs, sizeof(*refs), cmp_u64);
	while (bpf_map_get_next_key(c->stacks_fd, prev_id, &nid) == 0) {
		id = nid;
		if (!bsearch(&id, refs, nrefs, sizeof(*refs), cmp_u64)) {
			/* Deleted after the walk: deleting the predecessor
			 * would restart it from the first key. */
			if (bsearch(&id, c->unreferenced, c->nunreferenced, sizeof(id), cmp_u64)) {
				if (push_id(&doomed, &ndoomed, &doomcap, id))
					goto cleanup;
			} else if (push_id(&cand, &ncand, &candcap, id)) {
				goto cleanup;
			}
		}
		prev_id = &id;
	}
	for (size_t i = 0; i < ndoomed; i++)
		bpf_map_delete_elem(c->stacks_fd, &doomed[i]);
	qsort(cand, ncand, sizeof(*cand), cmp_u64);
	free(c->unreferenced);
	c->unreferenced = cand;
	c->nunreferenced = ncand;
	cand = NULL;
	c->stale_stacks = ncand > 0;
cleanup:
	free(refs);
	free(cand);
	free(doomed);
}

void collect__free(struct collector *c)
{
	rowkey__free(&c->keys);
	free_blocks(c);
	free(c->blocks);
	c->blocks = NULL;
	c->blocks_cap = 0;
	free(c->scratch);
	c->scratch = NULL;
	mapcat__free(&c->mapcat);
	age__free(&c->age);
	free(c->unreferenced);
	c->unreferenced = NULL;
	c->nunreferenced = 0;
}

/* Sites of exited processes were shown once more: delete them and the
 * processes' snapshots. */
static void forget_exited(struct collector *c)
{
	struct site_key key, next, *prev = NULL, *doomed = NULL, *grown;
	size_t ndoomed = 0, cap = 0;
	struct proc_entry *p;
	__u32 slot;

	/* Collect first, then delete: a walk that deletes as it goes restarts
	 * from the first key each time, quadratic in the number of sites. */
	while (bpf_map_get_next_key(c->sites_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		p = targets__find(c->procs, key.tgid);
		if (!p || !p->exited)
			continue;
		grown = array_grow(doomed, &cap, ndoomed + 1, sizeof(*doomed));
		if (!grown)
			break;
		doomed = grown;
		doomed[ndoomed++] = key;
	}
	for (size_t i = 0; i < ndoomed; i++) {
		if (!bpf_map_lookup_elem(c->sites_fd, &doomed[i], &slot) &&
		    !bpf_map_delete_elem(c->sites_fd, &doomed[i])) {
			bpf_map_update_elem(c->free_slots_fd, NULL, &slot, BPF_ANY);
			c->stale_stacks = true;
		}
	}
	free(doomed);
	for (size_t i = 0; i < c->procs->nr;) {
		p = &c->procs->procs[i];
		if (p->exited) {
			syms__drop_pid(c->syms, p->pid);
			if (c->pysym)
				pysym__drop_pid(c->pysym, p->pid);
			census__drop_pid(c->census, p->pid);
			targets__remove(c->procs, p->pid);
			continue;
		}
		i++;
	}
}

static int cmp_census_block(const void *a, const void *b)
{
	const struct census_block *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The live blocks above pymalloc's threshold of the processes running
 * CPython, sorted by (pid, address). A sampled block stands for others
 * (count > 1): its size is no block's, and it is left out. */
static int large_blocks(struct collector *c, struct census_block **out, size_t *nout)
{
	enum { BATCH = 4096 };
	struct live_key keys[BATCH];
	struct live_block vals[BATCH];
	struct census_block *v = NULL, *g;
	size_t n = 0, cap = 0;
	__u64 in = 0, next;
	bool first = true;
	int err = 0;

	for (;;) {
		__u32 count = BATCH;

		err = bpf_map_lookup_batch(c->live_fd, first ? NULL : &in, &next, keys, vals,
					   &count, NULL);
		if (err && errno != ENOENT) {
			err = -errno;
			break;
		}
		for (__u32 i = 0; i < count; i++) {
			if (vals[i].size <= PYPOOL_SMALL_MAX || vals[i].count != 1 ||
			    !pysym__proc(c->pysym, keys[i].tgid))
				continue;
			g = array_grow(v, &cap, n + 1, sizeof(*v));
			if (!g) {
				free(v);
				return -ENOMEM;
			}
			v = g;
			v[n++] = (struct census_block){keys[i].tgid, keys[i].addr, vals[i].size};
		}
		if (err) { /* ENOENT: the last batch */
			err = 0;
			break;
		}
		in = next;
		first = false;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_census_block);
	*out = v;
	*nout = n;
	return err;
}

/* Each live process running CPython, its heap by type. A process that
 * cannot be read (it exited meanwhile) has no table; the report goes on. */
static void take_census(struct collector *c, struct report_header *hdr)
{
	struct census_block *large = NULL;
	size_t nlarge = 0;

	census__begin(c->census);
	if (large_blocks(c, &large, &nlarge) && c->verbose)
		log_msg("python census: cannot read the live blocks: %s\n", strerror(errno));
	for (size_t i = 0; i < c->procs->nr; i++) {
		const struct proc_entry *p = &c->procs->procs[i];
		const struct pyproc *pp = pysym__proc(c->pysym, p->pid);
		size_t lo, hi;
		int err;

		if (p->exited || !pp)
			continue;
		for (lo = 0; lo < nlarge && large[lo].pid < p->pid; lo++)
			;
		for (hi = lo; hi < nlarge && large[hi].pid == p->pid; hi++)
			;
		err = census__pid(c->census, p->pid, pp, large + lo, hi - lo);
		if (err && c->verbose)
			log_msg("python census of pid %u: %s\n", p->pid, strerror(-err));
	}
	free(large);
	census__finish(c->census, hdr);
}

int collect__report(struct collector *c, struct report_header *hdr)
{
	struct report_row *rows;
	size_t nrows;
	int err;

	hdr->old_age_s = c->old_age_s;
	err = mapcat__scan(&c->mapcat, c, c->mappings_fd);
	walk_ages(c, hdr);
	if (!err)
		err = read_sites(c);
	if (err)
		return err;
	mapcat__finish(&c->mapcat, hdr);
	err = report__finish(c->report, hdr, &rows, &nrows);
	if (err)
		return err;
	free_blocks(c);
	for (size_t i = 0; i < nrows; i++) {
		symbolize(c, &rows[i]);
		row_paths(c, &rows[i]);
	}
	for (size_t i = 0; hdr->summary && i < hdr->summary->nsites; i++)
		symbolize(c, &hdr->summary->sites[i]);
	hdr->verbose = c->verbose;
	if (c->census)
		take_census(c, hdr);
	err = output__write(c->out, hdr, rows, nrows);
	if (err)
		return err;
	forget_exited(c);
	if (c->stale_stacks)
		collect_stacks(c);
	return 0;
}
