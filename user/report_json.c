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

static void json_frame(FILE *f, const struct sym_frame *fr)
{
	fprintf(f, "{\"addr\":\"0x%llx\",\"symbol\":", (unsigned long long)fr->addr);
	json_str(f, fr->symbol, SIZE_MAX);
	fprintf(f, ",\"offset\":%llu,\"module\":", (unsigned long long)fr->offset);
	json_str(f, fr->module, SIZE_MAX);
	if (fr->file) {
		fputs(",\"file\":", f);
		json_str(f, fr->file, SIZE_MAX);
		fprintf(f, ",\"line\":%d", fr->line);
	} else if (fr->src_file) {
		fputs(",\"file\":", f);
		json_str(f, fr->src_file, SIZE_MAX);
		fprintf(f, ",\"line\":%d", fr->src_line);
	}
	if (fr->path) {
		fputs(",\"path\":", f);
		json_str(f, fr->path, SIZE_MAX);
		fprintf(f, ",\"file_offset\":%llu", (unsigned long long)fr->file_offset);
		if (fr->build_id)
			fprintf(f, ",\"build_id\":\"%s\"", fr->build_id);
	}
	fputc('}', f);
}

static void json_frames(FILE *f, const struct report_row *row)
{
	size_t i;

	fputs("\"frames\":[", f);
	for (i = 0; i < row->nframes && i < AS_MAX_FRAMES; i++) {
		if (i)
			fputc(',', f);
		json_frame(f, &row->frames[i]);
	}
	fputc(']', f);
	if (row->cut)
		fprintf(f, ",\"stack_cut\":\"%s\"", report__stop_label(row->cut - 1));
	else
		fputs(",\"stack_cut\":null", f);
}

/* A Python row's native paths: the native frames of its stacks, heaviest
 * first, each with the live bytes and the number of stacks behind it. */
static void json_paths(FILE *f, const struct report_row *row)
{
	if (!row->paths)
		return;
	fputs(",\"native_paths\":[", f);
	for (size_t p = 0; p < row->npaths; p++) {
		const struct report_path *path = &row->paths[p];

		fprintf(f, "%s{\"live_bytes\":%lld,\"stacks\":%zu,\"frames\":[", p ? "," : "",
			(long long)path->live_bytes, path->nstacks);
		for (size_t i = 0; i < path->nframes; i++) {
			if (i)
				fputc(',', f);
			json_frame(f, &path->frames[i]);
		}
		fputs("]}", f);
	}
	fputc(']', f);
}

/* The processes of a row: how many, and their pids (members are by pid). */
static void json_processes(FILE *f, const struct report_row *row)
{
	size_t i;
	bool any = false;

	fprintf(f, ",\"processes\":%zu,\"pids\":[", row->nmembers ? row->nprocs : 1);
	for (i = 0; i < row->nmembers; i++) {
		if (i && row->members[i].pid == row->members[i - 1].pid)
			continue;
		fprintf(f, "%s%u", any ? "," : "", row->members[i].pid);
		any = true;
	}
	if (!row->nmembers)
		fprintf(f, "%u", row->site.pid);
	fprintf(f, "],\"stacks\":%zu", row->nmembers ? row->nmembers : 1);
}

/* The leak signal: growth over the last K intervals, and the age of the
 * live blocks (null when the live table was not walked or held none of the
 * row's blocks, e.g. a mapping site). Each ends with a comma. */
static void json_trend_age(FILE *f, const struct report_header *hdr, const struct report_row *row)
{
	const struct trend *t = &row->trend;

	fprintf(f,
		"\"trend\":{\"intervals\":%u,\"observed\":%u,\"grew\":%u,\"growing\":%s,"
		"\"growth_bytes\":%lld},",
		t->intervals, t->window, t->grew, t->growing ? "true" : "false",
		(long long)t->growth_bytes);
	if (!row->aged) {
		fputs("\"age\":null,", f);
		return;
	}
	fputs("\"age\":{\"oldest_s\":", f);
	json_num(f, row->oldest_ns / 1e9);
	fprintf(f, ",\"old_bytes\":%llu,\"old_threshold_s\":", (unsigned long long)row->old_bytes);
	json_num(f, hdr->old_age_s);
	fputs("},", f);
}

