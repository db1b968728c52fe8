/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --push URL: each report's pprof profile POSTed to a Pyroscope-compatible
 * ingest endpoint, with libcurl. */
#ifndef PUSH_H
#define PUSH_H

#include <stddef.h>

struct push;

/* url: the server's base ("http://pyroscope:4040"); app: the application
 * name. NULL with errno set on failure. */
struct push *push__new(const char *url, const char *app);
void push__free(struct push *p);

/* The ingest URL of a profile of [from, until] (Unix seconds), into buf.
 * 0 or -ENAMETOOLONG. Pure, for the unit tests. */
int push__url(const struct push *p, double from, double until, char *buf, size_t len);

/* POSTs len bytes of a gzipped pprof profile. 0 or -errno (-EIO: the server
 * answered with an error status, -ETIMEDOUT, -ECONNREFUSED...), after one
 * message. */
int push__send(struct push *p, const void *body, size_t len, double from, double until);

#endif /* PUSH_H */
