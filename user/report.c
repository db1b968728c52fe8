// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Growth report: turns cumulative per-site counters into per-interval deltas,
 * ranks the sites and renders one report as aligned text or one JSON line. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array.h"
#include "report.h"
#include "path.h"
#include "textsafe.h"

#pragma GCC poison u8 u16 u32 u64 s8 s16 s32 s64

#define TEXT_COLS    100
#define FRAME_INDENT 7

/* One candidate row while ranking: small, so that sorting ~100k sites moves
 * 64-byte records instead of full report_rows with their frame arrays. */
struct rank {
	__s64 live_bytes;
	__s64 growth_bytes;
	__u64 allocs;
	__u64 frees;
	__u64 alloc_bytes;
	__u64 free_bytes;
	__u64 stack_id;
	__u32 pid;
	__u32 idx; /* into report->cur */
};

struct report {
	enum report_sort sort;
	unsigned int top;
	struct report_site *cur; /* this snapshot, in report__add order until finish */
	size_t ncur, cur_cap;
	struct report_site *prev; /* previous snapshot, sorted by (pid, stack_id) */
	size_t nprev, prev_cap;
	struct rank *ranks;
	size_t ranks_cap;
	struct report_row *rows; /* top N of the last report__finish */
	size_t rows_cap;
	__s64 prev_live;
};

static const char *const drop_labels[DROP_COUNT] = {
#define AS_DROP_LABEL(id, label) [DROP_##id] = label,
	AS_DROPS(AS_DROP_LABEL)
#undef AS_DROP_LABEL
};

static const char *const stop_labels[UNWIND_STOP_COUNT] = {
#define AS_STOP_LABEL(id, label) [UNWIND_STOP_##id] = label,
	AS_UNWIND_STOPS(AS_STOP_LABEL)
#undef AS_STOP_LABEL
};

const char *report__drop_label(enum drop_reason r)
{
	return r < DROP_COUNT ? drop_labels[r] : "?";
}

const char *report__stop_label(enum unwind_stop s)
{
	return s < UNWIND_STOP_COUNT ? stop_labels[s] : "?";
}

struct report *report__new(enum report_sort sort, unsigned int top)
{
	struct report *r;

	if (top == 0 || (sort != SORT_GROWTH && sort != SORT_LIVE && sort != SORT_ALLOCS)) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->sort = sort;
	r->top = top;
	return r;
}

void report__free(struct report *r)
{
	if (!r)
		return;
	free(r->cur);
	free(r->prev);
	free(r->ranks);
	free(r->rows);
	free(r);
}

/* Grows *arr to hold at least n elements of size sz; 0 or -ENOMEM. */
static int reserve(void **arr, size_t *cap, size_t n, size_t sz)
{
	void *p;

	if (n <= *cap)
		return 0; /* also n == 0 with nothing allocated yet */
	p = array_grow(*arr, cap, n, sz);
	if (!p)
		return -ENOMEM;
	*arr = p;
	return 0;
}

int report__add(struct report *r, const struct report_site *site)
{
	int err;

	/* rank.idx is 32 bits; the kernel tables are far smaller than that */
	if (r->ncur >= UINT32_MAX)
		return -E2BIG;
	err = reserve((void **)&r->cur, &r->cur_cap, r->ncur + 1, sizeof(*r->cur));
	if (err)
		return err;
	r->cur[r->ncur++] = *site;
	return 0;
}

static int cmp_key(__u32 pa, __u64 sa, __u32 pb, __u64 sb)
{
	if (pa != pb)
		return pa < pb ? -1 : 1;
	if (sa != sb)
		return sa < sb ? -1 : 1;
	return 0;
}

static int cmp_site_key(const void *a, const void *b)
{
	const struct report_site *x = a, *y = b;

	return cmp_key(x->pid, x->stack_id, y->pid, y->stack_id);
}

/* Descending order for the ranking keys. */
#define DESC(a, b) ((a) > (b) ? -1 : (a) < (b) ? 1 : 0)

static int cmp_tail(const struct rank *x, const struct rank *y)
{
	return cmp_key(x->pid, x->stack_id, y->pid, y->stack_id);
}

static int cmp_growth(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;

	return DESC(x->growth_bytes, y->growth_bytes) ?: DESC(x->live_bytes, y->live_bytes)
							?: cmp_tail(x, y);
}

static int cmp_live(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;

	return DESC(x->live_bytes, y->live_bytes) ?: DESC(x->growth_bytes, y->growth_bytes)
						      ?: cmp_tail(x, y);
}

