// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The whole-session summary under the final text report: how long, how
 * much was allocated and freed, each process's net growth, and the sites
 * that grew most since the start with their trends. */
#include <stdio.h>
#include <string.h>

#include "path.h"
#include "report.h"
#include "textsafe.h"

/* Processes given a line of their own; JSON lists every one. */
#define SUMMARY_PROCS 10
/* A site's lines under its first; the fewest columns of its name kept beside its numbers. */
#define INDENT	 6
#define NAME_MIN 16

static size_t summary_cols(const struct report_header *hdr)
{
	if (!hdr->cols)
		return REPORT_COLS;
	return hdr->cols < REPORT_COLS_MIN ? REPORT_COLS_MIN : hdr->cols;
}

static void fmt_signed(char *buf, size_t len, __s64 bytes)
{
	char num[32];

	report__fmt_bytes(num, sizeof(num), (double)bytes);
	snprintf(buf, len, "%s%s", bytes > 0 ? "+" : "", num);
}

/* The frame a site is known by: the allocator's caller when there is one. */
static const struct sym_frame *site_frame(const struct report_row *row)
{
	if (!row->nframes)
		return NULL;
	return &row->frames[row->nframes > 1 ? 1 : 0];
}

/* As the report's frame lines read: "handler (app.c:42)" with a line table,
 * "views.py:12 handler" for Python, else "symbol+0x1c (module)". */
static void frame_name(char *buf, size_t len, const struct sym_frame *fr)
{
	const char *sym = fr && fr->symbol ? fr->symbol : "[unknown]";

	if (!fr)
		snprintf(buf, len, "[no stack]");
	else if (fr->file)
		snprintf(buf, len, "%s:%d %s", path_base(fr->file), fr->line, sym);
	else if (fr->src_file)
		snprintf(buf, len, "%s (%s:%d)", sym, path_base(fr->src_file), fr->src_line);
	else
		snprintf(buf, len, "%s+0x%llx (%s)", sym, (unsigned long long)fr->offset,
			 fr->module ? fr->module : "?");
}

/* " 1   +9.8 KiB   +3/3 growing 4242 alloc_target  leak+0x1c (alloc_target)": the
 * name cut to the width, the columns aligned. */
static void print_site(FILE *f, const struct report_header *hdr, size_t rank,
		       const struct report_row *row, size_t cols)
{
	const struct sym_frame *fr = site_frame(row);
	char growth[40], trend[24], comm[4 * AS_COMM_LEN], sym[256], name[512], head[160];
	const struct trend *t = &row->trend;
	int used;

	fmt_signed(growth, sizeof(growth), row->live_bytes);
	if (!t->window)
		snprintf(trend, sizeof(trend), "-");
	else
		snprintf(trend, sizeof(trend), "%s%u/%u", t->growing ? "+" : "", t->grew,
			 t->window);
	frame_name(name, sizeof(name), fr);
	used = snprintf(head, sizeof(head), "%2zu %10s %6s %-7s %u %s", rank, growth, trend,
			t->growing ? "growing" : "", row->site.pid,
			textsafe__copy(comm, sizeof(comm), row->site.comm));
	/* The name in the room left; when too little is left, on a line of its own. */
	if ((size_t)used + 2 + NAME_MIN > cols) {
		fprintf(f, "%s\n%*s", head, INDENT, "");
		used = INDENT;
	} else {
		used = fprintf(f, "%s  ", head);
	}
	fprintf(f, "%s\n", textsafe__copy(sym, cols - used + 1, name));
	if (row->aged) {
		char oldest[24], old[32];

		report__fmt_age(oldest, sizeof(oldest), row->oldest_ns);
		report__fmt_bytes(old, sizeof(old), row->old_bytes);
		fprintf(f, "%*soldest %s, %s older than %.0fs\n", INDENT, "", oldest, old,
			hdr->old_age_s);
	}
}

void report__print_summary_text(FILE *f, const struct report_header *hdr)
{
	const struct report_summary *s = hdr->summary;
	char a[40], b[40], line[256], comm[4 * AS_COMM_LEN];
	size_t cols = summary_cols(hdr), i;

	report__fmt_bytes(a, sizeof(a), s->total.alloc_bytes);
	report__fmt_bytes(b, sizeof(b), s->total.free_bytes);
	fprintf(f, "session: %llu report%s over %.1fs\n", (unsigned long long)s->reports,
		s->reports == 1 ? "" : "s", s->duration_s);
	snprintf(line, sizeof(line), "allocated %s in %llu blocks, freed %s in %llu blocks", a,
		 (unsigned long long)s->total.allocs, b, (unsigned long long)s->total.frees);
	report__print_wrapped(f, line, cols, 2);
	for (i = 0; i < s->nprocs && i < SUMMARY_PROCS; i++) {
		fmt_signed(a, sizeof(a), s->procs[i].live_bytes);
		textsafe__copy(comm, sizeof(comm), s->procs[i].comm);
		snprintf(line, sizeof(line), "net growth: pid %u %s %s%s", s->procs[i].pid, comm, a,
			 s->procs[i].exited ? " [exited]" : "");
		report__print_wrapped(f, line, cols, 2);
	}
	if (s->nprocs > i)
		fprintf(f, "... %zu more processes (JSON lists them all)\n", s->nprocs - i);
	if (!s->nsites) {
		fputs("no site grew since the start\n\n", f);
		return;
	}
	snprintf(line, sizeof(line),
		 "top sites by growth since the start (TREND over the last %u intervals):",
		 s->sites[0].trend.intervals);
	report__print_wrapped(f, line, cols, 2);
	for (i = 0; i < s->nsites; i++)
		print_site(f, hdr, i + 1, &s->sites[i], cols);
	fputc('\n', f);
}
