// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A process that maps no allocator until told: built static and stripped, it
 * prints "pid N", waits for a line on stdin, then execs its arguments, as a
 * process caught before ld.so has mapped its libc looks to --comm. */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char c;

	if (argc < 2) {
		dprintf(STDERR_FILENO, "usage: %s PROGRAM [ARG...]\n", argv[0]);
		return 2;
	}
	dprintf(STDOUT_FILENO, "pid %d\n", (int)getpid());
	/* One line, byte by byte: what follows it is the exec'd program's. */
	while (read(STDIN_FILENO, &c, 1) == 1 && c != '\n')
		;
	execv(argv[1], argv + 1);
	perror(argv[1]);
	return 1;
}
