// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Report width: COLUMNS, as curses and coreutils honour it, then TIOCGWINSZ
 * on the output itself (asked at every report: terminals are resized). */
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "termwidth.h"

#define COLS_MAX 1000 /* past any screen; keeps sums of widths far from overflow */

unsigned int termwidth__cols(int fd)
{
	const char *env = getenv("COLUMNS");
	struct winsize ws;
	char *end;

	if (env && *env >= '0' && *env <= '9') {
		unsigned long v = strtoul(env, &end, 10);

		if (!*end && v > 0)
			return v > COLS_MAX ? COLS_MAX : v;
	}
	/* A pty nobody sized (script(1) without a terminal) reports 0. */
	if (fd >= 0 && isatty(fd) && !ioctl(fd, TIOCGWINSZ, &ws) && ws.ws_col > 0)
		return ws.ws_col > COLS_MAX ? COLS_MAX : ws.ws_col;
	return 0;
}
