/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The reason a step refuses, written for the caller to print. */
#ifndef WHY_H
#define WHY_H

#include <stddef.h>

/* Formats the reason into why (len bytes) and returns err. */
int why__say(int err, char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* WHY_H */
