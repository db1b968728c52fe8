/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A site's growth over its last intervals: a short history of interval
 * deltas, and whether it grew in every one of the last K (a leak signal). */
#ifndef TREND_H
#define TREND_H

#include <stdbool.h>
#include <linux/types.h>

/* --trend-intervals: at most this many intervals are kept per site. */
#define TREND_MAX     16
#define TREND_DEFAULT 5

struct trend_history {
	__s64 delta[TREND_MAX]; /* live bytes gained per interval, [0] the latest */
	__u32 observed;		/* intervals seen since the site appeared (saturates) */
};

/* What a history says of the last k intervals. */
struct trend {
	__u32 intervals;    /* k */
	__u32 window;	    /* intervals looked at: k, or fewer seen so far */
	__u32 grew;	    /* of them, those in which the site gained bytes */
	bool growing;	    /* k intervals seen and it grew in each */
	__s64 growth_bytes; /* gained over the window */
};

/* Records one more interval's delta, the oldest falling off. */
void trend__push(struct trend_history *h, __s64 delta);
/* Adds h into sum interval by interval (a row of several sites): an
 * interval before a site appeared adds nothing. */
void trend__add(struct trend_history *sum, const struct trend_history *h);
/* k is clamped to 1..TREND_MAX. */
void trend__eval(const struct trend_history *h, unsigned int k, struct trend *out);

#endif /* TREND_H */