static int cmp_allocs(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;

	return DESC(x->allocs, y->allocs) ?: DESC(x->live_bytes, y->live_bytes) ?: cmp_tail(x, y);
}

/* Live bytes of a site: its counters' balance, or what is resident of a mapping site. */
static __s64 site_live(const struct report_site *s)
{
	return s->mapping ? (__s64)s->resident_bytes
			  : (__s64)(s->stats.alloc_bytes - s->stats.free_bytes);
}

/* Fills the interval deltas of rk from the cumulative counters now and at the
 * previous report (NULL when the site is new). */
static void site_delta(struct rank *rk, const struct report_site *now_site,
		       const struct report_site *was_site)
{
	static const struct site_stats zero;
	const struct site_stats *now = &now_site->stats, *was = was_site ? &was_site->stats : NULL;
	__s64 was_live;

	/* A counter that went backwards means the kernel entry was deleted and
	 * created again (the tracer drops exited processes and pids get
	 * reused): its counters restarted, so it is a new site. */
	if (!was || now->allocs < was->allocs || now->frees < was->frees ||
	    now->alloc_bytes < was->alloc_bytes || now->free_bytes < was->free_bytes)
		was = &zero;

	rk->live_bytes = site_live(now_site);
	was_live = was == &zero ? 0 : site_live(was_site);
	rk->growth_bytes = rk->live_bytes - was_live;
	rk->allocs = now->allocs - was->allocs;
	rk->frees = now->frees - was->frees;
	rk->alloc_bytes = now->alloc_bytes - was->alloc_bytes;
	rk->free_bytes = now->free_bytes - was->free_bytes;
}

static double per_second(double v, double interval_s)
{
	/* the first report of a run may come at once; no rate then, not inf */
	return interval_s > 0 ? v / interval_s : 0;
}

/* Joins the sorted current snapshot with the sorted previous one, filling
 * r->ranks with the sites worth showing and hdr with the totals. */
static size_t join_snapshots(struct report *r, struct report_header *hdr)
{
	__u64 allocs = 0, frees = 0, alloc_bytes = 0, free_bytes = 0;
	size_t i, j = 0, n = 0;
	__s64 live = 0;

	for (i = 0; i < r->ncur; i++) {
		const struct report_site *s = &r->cur[i];
		const struct report_site *was = NULL;
		struct rank *rk = &r->ranks[n];

		while (j < r->nprev &&
		       cmp_key(r->prev[j].pid, r->prev[j].stack_id, s->pid, s->stack_id) < 0)
			j++;
		if (j < r->nprev && r->prev[j].pid == s->pid && r->prev[j].stack_id == s->stack_id)
			was = &r->prev[j];

		site_delta(rk, s, was);
		if (!s->exited)
			live += rk->live_bytes;
		allocs += rk->allocs;
		frees += rk->frees;
		alloc_bytes += rk->alloc_bytes;
		free_bytes += rk->free_bytes;

		if (rk->live_bytes == 0 && rk->allocs == 0 && rk->frees == 0)
			continue;
		rk->pid = s->pid;
		rk->stack_id = s->stack_id;
		rk->idx = i;
		n++;
	}

	hdr->live_bytes = live;
	hdr->live_change = live - r->prev_live;
	hdr->alloc_rate = per_second(allocs, hdr->interval_s);
	hdr->free_rate = per_second(frees, hdr->interval_s);
	hdr->alloc_bytes_rate = per_second(alloc_bytes, hdr->interval_s);
	hdr->free_bytes_rate = per_second(free_bytes, hdr->interval_s);
	hdr->nsites = r->ncur;
	return n;
}

