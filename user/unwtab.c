// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unwind tables of files, in the kernel's unwind_tables array of maps. */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>

#include "allocscope.h"
#include "array.h"
#include "cfi.h"
#include "mapfile.h"
#include "unwtab.h"

struct unwtab {
	int tables_fd;
	struct unwtab_file **files;
	size_t nfiles;
	size_t files_cap;
	__u8 used[AS_UNW_TABLES]; /* table ids in use */
	__u64 puts;		  /* a clock for last_put */
	/* Tables built but not yet in unwind_tables: inserted together, as
	 * each insert into an array of maps waits for an RCU grace period. */
	__u32 *pending_ids;
	int *pending_fds;
	size_t npending;
	size_t pending_cap;    /* of pending_ids */
	size_t pending_fd_cap; /* of pending_fds */
	atomic_bool cancel;    /* builds stop: the tracer is exiting */
};

struct unwtab *unwtab__new(int tables_fd)
{
	struct unwtab *t = calloc(1, sizeof(*t));

	if (t)
		t->tables_fd = tables_fd;
	return t;
}

/* unlink: take the table out of the kernel's array of maps. Each delete
 * waits for an RCU grace period (~15 ms here): at teardown, where the array
 * goes with the BPF object, 60 tables cost a second of exit. */
static void drop_file(struct unwtab *t, struct unwtab_file *f, bool unlink)
{
	if (f->table != AS_UNW_NO_TABLE) {
		if (unlink)
			bpf_map_delete_elem(t->tables_fd, &f->table);
		t->used[f->table] = 0;
	}
	free(f->ids);
	free(f);
}

void unwtab__cancel(struct unwtab *t)
{
	if (t)
		atomic_store(&t->cancel, true);
}

void unwtab__free(struct unwtab *t)
{
	if (!t)
		return;
	if (atomic_load(&t->cancel)) {
		for (size_t i = 0; i < t->npending; i++)
			close(t->pending_fds[i]);
		t->npending = 0;
	}
	unwtab__publish(t);
	free(t->pending_ids);
	free(t->pending_fds);
	for (size_t i = 0; i < t->nfiles; i++)
		drop_file(t, t->files[i], false);
	free(t->files);
	free(t);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static struct unwtab_file *find_by_id(struct unwtab *t, struct file_id id)
{
	for (size_t i = 0; i < t->nfiles; i++)
		for (size_t j = 0; j < t->files[i]->nids; j++)
			if (file_id__eq(t->files[i]->ids[j], id))
				return t->files[i];
	return NULL;
}

static int add_id(struct unwtab_file *f, struct file_id id)
{
	size_t cap = f->nids; /* exact: ids rarely exceed one */
	struct file_id *ids = array_grow(f->ids, &cap, f->nids + 1, sizeof(*ids));

	if (!ids)
		return -ENOMEM;
	f->ids = ids;
	f->ids[f->nids++] = id;
	return 0;
}

static int free_table_id(struct unwtab *t, __u32 *id)
{
	for (__u32 i = 0; i < AS_UNW_TABLES; i++) {
		if (!t->used[i]) {
			t->used[i] = 1;
			*id = i;
			return 0;
		}
	}
	return -ENOSPC;
}

/* Copies rows into a new inner array, to be published as table id by
 * unwtab__publish. The array is filled through mmap: an update syscall per
 * row would cost more than compiling the rows. */
static int load_rows(struct unwtab *t, __u32 id, const struct unw_row *rows, __u32 nrows)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP | BPF_F_MMAPABLE);
	size_t len = ((size_t)nrows * sizeof(*rows) + 4095) & ~(size_t)4095;
	__u32 *ids;
	int *fds, fd;
	void *mem;

	ids = array_grow(t->pending_ids, &t->pending_cap, t->npending + 1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	t->pending_ids = ids;
	fds = array_grow(t->pending_fds, &t->pending_fd_cap, t->npending + 1, sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	t->pending_fds = fds;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "unw_rows", sizeof(__u32), sizeof(*rows), nrows,
			    &opts);
	if (fd < 0)
		return -errno;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED) {
		close(fd);
		return -errno;
	}
	memcpy(mem, rows, (size_t)nrows * sizeof(*rows));
	munmap(mem, len);
	t->pending_ids[t->npending] = id;
	t->pending_fds[t->npending++] = fd;
	return 0;
}

int unwtab__publish(struct unwtab *t)
{
	__u32 count = t->npending;
	int err = 0;

	if (!count)
		return 0;
	if (bpf_map_update_batch(t->tables_fd, t->pending_ids, t->pending_fds, &count, NULL)) {
		/* Kernels without batch ops on arrays of maps: one by one. */
		for (size_t i = 0; i < t->npending; i++)
			if (bpf_map_update_elem(t->tables_fd, &t->pending_ids[i],
						&t->pending_fds[i], BPF_ANY))
				err = -errno;
	}
	for (size_t i = 0; i < t->npending; i++)
		close(t->pending_fds[i]); /* the array of maps holds its own reference */
	t->npending = 0;
	return err;
}

