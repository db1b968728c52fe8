// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A process that truncates a library it has loaded the moment another
 * process opens it (inotify IN_OPEN): a reader that mapped the file would
 * fault past its new end. Prints "pid N", "loaded", and "truncated N". */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/inotify.h>

int main(int argc, char **argv)
{
	volatile void *sink;
	char buf[4096];
	int in, n = 0;

	if (argc < 2) {
		dprintf(STDERR_FILENO, "usage: %s LIBRARY\n", argv[0]);
		return 2;
	}
	dprintf(STDOUT_FILENO, "pid %d\n", (int)getpid());
	/* RTLD_LAZY: nothing in the library runs, so its pages are not
	 * touched again after the truncation. */
	if (!dlopen(argv[1], RTLD_LAZY)) {
		dprintf(STDERR_FILENO, "%s\n", dlerror());
		return 1;
	}
	in = inotify_init();
	if (in < 0 || inotify_add_watch(in, argv[1], IN_OPEN) < 0) {
		perror("inotify");
		return 1;
	}
	dprintf(STDOUT_FILENO, "loaded\n");
	for (;;) {
		sink = malloc(100);
		free((void *)sink);
		if (read(in, buf, sizeof(buf)) > 0 && !truncate(argv[1], 0))
			dprintf(STDOUT_FILENO, "truncated %d\n", ++n);
	}
}