int report__finish(struct report *r, struct report_header *hdr, struct report_row **rows,
		   size_t *nrows)
{
	static int (*const cmp[])(const void *, const void *) = {
		[SORT_GROWTH] = cmp_growth,
		[SORT_LIVE] = cmp_live,
		[SORT_ALLOCS] = cmp_allocs,
	};
	size_t i, n, want;
	void *tmp;
	int err;

	/* Take every allocation first so that a failure leaves both snapshots
	 * as they were and the caller can retry with the same sites. */
	err = reserve((void **)&r->ranks, &r->ranks_cap, r->ncur, sizeof(*r->ranks));
	if (err)
		return err;
	want = r->ncur < r->top ? r->ncur : r->top;
	err = reserve((void **)&r->rows, &r->rows_cap, want, sizeof(*r->rows));
	if (err)
		return err;

	qsort(r->cur, r->ncur, sizeof(*r->cur), cmp_site_key);
	n = join_snapshots(r, hdr);
	qsort(r->ranks, n, sizeof(*r->ranks), cmp[r->sort]);
	if (n > r->top)
		n = r->top;

	for (i = 0; i < n; i++) {
		const struct rank *rk = &r->ranks[i];
		struct report_row *row = &r->rows[i];

		memset(row, 0, sizeof(*row));
		row->site = r->cur[rk->idx];
		row->live_bytes = rk->live_bytes;
		row->live_objects = (__s64)(row->site.stats.allocs - row->site.stats.frees);
		row->growth_bytes = rk->growth_bytes;
		row->growth_rate = per_second(rk->growth_bytes, hdr->interval_s);
		row->allocs = rk->allocs;
		row->frees = rk->frees;
		row->alloc_bytes = rk->alloc_bytes;
		row->free_bytes = rk->free_bytes;
	}

	/* this snapshot becomes the previous one; the old buffer is reused */
	tmp = r->prev;
	r->prev = r->cur;
	r->cur = tmp;
	i = r->prev_cap;
	r->prev_cap = r->cur_cap;
	r->cur_cap = i;
	r->nprev = r->ncur;
	r->ncur = 0;
	r->prev_live = hdr->live_bytes;

	*rows = r->rows;
	*nrows = n;
	return 0;
}

void report__fmt_bytes(char *buf, size_t len, double bytes)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = bytes < 0 ? -bytes : bytes;
	unsigned int u = 0;

	/* Pick the unit by the rounded value, so 1048575 B reads "1.0 MiB",
	 * not "1024.0 KiB". */
	if (v >= 1023.5) {
		v /= 1024;
		u = 1;
		while (v >= 1023.95 && u < sizeof(units) / sizeof(units[0]) - 1) {
			v /= 1024;
			u++;
		}
		snprintf(buf, len, "%s%.1f %s", bytes < 0 ? "-" : "", v, units[u]);
		return;
	}
	v = (double)(long long)(v + 0.5);
	snprintf(buf, len, "%s%.0f B", bytes < 0 && v > 0 ? "-" : "", v);
}

/* Bytes with an explicit sign for changes: "+1.0 MiB", "-512 B", "0 B". */
static void fmt_change(char *buf, size_t len, double bytes, const char *suffix)
{
	char num[32];

	report__fmt_bytes(num, sizeof(num), bytes);
	snprintf(buf, len, "%s%s%s", bytes > 0 && strcmp(num, "0 B") ? "+" : "", num, suffix);
}

/* Events per second, kept short: "0.5", "1234", "12.3k", "4.2M". */
static void fmt_count_rate(char *buf, size_t len, double v)
{
	if (v < 9.95)
		snprintf(buf, len, "%.1f", v);
	else if (v < 9999.5)
		snprintf(buf, len, "%.0f", v);
	else if (v < 9999950)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else
		snprintf(buf, len, "%.1fM", v / 1e6);
}

/* Bytes of s that fit in room columns, cut before a UTF-8 continuation byte
 * so that a truncated name stays valid text. */
static size_t fit(const char *s, size_t room)
{
	if (strlen(s) <= room)
		return strlen(s);
	while (room > 0 && ((unsigned char)s[room] & 0xc0) == 0x80)
		room--;
	return room;
}

/* A function name in room columns, shortened with "..." when longer. */
static void put_name(FILE *f, const char *name, size_t room)
{
	if (strlen(name) <= room) {
		textsafe__put(f, name, room);
	} else {
		textsafe__put(f, name, fit(name, room - 3));
		fputs("...", f);
	}
}

/* "sessions.py:42 on_message": the file's last component, as tracebacks
 * are read; JSON keeps the whole path. */
static void print_python_frame(FILE *f, const struct sym_frame *fr)
{
	char where[64];

	snprintf(where, sizeof(where), "%s:%d ", path_base(fr->file), fr->line);
	fprintf(f, "%*s", FRAME_INDENT, "");
	textsafe__put(f, where, sizeof(where));
	put_name(f, fr->symbol, TEXT_COLS - FRAME_INDENT - strlen(where));
	fputc('\n', f);
}

