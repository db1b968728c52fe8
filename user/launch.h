/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* -c CMD: the command started under ptrace and held where the dynamic loader
 * has mapped its libraries but run none of their code, until it is probed. */
#ifndef LAUNCH_H
#define LAUNCH_H

#include <sys/types.h>

/* Runs words (execvp; leading NAME=value words join the operator's
 * environment, as a shell takes them; the operator's stdio) and holds it
 * before its first instruction outside ld.so: at the loader's r_brk once
 * r_debug is RT_CONSISTENT after an RT_ADD (every DT_NEEDED object mapped
 * and relocated, no initializer run), or at the exec for a static
 * executable. Returns an exit status (opts.h) after one message on failure:
 * 127 or 126 when the exec fails, as a shell would. *pid gets the held
 * process. */
int launch__start(char *const words[], pid_t *pid);
/* Lets the held process run (PTRACE_DETACH). 0 or -errno. */
int launch__release(pid_t pid);
/* Says how the command ended, when it has (reaped), or that it runs on. */
void launch__report(pid_t pid, const char *name);

#endif /* LAUNCH_H */
