/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Names of JIT code from the map a runtime writes for perf (/tmp/perf-PID.map,
 * "START SIZE name" in hex, one function a line), read as untrusted input. */
#ifndef PERFMAP_H
#define PERFMAP_H

#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

/* What one map may cost: node --perf-basic-prof appends a line per compiled
 * function for the life of the process, so a long-lived one reaches a few
 * MiB. Beyond these the rest of the file is not read. */
#define PERFMAP_MAX_SIZE    (64u << 20)
#define PERFMAP_MAX_ENTRIES (1u << 20)
/* A longer line is skipped; a longer name is cut there. */
#define PERFMAP_MAX_LINE 4096
#define PERFMAP_MAX_NAME 256

struct perfmap;

/* Parses at most PERFMAP_MAX_SIZE bytes read from fd (not closed). Lines
 * that do not parse, ranges that wrap and zero sizes are skipped. NULL and
 * errno set on failure (ENOMEM, or a read error). */
struct perfmap *perfmap__read(int fd);
void perfmap__free(struct perfmap *m);
size_t perfmap__count(const struct perfmap *m);

/* The function covering addr: the entry written last wins where ranges
 * overlap (the runtime reuses freed code space). 0 or -ENOENT; *name stays
 * valid until perfmap__free. */
int perfmap__find(const struct perfmap *m, __u64 addr, const char **name, __u64 *start);

/* Opens /tmp/perf-NSPID.map inside root ("" for the host's /) as the process
 * would, refusing every symlink (RESOLVE_NO_SYMLINKS: the path is the
 * target's to choose, what it names must not be), any file but a regular one
 * with a single link, and a file not owned by uid, the process's. An fd, or
 * -errno (-EPERM for the owner and link checks). */
int perfmap__open(const char *root, pid_t nspid, uid_t uid);

#endif /* PERFMAP_H */
