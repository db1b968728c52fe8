/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The age of live blocks per site: its oldest block, and the bytes older
 * than a threshold. Old bytes piling up are a leak; young ones are churn. */
#ifndef AGE_H
#define AGE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define OLD_AGE_DEFAULT_S 60

struct age_slot {
	__u64 oldest_born_ns; /* birth of its oldest block; 0: no block */
	__u64 old_bytes;      /* bytes of blocks older than the threshold (weighted) */
};

/* Indexed by site slot (the BPF counters' index). */
struct age_table {
	struct age_slot *slots;
	size_t nslots;
	__u64 now_ns;	    /* the clock the walk measured ages against */
	__u64 threshold_ns; /* --old-age */
	__u64 blocks;	    /* live blocks walked */
	bool truncated;	    /* the walk stopped before the table's end */
	bool valid;	    /* a walk was made for this report */
};

/* Clears t for a walk of a table with nslots sites at now_ns. 0 or -ENOMEM. */
int age__reset(struct age_table *t, size_t nslots, __u64 now_ns, __u64 threshold_ns);
/* One live block of size bytes born at born_ns, of the site at slot. */
void age__add(struct age_table *t, __u32 slot, __u64 born_ns, __u64 size);
/* The site's oldest block's age and its old bytes; false when the walk saw
 * no block of it (or made none). */
bool age__get(const struct age_table *t, __u32 slot, __u64 *oldest_ns, __u64 *old_bytes);
void age__free(struct age_table *t);

#endif /* AGE_H */
