/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Report outputs: one interface, one table of formats (output.c). A format
 * renders a report to a FILE; this layer decides where that FILE goes. */
#ifndef OUTPUT_H
#define OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "report.h"

struct output_ops {
	const char *name; /* --format NAME */
	/* Each report is a whole profile, not a record of a stream: with -o FILE
	 * it replaces FILE atomically; on standard output reports are separated
	 * by a blank line. Such formats cover every site (-T defaults to its
	 * maximum). */
	bool whole;
	bool binary; /* not for a terminal or a pipe: -o FILE is required */
	/* Renders one report; 0 or -errno (the stream's errors are checked by
	 * the caller). */
	int (*write)(FILE *f, const struct report_header *hdr, const struct report_row *rows,
		     size_t nrows);
};

extern const struct output_ops output_folded;
extern const struct output_ops output_pprof;

/* The format named name, or NULL. */
const struct output_ops *output__find(const char *name);
/* "text, json, folded or pprof": the names, for messages. */
const char *output__names(void);

struct output {
	const struct output_ops *ops;
	const char *path; /* -o FILE, NULL for standard output */
	FILE *stream;	  /* where streamed reports go; NULL when each replaces path */
	unsigned long nwritten;
	struct push *push; /* --push: each report's pprof also POSTed, else NULL */
};

/* Opens path (NULL: standard output) for ops; a whole format only checks that
 * a file can be made beside path. 0 or -errno, after a message. */
int output__open(struct output *o, const struct output_ops *ops, const char *path);
/* Also POST each report, as a pprof profile, to a Pyroscope-compatible
 * server at url under the application name app. 0 or -errno. */
int output__push(struct output *o, const char *url, const char *app);
/* Writes one report where o goes (and pushes it; a failed push is said and
 * does not fail the report). 0 or -errno (-EPIPE: the reader left). */
int output__write(struct output *o, const struct report_header *hdr, const struct report_row *rows,
		  size_t nrows);
/* The terminal reports are written to, or NULL. */
FILE *output__tty(const struct output *o);
void output__close(struct output *o);

/* Renders a report with ops into a new file beside path, then renames it
 * over path, so that a reader sees the old profile or the new one, whole. */
int output__replace(const char *path, const struct output_ops *ops, const struct report_header *hdr,
		    const struct report_row *rows, size_t nrows);

/* A native frame's name: its symbol, else "module+0xOFFSET" in a file
 * without symbols, else its address. */
void output__frame_name(const struct sym_frame *fr, char *buf, size_t len);
/* s as one folded frame: ';' (the frame separator) becomes ':', control
 * characters (newlines) and invalid UTF-8 bytes '?', and NULL or "" is
 * "[unknown]". Spaces stay: readers take the count after a line's last space,
 * and C++ and Python names need them. */
void output__folded_put(FILE *f, const char *s);

#endif /* OUTPUT_H */
