// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* --format folded: one line per row, "root;...;caller;malloc LIVE_BYTES", the
 * folded stacks flamegraph.pl, speedscope and inferno read. */
#include <stdio.h>
#include <string.h>

#include "output.h"
#include "path.h"
#include "textsafe.h"

void output__folded_put(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s && s[0] ? s : "[unknown]");
	size_t len, n = strlen((const char *)p);

	for (size_t i = 0; i < n; i += len) {
		len = textsafe__utf8_len(p + i, n - i);
		if (!len) {
			fputc('?', f);
			len = 1;
		} else if (p[i] == ';') {
			fputc(':', f); /* as stackcollapse-perf.pl does */
		} else if (p[i] < 0x20 || p[i] == 0x7f ||
			   (len == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)) {
			fputc('?', f); /* C0, DEL and C1: newlines cannot end a line early */
		} else {
			fwrite(p + i, 1, len, f);
		}
	}
}

static void put_frame(FILE *f, const struct sym_frame *fr)
{
	char name[256];

	if (fr->file) {
		/* "app.py:12 handler", as text reports show a Python line. */
		output__folded_put(f, path_base(fr->file));
		fprintf(f, ":%d ", fr->line);
		output__folded_put(f, fr->symbol);
		return;
	}
	output__frame_name(fr, name, sizeof(name));
	output__folded_put(f, name);
}

static int write_folded(FILE *f, const struct report_header *hdr, const struct report_row *rows,
			size_t nrows)
{
	(void)hdr;
	for (size_t i = 0; i < nrows; i++) {
		const struct report_row *row = &rows[i];
		size_t n = row->nframes < AS_MAX_FRAMES ? row->nframes : AS_MAX_FRAMES;

		/* A flame graph's widths are live bytes: a row with none, or
		 * of a process gone, has nothing to draw. */
		if (row->live_bytes <= 0 || row->site.exited)
			continue;
		/* A stack cut short hangs from a root of its own instead of
		 * passing for a whole one. */
		if (row->cut)
			fputs(n ? "[truncated];" : "[truncated]", f);
		for (size_t j = n; j-- > 0;) {
			put_frame(f, &row->frames[j]);
			if (j)
				fputc(';', f);
		}
		fprintf(f, " %lld\n", (long long)row->live_bytes);
	}
	return 0;
}

const struct output_ops output_folded = {
	.name = "folded",
	.whole = true,
	.write = write_folded,
};