static void print_frame(FILE *f, const struct sym_frame *fr)
{
	const size_t width = TEXT_COLS - FRAME_INDENT;
	const char *module = fr->module ? fr->module : "[unknown]";
	char name[24], tail[48];
	const char *sym = fr->symbol;
	size_t room, n;

	if (fr->file) {
		print_python_frame(f, fr);
		return;
	}
	if (fr->addr <= AS_MAP_CALL_MAX) { /* a mapping site: the system call */
		fprintf(f, "%*s", FRAME_INDENT, "");
		textsafe__put(f, fr->symbol, width);
		fputs(" (system call)\n", f);
		return;
	}
	/* Without a symbol the address is the one thing a user can look up. */
	if (!sym || !strcmp(sym, "[unknown]")) {
		snprintf(name, sizeof(name), "0x%llx", (unsigned long long)fr->addr);
		sym = name;
		n = snprintf(tail, sizeof(tail), " (%s)", module);
	} else {
		n = snprintf(tail, sizeof(tail), "+0x%llx (%s)", (unsigned long long)fr->offset,
			     module);
	}
	if (n >= sizeof(tail))
		strcpy(tail + sizeof(tail) - 4, "...");

	/* shorten the symbol, not the offset and module after it */
	room = width - strlen(tail);
	fprintf(f, "%*s", FRAME_INDENT, "");
	put_name(f, sym, room);
	textsafe__put(f, tail, sizeof(tail));
	fputc('\n', f);
}

/* "title: label N, label N" wrapped under 100 columns, or "title: none". */
static void print_counters(FILE *f, const char *title, const __u64 *counts,
			   const char *const *labels, int n_counts)
{
	size_t col, indent;
	bool any = false;
	int i;

	col = indent = fprintf(f, "%s:", title);
	for (i = 0; i < n_counts; i++) {
		char item[64];
		int n;

		if (!counts[i])
			continue;
		n = snprintf(item, sizeof(item), " %s %llu", labels[i],
			     (unsigned long long)counts[i]);
		if (any && col + 1 + n > TEXT_COLS) {
			fprintf(f, ",\n%*s", (int)indent, "");
			col = indent;
		} else if (any) {
			fputc(',', f);
			col++;
		}
		col += fprintf(f, "%s", item);
		any = true;
	}
	fputs(any ? "\n" : " none\n", f);
}

/* Processes given a reconciliation line in text; JSON has every one the header holds. */
#define TEXT_PROCS 5

/* "pid 4242 python3: explained 94 % of 80.6 MiB anon RSS (5.1 MiB unexplained)" and
 * what the explained part is made of. */
static void print_process(FILE *f, const struct report_process *p)
{
	__u64 explained =
		p->heap_live - p->heap_not_resident + p->allocator + p->mappings + p->thread_stacks;
	char rss[32], un[32], heap[32], alloc[32], maps[32], stacks[32], untouched[32];

	report__fmt_bytes(rss, sizeof(rss), p->rss_anon);
	report__fmt_bytes(heap, sizeof(heap), p->heap_live);
	report__fmt_bytes(alloc, sizeof(alloc), p->allocator);
	report__fmt_bytes(maps, sizeof(maps), p->mappings);
	report__fmt_bytes(stacks, sizeof(stacks), p->thread_stacks);
	report__fmt_bytes(un, sizeof(un), p->unexplained);
	fprintf(f, "pid %u ", p->pid);
	textsafe__put(f, p->comm, sizeof(p->comm));
	fprintf(f, ": explained %.0f %% of %s anon RSS (%s unexplained)\n",
		p->rss_anon ? 100.0 * explained / p->rss_anon : 0.0, rss, un);
	fprintf(f, "  heap %s + allocator %s + mappings %s + stacks %s\n", heap, alloc, maps,
		stacks);
	if (p->heap_not_resident) {
		report__fmt_bytes(untouched, sizeof(untouched), p->heap_not_resident);
		fprintf(f, "  %s of the heap is not resident (requested, never touched)\n",
			untouched);
	}
}

/* The mapping categories and, per process, what the report explains of its memory. */
static void print_memory(FILE *f, const struct report_header *hdr)
{
	char a[32], b[32];
	size_t i;

	if (hdr->stacks) {
		report__fmt_bytes(a, sizeof(a),
				  hdr->stack_size ? hdr->stack_size : hdr->stacks_mapped);
		report__fmt_bytes(b, sizeof(b), hdr->stacks_resident);
		/* "4 x 8.0 MiB mapped" when all are alike, "3, 10.0 MiB mapped" when not */
		fprintf(f, "thread stacks: %llu%s %s mapped, %s resident\n",
			(unsigned long long)hdr->stacks, hdr->stack_size ? " x" : ",", a, b);
	}
	if (hdr->alloc_mapped || hdr->alloc_resident) {
		report__fmt_bytes(a, sizeof(a), hdr->alloc_resident);
		report__fmt_bytes(b, sizeof(b), hdr->alloc_mapped);
		fprintf(f, "allocator: %s resident (%s mapped)\n", a, b);
	}
	for (i = 0; i < hdr->nprocs && i < TEXT_PROCS; i++)
		print_process(f, &hdr->procs[i]);
	if (hdr->nprocs_total > i)
		fprintf(f, "... %zu more processes\n", hdr->nprocs_total - i);
}

