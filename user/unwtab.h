/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Unwind tables in the kernel, one per file: compiled once from the file's
 * CFI (cfi.c), keyed by the device and inode of the mapping (the file opened
 * is checked to be it), so every process mapping that file, in any
 * container, shares it; never by build-id, which any file can claim; freed
 * with its last user. */
#ifndef UNWTAB_H
#define UNWTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "elfobj.h"
#include "procmaps.h"

#define UNWTAB_MAX_SEGS 8

struct unwtab_file {
	struct file_id *ids; /* every (device, inode) seen holding this file */
	size_t nids;
	__u32 table; /* index in unwind_tables; AS_UNW_NO_TABLE: no CFI */
	__u32 nrows;
	struct elf_seg segs[UNWTAB_MAX_SEGS]; /* PT_LOAD, for load biases */
	size_t nsegs;
	size_t refs;
	double build_ms;
	int build_err;	/* why the table was not built: 0 or -errno (cfi.h) */
	bool err_told;	/* -v said so */
	__u64 last_put; /* when refs last fell to 0, for eviction order */
};

struct unwtab;

/* Tables no process uses are kept (short-lived processes come back with the
 * same libc) while their rows stay under this many. */
#define UNWTAB_IDLE_ROWS (1u << 20)

/* tables_fd: the unwind_tables array of maps. NULL and errno on failure. */
struct unwtab *unwtab__new(int tables_fd);
void unwtab__free(struct unwtab *t);
/* Makes the build under way, and every later one, stop soon (-ECANCELED);
 * safe from any thread. */
void unwtab__cancel(struct unwtab *t);

/* The table of the file v maps in pid (opened through /proc/PID/map_files),
 * built on first sight; takes a reference. 0 or -errno. */
int unwtab__get(struct unwtab *t, __u32 pid, const struct vma *v, struct unwtab_file **out);
void unwtab__put(struct unwtab *t, struct unwtab_file *f);
/* Puts the tables built since the last call into the kernel's array of
 * maps, in one update; call before handing out their ids. 0 or -errno. */
int unwtab__publish(struct unwtab *t);

/* v's load bias: address in the process - address in the file. */
int unwtab__bias(const struct unwtab_file *f, const struct vma *v, __u64 *bias);

/* Tables in the kernel and their rows. */
void unwtab__totals(const struct unwtab *t, size_t *tables, size_t *rows);

#endif /* UNWTAB_H */
