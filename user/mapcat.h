/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Mappings by what they are: an allocator's own memory and thread stacks are categories,
 * not sites; the rest are sites whose live bytes are what is resident. Per process, what the
 * report explains of its anonymous RSS. */
#ifndef MAPCAT_H
#define MAPCAT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "allocscope.h"
#include "cgroup.h"
#include "mapkind.h"
#include "residency.h"

struct collector;
struct report_site;
struct report_header;
struct report_process;

/* A (process, stack) seen at a report, and its kind. */
struct kind_entry {
	__u64 stack_id;
	__u32 pid;
	__u32 kind; /* enum map_kind */
};

/* One (process, site slot) with tracked mappings, summed. */
struct slot_use {
	__u32 pid;
	__u32 slot;
	__u64 mapped;
	__u64 resident;
	__u64 heap_resident; /* of resident, in the [heap] VMA */
	__u64 heap_mapped;
	__u64 held; /* in VMAs that can hold pages */
	__u64 heap_held;
	__u64 one_size; /* each mapping's size when all are alike, else ~0 */
	__u32 nmaps;
	__u32 kind; /* enum map_kind, once the site is seen */
};

/* What a report explains of one process's anonymous memory. */
struct proc_memory {
	__u32 pid;
	char comm[AS_COMM_LEN];
	struct cgroup_ident ident; /* its container, pod and pid inside */
	bool exited;
	bool scanned;	     /* its mappings were read */
	__u64 rss_anon;	     /* RssAnon: resident - shared */
	__u64 heap_live;     /* live heap blocks, requested bytes */
	__u64 heap_vma;	     /* resident in [heap] */
	__u64 alloc_res;     /* resident in allocator mappings outside [heap] */
	__u64 alloc_slack;   /* not resident in them, though it could be (not PROT_NONE) */
	__u64 alloc_mapped;  /* mapped by allocators, [heap] included */
	__u64 in_heap_other; /* resident in [heap] but charged to a site or a stack */
	__u64 sites_res;     /* mapping sites, resident */
	__u64 faulted;	     /* --mode rss: bytes faulted in, less those given back */
	bool heap_sites;     /* it has heap sites (allocator probes) */
	bool fault_sites;    /* it has page-fault sites */
	__u64 stacks_res;    /* thread stacks, resident */
	__u64 stacks_mapped;
	__u64 main_stack; /* resident in [stack] */
	__u64 file_data;  /* written pages of files mapped private (libraries' data) */
	__u32 nstacks;
	__u64 stack_size; /* one stack's mapped size when all are alike, else 0 */
};

struct mapcat {
	struct kind_entry *kinds, *next_kinds; /* sorted by (pid, stack_id) */
	size_t nkinds, kinds_cap, nnext, next_cap;
	struct slot_use *slots; /* this report's, sorted by (pid, slot) */
	size_t nslots, slots_cap;
	struct proc_memory *procs; /* this report's, sorted by pid */
	size_t nprocs, procs_cap;
	struct report_process *shown; /* the header's reconciliations */
	size_t shown_cap;
	struct res_budget budget;
};

void mapcat__free(struct mapcat *m);

/* Before the sites are read: the tracked mappings (BPF `mappings`, fd mappings_fd) and what
 * of them is resident. 0 or -errno. */
int mapcat__scan(struct mapcat *m, struct collector *c, int mappings_fd);
/* For each site read (its slot and real stack): fills site's mapping fields and sums it
 * into its process. True when the site is a category, not to be ranked. */
bool mapcat__site(struct mapcat *m, struct collector *c, __u32 slot, __u64 stack_id,
		  struct report_site *site);
/* After the sites: per-process reconciliation and the category lines into hdr (which
 * points into m until the next scan). */
void mapcat__finish(struct mapcat *m, struct report_header *hdr);

#endif /* MAPCAT_H */
