// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A site's growth over its last intervals: a leak grows in each of them,
 * churn goes up and down around a level. */
#include <string.h>

#include "trend.h"

void trend__push(struct trend_history *h, __s64 delta)
{
	/* Sixteen words: a move is simpler than a ring and as cheap. */
	memmove(&h->delta[1], &h->delta[0], (TREND_MAX - 1) * sizeof(h->delta[0]));
	h->delta[0] = delta;
	if (h->observed < (__u32)-1)
		h->observed++;
}

void trend__add(struct trend_history *sum, const struct trend_history *h)
{
	__u32 n = h->observed < TREND_MAX ? h->observed : TREND_MAX;

	for (__u32 i = 0; i < n; i++)
		sum->delta[i] += h->delta[i];
	if (h->observed > sum->observed)
		sum->observed = h->observed;
}

void trend__eval(const struct trend_history *h, unsigned int k, struct trend *out)
{
	if (k < 1)
		k = 1;
	if (k > TREND_MAX)
		k = TREND_MAX;
	*out = (struct trend){.intervals = k, .window = h->observed < k ? h->observed : k};
	for (__u32 i = 0; i < out->window; i++) {
		out->grew += h->delta[i] > 0;
		out->growth_bytes += h->delta[i];
	}
	out->growing = out->window == k && out->grew == k;
}
