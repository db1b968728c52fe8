/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Text that came from a traced process (comm, paths, symbol and Python
 * names) made safe for a terminal: it must never carry escape sequences. */
#ifndef TEXTSAFE_H
#define TEXTSAFE_H

#include <stddef.h>
#include <stdio.h>

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid
 * (overlong forms, surrogates and code points past U+10FFFF included). */
size_t textsafe__utf8_len(const unsigned char *s, size_t n);

/* Writes at most n bytes of s. C0 and C1 control characters (ESC, CSI as
 * U+009B...), DEL and bytes that are not valid UTF-8 become '?', one per
 * byte, so the text keeps its width and cannot drive the terminal. */
void textsafe__put(FILE *f, const char *s, size_t n);

/* The same into dst (always terminated, cut at a character boundary);
 * returns dst, for use as a printf argument. */
char *textsafe__copy(char *dst, size_t len, const char *src);

#endif /* TEXTSAFE_H */
