// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Resident bytes of traced mappings: their ranges cut by the process's current VMAs, each
 * piece counted in /proc/PID/pagemap, within a bounded number of pages per report. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "residency.h"

#pragma GCC poison u8 u16 u32 u64 s8 s16 s32 s64

#define PM_PRESENT (1ULL << 63)
#define PM_FILE	   (1ULL << 61) /* a file's page or shared anonymous memory */
#define PM_CHUNK   4096		/* pagemap entries read at once at most: 32 KiB */
#define PM_WINDOW  1024		/* and at least: 4 MiB of address space */

/* Parses "start-end perms ..." of a maps or smaps header line; false for other lines. */
static bool parse_header(const char *line, struct res_vma *v)
{
	unsigned long long start, end;
	char perms[5];
	int n = -1;

	if (sscanf(line, "%llx-%llx %4s%n", &start, &end, perms, &n) != 3 || n < 0 || end < start ||
	    strlen(perms) != 4)
		return false;
	v->start = start;
	v->end = end;
	v->holds_pages = perms[0] == 'r' || perms[1] == 'w';
	/* The path column: "[heap]" is printed by the kernel; a file of that name would
	 * show as a path with a '/'. */
	line += n;
	n = -1;
	sscanf(line, " %*x %*x:%*x %*u%n", &n);
	line += n > 0 ? n : 0;
	line += strspn(line, " ");
	v->heap = !strncmp(line, "[heap]", 6) && (line[6] == '\n' || !line[6]);
	v->stack = !strncmp(line, "[stack]", 7) && (line[7] == '\n' || !line[7]);
	/* Files show as paths; anonymous memory as nothing, [heap], or [anon:NAME] (prctl
	 * PR_SET_VMA_ANON_NAME). */
	v->anon = line[0] == '\n' || !line[0] || v->heap || !strncmp(line, "[anon:", 6);
	v->file_cow = line[0] == '/' && perms[1] == 'w' && perms[3] == 'p';
	return true;
}

int residency__parse_maps(FILE *f, struct res_vmas *out)
{
	size_t linecap = 0;
	char *line = NULL;
	struct res_vma v, *grown;
	int err = 0;

	out->nr = 0;
	while (getline(&line, &linecap, f) > 0) {
		if (!parse_header(line, &v)) {
			err = -EINVAL;
			break;
		}
		if (out->nr >= RES_VMAS_MAX) {
			err = -E2BIG;
			break;
		}
		grown = array_grow(out->v, &out->cap, out->nr + 1, sizeof(*grown));
		if (!grown) {
			err = -ENOMEM;
			break;
		}
		out->v = grown;
		out->v[out->nr++] = v;
	}
	free(line);
	return err;
}

void residency__free_vmas(struct res_vmas *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}

__u64 residency__count_present(const __u64 *entries, size_t n)
{
	__u64 pages = 0;

	for (size_t i = 0; i < n; i++)
		pages += !!(entries[i] & PM_PRESENT);
	return pages;
}

__u64 residency__count_anon(const __u64 *entries, size_t n)
{
	__u64 pages = 0;

	for (size_t i = 0; i < n; i++)
		pages += (entries[i] & (PM_PRESENT | PM_FILE)) == PM_PRESENT;
	return pages;
}

