// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Messages to the operator, made safe for a terminal in one place rather
 * than at every argument that might come from a traced process. */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "textsafe.h"

void log_msg(const char *fmt, ...)
{
	char raw[PATH_MAX + 1024], safe[sizeof(raw)];
	size_t flen = strlen(fmt), n;
	/* From fmt, not the text: a message cut to fit keeps its line end. */
	bool newline = flen && fmt[flen - 1] == '\n';
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	n = strlen(raw);
	if (n && raw[n - 1] == '\n')
		raw[n - 1] = '\0';
	textsafe__copy(safe, sizeof(safe), raw);
	fprintf(stderr, "allocscope: %s%s", safe, newline ? "\n" : "");
}
