/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The processes that already descend from a process, read from a /proc tree
 * (a path, so tests can hand it a tree of their own). */
#ifndef PROCTREE_H
#define PROCTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* Descendants looked at per walk: a fork bomb under a target costs bounded
 * time, and what is past the bound is said. */
#define PROCTREE_MAX 1024

struct proc_stat {
	unsigned long long start; /* clock ticks after boot (field 22) */
	__u32 ppid;		  /* the parent process (field 4) */
};

/* PROC/PID/stat's parent and start time: 0, -ESRCH when gone, -EINVAL when
 * unreadable. */
int proctree__stat(const char *proc, __u32 pid, struct proc_stat *st);

/* Called with each descendant, and its start time, before that process's
 * children are read: what visit does to it (e.g. a tracer that follows its
 * forks from then on) is done before its children are listed, so no child
 * forked meanwhile falls between the two. */
typedef void (*proctree_visit)(__u32 pid, unsigned long long start, void *ctx);

/* Visits every descendant of root, parents before children, at most max of
 * them; *more: some were left unvisited by the bound. Children are listed by
 * PROC/PID/task/TID/children (CONFIG_PROC_CHILDREN), else by the parent field
 * of every PROC/N/stat. A listed child is visited only if its own stat still
 * names that parent and started after it, so a pid that was reused since it
 * was listed is not taken. Returns the number visited, or -errno when root's
 * own stat cannot be read. */
int proctree__walk(const char *proc, __u32 root, size_t max, proctree_visit visit, void *ctx,
		   bool *more);

#endif /* PROCTREE_H */
