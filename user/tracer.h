/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The tracing session: load the BPF object, attach to the targets, follow
 * processes as they come and go, print a report every interval. */
#ifndef TRACER_H
#define TRACER_H

#include <signal.h>

#include <linux/types.h>

#include "opts.h"

struct tracer;

/* Returns an enum exit_status; on EXIT_OK *out is the ready tracer. Failures
 * are reported on stderr in one line where their context is known. */
int tracer__open(const struct config *cfg, struct tracer **out);
/* Runs until *exiting (the number of the signal that ended it), --count or
 * --duration; prints the final report. */
int tracer__run(struct tracer *t, volatile sig_atomic_t *exiting);
/* Charges pid's page faults from now on (RSS mode for one process, as the governor
 * falls back to it): attaches the page-fault source if it is not yet, and adds pid to
 * the BPF map rss_targets. Its heap probes are the caller's to detach. 0 or -errno
 * (-ENOTSUP: the kernel could not load the page-fault programs). */
int tracer__rss_on(struct tracer *t, __u32 pid);
/* Detaches everything; accepts NULL. */
void tracer__close(struct tracer *t);

#endif /* TRACER_H */
