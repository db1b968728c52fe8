/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Fixture file helpers shared by the unit tests that build directory trees
 * (roots, debug directories) in a scratch directory. Include after cmocka.h. */
#ifndef TEST_FILES_H
#define TEST_FILES_H

#include <fcntl.h>
#include <unistd.h>

/* Copies from to to (created or truncated); the test fails on any error. */
static inline void copy_file(const char *from, const char *to)
{
	char buf[8192];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	assert_true(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, n), n);
	close(in);
	close(out);
}

#endif /* TEST_FILES_H */
