/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One process's perf map, found as the process names it (its own pid in its
 * pid namespace, its /tmp) and re-read when it grew, at most once a second. */
#ifndef JITMAP_H
#define JITMAP_H

#include <linux/types.h>

struct jitmap;

/* For the process whose maps file is maps_path (/proc/PID/maps: its status
 * file gives its namespace pid and effective uid) and whose root is root.
 * For any other maps file, pid and allocscope's own uid are taken. NULL when
 * out of memory. Nothing is opened before the first lookup. */
struct jitmap *jitmap__new(const char *maps_path, const char *root, __u32 pid);
void jitmap__free(struct jitmap *j);

/* The JIT function covering addr. *name is valid until the next call.
 * 0 or -ENOENT. */
int jitmap__find(struct jitmap *j, __u64 addr, const char **name, __u64 *start);

#endif /* JITMAP_H */
