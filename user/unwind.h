/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Keeps the BPF stack walker's view of each traced process current: its
 * executable mappings, with the unwind table of each mapped file. The work
 * (reading maps, compiling CFI) runs on a thread of its own, so a large
 * binary never holds up a report. */
#ifndef UNWIND_H
#define UNWIND_H

#include <stdbool.h>
#include <linux/types.h>

struct unwinder;

/* tables_fd: unwind_tables; procs_fd: unw_procs. NULL and errno on failure. */
struct unwinder *unwinder__new(int tables_fd, int procs_fd, int verbose);
/* Stops the worker and frees every table. */
void unwinder__free(struct unwinder *u);

/* (Re)reads tgid's mappings and builds the tables it lacks; wait: return
 * when done (before attaching, so the first stacks are whole), or after
 * 5 s, the builds going on. */
void unwinder__scan(struct unwinder *u, __u32 tgid, bool wait);
/* tgid exited or exec'd: release its tables. */
void unwinder__forget(struct unwinder *u, __u32 tgid);

#endif /* UNWIND_H */
