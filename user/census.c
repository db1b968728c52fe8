// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The Python heap census: pymalloc's pools and the probed large blocks of a
 * CPython process read with process_vm_readv, each block in use named by its
 * object's type; nothing in the target is stopped or written.
 *
 * Pools are found by scanning the process's anonymous mappings at every
 * POOL_SIZE-aligned address for a pool header (pypool__is_header), not from
 * the arena table: before 3.12 that table is a static of obmalloc.c, absent
 * from the dynamic symbols of stripped builds such as Debian's python3.11,
 * and arenas need not be arena-aligned (3.10+ mmaps them page-aligned and
 * starts the pools at the next POOL_SIZE boundary). The scan reads one header
 * per POOL_SIZE of anonymous memory, then whole pools only where a header is. */
#define _GNU_SOURCE /* process_vm_readv */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "array.h"
#include "census.h"
#include "pycount.h"
#include "pypool.h"
#include "pytype.h"
#include "procmem.h"
#include "residency.h"
#include "textsafe.h"

#pragma GCC poison u8 u16 u32 u64 s8 s16 s32 s64

#define IOV_BATCH  1024	   /* UIO_MAXIOV */
#define POOL_BATCH 64	   /* pools read per call: 1 MiB of 16 KiB pools */
#define HDR_BYTES  64	   /* read of a pool header: pool_overhead is 48 */
#define HEAD_BYTES 128	   /* read of a large block's start: headers, ob_type, ma_keys */
#define PAGE	   4096ULL /* x86-64: pagemap has one entry per 4 KiB page */
#define PM_PAGES   4096	   /* pagemap entries read at once: 16 MiB of address space */
#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)
#define UNTYPED	   "(no object header)"

struct range {
	__u64 start, end;
};

struct pool_ref {
	__u64 addr;
	__u32 block_size; /* 0: unreadable */
};

/* What the previous and the first census counted, by type name. */
struct pid_state {
	__u32 pid;
	struct pycounts prev, start;
};

