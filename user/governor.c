// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* --max-overhead: the decision to take a target's heap probes away, on the
 * cost estimate of one interval (user/cost.c). */
#include <math.h>
#include <stdio.h>

#include "governor.h"

bool governor__over(const struct report_cost *c, unsigned int limit_pct, double interval_s)
{
	if (!limit_pct || c->governed || isnan(c->share) || c->cpu_s < GOVERN_MIN_CPU_S ||
	    c->cpu_s < GOVERN_MIN_CPU_SHARE * interval_s)
		return false;
	return 100 * c->share > limit_pct;
}

void governor__message(char *buf, size_t len, const struct report_cost *c, unsigned int limit_pct)
{
	snprintf(buf, len,
		 "pid %u: probes cost ~%.0f %% of its CPU (limit %u %%): heap probes removed, "
		 "%s; its heap sites keep the live bytes of this moment (frozen)",
		 c->pid, 100 * c->share, limit_pct,
		 c->rss ? "now charging the pages it faults in (rss mode)"
			: "now tracing mappings only");
}
