/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* File names: what reports and messages show of a path. */
#ifndef PATH_H
#define PATH_H

#include <string.h>

/* The part of path after its last '/' (all of it when there is none). */
static inline const char *path_base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

#endif /* PATH_H */
