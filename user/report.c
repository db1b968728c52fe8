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

#define FRAME_INDENT 7
/* Sites the final summary names, at most (and no more than --top). */
#define SUMMARY_SITES 5

/* One candidate row while ranking: small, so that sorting ~100k sites moves
 * 112-byte records instead of full report_rows with their frame arrays. */
struct rank {
	__s64 live_bytes;
	__s64 growth_bytes;
	__u64 allocs;
	__u64 frees;
	__u64 alloc_bytes;
	__u64 free_bytes;
	__u64 reallocs;
	__u64 stack_id;
	__u64 group;
	__u32 pid;
	__u32 idx;   /* into report->cur: the site, or the row's shown member */
	__u32 first; /* a row's members: order[first .. first + nmembers) */
	__u32 nmembers;
	struct trend trend;
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
	__u32 *order; /* indexes into cur of the ranked sites, a row's members together */
	size_t order_cap;
	struct report_member *members; /* of the rows shown */
	size_t members_cap;
	struct report_row *rows; /* top N of the last report__finish */
	size_t rows_cap;
	__s64 prev_live;
	unsigned int trend_k; /* --trend-intervals */
	/* The whole session, for the final report's summary. */
	struct report_summary summary;
	struct report_proc_growth *procs; /* by pid: every process seen */
	size_t nprocs, procs_cap;
	struct report_member *sum_members; /* of the summary's rows */
	size_t sum_members_cap;
	struct report_row *sum_rows;
	size_t sum_rows_cap;
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

	if (top == 0 || (sort != SORT_GROWTH && sort != SORT_LIVE && sort != SORT_ALLOCS &&
			 sort != SORT_TREND)) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->sort = sort;
	r->top = top;
	r->trend_k = TREND_DEFAULT;
	return r;
}

int report__set_trend(struct report *r, unsigned int intervals)
{
	if (intervals < 1 || intervals > TREND_MAX)
		return -EINVAL;
	r->trend_k = intervals;
	return 0;
}

void report__free(struct report *r)
{
	if (!r)
		return;
	free(r->cur);
	free(r->prev);
	free(r->ranks);
	free(r->order);
	free(r->members);
	free(r->rows);
	free(r->procs);
	free(r->sum_members);
	free(r->sum_rows);
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

/* Sites that grew in each of the last K intervals first; then by what
 * they gained over those intervals, then by live bytes. */
static int cmp_trend(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;

	return DESC(x->trend.growing, y->trend.growing)
		       ?: DESC(x->trend.growth_bytes, y->trend.growth_bytes)
		       ?: DESC(x->live_bytes, y->live_bytes) ?: cmp_tail(x, y);
}

/* Live bytes of a site: its counters' balance, or what is resident of a mapping site. */
static __s64 site_live(const struct report_site *s)
{
	return s->mapping ? (__s64)s->resident_bytes
			  : (__s64)(s->stats.alloc_bytes - s->stats.free_bytes);
}

/* Fills the interval deltas d, and rk's, from the cumulative counters now
 * and at the previous report (NULL when the site is new). Returns false when
 * the site starts afresh (new, or its counters restarted). */
static bool site_delta(struct rank *rk, struct site_stats *d, const struct report_site *now_site,
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
	d->allocs = now->allocs - was->allocs;
	d->frees = now->frees - was->frees;
	d->alloc_bytes = now->alloc_bytes - was->alloc_bytes;
	d->free_bytes = now->free_bytes - was->free_bytes;
	d->reallocs = now->reallocs - was->reallocs;
	d->realloc_bytes = now->realloc_bytes - was->realloc_bytes;
	d->realloc_old_bytes = now->realloc_old_bytes - was->realloc_old_bytes;
	rk->allocs = d->allocs;
	rk->frees = d->frees;
	rk->alloc_bytes = d->alloc_bytes;
	rk->free_bytes = d->free_bytes;
	rk->reallocs = d->reallocs;
	return was != &zero;
}

static double per_second(double v, double interval_s)
{
	/* the first report of a run may come at once; no rate then, not inf */
	return interval_s > 0 ? v / interval_s : 0;
}

/* The header's rates. A resize (realloc) is an alloc and a free at the sites,
 * as pprof's alloc_space counts it; the header gives resizes apart, by their
 * count and net change, so that a block grown in place 1000 times reads as
 * its growth, not as 1000 blocks allocated and freed. Signed: a resize and
 * the free of the block it replaced may fall into adjacent reports. */
static void header_rates(struct report_header *hdr, const struct site_stats *sum)
{
	double t = hdr->interval_s;

	hdr->alloc_rate = per_second((double)sum->allocs - (double)sum->reallocs, t);
	hdr->free_rate = per_second((double)sum->frees - (double)sum->reallocs, t);
	hdr->alloc_bytes_rate =
		per_second((double)sum->alloc_bytes - (double)sum->realloc_bytes, t);
	hdr->free_bytes_rate =
		per_second((double)sum->free_bytes - (double)sum->realloc_old_bytes, t);
	hdr->realloc_rate = per_second((double)sum->reallocs, t);
	hdr->realloc_bytes_rate =
		per_second((double)sum->realloc_bytes - (double)sum->realloc_old_bytes, t);
}

/* Joins the sorted current snapshot with the sorted previous one, filling
 * r->ranks with the sites worth showing and hdr with the totals. */
static size_t join_snapshots(struct report *r, struct report_header *hdr)
{
	struct site_stats sum = {}, d;
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

		/* The site's history goes on from the previous snapshot's. */
		if (site_delta(rk, &d, s, was))
			r->cur[i].history = was->history;
		else
			memset(&r->cur[i].history, 0, sizeof(r->cur[i].history));
		trend__push(&r->cur[i].history, rk->growth_bytes);
		if (!s->exited)
			live += rk->live_bytes;
		sum.allocs += d.allocs;
		sum.frees += d.frees;
		sum.alloc_bytes += d.alloc_bytes;
		sum.free_bytes += d.free_bytes;
		sum.reallocs += d.reallocs;
		sum.realloc_bytes += d.realloc_bytes;
		sum.realloc_old_bytes += d.realloc_old_bytes;

		if (rk->live_bytes == 0 && rk->allocs == 0 && rk->frees == 0)
			continue;
		rk->pid = s->pid;
		rk->stack_id = s->stack_id;
		rk->group = s->group;
		rk->idx = i;
		n++;
	}

	hdr->live_bytes = live;
	hdr->live_change = live - r->prev_live;
	r->summary.total.allocs += sum.allocs;
	r->summary.total.frees += sum.frees;
	r->summary.total.alloc_bytes += sum.alloc_bytes;
	r->summary.total.free_bytes += sum.free_bytes;
	r->summary.total.reallocs += sum.reallocs;
	r->summary.total.realloc_bytes += sum.realloc_bytes;
	r->summary.total.realloc_old_bytes += sum.realloc_old_bytes;
	header_rates(hdr, &sum);
	hdr->nsites = r->ncur;
	return n;
}

