// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The "python types" table under the sites: per CPython process, its heap by
 * type (user/census.c), with growth since the previous report and since the first. */
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "textsafe.h"

#pragma GCC poison u8 u16 u32 u64 s8 s16 s32 s64

#define TYPE_COLS 22 /* the name column; longer names are cut */

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

static void print_heap_line(FILE *f, const struct report_pyheap *h)
{
	char unread[32];

	report__fmt_bytes(unread, sizeof(unread), (double)h->unreadable_bytes);
	fprintf(f, "python types, pid %u: %llu pools, %llu large blocks in %.0f ms%s", h->pid,
		(unsigned long long)h->pools, (unsigned long long)h->large_blocks, h->ms,
		h->truncated ? ", truncated (--census-budget)" : "");
	if (h->unreadable_pools)
		fprintf(f, "; unreadable: %llu pools / %s", (unsigned long long)h->unreadable_pools,
			unread);
	if (h->swapped)
		fprintf(f, "; %llu pages swapped out, not read", (unsigned long long)h->swapped);
	fputc('\n', f);
}

void report__print_census_text(FILE *f, const struct report_header *hdr)
{
	for (size_t k = 0; k < hdr->npyheaps; k++) {
		const struct report_pyheap *h = &hdr->pyheaps[k];

		print_heap_line(f, h);
		fprintf(f, "  %-*s %9s %9s %9s %9s %9s %9s\n", TYPE_COLS, "TYPE", "OBJS", "BYTES",
			"+OBJS", "+BYTES", "START+OBJ", "START+B");
		for (size_t i = 0; i < hdr->npytypes; i++) {
			const struct report_pytype *t = &hdr->pytypes[i];
			char name[TYPE_COLS + 1], bytes[32], gb[40], sb[40];
			size_t w;

			if (t->pid != h->pid)
				continue;
			/* Cut at a character: the names come from the target. */
			textsafe__copy(name, sizeof(name), t->type);
			w = strlen(name);
			report__fmt_bytes(bytes, sizeof(bytes), (double)t->bytes);
			fmt_delta_bytes(gb, sizeof(gb), t->growth_bytes);
			fmt_delta_bytes(sb, sizeof(sb), t->start_bytes);
			fprintf(f, "  %s%*s %9llu %9s %+9lld %9s %+9lld %9s\n", name,
				(int)(TYPE_COLS > w ? TYPE_COLS - w : 0), "",
				(unsigned long long)t->objects, bytes, (long long)t->growth_objects,
				gb, (long long)t->start_objects, sb);
		}
		fputc('\n', f);
	}
}
