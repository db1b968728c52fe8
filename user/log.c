// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Messages to the operator, made safe for a terminal in one place rather
 * than at every argument that might come from a traced process. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "textsafe.h"

void log_msg(const char *fmt, ...)
{
	char raw[1024], safe[1024];
	bool newline;
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	n = strlen(raw);
	newline = n && raw[n - 1] == '\n';
	if (newline)
		raw[n - 1] = '\0';
	textsafe__copy(safe, sizeof(safe), raw);
	fprintf(stderr, "allocscope: %s%s", safe, newline ? "\n" : "");
}