static void print_text_header(FILE *f, const struct report_header *hdr)
{
	char when[32] = "?", live[32], change[40], a[16], ab[32], fr[16], fb[32];
	time_t t = (time_t)hdr->time;
	struct tm tm;

	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(f, "allocscope %s  interval %.1fs", when, hdr->interval_s);
	if (hdr->targets) {
		fputs("  ", f);
		textsafe__put(f, hdr->targets, TEXT_COLS);
	}
	fputs(hdr->final ? "  (final)\n" : "\n", f);

	report__fmt_bytes(live, sizeof(live), hdr->live_bytes);
	fmt_change(change, sizeof(change), hdr->live_change, "");
	fmt_count_rate(a, sizeof(a), hdr->alloc_rate);
	report__fmt_bytes(ab, sizeof(ab), hdr->alloc_bytes_rate);
	fmt_count_rate(fr, sizeof(fr), hdr->free_rate);
	report__fmt_bytes(fb, sizeof(fb), hdr->free_bytes_rate);
	/* two lines: with large values all of it on one line passes 100 columns */
	fprintf(f, "live %s (%s)  sites %zu\n", live, change, hdr->nsites);
	fprintf(f, "allocs %s/s (%s/s)  frees %s/s (%s/s)\n", a, ab, fr, fb);
	print_counters(f, "drops", hdr->drops, drop_labels, DROP_COUNT);
	print_counters(f, "truncated stacks", hdr->stops, stop_labels, UNWIND_STOP_COUNT);
	print_memory(f, hdr);
	if (hdr->py_no_thread)
		fprintf(f,
			"python: %llu allocations in the interpreter without a thread state "
			"(native stacks)\n",
			(unsigned long long)hdr->py_no_thread);
	fputc('\n', f);
}

/* A mapping site's LIVE is what is resident; this says of how much address space. */
static void print_mapping(FILE *f, const struct report_row *row)
{
	char mapped[32], resident[32];

	report__fmt_bytes(mapped, sizeof(mapped), row->site.mapped_bytes);
	report__fmt_bytes(resident, sizeof(resident), row->site.resident_bytes);
	fprintf(f, "%*s%s resident of %s mapped\n", FRAME_INDENT, "", resident, mapped);
}

#define ROW_FMT "%3s %10s %7s %11s %13s %8s %8s  "

static void print_text_row(FILE *f, size_t rank, const struct report_row *row)
{
	char nr[24], live[32], objs[24], growth[40], rate[40], allocs[24], frees[24];
	size_t i;

	snprintf(nr, sizeof(nr), "%zu", rank);
	report__fmt_bytes(live, sizeof(live), row->live_bytes);
	snprintf(objs, sizeof(objs), "%lld", (long long)row->live_objects);
	fmt_change(growth, sizeof(growth), row->growth_bytes, "");
	fmt_change(rate, sizeof(rate), row->growth_rate, "/s");
	snprintf(allocs, sizeof(allocs), "%llu", (unsigned long long)row->allocs);
	snprintf(frees, sizeof(frees), "%llu", (unsigned long long)row->frees);
	fprintf(f, ROW_FMT "%u ", nr, live, objs, growth, rate, allocs, frees, row->site.pid);
	textsafe__put(f, row->site.comm, sizeof(row->site.comm));
	fputs(row->site.exited ? " [exited]\n" : "\n", f);

	if (row->site.mapping)
		print_mapping(f, row);
	if (!row->nframes)
		fprintf(f, "%*s[no stack]\n", FRAME_INDENT, "");
	for (i = 0; i < row->nframes && i < AS_MAX_FRAMES; i++)
		print_frame(f, &row->frames[i]);
	if (row->cut)
		fprintf(f, "%*s... stack cut here (%s)\n", FRAME_INDENT, "",
			report__stop_label(row->cut - 1));
	fputc('\n', f);
}

void report__print_text(FILE *f, const struct report_header *hdr, const struct report_row *rows,
			size_t nrows)
{
	size_t i;

	print_text_header(f, hdr);
	if (!nrows) {
		fprintf(f, "  %s\n\n",
			hdr->nsites ? "no live allocations and no activity"
				    : "no allocations seen yet");
		return;
	}
	fprintf(f, ROW_FMT "%s\n", "#", "LIVE", "OBJS", "GROWTH", "RATE", "ALLOCS", "FREES",
		"PROCESS");
	for (i = 0; i < nrows; i++)
		print_text_row(f, i + 1, &rows[i]);
}
