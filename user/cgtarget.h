/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* --cgroup and --container on a live system: the cgroup named, checked
 * against the mounted hierarchies, and which processes are in it. */
#ifndef CGTARGET_H
#define CGTARGET_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "cgroup.h"

struct cgtarget {
	char path[PATH_MAX];		   /* --cgroup, relative to its hierarchy's root */
	char container[CGROUP_ID_LEN + 1]; /* --container, the full id found */
	size_t lines;			   /* lines of a /proc/PID/cgroup here */
	char *buf;			   /* CGROUP_FILE_MAX bytes, for reading one */
};

/* --cgroup ARG: an absolute path under a cgroup mount (/sys/fs/cgroup/...)
 * or a path relative to any hierarchy's root, which must exist in one of
 * them. 0 with cg->path set, or -ENOENT (no such cgroup), -EINVAL (not a
 * cgroup path); why into msg. */
int cgtarget__resolve(struct cgtarget *cg, const char *arg, char *msg, size_t len);

/* --container PREFIX: the one running container whose id starts with
 * prefix. 0 with cg->container set; -ENOENT when no process is in such a
 * container, -EEXIST when several are (their short ids into msg). */
int cgtarget__find_container(struct cgtarget *cg, const char *prefix, char *msg, size_t len);

/* Whether pid is in the target (cg->path, or cg->container when path is
 * empty). A file that fails cgroup__check_file() is no member. */
bool cgtarget__member(struct cgtarget *cg, __u32 pid);

/* What pid's cgroup paths and status say of its container (all empty when
 * unreadable). */
void cgtarget__ident(__u32 pid, struct cgroup_ident *id);

void cgtarget__free(struct cgtarget *cg);

#endif /* CGTARGET_H */
