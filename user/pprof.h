/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A pprof profile (profile.proto) built in memory: strings, functions,
 * mappings and locations each interned once, then packed and gzipped. */
#ifndef PPROF_H
#define PPROF_H

#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

struct pprof;

/* nvalues: the values of each sample, one per pprof__sample_type. */
struct pprof *pprof__new(size_t nvalues);
void pprof__free(struct pprof *p);

/* The string's index in the string table (0: ""), the same for equal
 * strings; -ENOMEM on failure, as every call below. */
__s64 pprof__string(struct pprof *p, const char *s);
/* Declares value i's type and unit ("inuse_space", "bytes"), in order. */
int pprof__sample_type(struct pprof *p, const char *type, const char *unit);
/* What one count of a sample stands for ("space", "bytes", 1: every
 * allocation counted, none sampled). */
int pprof__set_period(struct pprof *p, const char *type, const char *unit, __s64 period);
void pprof__set_time(struct pprof *p, __s64 time_nanos, __s64 duration_nanos);
/* The id (from 1) of the function of this name in this source file. */
__s64 pprof__function(struct pprof *p, const char *name, const char *file);
/* The id of the file mapped (path and GNU build-id; build_id may be NULL). */
__s64 pprof__mapping(struct pprof *p, const char *path, const char *build_id);
/* The id of the location: address in mapping (0: none), in function at
 * line (0: unknown). Equal arguments give the same id. */
__s64 pprof__location(struct pprof *p, __u64 mapping, __u64 address, __u64 function, __s64 line);

struct pprof_label {
	const char *key;
	const char *str;
};

/* A sample: locations leaf first, nvalues values, string labels. */
int pprof__sample(struct pprof *p, const __u64 *locations, size_t nlocations, const __s64 *values,
		  const struct pprof_label *labels, size_t nlabels);

/* The profile, gzipped as pprof reads it from a file. 0 or -errno. */
int pprof__write(struct pprof *p, FILE *f);

#endif /* PPROF_H */
