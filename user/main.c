// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* allocscope: which call sites of running processes keep growing the heap.
 * parse -> validate -> (start the command) -> trace -> exit status. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "launch.h"
#include "log.h"
#include "opts.h"
#include "kernel_features.h"
#include "tracer.h"
#include "words.h"

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
	pid_t cmd = 0;
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

	/* -c: held before its first allocation, probed as --pid would be. */
	if (cfg.command) {
		status = launch__start(cfg.command, &cmd);
		if (status)
			goto out;
		cfg.pids[cfg.npids++] = cmd;
	}
	status = tracer__open(&cfg, &t);
	if (status && cmd) {
		kill(cmd, SIGKILL); /* it has run none of its own code */
		waitpid(cmd, NULL, 0);
		cmd = 0;
	}
	if (cmd && launch__release(cmd))
		log_msg("cannot let %s run: %s\n", words__program(cfg.command), strerror(errno));
	if (!status)
		status = tracer__run(t, &exiting);
	tracer__close(t);
	if (cmd)
		launch__report(cmd, words__program(cfg.command));
out:
	opts__free(&cfg);
	return status;
}
