/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* allocscope's messages on stderr: one line each, "allocscope: " first, and
 * whatever a traced process named itself shown, never obeyed. */
#ifndef LOG_H
#define LOG_H

/* Formats one message and writes it to stderr with the "allocscope: "
 * prefix. Control characters and invalid UTF-8 in the formatted text (from
 * comm, paths, symbol names) become '?'; the final newline is kept. */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* LOG_H */
