// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The cost lines of a report: what tracing costs each target (an estimate,
 * see user/cost.c) and what allocscope itself uses, in text and JSON. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

/* Cost lines in text: every target up to this many (like the memory lines),
 * in whole-system mode the costliest few; JSON lists them all. */
#define TEXT_COSTS	  5
#define TEXT_COSTS_SYSTEM 3
#define JSON_COSTS	  1024

/* "~52 %", "<1 %", or "~? %" when the process used no CPU time that
 * /proc could show (it counts in clock ticks). */
static void fmt_share(char *buf, size_t len, const struct report_cost *c)
{
	if (!c->probe_s)
		snprintf(buf, len, "0 %%");
	else if (isnan(c->share))
		snprintf(buf, len, "~? %%");
	else if (c->share > 0 && c->share < 0.005)
		snprintf(buf, len, "<1 %%");
	else
		snprintf(buf, len, "~%.0f %%", 100 * c->share);
}

/* "cost: 41.0k traps/s, ~52 % of pid 4242's CPU" (+ " [governed: ...]") */
static void cost_line(char *line, size_t len, const struct report_cost *c)
{
	char rate[16], share[16];

	report__fmt_rate(rate, sizeof(rate), c->traps_per_s);
	fmt_share(share, sizeof(share), c);
	snprintf(line, len, "cost: %s traps/s, %s of pid %u's CPU%s", rate, share, c->pid,
		 !c->governed ? ""
		 : c->rss     ? " [governed: rss mode]"
			      : " [governed: heap probes removed]");
}

void report__print_cost_text(FILE *f, const struct report_header *hdr, size_t cols)
{
	size_t cap = hdr->cost_top ? TEXT_COSTS_SYSTEM : TEXT_COSTS, i;
	char line[192], rate[16];
	size_t len;

	if (!hdr->cost)
		return;
	/* One target: one line, allocscope's own CPU at its end. */
	if (hdr->ncosts == 1 && !hdr->cost_top) {
		cost_line(line, sizeof(line), &hdr->costs[0]);
		len = strlen(line);
		snprintf(line + len, sizeof(line) - len, "; allocscope %.1f %% CPU",
			 100 * hdr->self_cpu_share);
		report__print_wrapped(f, line, cols, 2);
		return;
	}
	for (i = 0; i < hdr->ncosts && i < cap; i++) {
		cost_line(line, sizeof(line), &hdr->costs[i]);
		report__print_wrapped(f, line, cols, 2);
	}
	report__fmt_rate(rate, sizeof(rate), hdr->cost_traps_per_s);
	snprintf(line, sizeof(line), "cost: %s traps/s in %zu process%s%s; allocscope %.1f %% CPU",
		 rate, hdr->ncosts, hdr->ncosts == 1 ? "" : "es",
		 hdr->ncosts > i ? " (the costliest shown)" : "", 100 * hdr->self_cpu_share);
	report__print_wrapped(f, line, cols, 2);
}

/* Three decimals, "C" locale whatever LC_NUMERIC says; null when unknown. */
static void json_num3(FILE *f, double v)
{
	long long m;

	if (!isfinite(v)) {
		fputs("null", f);
		return;
	}
	m = (long long)((v < 0 ? -v : v) * 1000 + 0.5);
	fprintf(f, "%s%lld.%03lld", v < 0 && m ? "-" : "", m / 1000, m % 1000);
}

void report__print_cost_json(FILE *f, const struct report_header *hdr)
{
	if (!hdr->cost)
		return;
	fputs(",\"cost\":{\"estimate\":true,\"trap_ns\":", f);
	json_num3(f, hdr->trap_enter_ns);
	fputs(",\"return_trap_ns\":", f);
	json_num3(f, hdr->trap_return_ns);
	fputs(",\"allocscope_cpu_pct\":", f);
	json_num3(f, 100 * hdr->self_cpu_share);
	fputs(",\"traps_per_s\":", f);
	json_num3(f, hdr->cost_traps_per_s);
	fputs(",\"probe_ms\":", f);
	json_num3(f, 1e3 * hdr->cost_probe_s);
	fputs(",\"processes\":[", f);
	for (size_t i = 0; i < hdr->ncosts && i < JSON_COSTS; i++) {
		const struct report_cost *c = &hdr->costs[i];

		fprintf(f, "%s{\"pid\":%u,\"mode\":\"%s\",\"traps_per_s\":", i ? "," : "", c->pid,
			!c->governed ? "exact"
			: c->rss     ? "rss"
				     : "governed");
		json_num3(f, c->traps_per_s);
		fputs(",\"probe_ms\":", f);
		json_num3(f, 1e3 * c->probe_s);
		fputs(",\"cpu_ms\":", f);
		json_num3(f, 1e3 * c->cpu_s);
		fputs(",\"cpu_pct\":", f);
		json_num3(f, 100 * c->share);
		fputc('}', f);
	}
	fprintf(f, "],\"processes_total\":%zu}", hdr->ncosts);
}
