// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The "python types" table under the sites: per CPython process, its heap by type (user/
 * census.c), with growth since the previous report and since the first census. It fits the
 * report's width: below START_COLS the since-start columns go. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "textsafe.h"

#pragma GCC poison u8 u16 u32 u64 s8 s16 s32 s64

#define NUM_COLS   43 /* " %9s %10s %9s %11s": objects, bytes, and their growth */
#define START_COLS 22 /* " %9s %11s": growth since the first census */
#define NAME_MIN   16
#define NAME_MAX_  30

/* "+1.2 MiB", "-512 B", "0" */
static void fmt_delta_bytes(char *buf, size_t len, __s64 v)
{
	char b[24];

	if (!v) {
		snprintf(buf, len, "0");
		return;
	}
	report__fmt_bytes(b, sizeof(b), v < 0 ? -(double)v : (double)v);
	snprintf(buf, len, "%c%s", v < 0 ? '-' : '+', b);
}

static void print_heap_line(FILE *f, const struct report_pyheap *h, size_t cols)
{
	char line[320], unread[32];
	int n;

	report__fmt_bytes(unread, sizeof(unread), (double)h->unreadable_bytes);
	n = snprintf(line, sizeof(line),
		     "python types, pid %u: %llu pools, %llu large blocks in %.0f ms%s", h->pid,
		     (unsigned long long)h->pools, (unsigned long long)h->large_blocks, h->ms,
		     h->truncated ? ", truncated (--census-budget)" : "");
	if (h->unreadable_pools && n > 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - n, "; unreadable: %llu pools / %s",
			      (unsigned long long)h->unreadable_pools, unread);
	if (h->swapped && n > 0 && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, "; %llu pages swapped out, not read",
			 (unsigned long long)h->swapped);
	report__print_wrapped(f, line, cols, 2);
}

static void print_row(FILE *f, const struct report_pytype *t, size_t name_cols, bool start)
{
	char name[4 * NAME_MAX_ + 1], bytes[32], gb[40], sb[40];
	size_t w;

	/* Cut at a character: the names come from the target. */
	textsafe__copy(name, name_cols + 1, t->type);
	w = strlen(name);
	report__fmt_bytes(bytes, sizeof(bytes), (double)t->bytes);
	fmt_delta_bytes(gb, sizeof(gb), t->growth_bytes);
	fprintf(f, "  %s%*s %9llu %10s %+9lld %11s", name, (int)(name_cols > w ? name_cols - w : 0),
		"", (unsigned long long)t->objects, bytes, (long long)t->growth_objects, gb);
	if (start) {
		fmt_delta_bytes(sb, sizeof(sb), t->start_bytes);
		fprintf(f, " %+9lld %11s", (long long)t->start_objects, sb);
	}
	fputc('\n', f);
}

void report__print_census_text(FILE *f, const struct report_header *hdr)
{
	size_t cols = hdr->cols ? hdr->cols : REPORT_COLS, name_cols;
	bool start;

	if (cols < REPORT_COLS_MIN)
		cols = REPORT_COLS_MIN;
	start = cols >= 2 + NAME_MIN + NUM_COLS + START_COLS;
	name_cols = cols - 2 - NUM_COLS - (start ? START_COLS : 0);
	if (name_cols > NAME_MAX_)
		name_cols = NAME_MAX_;
	for (size_t k = 0; k < hdr->npyheaps; k++) {
		const struct report_pyheap *h = &hdr->pyheaps[k];

		print_heap_line(f, h, cols);
		fprintf(f, "  %-*s %9s %10s %9s %11s", (int)name_cols, "TYPE", "OBJS", "BYTES",
			"+OBJS", "+BYTES");
		fputs(start ? " START+OBJ     START+B\n" : "\n", f);
		for (size_t i = 0; i < hdr->npytypes; i++)
			if (hdr->pytypes[i].pid == h->pid)
				print_row(f, &hdr->pytypes[i], name_cols, start);
		fputc('\n', f);
	}
}