static void json_site(FILE *f, const struct report_header *hdr, const struct report_row *row)
{
	fprintf(f, "{\"pid\":%u,\"comm\":", row->site.pid);
	json_str(f, row->site.comm, sizeof(row->site.comm));
	json_processes(f, row);
	if (row->site.frozen)
		fputs(",\"frozen\":true", f);
	fprintf(f, ",\"exited\":%s,\"live_bytes\":%lld,\"live_objects\":%lld,\"growth_bytes\":%lld",
		row->site.exited ? "true" : "false", (long long)row->live_bytes,
		(long long)row->live_objects, (long long)row->growth_bytes);
	fputs(",\"growth_rate\":", f);
	json_num(f, row->growth_rate);
	if (row->site.mapping)
		fprintf(f, ",\"mapped_bytes\":%llu,\"resident_bytes\":%llu",
			(unsigned long long)row->site.mapped_bytes,
			(unsigned long long)row->site.resident_bytes);
	fprintf(f,
		",\"allocs\":%llu,\"frees\":%llu,\"alloc_bytes\":%llu,\"free_bytes\":%llu,"
		"\"reallocs\":%llu,",
		(unsigned long long)row->allocs, (unsigned long long)row->frees,
		(unsigned long long)row->alloc_bytes, (unsigned long long)row->free_bytes,
		(unsigned long long)row->reallocs);
	if (hdr->sample_bytes)
		fprintf(f, "\"samples\":%llu,", (unsigned long long)row->site.stats.samples);
	json_trend_age(f, hdr, row);
	json_frames(f, row);
	json_paths(f, row);
	fputc('}', f);
}

/* A process's container fields, each left out when its cgroup path and
 * status do not carry it. The ids are hex and the UID hex and '-' (cgroup.c
 * takes nothing else), so they need no escaping. */
static void json_ident(FILE *f, const struct cgroup_ident *id)
{
	if (id->container[0])
		fprintf(f, ",\"container\":\"%.*s\"", CGROUP_SHORT_LEN, id->container);
	if (id->pod_uid[0])
		fprintf(f, ",\"pod_uid\":\"%s\"", id->pod_uid);
	if (id->nspid)
		fprintf(f, ",\"nspid\":%u", id->nspid);
}

/* The OOM kills since the previous report: "oom_victim", the first victim's
 * pid, and "oom_victims", each with its memory in bytes when the kernel gave
 * it (Linux 6.8+). Only in a report that has one. */
static void json_oom(FILE *f, const struct report_header *hdr)
{
	if (!hdr->nooms)
		return;
	fprintf(f, ",\"oom_victim\":%u,\"oom_victims\":[", hdr->ooms[0].pid);
	for (size_t i = 0; i < hdr->nooms; i++) {
		const struct report_oom *o = &hdr->ooms[i];

		fprintf(f, "%s{\"pid\":%u,\"comm\":", i ? "," : "", o->pid);
		json_str(f, o->comm, sizeof(o->comm));
		if (o->has_counters)
			fprintf(f,
				",\"total_vm_bytes\":%llu,\"anon_rss_bytes\":%llu,"
				"\"file_rss_bytes\":%llu,\"shmem_rss_bytes\":%llu,"
				"\"pgtables_bytes\":%llu,\"uid\":%u,\"oom_score_adj\":%d",
				(unsigned long long)o->total_vm, (unsigned long long)o->anon_rss,
				(unsigned long long)o->file_rss, (unsigned long long)o->shmem_rss,
				(unsigned long long)o->pgtables, o->uid, o->oom_score_adj);
		fputc('}', f);
	}
	fputc(']', f);
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
		json_ident(f, &p->ident);
		fprintf(f,
			",\"rss_anon\":%llu,\"heap_live\":%llu,\"heap_not_resident\":%llu,"
			"\"allocator\":%llu,\"mappings\":%llu,\"thread_stacks\":%llu,"
			"\"data\":%llu,\"faulted\":%llu,\"unexplained\":%lld}",
			(unsigned long long)p->rss_anon, (unsigned long long)p->heap_live,
			(unsigned long long)p->heap_not_resident, (unsigned long long)p->allocator,
			(unsigned long long)p->mappings, (unsigned long long)p->thread_stacks,
			(unsigned long long)p->data, (unsigned long long)p->faulted,
			(long long)p->unexplained);
	}
	fprintf(f, "],\"processes_total\":%zu", hdr->nprocs_total);
}

/* The Python heap census: "python_types" rows and, per process, what it
 * covered; both only when a CPython process was censused. */