/* A group's sites together, each by (pid, stack_id); sites without one (0)
 * come first, each a row of its own. */
static int cmp_group(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return cmp_tail(x, y);
}

static void add_rank(struct rank *to, const struct rank *from)
{
	to->live_bytes += from->live_bytes;
	to->growth_bytes += from->growth_bytes;
	to->allocs += from->allocs;
	to->frees += from->frees;
	to->alloc_bytes += from->alloc_bytes;
	to->free_bytes += from->free_bytes;
	to->reallocs += from->reallocs;
}

/* A row's trend: its members' histories summed interval by interval. */
static void row_trend(const struct report *r, struct rank *row)
{
	struct trend_history h = {};

	for (__u32 k = 0; k < row->nmembers; k++)
		trend__add(&h, &r->cur[r->order[row->first + k]].history);
	trend__eval(&h, r->trend_k, &row->trend);
}

/* Folds the ranks of each group into one row, ranked as the sum of its
 * sites (each site's deltas were taken against its own previous counters,
 * so a member that exits or appears does not fake growth), and shown by its
 * member with the most live bytes. The members go to r->order. Returns the
 * number of rows. */
static size_t group_ranks(struct report *r, size_t n)
{
	size_t i, j, out = 0;

	qsort(r->ranks, n, sizeof(*r->ranks), cmp_group);
	for (i = 0; i < n; i++)
		r->order[i] = r->ranks[i].idx;
	for (i = 0; i < n; i = j) {
		struct rank row = r->ranks[i];
		const struct rank *best = &r->ranks[i];

		for (j = i + 1; j < n && row.group && r->ranks[j].group == row.group; j++) {
			add_rank(&row, &r->ranks[j]);
			if (r->ranks[j].live_bytes > best->live_bytes)
				best = &r->ranks[j];
		}
		row.pid = best->pid;
		row.stack_id = best->stack_id;
		row.idx = best->idx;
		row.first = i;
		row.nmembers = j - i;
		row_trend(r, &row);
		r->ranks[out++] = row;
	}
	return out;
}

/* The row of rank rk: its shown site with the members' summed counters, and
 * the members, written at m. */
