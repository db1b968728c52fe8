// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* --format pprof: each report as a gzipped profile.proto, for `go tool
 * pprof`, Pyroscope and Parca. One sample per row, leaf first. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "output.h"
#include "pprof.h"

/* Values of a sample, in this order. alloc_* count the interval (as the
 * delta heap profiles Pyroscope ingests do), inuse_* what is live now. */
static const char *const sample_types[][2] = {
	{"alloc_objects", "count"},
	{"alloc_space", "bytes"},
	{"inuse_objects", "count"},
	{"inuse_space", "bytes"},
};
#define NVALUES (sizeof(sample_types) / sizeof(sample_types[0]))

/* The container of a row's process (its short id, as docker ps shows it),
 * for the "container" label; NULL, and no label, outside containers. A row
 * of several processes names the container of the one with the most live
 * bytes, as its comm label does. */
static const char *row_container(const struct report_row *row)
{
	return row->site.container[0] ? row->site.container : NULL;
}

/* A frame's location: a Python line in its function and file; a native
 * frame at its offset in the file mapped (so that the same code in many
 * processes is one location), named by its symbol and DWARF line. */
static __s64 frame_location(struct pprof *p, const struct sym_frame *fr)
{
	char name[256];
	__s64 fn, map = 0;
	__u64 addr = fr->addr;

	if (fr->file) {
		fn = pprof__function(p, fr->symbol, fr->file);
		return fn < 0 ? fn : pprof__location(p, 0, 0, fn, fr->line);
	}
	output__frame_name(fr, name, sizeof(name));
	fn = pprof__function(p, name, fr->src_file);
	if (fn >= 0 && fr->path) {
		map = pprof__mapping(p, fr->path, fr->build_id);
		addr = fr->file_offset;
	}
	if (fn < 0 || map < 0)
		return -ENOMEM;
	return pprof__location(p, map, addr, fn, fr->src_file ? fr->src_line : 0);
}

static int add_row(struct pprof *p, const struct report_row *row)
{
	__u64 locs[AS_MAX_FRAMES];
	__s64 values[NVALUES] = {
		(__s64)row->allocs,
		(__s64)row->alloc_bytes,
		row->site.exited ? 0 : row->live_objects,
		row->site.exited ? 0 : row->live_bytes,
	};
	struct pprof_label labels[3];
	char pid[16];
	size_t n = 0, nlabels = 0;
	__s64 loc;

	/* Root first, so that the first mapping is the program's (pprof shows
	 * the first as the profile's "File:"); the sample lists them leaf first. */
	n = row->nframes < AS_MAX_FRAMES ? row->nframes : AS_MAX_FRAMES;
	for (size_t i = n; i-- > 0;) {
		loc = frame_location(p, &row->frames[i]);
		if (loc < 0)
			return loc;
		locs[i] = loc;
	}
	/* A row of several processes (--group-by stack) names the one with the
	 * most live bytes by comm only. */
	if (row->nprocs <= 1) {
		snprintf(pid, sizeof(pid), "%u", row->site.pid);
		labels[nlabels++] = (struct pprof_label){"pid", pid};
	}
	labels[nlabels++] = (struct pprof_label){"comm", row->site.comm};
	if (row_container(row))
		labels[nlabels++] = (struct pprof_label){"container", row_container(row)};
	return pprof__sample(p, locs, n, values, labels, nlabels);
}

static int write_pprof(FILE *f, const struct report_header *hdr, const struct report_row *rows,
		       size_t nrows)
{
	struct pprof *p = pprof__new(NVALUES);
	int err = 0;

	if (!p)
		return -errno;
	for (size_t i = 0; i < NVALUES && !err; i++)
		err = pprof__sample_type(p, sample_types[i][0], sample_types[i][1]);
	/* Every allocation is counted, as Go's heap profiles say of theirs. */
	if (!err)
		err = pprof__set_period(p, "space", "bytes", 1);
	pprof__set_time(p, (__s64)(hdr->time * 1e9), (__s64)(hdr->interval_s * 1e9));
	for (size_t i = 0; i < nrows && !err; i++)
		err = add_row(p, &rows[i]);
	if (!err)
		err = pprof__write(p, f);
	pprof__free(p);
	return err;
}

const struct output_ops output_pprof = {
	.name = "pprof",
	.whole = true,
	.binary = true,
	.write = write_pprof,
};
