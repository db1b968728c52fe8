/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The width text reports are laid out for: the user's COLUMNS, else the
 * terminal's, else the layout reports always had. */
#ifndef TERMWIDTH_H
#define TERMWIDTH_H

/* COLUMNS when it holds a number, else the width of the terminal fd is (when
 * it is one and knows its size), else 0: the caller's default (files and
 * pipes keep one layout, whatever terminal started the run). */
unsigned int termwidth__cols(int fd);

#endif /* TERMWIDTH_H */