static void json_census(FILE *f, const struct report_header *hdr)
{
	size_t i;

	if (!hdr->npyheaps)
		return;
	fputs(",\"python_types\":[", f);
	for (i = 0; i < hdr->npytypes; i++) {
		const struct report_pytype *t = &hdr->pytypes[i];

		fprintf(f, "%s{\"pid\":%u,\"type\":", i ? "," : "", t->pid);
		json_str(f, t->type, SIZE_MAX);
		fprintf(f,
			",\"objects\":%llu,\"bytes\":%llu,\"growth_objects\":%lld,"
			"\"growth_bytes\":%lld,\"start_growth_objects\":%lld,"
			"\"start_growth_bytes\":%lld}",
			(unsigned long long)t->objects, (unsigned long long)t->bytes,
			(long long)t->growth_objects, (long long)t->growth_bytes,
			(long long)t->start_objects, (long long)t->start_bytes);
	}
	fputs("],\"python_heaps\":[", f);
	for (i = 0; i < hdr->npyheaps; i++) {
		const struct report_pyheap *h = &hdr->pyheaps[i];

		fprintf(f,
			"%s{\"pid\":%u,\"truncated\":%s,\"pools\":%llu,\"pool_size\":%u,"
			"\"unreadable_pools\":%llu,\"unreadable_bytes\":%llu,"
			"\"swapped_pages\":%llu,\"large_blocks\":%llu,\"untyped_blocks\":%llu,"
			"\"untyped_bytes\":%llu,\"ms\":",
			i ? "," : "", h->pid, h->truncated ? "true" : "false",
			(unsigned long long)h->pools, h->pool_size,
			(unsigned long long)h->unreadable_pools,
			(unsigned long long)h->unreadable_bytes, (unsigned long long)h->swapped,
			(unsigned long long)h->large_blocks, (unsigned long long)h->untyped_blocks,
			(unsigned long long)h->untyped_bytes);
		json_num(f, h->ms);
		fputc('}', f);
	}
	fputc(']', f);
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
		{"realloc_rate", hdr->realloc_rate},
		{"realloc_bytes_rate", hdr->realloc_bytes_rate},
	};
	time_t t = (time_t)hdr->time;
	char when[32] = "";
	struct tm tm;
	size_t i;

	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(f, "{\"time\":\"%s\",\"interval_s\":", when);
	json_num(f, hdr->interval_s);
	fprintf(f, ",\"final\":%s,\"mode\":\"%s\",\"scope\":", hdr->final ? "true" : "false",
		hdr->rss ? "rss" : "heap");
	json_str(f, hdr->scope ? hdr->scope : "", SIZE_MAX);
	fputs(",\"targets\":[", f);
	for (i = 0; i < hdr->ntraced; i++) {
		fprintf(f, "%s{\"pid\":%u,\"comm\":", i ? "," : "", hdr->traced[i].pid);
		json_str(f, hdr->traced[i].comm, sizeof(hdr->traced[i].comm));
		json_ident(f, &hdr->traced[i].ident);
		fputc('}', f);
	}
	fputc(']', f);
	json_oom(f, hdr);
	fprintf(f, ",\"live_bytes\":%lld,\"live_change\":%lld", (long long)hdr->live_bytes,
		(long long)hdr->live_change);
	for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		fprintf(f, ",\"%s\":", rates[i].key);
		json_num(f, rates[i].v);
	}
	/* Sampling: the byte and object counts are estimates. */
	fprintf(f, ",\"sample_bytes\":%llu,\"estimated\":%s", (unsigned long long)hdr->sample_bytes,
		hdr->sample_bytes ? "true" : "false");
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
	report__print_cost_json(f, hdr);
	if (hdr->age_walked) {
		fprintf(f, ",\"age_walk\":{\"blocks\":%llu,\"truncated\":%s,\"old_threshold_s\":",
			(unsigned long long)hdr->age_blocks, hdr->age_truncated ? "true" : "false");
		json_num(f, hdr->old_age_s);
		fputc('}', f);
	} else {
		fputs(",\"age_walk\":null", f);
	}
	fputs(",\"sites\":[", f);
	for (i = 0; i < nrows; i++) {
		if (i)
			fputc(',', f);
		json_site(f, hdr, &rows[i]);
	}
	fputc(']', f);
	json_census(f, hdr);
	if (hdr->summary)
		report__print_summary_json(f, hdr);
	fputs("}\n", f);
}

/* The whole session, in the final report's object: ",\"summary\":{...}". */
void report__print_summary_json(FILE *f, const struct report_header *hdr)
{
	const struct report_summary *s = hdr->summary;

	fputs(",\"summary\":{\"duration_s\":", f);
	json_num(f, s->duration_s);
	fprintf(f,
		",\"reports\":%llu,\"allocs\":%llu,\"frees\":%llu,\"alloc_bytes\":%llu,"
		"\"free_bytes\":%llu,\"reallocs\":%llu,\"processes\":[",
		(unsigned long long)s->reports, (unsigned long long)s->total.allocs,
		(unsigned long long)s->total.frees, (unsigned long long)s->total.alloc_bytes,
		(unsigned long long)s->total.free_bytes, (unsigned long long)s->total.reallocs);
	for (size_t i = 0; i < s->nprocs; i++) {
		fprintf(f, "%s{\"pid\":%u,\"comm\":", i ? "," : "", s->procs[i].pid);
		json_str(f, s->procs[i].comm, sizeof(s->procs[i].comm));
		fprintf(f, ",\"exited\":%s,\"net_bytes\":%lld}",
			s->procs[i].exited ? "true" : "false", (long long)s->procs[i].live_bytes);
	}
	fputs("],\"top_sites\":[", f);
	for (size_t i = 0; i < s->nsites; i++) {
		if (i)
			fputc(',', f);
		json_site(f, hdr, &s->sites[i]);
	}
	fputs("]}", f);
}
