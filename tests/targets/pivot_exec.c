// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Runs a program in ROOT as a container does: a private mount namespace whose
 * root is ROOT (pivot_root, the old root detached), so the maps of the
 * program show paths inside ROOT and only its root reaches its files. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		dprintf(STDERR_FILENO, "usage: %s ROOT PROGRAM [ARG...]\n", argv[0]);
		return 2;
	}
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount(argv[1], argv[1], NULL, MS_BIND | MS_REC, NULL) || chdir(argv[1]) ||
	    (mkdir("old", 0700) && access("old", F_OK)) || syscall(SYS_pivot_root, ".", "old") ||
	    umount2("old", MNT_DETACH) || chdir("/")) {
		perror("pivot_exec");
		return 1;
	}
	execv(argv[2], argv + 2);
	perror(argv[2]);
	return 1;
}
