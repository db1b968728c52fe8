/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What traced mappings really hold: address ranges intersected with a process's current
 * VMAs (so partial munmaps, mremaps and trims count as they are) and their resident pages. */
#ifndef RESIDENCY_H
#define RESIDENCY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h>

/* One line of /proc/PID/maps, as much as residency needs. */
struct res_vma {
	__u64 start;
	__u64 end;
	bool holds_pages; /* readable or writable: a PROT_NONE range cannot be touched */
	bool heap;	  /* [heap]: the brk heap */
	bool stack;	  /* [stack]: the main thread's, which no traced call maps */
	bool anon;	  /* no file: where a tracked mapping can be */
	bool file_cow;	  /* a file mapped private and writable: pages written are anonymous */
};

struct res_vmas {
	struct res_vma *v; /* sorted by start, as the kernel lists them */
	size_t nr, cap;
};

/* A tracked mapping; mapped and resident are filled by residency__attribute. */
struct res_range {
	__u64 start;
	__u64 end;
	__u64 mapped;	     /* bytes of it in current VMAs */
	__u64 resident;	     /* bytes of it in memory */
	__u64 heap_resident; /* of resident, bytes in the [heap] VMA */
	__u64 heap_mapped;
	__u64 held;	 /* of mapped, bytes in VMAs that can hold pages (not PROT_NONE) */
	__u64 heap_held; /* of held, in [heap] */
	bool estimated;	 /* resident is Rss in proportion, not counted page by page */
};

/* Counts the resident bytes of [start, end), which lies inside vma. 0 or -errno. */
struct res_reader {
	int (*count)(void *ctx, const struct res_vma *vma, __u64 start, __u64 end, __u64 *resident,
		     bool *estimated);
	void *ctx;
};

/* VMAs listed at most (the kernel's default vm.max_map_count is 65530). */
#define RES_VMAS_MAX (1u << 18)

/* Parses /proc/PID/maps text. 0, -EINVAL on a malformed line, -E2BIG past RES_VMAS_MAX. */
int residency__parse_maps(FILE *f, struct res_vmas *out);
void residency__free_vmas(struct res_vmas *m);

/* Fills mapped and resident of every range (sorted by start; where two overlap, the later
 * start wins the overlap: a mapping made over a part of an older one replaced that part).
 * *heap_resident and *stack_resident: bytes resident in the [heap] and [stack] VMAs.
 * 0 or -errno. */
int residency__attribute(const struct res_vmas *m, struct res_range *r, size_t nr,
			 const struct res_reader *rd, __u64 *heap_resident, __u64 *stack_resident);

/* Resident pages of n pagemap entries (bit 63: present). */
__u64 residency__count_present(const __u64 *entries, size_t n);
/* Of n pagemap entries, those of anonymous pages in memory (present, not a file's page). */
__u64 residency__count_anon(const __u64 *entries, size_t n);

/* Anonymous resident bytes from /proc/PID/statm text: resident - shared (file and shmem). */
int residency__parse_statm(const char *text, long page_size, __u64 *rss_anon);

/* The process-reading reader: /proc/PID/pagemap page by page, within a budget of pages per
 * report; a range past it (or larger than RES_RANGE_PAGES) takes its VMA's Rss from
 * /proc/PID/smaps in proportion. */
struct res_proc;

#define RES_RANGE_PAGES	 (1u << 18) /* 1 GiB of 4 KiB pages: one pagemap read of 2 MiB */
#define RES_BUDGET_PAGES (1u << 22) /* per report: 32 MiB of pagemap, 16 GiB of address space */

struct res_budget {
	__u64 pages_left; /* pagemap entries still to read in this report */
	__u64 pages_read;
	__u64 estimated; /* ranges taken from smaps */
};

struct res_proc *residency__open(__u32 pid, struct res_budget *budget);
void residency__close(struct res_proc *p);
/* The process's VMAs (valid until residency__close), or NULL. */
const struct res_vmas *residency__vmas(struct res_proc *p);
/* Anonymous bytes in files mapped private and writable: the data pages (.data,
 * relocations) of the executable and its libraries that were written, which RssAnon
 * counts. Within the budget; 0 or -errno. */
int residency__written_data(struct res_proc *p, __u64 *bytes);
struct res_reader residency__reader(struct res_proc *p);
/* The pagemap entries of n pages from page number first into out, outside the budget: how
 * many were read (fewer where the address space ends or the process exited), or -errno. */
ssize_t residency__pagemap(struct res_proc *p, __u64 first, size_t n, __u64 *out);
/* Anonymous RSS of pid. 0 or -ESRCH. */
int residency__rss_anon(__u32 pid, __u64 *bytes);

#endif /* RESIDENCY_H */
