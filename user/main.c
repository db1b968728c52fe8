// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* allocscope: which call sites of running processes keep growing the heap.
 * parse -> validate -> trace -> exit status. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "opts.h"
#include "kernel_features.h"
#include "tracer.h"

static volatile sig_atomic_t exiting;

/* The signal's number: SIGINT from a terminal left "^C" on its line. */
static void on_signal(int sig)
{
	exiting = sig;
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct config cfg;
	struct tracer *t = NULL;
	int status;

	status = opts__parse(argc, argv, &cfg, stdout, stderr);
	if (status == OPTS_EXIT_NOW)
		return EXIT_OK;
	if (status)
		return status;
	kernel_features__adjust(&cfg);

	/* No SA_RESTART: a signal must cut the ring-buffer wait short. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	status = tracer__open(&cfg, &t);
	if (status)
		return status;
	status = tracer__run(t, &exiting);
	tracer__close(t);
	return status;
}
