// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Report assembly from the BPF maps: sites are read every interval, stacks
 * only for the rows shown, symbols from per-process snapshots. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "array.h"
#include "collect.h"
#include "path.h"

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

static __u64 hash_mix(__u64 h, __u64 v)
{
	h ^= v;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 31);
}

static __u64 hash_text(__u64 h, const char *s)
{
	while (s && *s)
		h = hash_mix(h, (unsigned char)*s++);
	return hash_mix(h, 0);
}

static bool has_python(const struct stack_trace *st)
{
	for (__u32 i = 0; i < st->nr && i < AS_MAX_FRAMES; i++)
		if (st->pcs[i] & AS_PY_FRAME_BIT)
			return true;
	return false;
}

/* Where key is, or would go, in the aliases (sorted by key). */
static size_t alias_at(const struct collector *c, __u64 key)
{
	size_t lo = 0, hi = c->naliases;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (c->aliases[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Python stacks that read the same in a report (other instructions of the
 * same lines) are one site: the key of what is shown, remembered with one
 * of the stacks behind it. 0 for other stacks. */
static __u64 python_key(struct collector *c, __u32 pid, __u64 stack_id)
{
	const struct py_frame *pf;
	struct stack_trace st;
	struct stack_alias *grown;
	__u64 h = 0x9e3779b97f4a7c15ULL ^ pid;
	size_t at;

	if (!c->pysym || !pysym__proc(c->pysym, pid) ||
	    bpf_map_lookup_elem(c->stacks_fd, &stack_id, &st) || st.nr > AS_MAX_FRAMES ||
	    !has_python(&st))
		return 0;
	pf = pysym__stack(c->pysym, pid, stack_id, &st);
	if (!pf)
		return 0;
	for (__u32 i = 0; i < st.nr; i++) {
		if (!(st.pcs[i] & AS_PY_FRAME_BIT)) {
			h = hash_mix(h, st.pcs[i]);
			continue;
		}
		h = hash_text(h, pf[i].file);
		h = hash_text(h, pf[i].function);
		h = hash_mix(h, pf[i].line);
	}
	h = hash_mix(h, st.cut);
	at = alias_at(c, h);
	if (at < c->naliases && c->aliases[at].key == h)
		return h;
	grown = array_grow(c->aliases, &c->aliases_cap, c->naliases + 1, sizeof(*grown));
	if (!grown)
		return 0;
	c->aliases = grown;
	memmove(&c->aliases[at + 1], &c->aliases[at], (c->naliases - at) * sizeof(*grown));
	c->aliases[at] = (struct stack_alias){.key = h, .stack_id = stack_id};
	c->naliases++;
	return h;
}

/* The stack to show for a report key. */
static __u64 real_stack(const struct collector *c, __u64 key)
{
	size_t at = alias_at(c, key);

	return at < c->naliases && c->aliases[at].key == key ? c->aliases[at].stack_id : key;
}

static int cmp_site(const void *a, const void *b)
{
	const struct report_site *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

static void add_stats(struct site_stats *to, const struct site_stats *from)
{
	to->alloc_bytes += from->alloc_bytes;
	to->allocs += from->allocs;
	to->free_bytes += from->free_bytes;
	to->frees += from->frees;
}

static void add_site(struct report_site *to, const struct report_site *from)
{
	add_stats(&to->stats, &from->stats);
	to->mapping |= from->mapping;
	to->mapped_bytes += from->mapped_bytes;
	to->resident_bytes += from->resident_bytes;
}

static int read_sites(struct collector *c)
{
	struct site_key key, next, *prev = NULL;
	struct report_site *all = NULL, *grown;
	size_t n = 0, cap = 0, i, j;
	struct proc_entry *p;
	__u64 merged;
	__u32 slot;
	int err = 0;

	while (bpf_map_get_next_key(c->sites_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		grown = array_grow(all, &cap, n + 1, sizeof(*all));
		if (!grown) {
			err = -ENOMEM;
			goto cleanup;
		}
		all = grown;
		memset(&all[n], 0, sizeof(all[n]));
		if (bpf_map_lookup_elem(c->sites_fd, &key, &slot) ||
		    bpf_map_lookup_elem(c->counters_fd, &slot, &all[n].stats))
			continue; /* deleted meanwhile */
		merged = python_key(c, key.tgid, key.stack_id);
		all[n].stack_id = merged ? merged : key.stack_id;
		all[n].pid = key.tgid;
		p = targets__get(c->procs, key.tgid);
		if (p) {
			all[n].exited = p->exited;
			memcpy(all[n].comm, p->comm, sizeof(all[n].comm));
		}
		/* Thread stacks and allocators' own mappings are categories, not sites. */
		if (mapcat__site(&c->mapcat, c, slot, key.stack_id, &all[n]))
			continue;
		n++;
	}
	if (n)
		qsort(all, n, sizeof(*all), cmp_site);
	for (i = 0; i < n && !err; i = j) {
		for (j = i + 1; j < n && !cmp_site(&all[i], &all[j]); j++)
			add_site(&all[i], &all[j]);
		err = report__add(c->report, &all[i]);
	}
cleanup:
	free(all);
	return err;
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

static void symbolize(struct collector *c, struct report_row *row)
{
	__u32 pid = row->site.pid;
	const struct pyproc *pp = c->pysym ? pysym__proc(c->pysym, pid) : NULL;
	const struct py_frame *py = NULL;
	struct stack_trace st;
	bool reloaded = false;

	__u64 stack_id = real_stack(c, row->site.stack_id);

	row->nframes = 0;
	if (bpf_map_lookup_elem(c->stacks_fd, &stack_id, &st) || st.nr > AS_MAX_FRAMES)
		return;
	collect__load_syms(c, pid);
	row->cut = st.cut <= UNWIND_STOP_COUNT ? st.cut : 0;
	if (pp && has_python(&st))
		py = pysym__stack(c->pysym, pid, stack_id, &st);
	for (__u32 i = 0; i < st.nr; i++) {
		struct sym_frame *f = &row->frames[row->nframes];
		int err;

		if (!i && st.pcs[0] <= AS_MAP_CALL_MAX) {
			static const char *const calls[] = {[MAP_CALL_MMAP] = "mmap",
							    [MAP_CALL_MREMAP] = "mremap",
							    [MAP_CALL_BRK] = "brk"};
			const char *name = st.pcs[0] < sizeof(calls) / sizeof(*calls)
						   ? calls[st.pcs[0]]
						   : NULL;

			*f = (struct sym_frame){.addr = st.pcs[0],
						.symbol = name ? name : "[unknown]",
						.module = "syscall"};
			row->nframes++;
			continue;
		}
		if (st.pcs[i] & AS_PY_FRAME_BIT) {
			python_frame(py ? &py[i] : NULL, st.pcs[i], f);
			row->nframes++;
			continue;
		}
		err = syms__resolve(c->syms, pid, st.pcs[i], i > 0, f);
		/* A library loaded after the snapshot: re-read the mappings once. */
		if (err == -ENOENT && !reloaded && !row->site.exited) {
			reloaded = true;
			if (!snapshot_pid(c, pid))
				err = syms__resolve(c->syms, pid, st.pcs[i], i > 0, f);
		}
		/* Past the immediate caller, an address outside any mapped
		 * file means the frame-pointer chain went astray: stop there. */
		if (i > 1 && (err == -ENOENT || f->module[0] == '['))
			break;
		if (py && i > 0 && interpreter_frame(pp, f))
			continue;
		row->nframes++;
	}
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
	mapcat__free(&c->mapcat);
	free(c->aliases);
	c->aliases = NULL;
	c->naliases = 0;
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
			targets__remove(c->procs, p->pid);
			continue;
		}
		i++;
	}
}

int collect__report(struct collector *c, struct report_header *hdr)
{
	struct report_row *rows;
	size_t nrows;
	int err;

	err = mapcat__scan(&c->mapcat, c, c->mappings_fd);
	if (!err)
		err = read_sites(c);
	if (err)
		return err;
	mapcat__finish(&c->mapcat, hdr);
	err = report__finish(c->report, hdr, &rows, &nrows);
	if (err)
		return err;
	for (size_t i = 0; i < nrows; i++)
		symbolize(c, &rows[i]);
	if (c->format == FORMAT_JSON)
		report__print_json(c->out, hdr, rows, nrows);
	else
		report__print_text(c->out, hdr, rows, nrows);
	/* The reader went away (a closed pipe) or the disk filled: stop. */
	if (fflush(c->out) || ferror(c->out))
		return errno ? -errno : -EIO;
	forget_exited(c);
	if (c->stale_stacks)
		collect_stacks(c);
	return 0;
}
