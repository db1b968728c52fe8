// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Live-block ages folded per site slot: pure bookkeeping, the walk of the
 * BPF table is the collector's (user/collect.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "age.h"

int age__reset(struct age_table *t, size_t nslots, __u64 now_ns, __u64 threshold_ns)
{
	if (nslots != t->nslots) {
		struct age_slot *s = calloc(nslots ? nslots : 1, sizeof(*s));

		if (!s)
			return -ENOMEM;
		free(t->slots);
		t->slots = s;
		t->nslots = nslots;
	} else if (nslots) {
		memset(t->slots, 0, nslots * sizeof(*t->slots));
	}
	t->now_ns = now_ns;
	t->threshold_ns = threshold_ns;
	t->blocks = 0;
	t->truncated = false;
	t->valid = true;
	return 0;
}

void age__add(struct age_table *t, __u32 slot, __u64 born_ns, __u64 size)
{
	struct age_slot *s;

	t->blocks++;
	if (slot >= t->nslots || !born_ns)
		return; /* a slot beyond the table: none of a site's */
	s = &t->slots[slot];
	if (!s->oldest_born_ns || born_ns < s->oldest_born_ns)
		s->oldest_born_ns = born_ns;
	/* A block born after the walk's clock was read is young, not negative. */
	if (born_ns < t->now_ns && t->now_ns - born_ns > t->threshold_ns)
		s->old_bytes += size;
}

bool age__get(const struct age_table *t, __u32 slot, __u64 *oldest_ns, __u64 *old_bytes)
{
	const struct age_slot *s;

	if (!t->valid || slot >= t->nslots || !t->slots[slot].oldest_born_ns)
		return false;
	s = &t->slots[slot];
	*oldest_ns = s->oldest_born_ns < t->now_ns ? t->now_ns - s->oldest_born_ns : 0;
	*old_bytes = s->old_bytes;
	return true;
}

void age__free(struct age_table *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}