/* The first VMA that ends after addr. */
static size_t first_after(const struct res_vmas *m, __u64 addr)
{
	size_t lo = 0, hi = m->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->v[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int attribute_one(const struct res_vmas *m, struct res_range *r, __u64 end,
			 const struct res_reader *rd)
{
	int err = 0;

	for (size_t i = first_after(m, r->start); i < m->nr && m->v[i].start < end && !err; i++) {
		const struct res_vma *v = &m->v[i];
		__u64 a = v->start > r->start ? v->start : r->start;
		__u64 b = v->end < end ? v->end : end;
		__u64 res = 0;
		bool est = false;

		if (!v->anon)
			continue; /* a file mapped where a trimmed part of the range was */
		r->mapped += b - a;
		if (v->heap)
			r->heap_mapped += b - a;
		if (!v->holds_pages)
			continue;
		r->held += b - a;
		if (v->heap)
			r->heap_held += b - a;
		err = rd->count(rd->ctx, v, a, b, &res, &est);
		r->resident += res;
		r->estimated |= est;
		if (v->heap)
			r->heap_resident += res;
	}
	return err;
}

int residency__attribute(const struct res_vmas *m, struct res_range *r, size_t nr,
			 const struct res_reader *rd, __u64 *heap_resident, __u64 *stack_resident)
{
	bool est;
	int err = 0;

	*heap_resident = *stack_resident = 0;
	for (size_t i = 0; i < m->nr && !err; i++) {
		const struct res_vma *v = &m->v[i];

		if (v->holds_pages && (v->heap || v->stack))
			err = rd->count(rd->ctx, v, v->start, v->end,
					v->heap ? heap_resident : stack_resident, &est);
	}
	for (size_t i = 0; i < nr && !err; i++) {
		__u64 end = r[i].end;

		r[i].mapped = r[i].resident = r[i].heap_resident = r[i].heap_mapped = 0;
		r[i].held = r[i].heap_held = 0;
		r[i].estimated = false;
		/* A later mapping starting inside this one replaced what it covers. */
		if (i + 1 < nr && r[i + 1].start < end)
			end = r[i + 1].start;
		if (end > r[i].start)
			err = attribute_one(m, &r[i], end, rd);
	}
	return err;
}

int residency__parse_statm(const char *text, long page_size, __u64 *rss_anon)
{
	unsigned long long size, resident, shared;

	if (page_size <= 0 || sscanf(text, "%llu %llu %llu", &size, &resident, &shared) != 3)
		return -EINVAL;
	*rss_anon = resident > shared ? (resident - shared) * (__u64)page_size : 0;
	return 0;
}

/* Rss of one VMA, from smaps: the fallback for ranges too large to read page by page. */
struct smaps_rss {
	__u64 start;
	__u64 rss;
};

struct res_proc {
	int dir;     /* /proc/PID: every file is opened from it, so all are one process's */
	int pagemap; /* -1 until needed */
	long page_size;
	struct res_vmas vmas;
	struct smaps_rss *smaps; /* NULL until needed, sorted by start */
	size_t nsmaps, smaps_cap;
	bool smaps_read;
	struct res_budget *budget;
	__u64 *buf;		/* PM_CHUNK entries */
	__u64 win_first, win_n; /* buf holds the entries of pages [win_first, + win_n) */
};

static FILE *open_in(struct res_proc *p, const char *name)
{
	int fd = openat(p->dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "r");
	if (!f)
		close(fd);
	return f;
}

struct res_proc *residency__open(__u32 pid, struct res_budget *budget)
{
	struct res_proc *p = calloc(1, sizeof(*p));
	char path[32];
	FILE *f = NULL;
	int err = 0;

	if (!p)
		return NULL;
	p->pagemap = -1;
	p->budget = budget;
	p->page_size = sysconf(_SC_PAGESIZE);
	snprintf(path, sizeof(path), "/proc/%u", pid);
	p->dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dir < 0) {
		err = -ESRCH;
		goto fail;
	}
	f = open_in(p, "maps");
	if (!f) {
		err = -errno;
		goto fail;
	}
	err = residency__parse_maps(f, &p->vmas);
	fclose(f);
	if (err)
		goto fail;
	return p;
fail:
	residency__close(p);
	errno = -err;
	return NULL;
}

void residency__close(struct res_proc *p)
{
	if (!p)
		return;
	if (p->dir >= 0)
		close(p->dir);
	if (p->pagemap >= 0)
		close(p->pagemap);
	residency__free_vmas(&p->vmas);
	free(p->smaps);
	free(p->buf);
	free(p);
}

const struct res_vmas *residency__vmas(struct res_proc *p)
{
	return &p->vmas;
}

/* Reads smaps once: the Rss line of each VMA, bounded like the maps. */
static void read_smaps(struct res_proc *p)
{
	struct smaps_rss *grown;
	unsigned long long kb;
	size_t linecap = 0;
	char *line = NULL;
	struct res_vma v;
	FILE *f;

	p->smaps_read = true;
	f = open_in(p, "smaps");
	if (!f)
		return;
	while (getline(&line, &linecap, f) > 0) {
		if (parse_header(line, &v)) {
			if (p->nsmaps >= RES_VMAS_MAX)
				break;
			grown = array_grow(p->smaps, &p->smaps_cap, p->nsmaps + 1, sizeof(*grown));
			if (!grown)
				break;
			p->smaps = grown;
			p->smaps[p->nsmaps++] = (struct smaps_rss){.start = v.start};
		} else if (p->nsmaps && sscanf(line, "Rss: %llu kB", &kb) == 1) {
			p->smaps[p->nsmaps - 1].rss = kb << 10;
		}
	}
	free(line);
	fclose(f);
}

static int estimate(struct res_proc *p, const struct res_vma *v, __u64 start, __u64 end,
		    __u64 *resident)
{
	size_t lo = 0, hi;

	if (!p->smaps_read)
		read_smaps(p);
	hi = p->nsmaps;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->smaps[mid].start < v->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == p->nsmaps || p->smaps[lo].start != v->start)
		return 0; /* unmapped since the maps were read */
	/* In proportion: a part of a huge VMA (an ASan shadow, a JIT's reservation). */
	*resident += (__u64)((double)p->smaps[lo].rss * (end - start) / (v->end - v->start));
	p->budget->estimated++;
	return 0;
}

