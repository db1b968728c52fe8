/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* -c CMD: one string split into a program's arguments as a shell splits
 * words, without a shell: nothing is expanded, no operator is obeyed. */
#ifndef WORDS_H
#define WORDS_H

#include <stdbool.h>
#include <stddef.h>

/* Splits s at unquoted blanks. '...' keeps everything in it; "..." keeps all
 * but a backslash before " \ $ ` or a newline; an unquoted backslash keeps the
 * next character. What a shell would expand or obey unquoted (| & ; < > ( )
 * $ ` * ? [, and # or ~ opening a word) is refused rather than passed on
 * literally. *out gets a NULL-terminated vector in one allocation (free() it).
 * 0, -EINVAL with the reason in why (len bytes), or -ENOMEM. */
int words__split(const char *s, char ***out, char *why, size_t len);

/* Whether w is a variable assignment (NAME=value, NAME a shell name), which
 * a shell takes from the words before a command's name into its
 * environment. */
bool words__assignment(const char *w);

/* The command's name in w: its first word that is no assignment (NULL when
 * none is). */
const char *words__program(char *const *w);

#endif /* WORDS_H */
