// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* JSON rendering of a report: one object per line, strings escaped and kept
 * valid UTF-8 whatever bytes a process put in its name. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "report.h"
#include "textsafe.h"

/* A JSON string of at most n bytes of s; invalid UTF-8 becomes U+FFFD. */
static void json_str(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, len;

	if (!s) {
		fputs("null", f);
		return;
	}
	n = strnlen(s, n);
	fputc('"', f);
	for (i = 0; i < n; i += len) {
		len = textsafe__utf8_len(p + i, n - i);
		if (!len) {
			fputs("\\ufffd", f);
			len = 1;
		} else if (p[i] == '"' || p[i] == '\\') {
			fprintf(f, "\\%c", p[i]);
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			fprintf(f, "\\u%04x", p[i]);
		} else {
			fwrite(p + i, 1, len, f);
		}
	}
	fputc('"', f);
}

/* Three decimals without printf's %f, which follows LC_NUMERIC and would
 * write "2,500" under a locale with a decimal comma. */
static void json_num(FILE *f, double v)
{
	long long m;

	if (!isfinite(v)) {
		fputs("null", f);
		return;
	}
	if (v >= 9e15 || v <= -9e15) {
		fprintf(f, "%.0f", v);
		return;
	}
	m = (long long)((v < 0 ? -v : v) * 1000 + 0.5);
	fprintf(f, "%s%lld.%03lld", v < 0 && m ? "-" : "", m / 1000, m % 1000);
}

static void json_frames(FILE *f, const struct report_row *row)
{
	size_t i;

	fputs("\"frames\":[", f);
	for (i = 0; i < row->nframes && i < AS_MAX_FRAMES; i++) {
		const struct sym_frame *fr = &row->frames[i];

		fprintf(f, "%s{\"addr\":\"0x%llx\",\"symbol\":", i ? "," : "",
			(unsigned long long)fr->addr);
		json_str(f, fr->symbol, SIZE_MAX);
		fprintf(f, ",\"offset\":%llu,\"module\":", (unsigned long long)fr->offset);
		json_str(f, fr->module, SIZE_MAX);
		if (fr->file) {
			fputs(",\"file\":", f);
			json_str(f, fr->file, SIZE_MAX);
			fprintf(f, ",\"line\":%d", fr->line);
		}
		fputc('}', f);
	}
	fputc(']', f);
	if (row->cut)
		fprintf(f, ",\"stack_cut\":\"%s\"", report__stop_label(row->cut - 1));
	else
		fputs(",\"stack_cut\":null", f);
}

static void json_site(FILE *f, const struct report_row *row)
{
	fprintf(f, "{\"pid\":%u,\"comm\":", row->site.pid);
	json_str(f, row->site.comm, sizeof(row->site.comm));
	fprintf(f, ",\"exited\":%s,\"live_bytes\":%lld,\"live_objects\":%lld,\"growth_bytes\":%lld",
		row->site.exited ? "true" : "false", (long long)row->live_bytes,
		(long long)row->live_objects, (long long)row->growth_bytes);
	fputs(",\"growth_rate\":", f);
	json_num(f, row->growth_rate);
	if (row->site.mapping)
		fprintf(f, ",\"mapped_bytes\":%llu,\"resident_bytes\":%llu",
			(unsigned long long)row->site.mapped_bytes,
			(unsigned long long)row->site.resident_bytes);
	fprintf(f, ",\"allocs\":%llu,\"frees\":%llu,\"alloc_bytes\":%llu,\"free_bytes\":%llu,",
		(unsigned long long)row->allocs, (unsigned long long)row->frees,
		(unsigned long long)row->alloc_bytes, (unsigned long long)row->free_bytes);
	json_frames(f, row);
	fputc('}', f);
}

/* The mapping categories and one object per live process (the header's, largest anon RSS
 * first; processes_total says how many there were). */
static void json_memory(FILE *f, const struct report_header *hdr)
{
	fprintf(f,
		",\"thread_stacks\":{\"count\":%llu,\"mapped_bytes\":%llu,\"resident_bytes\":%llu}"
		",\"allocator\":{\"mapped_bytes\":%llu,\"resident_bytes\":%llu},\"processes\":[",
		(unsigned long long)hdr->stacks, (unsigned long long)hdr->stacks_mapped,
		(unsigned long long)hdr->stacks_resident, (unsigned long long)hdr->alloc_mapped,
		(unsigned long long)hdr->alloc_resident);
	for (size_t i = 0; i < hdr->nprocs; i++) {
		const struct report_process *p = &hdr->procs[i];

		fprintf(f, "%s{\"pid\":%u,\"comm\":", i ? "," : "", p->pid);
		json_str(f, p->comm, sizeof(p->comm));
		fprintf(f,
			",\"rss_anon\":%llu,\"heap_live\":%llu,\"heap_not_resident\":%llu,"
			"\"allocator\":%llu,\"mappings\":%llu,\"thread_stacks\":%llu,"
			"\"unexplained\":%lld}",
			(unsigned long long)p->rss_anon, (unsigned long long)p->heap_live,
			(unsigned long long)p->heap_not_resident, (unsigned long long)p->allocator,
			(unsigned long long)p->mappings, (unsigned long long)p->thread_stacks,
			(long long)p->unexplained);
	}
	fprintf(f, "],\"processes_total\":%zu", hdr->nprocs_total);
}

void report__print_json(FILE *f, const struct report_header *hdr, const struct report_row *rows,
			size_t nrows)
{
	const struct {
		const char *key;
		double v;
	} rates[] = {
		{"alloc_rate", hdr->alloc_rate},
		{"free_rate", hdr->free_rate},
		{"alloc_bytes_rate", hdr->alloc_bytes_rate},
		{"free_bytes_rate", hdr->free_bytes_rate},
	};
	time_t t = (time_t)hdr->time;
	char when[32] = "";
	struct tm tm;
	size_t i;

	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(f, "{\"time\":\"%s\",\"interval_s\":", when);
	json_num(f, hdr->interval_s);
	fprintf(f, ",\"final\":%s,\"targets\":", hdr->final ? "true" : "false");
	json_str(f, hdr->targets, SIZE_MAX);
	fprintf(f, ",\"live_bytes\":%lld,\"live_change\":%lld", (long long)hdr->live_bytes,
		(long long)hdr->live_change);
	for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		fprintf(f, ",\"%s\":", rates[i].key);
		json_num(f, rates[i].v);
	}
	fprintf(f, ",\"nsites\":%zu,\"drops\":{", hdr->nsites);
	for (i = 0; i < DROP_COUNT; i++)
		fprintf(f, "%s\"%s\":%llu", i ? "," : "", report__drop_label(i),
			(unsigned long long)hdr->drops[i]);
	fputs("},\"truncated_stacks\":{", f);
	for (i = 0; i < UNWIND_STOP_COUNT; i++)
		fprintf(f, "%s\"%s\":%llu", i ? "," : "", report__stop_label(i),
			(unsigned long long)hdr->stops[i]);
	fprintf(f, "},\"python_no_thread\":%llu", (unsigned long long)hdr->py_no_thread);
	json_memory(f, hdr);
	fputs(",\"sites\":[", f);
	for (i = 0; i < nrows; i++) {
		if (i)
			fputc(',', f);
		json_site(f, &rows[i]);
	}
	fputs("]}\n", f);
}