/* Compiles the CFI of o (or of its separate debug file) into table f. */
static int build_table(struct unwtab *t, struct unwtab_file *f, struct elfobj *o, __u32 pid,
		       const char *path)
{
	char root[32];
	struct cfi_table cfi = {};
	struct elfobj *dbg = NULL;
	double start = now_ms();
	int err;

	err = cfi_table__build(elfobj__fd(o), -1, &t->cancel, &cfi);
	if (err == -ENOENT) {
		/* The target's own /usr/lib/debug, seen through its root. */
		snprintf(root, sizeof(root), "/proc/%u/root", pid);
		dbg = elfobj__open_debug(o, root, path);
		if (dbg)
			err = cfi_table__build(elfobj__fd(o), elfobj__fd(dbg), &t->cancel, &cfi);
	}
	f->table = AS_UNW_NO_TABLE;
	f->build_err = err;
	/* No usable CFI (cfi.c refuses more than CFI_MAX_ROWS rows): the
	 * walker follows frame pointers. */
	if (err || !cfi.nr)
		goto cleanup;
	err = free_table_id(t, &f->table);
	if (!err)
		err = load_rows(t, f->table, cfi.rows, cfi.nr);
	if (err) {
		if (err != -ENOSPC)
			t->used[f->table] = 0;
		f->table = AS_UNW_NO_TABLE;
		goto cleanup;
	}
	f->nrows = cfi.nr;
cleanup:
	f->build_ms = now_ms() - start;
	cfi_table__free(&cfi);
	elfobj__close(dbg);
	return err;
}

static struct unwtab_file *new_file(struct unwtab *t, struct elfobj *o)
{
	struct unwtab_file *f = calloc(1, sizeof(*f)), **files;
	const struct elf_seg *segs;

	files = array_grow(t->files, &t->files_cap, t->nfiles + 1, sizeof(*files));
	if (!f || !files) {
		free(f);
		return NULL;
	}
	t->files = files;
	f->nsegs = elfobj__segments(o, &segs);
	if (f->nsegs > UNWTAB_MAX_SEGS)
		f->nsegs = UNWTAB_MAX_SEGS;
	memcpy(f->segs, segs, f->nsegs * sizeof(*segs));
	f->table = AS_UNW_NO_TABLE;
	t->files[t->nfiles++] = f;
	return f;
}

int unwtab__get(struct unwtab *t, __u32 pid, const struct vma *v, struct unwtab_file **out)
{
	struct file_id id = procmaps__file_id(v);
	struct unwtab_file *f = find_by_id(t, id);
	struct file_id opened;
	struct elfobj *o;
	int fd, err = 0;

	if (f)
		goto found;
	/* map_files reaches deleted files and other mount namespaces; the
	 * file opened is checked to be v's, so ids only ever name their file. */
	fd = mapfile__open(pid, v, &opened);
	if (fd < 0)
		return fd;
	o = elfobj__open_fd(fd);
	if (!o)
		return -errno;
	/* Never shared by build-id: a process can map a file claiming another
	 * file's build-id, and its rows would then walk every process's stacks
	 * through that other file. */
	f = new_file(t, o);
	if (!f) {
		err = -ENOMEM;
		goto close;
	}
	/* v->path (as mapped) finds a debug file beside it, if any. */
	build_table(t, f, o, pid, v->path);
	err = add_id(f, id);
close:
	elfobj__close(o);
	if (err)
		return err;
found:
	f->refs++;
	*out = f;
	return 0;
}

static void remove_file(struct unwtab *t, size_t i)
{
	struct unwtab_file *f = t->files[i];

	t->files[i] = t->files[--t->nfiles];
	drop_file(t, f, true);
}

/* Frees the longest-idle unused tables until the idle ones fit the budget. */
static void evict_idle(struct unwtab *t)
{
	for (;;) {
		size_t idle_rows = 0, oldest = SIZE_MAX;

		for (size_t i = 0; i < t->nfiles; i++) {
			const struct unwtab_file *f = t->files[i];

			if (f->refs)
				continue;
			idle_rows += f->nrows;
			if (oldest == SIZE_MAX || f->last_put < t->files[oldest]->last_put)
				oldest = i;
		}
		if (oldest == SIZE_MAX || idle_rows <= UNWTAB_IDLE_ROWS)
			return;
		remove_file(t, oldest);
	}
}

void unwtab__put(struct unwtab *t, struct unwtab_file *f)
{
	if (!f || --f->refs)
		return;
	f->last_put = ++t->puts;
	evict_idle(t);
}

int unwtab__bias(const struct unwtab_file *f, const struct vma *v, __u64 *bias)
{
	return elfobj__bias(f->segs, f->nsegs, v->start, v->offset, bias);
}

void unwtab__totals(const struct unwtab *t, size_t *tables, size_t *rows)
{
	*tables = *rows = 0;
	for (size_t i = 0; i < t->nfiles; i++) {
		if (t->files[i]->table == AS_UNW_NO_TABLE)
			continue;
		(*tables)++;
		*rows += t->files[i]->nrows;
	}
}