/* Reads the pagemap entries from page first on: at least PM_WINDOW of them, so that the small
 * mappings that follow (ranges come in address order) are counted from the same read; at
 * most PM_CHUNK. The entries read, 0 or -errno. */
static ssize_t read_window(struct res_proc *p, __u64 first, __u64 last)
{
	size_t want = last - first > PM_CHUNK ? PM_CHUNK : last - first;
	ssize_t n;

	if (want < PM_WINDOW)
		want = PM_WINDOW;
	n = pread(p->pagemap, p->buf, want * sizeof(*p->buf), (off_t)(first * sizeof(*p->buf)));
	p->win_first = first;
	p->win_n = n > 0 ? n / sizeof(*p->buf) : 0;
	p->budget->pages_read += p->win_n;
	p->budget->pages_left -=
		p->win_n < p->budget->pages_left ? p->win_n : p->budget->pages_left;
	return n < 0 ? -errno : (ssize_t)p->win_n;
}

static int open_pagemap(struct res_proc *p)
{
	if (p->pagemap < 0) {
		p->pagemap = openat(p->dir, "pagemap", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (p->pagemap < 0)
			return -errno;
	}
	return 0;
}

ssize_t residency__pagemap(struct res_proc *p, __u64 first, size_t n, __u64 *out)
{
	ssize_t r;
	int err = open_pagemap(p);

	if (err)
		return err;
	r = pread(p->pagemap, out, n * sizeof(*out), (off_t)(first * sizeof(*out)));
	return r < 0 ? -errno : r / (ssize_t)sizeof(*out);
}

/* Pages of [first, last) counted by count in pagemap windows; stops early where the
 * range was unmapped meanwhile or the process exited. */
static int scan_pagemap(struct res_proc *p, __u64 first, __u64 last,
			__u64 (*count)(const __u64 *, size_t), __u64 *pages)
{
	int err = open_pagemap(p);

	if (err)
		return err;
	if (!p->buf && !(p->buf = malloc(PM_CHUNK * sizeof(*p->buf))))
		return -ENOMEM;
	while (first < last) {
		__u64 take;

		if (first < p->win_first || first >= p->win_first + p->win_n) {
			ssize_t n = read_window(p, first, last);

			if (n <= 0)
				break;
		}
		take = (last < p->win_first + p->win_n ? last : p->win_first + p->win_n) - first;
		*pages += count(p->buf + (first - p->win_first), take);
		first += take;
	}
	return 0;
}

static int count_pages(void *ctx, const struct res_vma *v, __u64 start, __u64 end, __u64 *resident,
		       bool *estimated)
{
	struct res_proc *p = ctx;
	__u64 first = start / p->page_size, last = (end + p->page_size - 1) / p->page_size;
	__u64 pages = 0;
	int err;

	if (last - first > RES_RANGE_PAGES || last - first > p->budget->pages_left) {
		*estimated = true;
		return estimate(p, v, start, end, resident);
	}
	err = scan_pagemap(p, first, last, residency__count_present, &pages);
	*resident += pages * p->page_size;
	return err;
}

int residency__written_data(struct res_proc *p, __u64 *bytes)
{
	const struct res_vmas *m = &p->vmas;
	__u64 pages = 0;
	int err = 0;

	for (size_t i = 0; i < m->nr && !err; i++) {
		__u64 first = m->v[i].start / p->page_size, last = m->v[i].end / p->page_size;

		/* Data segments are small; one larger than the budget left is not read. */
		if (m->v[i].file_cow && last - first <= p->budget->pages_left)
			err = scan_pagemap(p, first, last, residency__count_anon, &pages);
	}
	*bytes = pages * p->page_size;
	return err;
}

struct res_reader residency__reader(struct res_proc *p)
{
	return (struct res_reader){.count = count_pages, .ctx = p};
}

int residency__rss_anon(__u32 pid, __u64 *bytes)
{
	char path[48], buf[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/statm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	return residency__parse_statm(buf, sysconf(_SC_PAGESIZE), bytes);
}