static void fill_row(const struct report *r, const struct rank *rk, struct report_member *m,
		     double interval_s, struct report_row *row)
{
	struct site_stats *sum = &row->site.stats;

	memset(row, 0, sizeof(*row));
	row->site = r->cur[rk->idx];
	row->site.exited = true;
	row->site.mapped_bytes = 0;
	row->site.resident_bytes = 0;
	memset(sum, 0, sizeof(*sum));
	for (__u32 k = 0; k < rk->nmembers; k++) {
		const struct report_site *s = &r->cur[r->order[rk->first + k]];

		sum->alloc_bytes += s->stats.alloc_bytes;
		sum->allocs += s->stats.allocs;
		sum->free_bytes += s->stats.free_bytes;
		sum->frees += s->stats.frees;
		sum->reallocs += s->stats.reallocs;
		sum->realloc_bytes += s->stats.realloc_bytes;
		sum->realloc_old_bytes += s->stats.realloc_old_bytes;
		sum->samples += s->stats.samples;
		row->site.exited &= s->exited;
		row->site.frozen |= s->frozen; /* some of its live bytes are frozen */
		row->site.mapped_bytes += s->mapped_bytes;
		row->site.resident_bytes += s->resident_bytes;
		if (s->aged) {
			if (!row->aged || s->oldest_ns > row->oldest_ns)
				row->oldest_ns = s->oldest_ns;
			row->old_bytes += s->old_bytes;
			row->aged = true;
		}
		m[k] = (struct report_member){
			.stack_id = s->stack_id,
			.live_bytes = (__s64)(s->stats.alloc_bytes - s->stats.free_bytes),
			.pid = s->pid,
			.exited = s->exited,
		};
		memcpy(m[k].comm, s->comm, sizeof(m[k].comm));
		row->nprocs += !k || m[k - 1].pid != s->pid;
	}
	row->members = m;
	row->nmembers = rk->nmembers;
	row->live_bytes = rk->live_bytes;
	row->live_objects = (__s64)(sum->allocs - sum->frees);
	row->growth_bytes = rk->growth_bytes;
	row->growth_rate = per_second(rk->growth_bytes, interval_s);
	row->allocs = rk->allocs;
	row->frees = rk->frees;
	row->alloc_bytes = rk->alloc_bytes;
	row->free_bytes = rk->free_bytes;
	row->reallocs = rk->reallocs;
	row->trend = rk->trend;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct report_proc_growth *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Each process's live bytes in this snapshot (r->cur, by pid) into the
 * session's table; a process no longer seen keeps its last value. Room for
 * every new pid was reserved. */
static void update_procs(struct report *r)
{
	size_t i, j, nold = r->nprocs;

	for (i = 0; i < r->ncur; i = j) {
		struct report_proc_growth key = {.pid = r->cur[i].pid}, *p;
		__s64 live = 0;

		for (j = i; j < r->ncur && r->cur[j].pid == key.pid; j++)
			live += site_live(&r->cur[j]);
		p = bsearch(&key, r->procs, nold, sizeof(*p), cmp_proc);
		if (!p)
			p = &r->procs[r->nprocs++];
		*p = (struct report_proc_growth){
			.pid = key.pid, .exited = r->cur[i].exited, .live_bytes = live};
		memcpy(p->comm, r->cur[i].comm, sizeof(p->comm));
	}
	if (r->nprocs > nold)
		qsort(r->procs, r->nprocs, sizeof(*r->procs), cmp_proc);
	r->summary.procs = r->procs;
	r->summary.nprocs = r->nprocs;
}

/* The summary's top sites: the n ranked rows by growth since the start
 * (their live bytes: tracing counts only blocks allocated since), those
 * that grew at all. Their members go to their own buffer. */
static void fill_summary(struct report *r, size_t n, double interval_s)
{
	size_t i, m = 0, want = r->top < SUMMARY_SITES ? r->top : SUMMARY_SITES;

	qsort(r->ranks, n, sizeof(*r->ranks), cmp_live);
	for (i = 0; i < n && i < want && r->ranks[i].live_bytes > 0; i++) {
		fill_row(r, &r->ranks[i], &r->sum_members[m], interval_s, &r->sum_rows[i]);
		m += r->ranks[i].nmembers;
	}
	r->summary.sites = r->sum_rows;
	r->summary.nsites = i;
}

int report__finish(struct report *r, struct report_header *hdr, struct report_row **rows,
		   size_t *nrows)
{
	static int (*const cmp[])(const void *, const void *) = {
		[SORT_GROWTH] = cmp_growth,
		[SORT_LIVE] = cmp_live,
		[SORT_ALLOCS] = cmp_allocs,
		[SORT_TREND] = cmp_trend,
	};
	size_t i, m, n, nall, want;
	void *tmp;
	int err;

	/* Take every allocation first so that a failure leaves both snapshots
	 * as they were and the caller can retry with the same sites. */
	err = reserve((void **)&r->ranks, &r->ranks_cap, r->ncur, sizeof(*r->ranks));
	if (!err)
		err = reserve((void **)&r->order, &r->order_cap, r->ncur, sizeof(*r->order));
	if (!err)
		err = reserve((void **)&r->members, &r->members_cap, r->ncur, sizeof(*r->members));
	if (err)
		return err;
	want = r->ncur < r->top ? r->ncur : r->top;
	err = reserve((void **)&r->rows, &r->rows_cap, want, sizeof(*r->rows));
	if (!err)
		err = reserve((void **)&r->procs, &r->procs_cap, r->nprocs + r->ncur,
			      sizeof(*r->procs));
	if (!err && hdr->final)
		err = reserve((void **)&r->sum_members, &r->sum_members_cap, r->ncur,
			      sizeof(*r->sum_members));
	if (!err && hdr->final)
		err = reserve((void **)&r->sum_rows, &r->sum_rows_cap, SUMMARY_SITES,
			      sizeof(*r->sum_rows));
	if (err)
		return err;

	qsort(r->cur, r->ncur, sizeof(*r->cur), cmp_site_key);
	n = group_ranks(r, join_snapshots(r, hdr));
	qsort(r->ranks, n, sizeof(*r->ranks), cmp[r->sort]);
	nall = n;
	if (n > r->top)
		n = r->top;

	for (i = 0, m = 0; i < n; i++) {
		fill_row(r, &r->ranks[i], &r->members[m], hdr->interval_s, &r->rows[i]);
		m += r->ranks[i].nmembers;
	}
	r->summary.duration_s += hdr->interval_s;
	r->summary.reports++;
	update_procs(r);
	hdr->summary = NULL;
	if (hdr->final) {
		fill_summary(r, nall, hdr->interval_s);
		hdr->summary = &r->summary;
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
void report__fmt_rate(char *buf, size_t len, double v)
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

/* A name in room columns, shortened with "..." when longer; returns the
 * bytes written (columns, or more for multibyte characters). */
static size_t put_name(FILE *f, const char *name, size_t room)
{
	size_t n;

	if (strlen(name) <= room) {
		textsafe__put(f, name, room);
		return strlen(name);
	}
	if (room < 4) { /* no room for the dots */
		n = fit(name, room);
		textsafe__put(f, name, n);
		return n;
	}
	n = fit(name, room - 3);
	textsafe__put(f, name, n);
	fputs("...", f);
	return n + 3;
}

/* The width reports are laid out for: hdr->cols within the supported range. */
static size_t text_cols(const struct report_header *hdr)
{
	if (!hdr->cols)
		return REPORT_COLS;
	return hdr->cols < REPORT_COLS_MIN ? REPORT_COLS_MIN : hdr->cols;
}

/* "sessions.py:42 on_message": the file's last component, as tracebacks
 * are read; JSON keeps the whole path. The function keeps 12 columns at
 * least, the place gives way first. */
static void print_python_frame(FILE *f, const struct sym_frame *fr, size_t indent, size_t cols)
{
	size_t width = cols - indent, used;
	char where[64];

	snprintf(where, sizeof(where), "%s:%d", path_base(fr->file), fr->line);
	fprintf(f, "%*s", (int)indent, "");
	used = put_name(f, where, width > strlen(where) + 13 ? strlen(where) : width - 13);
	fputc(' ', f);
	put_name(f, fr->symbol, width - used - 1);
	fputc('\n', f);
}

static void print_frame(FILE *f, const struct sym_frame *fr, size_t indent, size_t cols)
{
	const size_t width = cols - indent;
	const char *module = fr->module ? fr->module : "[unknown]";
	char name[24], tail[48];
	const char *sym = fr->symbol;
	size_t n;

	if (fr->file) {
		print_python_frame(f, fr, indent, cols);
		return;
	}
	if (fr->addr <= AS_MAP_CALL_MAX) { /* a mapping site: the system call, or a fault */
		fprintf(f, "%*s", (int)indent, "");
		textsafe__put(f, fr->symbol, width);
		fputs(fr->addr == MAP_CALL_FAULT ? " (anonymous memory)\n" : " (system call)\n", f);
		return;
	}
	if ((!sym || !strcmp(sym, "[unknown]")) && fr->path) {
		/* Code of a file without symbols: its offset in the file, which
		 * addr2line or a debug file can name later. */
		sym = module;
		n = snprintf(tail, sizeof(tail), "+0x%llx", (unsigned long long)fr->file_offset);
	} else if (!sym || !strcmp(sym, "[unknown]")) {
		/* Without a symbol the address is the one thing a user can look up. */
		snprintf(name, sizeof(name), "0x%llx", (unsigned long long)fr->addr);
		sym = name;
		n = snprintf(tail, sizeof(tail), " (%s)", module);
	} else if (fr->src_file) {
		/* "leak_a3 (leak.c:21)": the line says more than the offset. */
		n = snprintf(tail, sizeof(tail), " (%s:%d)", path_base(fr->src_file), fr->src_line);
	} else {
		n = snprintf(tail, sizeof(tail), "+0x%llx (%s)", (unsigned long long)fr->offset,
			     module);
	}
	if (n >= sizeof(tail))
		strcpy(tail + sizeof(tail) - 4, "...");
	/* At REPORT_COLS_MIN the tail leaves a few columns: the module goes on
	 * being named in full up to 47 bytes, the symbol gives way. */
	n = strlen(tail);
	fprintf(f, "%*s", (int)indent, "");
	put_name(f, sym, width > n + 4 ? width - n : 4);
	textsafe__put(f, tail, sizeof(tail));
	fputc('\n', f);
}

/* "title: label N, label N" wrapped under cols, or "title: none". */
static void print_counters(FILE *f, const char *title, const __u64 *counts,
			   const char *const *labels, int n_counts, size_t cols)
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
		/* room for this item and the comma that may follow it */
		if (any && col + 1 + n + 1 > cols) {
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

/* text as lines of at most cols, broken at spaces, the next ones indented. */
static void print_wrapped(FILE *f, const char *text, size_t cols, size_t indent)
{
	size_t col = 0, len;

	while (*text) {
		len = strcspn(text, " ");
		if (col && col + 1 + len > cols) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col) {
			fputc(' ', f);
			col++;
		}
		fwrite(text, 1, len, f);
		col += len;
		text += len;
		text += strspn(text, " ");
	}
	fputc('\n', f);
}

void report__print_wrapped(FILE *f, const char *text, size_t cols, size_t indent)
{
	print_wrapped(f, text, cols, indent);
}

void report__fmt_ident(char *buf, size_t len, const struct cgroup_ident *id)
{
	size_t used = 0;

	buf[0] = '\0';
	if (id->container[0])
		used += snprintf(buf + used, len - used, " container %.*s", CGROUP_SHORT_LEN,
				 id->container);
	if (id->pod_uid[0] && used < len)
		used += snprintf(buf + used, len - used, " pod %s", id->pod_uid);
	if (id->nspid && used < len)
		snprintf(buf + used, len - used, " (pid %u inside)", id->nspid);
}

/* Processes given a reconciliation line in text; JSON has every one the header holds. */
#define TEXT_PROCS 5

/* "pid 4242 python3: explained 94 % of 80.6 MiB anon RSS (5.1 MiB unexplained)" and
 * what the explained part is made of. */
static void print_reconciliation(FILE *f, const struct report_process *p, size_t cols)
{
	__u64 explained = p->heap_live - p->heap_not_resident + p->allocator + p->mappings +
			  p->thread_stacks + p->data + p->faulted;
	char rss[32], un[32], heap[32], alloc[32], maps[32], stacks[32], data[32], untouched[32];
	char faulted[32], where[128];
	char comm[4 * AS_COMM_LEN], line[384];
	FILE *cf;

	report__fmt_bytes(rss, sizeof(rss), p->rss_anon);
	report__fmt_bytes(heap, sizeof(heap), p->heap_live);
	report__fmt_bytes(alloc, sizeof(alloc), p->allocator);
	report__fmt_bytes(maps, sizeof(maps), p->mappings);
	report__fmt_bytes(stacks, sizeof(stacks), p->thread_stacks);
	report__fmt_bytes(data, sizeof(data), p->data);
	report__fmt_bytes(un, sizeof(un), p->unexplained);
	report__fmt_bytes(faulted, sizeof(faulted), p->faulted);
	/* The name as the terminal may show it, then wrapped like the rest. */
	comm[0] = '\0';
	cf = fmemopen(comm, sizeof(comm), "w");
	if (cf) {
		textsafe__put(cf, p->comm, sizeof(p->comm));
		fclose(cf);
	}
	report__fmt_ident(where, sizeof(where), &p->ident);
	snprintf(line, sizeof(line),
		 "pid %u %s%s: explained %.0f %% of %s anon RSS (%s unexplained)", p->pid, comm,
		 where, p->rss_anon ? 100.0 * explained / p->rss_anon : 0.0, rss, un);
	print_wrapped(f, line, cols, 2);
	/* The parts, indented under it (print_wrapped starts at column 0). */
	if (p->rss_only)
		snprintf(line, sizeof(line),
			 "faulted %s + data %s (faulted: pages faulted in since attach, less those "
			 "given back)",
			 faulted, data);
	else if (p->faulted)
		snprintf(line, sizeof(line),
			 "heap %s + allocator %s + mappings %s + stacks %s + data %s + faulted %s",
			 heap, alloc, maps, stacks, data, faulted);
	else
		snprintf(line, sizeof(line),
			 "heap %s + allocator %s + mappings %s + stacks %s + data %s", heap, alloc,
			 maps, stacks, data);
	fputs("  ", f);
	print_wrapped(f, line, cols > 2 ? cols - 2 : 0, 4);
	if (p->heap_not_resident) {
		report__fmt_bytes(untouched, sizeof(untouched), p->heap_not_resident);
		snprintf(line, sizeof(line),
			 "%s of the heap is not resident (requested, never touched)", untouched);
		fputs("  ", f);
		print_wrapped(f, line, cols > 2 ? cols - 2 : 0, 4);
	}
}

/* The mapping categories and, per process, what the report explains of its memory. */
static void print_memory(FILE *f, const struct report_header *hdr, size_t cols)
{
	char a[32], b[32], line[160];
	size_t i;

	if (hdr->stacks) {
		report__fmt_bytes(a, sizeof(a),
				  hdr->stack_size ? hdr->stack_size : hdr->stacks_mapped);
		report__fmt_bytes(b, sizeof(b), hdr->stacks_resident);
		/* "4 x 8.0 MiB mapped" when all are alike, "3, 10.0 MiB mapped" when not */
		snprintf(line, sizeof(line), "thread stacks: %llu%s %s mapped, %s resident",
			 (unsigned long long)hdr->stacks, hdr->stack_size ? " x" : ",", a, b);
		print_wrapped(f, line, cols, 2);
	}
	if (hdr->alloc_mapped || hdr->alloc_resident) {
		report__fmt_bytes(a, sizeof(a), hdr->alloc_resident);
		report__fmt_bytes(b, sizeof(b), hdr->alloc_mapped);
		snprintf(line, sizeof(line), "allocator: %s resident (%s mapped)", a, b);
		print_wrapped(f, line, cols, 2);
	}
	for (i = 0; i < hdr->nprocs && i < TEXT_PROCS; i++)
		print_reconciliation(f, &hdr->procs[i], cols);
	if (hdr->nprocs_total > i)
		fprintf(f, "... %zu more processes\n", hdr->nprocs_total - i);
}

static void print_text_header(FILE *f, const struct report_header *hdr)
{
	char when[32] = "?", live[32], change[40], a[16], ab[32], fr[16], fb[32], ra[16], rb[40];
	char line[160], resizes[80];
	__u64 drops[DROP_COUNT];
	const char *final = hdr->final ? "  (final)" : "";
	size_t cols = text_cols(hdr), used;
	time_t t = (time_t)hdr->time;
	struct tm tm;

	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	used = fprintf(f, "allocscope %s  interval %.1fs", when, hdr->interval_s);
	/* The targets give way to the width; JSON lists them whole. */
	if (hdr->targets && used + 2 + 4 + strlen(final) <= cols) {
		fputs("  ", f);
		put_name(f, hdr->targets, cols - used - 2 - strlen(final));
	}
	fprintf(f, "%s\n", final);
	report__print_oom_text(f, hdr, cols);

	report__fmt_bytes(live, sizeof(live), hdr->live_bytes);
	fmt_change(change, sizeof(change), hdr->live_change, "");
	report__fmt_rate(a, sizeof(a), hdr->alloc_rate);
	report__fmt_bytes(ab, sizeof(ab), hdr->alloc_bytes_rate);
	report__fmt_rate(fr, sizeof(fr), hdr->free_rate);
	report__fmt_bytes(fb, sizeof(fb), hdr->free_bytes_rate);
	report__fmt_rate(ra, sizeof(ra), hdr->realloc_rate);
	fmt_change(rb, sizeof(rb), hdr->realloc_bytes_rate, "/s");
	/* two lines: with large values all of it on one line passes 100 columns */
	fprintf(f, "live %s (%s)  sites %zu\n", live, change, hdr->nsites);
	if (hdr->rss)
		print_wrapped(f,
			      "mode rss: LIVE is resident memory faulted in less what was given "
			      "back; allocs count pages faulted in, frees releases",
			      cols, 2);
	/* Resizes go on the rate line while it fits the width, else below it. */
	used = snprintf(line, sizeof(line), "allocs %s/s (%s/s)  frees %s/s (%s/s)", a, ab, fr, fb);
	snprintf(resizes, sizeof(resizes), "reallocs %s/s (%s)", ra, rb);
	if (used + 2 + strlen(resizes) <= cols)
		fprintf(f, "%s  %s\n", line, resizes);
	else
		fprintf(f, "%s\n%s\n", line, resizes);
	/* glibc's cache flush at thread exit frees blocks from before tracing: not a loss,
	 * so not among the drops. */
	memcpy(drops, hdr->drops, sizeof(drops));
	drops[DROP_EXIT_FREE] = 0;
	print_counters(f, "drops", drops, drop_labels, DROP_COUNT, cols);
	print_counters(f, "truncated stacks", hdr->stops, stop_labels, UNWIND_STOP_COUNT, cols);
	if (hdr->drops[DROP_EXIT_FREE]) {
		snprintf(line, sizeof(line),
			 "thread-exit frees: %llu (glibc's cache flush of blocks freed before "
			 "tracing; not a loss)",
			 (unsigned long long)hdr->drops[DROP_EXIT_FREE]);
		print_wrapped(f, line, cols, 2);
	}
	print_memory(f, hdr, cols);
	if (hdr->sample_bytes) {
		char sampled[256];

		report__fmt_bytes(live, sizeof(live), hdr->sample_bytes);
		snprintf(sampled, sizeof(sampled),
			 "sampled: about one allocation per %s (--sample-bytes); bytes, objects "
			 "and rates are estimates; unsampled frees are not counted as untracked",
			 live);
		print_wrapped(f, sampled, cols, 2);
	}
	report__print_cost_text(f, hdr, cols);
	if (hdr->age_truncated) {
		snprintf(line, sizeof(line),
			 "ages: the live-block walk stopped after %llu blocks (time bound); some "
			 "sites' ages are partial or missing",
			 (unsigned long long)hdr->age_blocks);
		print_wrapped(f, line, cols, 2);
	}
	if (hdr->py_no_thread) {
		snprintf(line, sizeof(line),
			 "python: %llu allocations in the interpreter without a thread state "
			 "(native stacks)",
			 (unsigned long long)hdr->py_no_thread);
		print_wrapped(f, line, cols, 2);
	}
	fputc('\n', f);
}

/* TREND: "3/5" grew in 3 of the last 5 intervals; "+5/5" grew in each of
 * them (flagged); "2/2" with fewer intervals seen yet; "-" none. ASCII, so
 * that any terminal shows it. */
static void fmt_trend(char *buf, size_t len, const struct trend *t)
{
	if (!t->window)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%s%u/%u", t->growing ? "+" : "", t->grew, t->window);
}

void report__fmt_age(char *buf, size_t len, __u64 ns)
{
	double s = ns / 1e9;
	unsigned long long m = ns / 60000000000ULL;

	if (s < 9.95)
		snprintf(buf, len, "%.1fs", s);
	else if (s < 59.5)
		snprintf(buf, len, "%.0fs", s);
	else if (m < 60)
		snprintf(buf, len, "%llum%02llus", m, (unsigned long long)s % 60);
	else if (m < 24 * 60)
		snprintf(buf, len, "%lluh%02llum", m / 60, m % 60);
	else
		snprintf(buf, len, "%llud%02lluh", m / (24 * 60), m / 60 % 24);
}

/* Under a row: how old its live blocks are. Old bytes piling up are a
 * leak; a site whose blocks are all young churns. */
static void print_age(FILE *f, const struct report_header *hdr, const struct report_row *row)
{
	char oldest[24], old[32];

	report__fmt_age(oldest, sizeof(oldest), row->oldest_ns);
	report__fmt_bytes(old, sizeof(old), row->old_bytes);
	fprintf(f, "%*soldest %s, %s older than %.0fs\n", FRAME_INDENT, "", oldest, old,
		hdr->old_age_s);
}

/* A mapping site's LIVE is what is resident; this says of how much address space. */
static void print_mapping(FILE *f, const struct report_row *row)
{
	char mapped[32], resident[32];

	report__fmt_bytes(mapped, sizeof(mapped), row->site.mapped_bytes);
	report__fmt_bytes(resident, sizeof(resident), row->site.resident_bytes);
	fprintf(f, "%*s%s resident of %s mapped\n", FRAME_INDENT, "", resident, mapped);
}

/* The site row's columns, right-aligned, one space apart, then two spaces
 * and PROCESS. Narrower than REPORT_COLS, columns go by their drop rank
 * (RATE first: GROWTH over the interval tells the same) until the row
 * leaves PROCESS_MIN columns. TREND outlives the counts: it is the leak
 * signal. */
enum { COL_NR, COL_LIVE, COL_OBJS, COL_GROWTH, COL_RATE, COL_TREND, COL_ALLOCS, COL_FREES, NCOLS };

static const struct {
	const char *title;
	int width;
	int drop; /* 0: always shown; else dropped in this order */
} columns[NCOLS] = {
	[COL_NR] = {"#", 3, 0},		 [COL_LIVE] = {"LIVE", 10, 0},
	[COL_OBJS] = {"OBJS", 7, 5},	 [COL_GROWTH] = {"GROWTH", 11, 0},
	[COL_RATE] = {"RATE", 13, 1},	 [COL_TREND] = {"TREND", 6, 4},
	[COL_ALLOCS] = {"ALLOCS", 8, 3}, [COL_FREES] = {"FREES", 8, 2},
};

#define PROCESS_MIN 21 /* "1234567 ", 4 columns of the name, " [exited]" */

/* Which columns a row of cols shows; returns the columns they take. */
static size_t layout(size_t cols, bool shown[NCOLS])
{
	size_t used = 0;
	int c, drop;

	for (drop = 0;; drop++) {
		used = 2;
		for (c = 0; c < NCOLS; c++) {
			shown[c] = !columns[c].drop || columns[c].drop > drop;
			if (shown[c])
				used += columns[c].width + (c > 0);
		}
		if (used + PROCESS_MIN <= cols || drop > NCOLS)
			return used;
	}
}

static size_t print_columns(FILE *f, const bool shown[NCOLS], char *const text[NCOLS])
{
	size_t used = 0;

	for (int c = 0; c < NCOLS; c++)
		if (shown[c])
			used += fprintf(f, "%s%*s", c ? " " : "", columns[c].width, text[c]);
	return used + fprintf(f, "  ");
}

/* Distinct process names among a row's members, counted up to a few. */
static size_t count_comms(const struct report_row *row)
{
	const char *seen[4];
	size_t n = 0, i, k;

	for (i = 0; i < row->nmembers && n < sizeof(seen) / sizeof(*seen); i++) {
		for (k = 0; k < n && strncmp(seen[k], row->members[i].comm, AS_COMM_LEN); k++)
			;
		if (k == n)
			seen[n++] = row->members[i].comm;
	}
	return n;
}

/* "4242 python3", or for a row of several processes "4 procs python3"
 * (+N names when they differ), in the room left; " [exited]" kept whole. */
static void print_process(FILE *f, const struct report_row *row, size_t room)
{
	const char *exited = row->site.exited ? " [exited]" : row->site.frozen ? " [frozen]" : "";
	char who[40], comm[AS_COMM_LEN + 1], more[24] = "";
	size_t n, comms = row->nprocs > 1 ? count_comms(row) : 1;

	if (row->nprocs > 1)
		snprintf(who, sizeof(who), "%zu procs ", row->nprocs);
	else
		snprintf(who, sizeof(who), "%u ", row->site.pid);
	if (comms > 1)
		snprintf(more, sizeof(more), " (+%zu%s names)", comms - 1,
			 comms == 4 ? " or more" : "");
	memcpy(comm, row->site.comm, AS_COMM_LEN);
	comm[AS_COMM_LEN] = '\0';
	n = strlen(who) + strlen(exited) + strlen(more);
	/* The name first: the count of other names goes when it would cut it. */
	if (more[0] && n + strlen(comm) > room) {
		more[0] = '\0';
		n = strlen(who) + strlen(exited);
	}
	fputs(who, f);
	put_name(f, comm, room > n ? room - n : 0);
	fprintf(f, "%s%s\n", more, exited);
}

/* Under a Python row standing for stacks with different native frames: how
 * many, and with -v each one's frames, heaviest first. */
static void print_paths(FILE *f, const struct report_header *hdr, const struct report_row *row)
{
	const size_t indent = FRAME_INDENT, cols = text_cols(hdr);
	char live[32];

	if (row->npaths < 2)
		return;
	if (!hdr->verbose) {
		fprintf(f, "%*s[%zu native paths reach the %s here; -v lists them]\n", (int)indent,
			"", row->npaths, hdr->rss ? "page fault" : "allocator");
		return;
	}
	for (size_t p = 0; p < row->npaths; p++) {
		const struct report_path *path = &row->paths[p];

		report__fmt_bytes(live, sizeof(live), path->live_bytes);
		fprintf(f, "%*snative path %zu of %zu: %s live, %zu stack%s\n", (int)indent, "",
			p + 1, row->npaths, live, path->nstacks, path->nstacks == 1 ? "" : "s");
		if (!path->nframes)
			fprintf(f, "%*s(none: %s)\n", (int)indent + 2, "",
				hdr->rss ? "the interpreter itself touched the page"
					 : "the allocator's caller is Python code");
		for (size_t i = 0; i < path->nframes; i++)
			print_frame(f, &path->frames[i], indent + 2, cols);
	}
}

static void print_text_row(FILE *f, const struct report_header *hdr, const bool shown[NCOLS],
			   size_t rank, const struct report_row *row)
{
	char nr[24], live[32], objs[24], growth[40], rate[40], trend[24], allocs[24], frees[24];
	char *text[NCOLS] = {nr, live, objs, growth, rate, trend, allocs, frees};
	size_t i, cols = text_cols(hdr), used;

	snprintf(nr, sizeof(nr), "%zu", rank);
	report__fmt_bytes(live, sizeof(live), row->live_bytes);
	snprintf(objs, sizeof(objs), "%lld", (long long)row->live_objects);
	fmt_change(growth, sizeof(growth), row->growth_bytes, "");
	fmt_change(rate, sizeof(rate), row->growth_rate, "/s");
	snprintf(allocs, sizeof(allocs), "%llu", (unsigned long long)row->allocs);
	snprintf(frees, sizeof(frees), "%llu", (unsigned long long)row->frees);
	fmt_trend(trend, sizeof(trend), &row->trend);
	used = print_columns(f, shown, text);
	print_process(f, row, cols > used ? cols - used : 0);
	if (row->aged)
		print_age(f, hdr, row);

	if (row->site.mapping)
		print_mapping(f, row);
	if (!row->nframes)
		fprintf(f, "%*s[no stack]\n", FRAME_INDENT, "");
	for (i = 0; i < row->nframes && i < AS_MAX_FRAMES; i++)
		print_frame(f, &row->frames[i], FRAME_INDENT, cols);
	if (row->cut)
		fprintf(f, "%*s... stack cut here (%s)\n", FRAME_INDENT, "",
			report__stop_label(row->cut - 1));
	print_paths(f, hdr, row);
	fputc('\n', f);
}

void report__print_text(FILE *f, const struct report_header *hdr, const struct report_row *rows,
			size_t nrows)
{
	static char *const titles[NCOLS] = {"#",    "LIVE",  "OBJS",   "GROWTH",
					    "RATE", "TREND", "ALLOCS", "FREES"};
	bool shown[NCOLS];
	size_t i;

	print_text_header(f, hdr);
	if (!nrows) {
		fprintf(f, "  %s\n\n",
			hdr->nsites ? "no live allocations and no activity"
				    : "no allocations seen yet");
	} else {
		layout(text_cols(hdr), shown);
		print_columns(f, shown, titles);
		fputs("PROCESS\n", f);
		for (i = 0; i < nrows; i++)
			print_text_row(f, hdr, shown, i + 1, &rows[i]);
	}
	report__print_census_text(f, hdr);
	if (hdr->summary)
		report__print_summary_text(f, hdr);
}