struct census {
	double budget_ms;
	unsigned int top;
	double deadline; /* of this report, monotonic seconds */
	/* per process, kept */
	struct pid_state *pids;
	size_t npids, pids_cap;
	/* per report: the header's tables */
	struct report_pyheap *heaps;
	size_t nheaps, heaps_cap;
	struct report_pytype *rows;
	size_t nrows, rows_cap;
	char **names; /* the rows' strings */
	size_t nnames, names_cap;
	/* per process census, reused */
	const struct py_heap_layout *h;
	const struct res_vmas *vmas;
	pid_t pid;
	struct pytypes types;  /* this census's, by address */
	struct range *pranges; /* pools, merged when adjacent */
	size_t npranges, pranges_cap;
	struct pool_ref *pools;
	size_t npools, pools_cap;
	/* Blocks of pools charged as a dict's table, a bit each: a table many
	 * dicts share is charged once. Bounded by the pools, not the dicts. */
	__u64 *tables;
	size_t tables_words, tables_per_pool; /* words in all, and per pool */
	__u64 table_blocks, table_bytes;      /* charged from pools (not objects) */
	struct census_block *large;	      /* this process's, by address */
	size_t nlarge;
	__u8 *buf;
	__u64 pm[PM_PAGES]; /* a pagemap window: pages pm_first.. */
	__u64 pm_first, pm_n;
	struct report_pyheap *heap; /* this process's */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static __u64 word(const __u8 *p, size_t off)
{
	__u64 v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

struct census *census__new(double budget_ms, unsigned int top)
{
	struct census *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->budget_ms = budget_ms;
	c->top = top ? top : 10;
	return c;
}

static void free_names(struct census *c)
{
	for (size_t i = 0; i < c->nnames; i++)
		free(c->names[i]);
	c->nnames = 0;
}

void census__free(struct census *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->npids; i++) {
		pycounts__free(&c->pids[i].prev);
		pycounts__free(&c->pids[i].start);
	}
	free(c->pids);
	free(c->heaps);
	free(c->rows);
	free_names(c);
	free(c->names);
	pytypes__free(&c->types);
	free(c->pranges);
	free(c->pools);
	free(c->tables);
	free(c->buf);
	free(c);
}

void census__drop_pid(struct census *c, __u32 pid)
{
	for (size_t i = 0; c && i < c->npids; i++) {
		if (c->pids[i].pid != pid)
			continue;
		pycounts__free(&c->pids[i].prev);
		pycounts__free(&c->pids[i].start);
		c->pids[i] = c->pids[--c->npids];
		return;
	}
}

void census__begin(struct census *c)
{
	c->nheaps = 0;
	c->nrows = 0;
	free_names(c);
	c->deadline = now_s() + c->budget_ms / 1e3;
}

static bool past_deadline(struct census *c)
{
	if (now_s() < c->deadline)
		return false;
	c->heap->truncated = true;
	return true;
}

/* Reads n pieces of len bytes at addrs[i] into out + i * len; ok[i] says
 * which arrived. process_vm_readv stops at the first piece it cannot read:
 * the rest are tried again after it. */
static void read_pieces(pid_t pid, const __u64 *addrs, size_t n, size_t len, __u8 *out, bool *ok)
{
	struct iovec local[IOV_BATCH], remote[IOV_BATCH];
	size_t i = 0;

	while (i < n) {
		size_t m = n - i < IOV_BATCH ? n - i : IOV_BATCH, got;
		ssize_t r;

		for (size_t k = 0; k < m; k++) {
			local[k] = (struct iovec){out + (i + k) * len, len};
			remote[k] = (struct iovec){(void *)(unsigned long)addrs[i + k], len};
		}
		r = process_vm_readv(pid, local, m, remote, m, 0);
		got = r > 0 ? (size_t)r / len : 0;
		for (size_t k = 0; k < got; k++)
			ok[i + k] = true;
		if (got < m)
			ok[i + got] = false;
		i += got + (got < m);
	}
}

/* Whether addr lies in a pool read (a pointer to an object, not a type). */
static bool in_pools(const struct census *c, __u64 addr)
{
	size_t lo = 0, hi = c->npranges;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (addr < c->pranges[mid].start)
			hi = mid;
		else if (addr >= c->pranges[mid].end)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static bool in_vmas(const struct census *c, __u64 addr)
{
	size_t lo = 0, hi = c->vmas->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct res_vma *v = &c->vmas->v[mid];

		if (addr < v->start)
			hi = mid;
		else if (addr >= v->end)
			lo = mid + 1;
		else
			return v->holds_pages;
	}
	return false;
}

static int read_cb(void *ctx, __u64 addr, void *buf, size_t len)
{
	return procmem__read(((struct census *)ctx)->pid, addr, buf, len);
}

/* Addresses inside pools are objects, never types (a type object is larger
 * than pymalloc's largest block): refused without a read, as are unmapped ones. */
static bool may_be_type(void *ctx, __u64 addr)
{
	const struct census *c = ctx;

	return !in_pools(c, addr) && in_vmas(c, addr);
}

static int cmp_block(const void *key, const void *elem)
{
	__u64 a = *(const __u64 *)key, b = ((const struct census_block *)elem)->addr;

	return a < b ? -1 : a > b;
}

static int cmp_pool(const void *key, const void *elem)
{
	__u64 a = *(const __u64 *)key, b = ((const struct pool_ref *)elem)->addr;

	return a < b ? -1 : a > b;
}

/* A dict's keys and values are no objects: a table a censused dict points at
 * goes to that dict's type, once however many dicts share it, by its block's
 * size: a size class, or a probed large block's size. */
static void charge_table(struct census *c, __u64 p, struct pytype *t)
{
	__u64 pool = p & ~((__u64)c->h->pool_size - 1), i, *w;
	const struct pool_ref *pr;
	struct census_block *l;

	if (!p)
		return;
	pr = bsearch(&pool, c->pools, c->npools, sizeof(*c->pools), cmp_pool);
	if (pr) {
		if (!pr->block_size || !c->tables || p < pool + c->h->pool_overhead ||
		    (p - pool - c->h->pool_overhead) % pr->block_size)
			return;
		i = (p - pool - c->h->pool_overhead) / pr->block_size;
		w = &c->tables[(pr - c->pools) * c->tables_per_pool + i / 64];
		if (i >= c->tables_per_pool * 64 || *w & (1ULL << (i % 64)))
			return;
		*w |= 1ULL << (i % 64);
		t->bytes += pr->block_size;
		c->table_blocks++;
		c->table_bytes += pr->block_size;
	} else if ((l = bsearch(&p, c->large, c->nlarge, sizeof(*l), cmp_block))) {
		t->bytes += l->size;
		l->size = 0;
	}
}

/* An object of type t in a block of size bytes (len of them read at b). */
static void count_typed(struct census *c, struct pytype *t, const __u8 *b, size_t len, __u64 size)
{
	t->objects++;
	t->bytes += size;
	if (t->dict && t->offset + c->h->dict_values + 8 <= len) {
		charge_table(c, word(b, t->offset + c->h->dict_keys), t);
		charge_table(c, word(b, t->offset + c->h->dict_values), t);
	}
}

/* One pool block in use: its type counted, or it holds no object. */
static void count_block(struct census *c, const __u8 *b, size_t size, __u32 *hint)
{
	struct pytype *t = pytypes__classify(&c->types, b, size, hint);

	if (t) {
		count_typed(c, t, b, size, size);
	} else {
		c->heap->untyped_blocks++;
		c->heap->untyped_bytes += size;
	}
}

static int push_pool(struct census *c, __u64 addr, __u32 block_size)
{
	struct pool_ref *p = array_grow(c->pools, &c->pools_cap, c->npools + 1, sizeof(*p));
	struct range *r;

	if (!p)
		return -ENOMEM;
	c->pools = p;
	c->pools[c->npools++] = (struct pool_ref){addr, block_size};
	if (c->npranges && c->pranges[c->npranges - 1].end == addr) {
		c->pranges[c->npranges - 1].end += c->h->pool_size;
		return 0;
	}
	r = array_grow(c->pranges, &c->pranges_cap, c->npranges + 1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	c->pranges = r;
	c->pranges[c->npranges++] = (struct range){addr, addr + c->h->pool_size};
	return 0;
}

static int check_headers(struct census *c, const __u64 *addrs, size_t n)
{
	bool ok[IOV_BATCH];
	int err = 0;

	read_pieces(c->pid, addrs, n, HDR_BYTES, c->buf, ok);
	for (size_t k = 0; k < n && !err; k++)
		if (ok[k] && pypool__is_header(c->h, c->buf + k * HDR_BYTES))
			err = push_pool(c, addrs[k],
					pypool__block_size(c->h, c->buf + k * HDR_BYTES));
	return err;
}

/* Whether the page at addr is in memory, from pagemap windows of PM_PAGES
 * entries. Pages never touched and pages swapped out are not read: a read
 * would make the kernel map the first (page tables in the target for every
 * reservation) and bring the second back in. */
static bool resident(struct census *c, struct res_proc *rp, __u64 addr, __u64 end)
{
	__u64 page = addr / PAGE, e;

	if (page < c->pm_first || page >= c->pm_first + c->pm_n) {
		__u64 want = (end - addr) / PAGE;
		ssize_t got =
			residency__pagemap(rp, page, want < PM_PAGES ? want : PM_PAGES, c->pm);

		c->pm_first = page;
		c->pm_n = got > 0 ? got : 0;
		if (!c->pm_n)
			return false;
	}
	e = c->pm[page - c->pm_first];
	if (e & PM_SWAPPED)
		c->heap->swapped++;
	return e & PM_PRESENT;
}

/* The pool headers of the anonymous mappings' resident pages, IOV_BATCH at a time. */
static int find_pools(struct census *c, struct res_proc *rp)
{
	const __u64 ps = c->h->pool_size;
	__u64 addrs[IOV_BATCH];
	size_t n = 0;
	int err = 0;

	c->pm_first = c->pm_n = 0;
	for (size_t i = 0; i < c->vmas->nr && !err; i++) {
		const struct res_vma *v = &c->vmas->v[i];

		if (!v->anon || !v->holds_pages || v->stack)
			continue;
		for (__u64 a = (v->start + ps - 1) & ~(ps - 1); a + ps <= v->end && !err; a += ps) {
			if (!resident(c, rp, a, v->end))
				continue;
			addrs[n++] = a;
			if (n < IOV_BATCH)
				continue;
			err = check_headers(c, addrs, n);
			n = 0;
			if (past_deadline(c))
				return err;
		}
	}
	return n && !err ? check_headers(c, addrs, n) : err;
}

static void unreadable(struct census *c, struct pool_ref *p)
{
	p->block_size = 0;
	c->heap->unreadable_pools++;
	c->heap->unreadable_bytes += c->h->pool_size;
}

/* Every pool found, read whole POOL_BATCH at a time, its blocks counted. */
static void read_pools(struct census *c)
{
	const size_t ps = c->h->pool_size;
	__u64 addrs[POOL_BATCH];
	bool ok[POOL_BATCH];
	struct pypool pool;

	for (size_t i = 0; i < c->npools; i += POOL_BATCH) {
		size_t n = c->npools - i < POOL_BATCH ? c->npools - i : POOL_BATCH;

		if (past_deadline(c))
			return;
		for (size_t k = 0; k < n; k++)
			addrs[k] = c->pools[i + k].addr;
		read_pieces(c->pid, addrs, n, ps, c->buf, ok);
		for (size_t k = 0; k < n; k++) {
			const __u8 *b = c->buf + k * ps;
			__u32 hint = 0;

			if (!ok[k] || pypool__parse(c->h, b, addrs[k], &pool)) {
				unreadable(c, &c->pools[i + k]);
				continue;
			}
			c->pools[i + k].block_size = pool.block_size;
			c->heap->pools++;
			for (__u32 j = 0; j < pool.carved; j++) {
				size_t at = c->h->pool_overhead + (size_t)j * pool.block_size;

				if (pool.used_bits[j / 64] & (1ULL << (j % 64)))
					count_block(c, b + at, pool.block_size, &hint);
			}
		}
	}
}

/* The probed blocks above pymalloc's threshold: objects (a big list, a
 * long str) by the header at their start; the rest kept, by address, for
 * the dict tables that point at them. */
static void read_large(struct census *c, struct census_block *large, size_t nlarge)
{
	__u64 addrs[IOV_BATCH];
	bool ok[IOV_BATCH];

	for (size_t i = 0; i < nlarge; i += IOV_BATCH) {
		size_t n = nlarge - i < IOV_BATCH ? nlarge - i : IOV_BATCH;

		if (past_deadline(c))
			return;
		for (size_t k = 0; k < n; k++)
			addrs[k] = large[i + k].addr;
		read_pieces(c->pid, addrs, n, HEAD_BYTES, c->buf, ok);
		for (size_t k = 0; k < n; k++) {
			struct census_block *l = &large[i + k];
			struct pytype *t;
			__u32 hint = 0;

			c->heap->large_blocks++;
			/* size 0: a dict's table, charged already */
			if (!ok[k] || !l->size ||
			    !(t = pytypes__classify(&c->types, c->buf + k * HEAD_BYTES, HEAD_BYTES,
						    &hint)))
				continue;
			count_typed(c, t, c->buf + k * HEAD_BYTES, HEAD_BYTES, l->size);
			l->size = 0; /* an object: no dict's table */
		}
	}
}

/* Room for a bit per block of every pool found. */
static int alloc_tables(struct census *c)
{
	size_t per = (c->h->pool_size / c->h->alignment + 63) / 64, words = per * c->npools;
	__u64 *n;

	if (words > c->tables_words) {
		n = realloc(c->tables, words * sizeof(*n));
		if (!n)
			return -ENOMEM;
		c->tables = n;
		c->tables_words = words;
	}
	if (words)
		memset(c->tables, 0, words * sizeof(*c->tables));
	c->tables_per_pool = per;
	return 0;
}

/* Table blocks were counted as blocks with no object header. */
static void untype_tables(struct census *c)
{
	struct report_pyheap *h = c->heap;

	h->untyped_blocks -=
		c->table_blocks < h->untyped_blocks ? c->table_blocks : h->untyped_blocks;
	h->untyped_bytes -= c->table_bytes < h->untyped_bytes ? c->table_bytes : h->untyped_bytes;
}

/* This census by type name, sorted. */
static int by_name(struct census *c, struct pycounts *out)
{
	int err = 0;

	for (size_t i = 0; i < c->types.cap && !err; i++) {
		const struct pytype *t = &c->types.v[i];

		if (t->state == 1 && t->objects)
			err = pycounts__add(out, t->name, t->objects, t->bytes);
	}
	if (!err && c->heap->untyped_blocks)
		err = pycounts__add(out, UNTYPED, c->heap->untyped_blocks, c->heap->untyped_bytes);
	pycounts__merge(out);
	return err;
}

static const char *keep_name(struct census *c, const char *name)
{
	char **n = array_grow(c->names, &c->names_cap, c->nnames + 1, sizeof(*n));

	if (!n)
		return NULL;
	c->names = n;
	c->names[c->nnames] = strdup(name);
	return c->names[c->nnames] ? c->names[c->nnames++] : NULL;
}

/* The process's rows, their names kept until the next report. */
static int add_rows(struct census *c, struct pid_state *ps, const struct pycounts *now)
{
	size_t first = c->nrows;
	char other[64];
	int err;

	err = pycounts__rows(ps->pid, now, &ps->prev, &ps->start, c->top, other, sizeof(other),
			     &c->rows, &c->nrows, &c->rows_cap);
	for (size_t i = first; i < c->nrows && !err; i++)
		if (!(c->rows[i].type = keep_name(c, c->rows[i].type)))
			err = -ENOMEM;
	return err;
}

static struct pid_state *pid_state(struct census *c, __u32 pid)
{
	struct pid_state *p;

	for (size_t i = 0; i < c->npids; i++)
		if (c->pids[i].pid == pid)
			return &c->pids[i];
	p = array_grow(c->pids, &c->pids_cap, c->npids + 1, sizeof(*p));
	if (!p)
		return NULL;
	c->pids = p;
	p = &c->pids[c->npids++];
	*p = (struct pid_state){.pid = pid};
	return p;
}

static int prepare(struct census *c, __u32 pid, const struct pyproc *pp)
{
	size_t need = (size_t)POOL_BATCH * pp->layout.heap.pool_size;
	struct report_pyheap *hp;

	if (need < IOV_BATCH * HEAD_BYTES)
		need = IOV_BATCH * HEAD_BYTES;
	if (!c->buf) {
		/* 1 MiB at most: POOL_BATCH pools of 16 KiB */
		c->buf = malloc((size_t)POOL_BATCH * 16384 > need ? (size_t)POOL_BATCH * 16384
								  : need);
		if (!c->buf)
			return -ENOMEM;
	}
	if (need > (size_t)POOL_BATCH * 16384)
		return -ENOTSUP;
	hp = array_grow(c->heaps, &c->heaps_cap, c->nheaps + 1, sizeof(*hp));
	if (!hp)
		return -ENOMEM;
	c->heaps = hp;
	c->heap = &c->heaps[c->nheaps++];
	*c->heap = (struct report_pyheap){.pid = pid, .pool_size = pp->layout.heap.pool_size};
	c->h = &pp->layout.heap;
	c->pid = pid;
	pytypes__reset(&c->types, c->h, pp->type_type,
		       &(struct pytype_source){read_cb, may_be_type, c});
	c->npools = c->npranges = 0;
	c->table_blocks = c->table_bytes = 0;
	return 0;
}

int census__pid(struct census *c, __u32 pid, const struct pyproc *pp, struct census_block *large,
		size_t nlarge)
{
	struct res_budget budget = {};
	struct pycounts now = {};
	struct pid_state *ps;
	struct res_proc *rp;
	double t0 = now_s();
	int err;

	if (!pp->type_type || !pp->layout.heap.pool_size)
		return -ENOTSUP;
	err = prepare(c, pid, pp);
	if (err)
		return err;
	rp = residency__open(pid, &budget);
	if (!rp) {
		c->nheaps--;
		return -errno;
	}
	c->vmas = residency__vmas(rp);
	if (past_deadline(c))
		goto done;
	c->large = large;
	c->nlarge = nlarge;
	err = find_pools(c, rp);
	if (!err)
		err = alloc_tables(c);
	if (!err) {
		read_pools(c);
		read_large(c, large, nlarge);
		untype_tables(c);
	}
done:
	ps = pid_state(c, pid);
	if (!ps)
		err = -ENOMEM;
	if (!err)
		err = by_name(c, &now);
	/* Nothing read (the process exited meanwhile, or holds no pool): no
	 * table, rather than every type gone. */
	if (!err && !now.nr) {
		c->nheaps--;
		err = -ENODATA;
	}
	if (!err)
		err = add_rows(c, ps, &now);
	/* A partial census is shown, marked, but measures no growth later. */
	if (!err && !c->heap->truncated) {
		if (!ps->start.nr)
			err = pycounts__copy(&ps->start, &now);
		pycounts__free(&ps->prev);
		ps->prev = now;
	} else {
		pycounts__free(&now);
	}
	c->heap->ms = (now_s() - t0) * 1e3;
	residency__close(rp);
	return err;
}

void census__finish(struct census *c, struct report_header *hdr)
{
	hdr->pyheaps = c->heaps;
	hdr->npyheaps = c->nheaps;
	hdr->pytypes = c->rows;
	hdr->npytypes = c->nrows;
}

int census__baseline(struct census *c, __u32 pid, const struct pyproc *pp)
{
	census__begin(c);
	return census__pid(c, pid, pp, NULL, 0);
}
