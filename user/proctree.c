// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The descendants of a process that exist already, found level by level in a
 * /proc tree, each process visited before its own children are listed. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "proctree.h"

/* A children file past this is not read further (4 MiB pids of 7 digits
 * and a space: far more children than the bound visits). */
#define CHILDREN_FILE_MAX (4 << 20)

struct node {
	unsigned long long start;
	__u32 pid;
	__u32 parent; /* as listed: the process whose children named it */
};

struct nodes {
	struct node *v;
	size_t n, cap;
};

static int nodes_push(struct nodes *ns, __u32 pid, __u32 parent, unsigned long long start)
{
	struct node *v = array_grow(ns->v, &ns->cap, ns->n + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	ns->v = v;
	ns->v[ns->n++] = (struct node){.start = start, .pid = pid, .parent = parent};
	return 0;
}

static const struct node *nodes_find(const struct nodes *ns, __u32 pid)
{
	for (size_t i = 0; i < ns->n; i++)
		if (ns->v[i].pid == pid)
			return &ns->v[i];
	return NULL;
}

int proctree__stat(const char *proc, __u32 pid, struct proc_stat *st)
{
	char path[PATH_MAX], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%u/stat", proc, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	/* The comm may hold spaces and parentheses: fields restart after the
	 * last ')', with field 3 (the state). */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %u", &st->ppid) != 1)
		return -EINVAL;
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &st->start) != 1)
		return -EINVAL;
	return 0;
}

/* Adds the pids listed in path (space-separated), as children of parent. */
static int read_children_file(const char *path, __u32 parent, struct nodes *out)
{
	char buf[4096], num[16];
	size_t len = 0, total = 0;
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* the thread ended: it has no children any more */
	while (!err && total < CHILDREN_FILE_MAX && (n = read(fd, buf, sizeof(buf))) > 0) {
		total += n;
		for (ssize_t i = 0; i < n && !err; i++) {
			if (isdigit((unsigned char)buf[i]) && len < sizeof(num) - 1) {
				num[len++] = buf[i];
				continue;
			}
			num[len] = '\0';
			if (len)
				err = nodes_push(out, (__u32)strtoul(num, NULL, 10), parent, 0);
			len = 0;
		}
	}
	num[len] = '\0';
	if (!err && len)
		err = nodes_push(out, (__u32)strtoul(num, NULL, 10), parent, 0);
	close(fd);
	return err;
}

/* The children of every process of level, from the children file of each of
 * its threads: a child's parent is the thread that forked it. */
static int children_by_files(const char *proc, const struct nodes *level, struct nodes *out)
{
	char path[PATH_MAX];
	struct dirent *e;
	int err = 0;

	for (size_t i = 0; i < level->n && !err; i++) {
		DIR *d;

		snprintf(path, sizeof(path), "%s/%u/task", proc, level->v[i].pid);
		d = opendir(path);
		if (!d)
			continue; /* gone: its children were reparented */
		while (!err && (e = readdir(d))) {
			if (!isdigit((unsigned char)e->d_name[0]))
				continue;
			snprintf(path, sizeof(path), "%s/%u/task/%s/children", proc,
				 level->v[i].pid, e->d_name);
			err = read_children_file(path, level->v[i].pid, out);
		}
		closedir(d);
	}
	return err;
}

/* Without CONFIG_PROC_CHILDREN: every process whose parent is in level. */
static int children_by_stat(const char *proc, const struct nodes *level, struct nodes *out)
{
	DIR *d = opendir(proc);
	struct proc_stat st;
	struct dirent *e;
	int err = 0;

	if (!d)
		return -errno;
	while (!err && (e = readdir(d))) {
		__u32 pid;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = (__u32)strtoul(e->d_name, NULL, 10);
		if (!proctree__stat(proc, pid, &st) && nodes_find(level, st.ppid))
			err = nodes_push(out, pid, st.ppid, st.start);
	}
	closedir(d);
	return err;
}

static int cmp_pid(const void *a, const void *b)
{
	const struct node *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

int proctree__walk(const char *proc, __u32 root, size_t max, proctree_visit visit, void *ctx,
		   bool *more)
{
	struct nodes seen = {}, level = {}, next = {}, listed = {}, tmp;
	char path[PATH_MAX];
	struct proc_stat st;
	bool files;
	int err, visited = 0;

	*more = false;
	err = proctree__stat(proc, root, &st);
	if (err)
		return err;
	snprintf(path, sizeof(path), "%s/%u/task/%u/children", proc, root, root);
	files = access(path, F_OK) == 0;
	err = nodes_push(&seen, root, 0, st.start) ?: nodes_push(&level, root, 0, st.start);
	while (!err && level.n && !*more) {
		listed.n = 0;
		err = files ? children_by_files(proc, &level, &listed)
			    : children_by_stat(proc, &level, &listed);
		/* By pid: the same order whichever way they were listed. */
		if (!err && listed.n)
			qsort(listed.v, listed.n, sizeof(*listed.v), cmp_pid);
		next.n = 0;
		for (size_t i = 0; !err && i < listed.n; i++) {
			const struct node *c = &listed.v[i],
					  *parent = nodes_find(&level, c->parent);

			/* Listed, then exited and its pid given to another
			 * process: that one has another parent, or started
			 * after the listing's parent did not exist yet. */
			if (nodes_find(&seen, c->pid) || proctree__stat(proc, c->pid, &st) ||
			    st.ppid != c->parent || !parent || st.start < parent->start)
				continue;
			if ((size_t)visited >= max) {
				*more = true;
				break;
			}
			err = nodes_push(&seen, c->pid, c->parent, st.start)
				      ?: nodes_push(&next, c->pid, c->parent, st.start);
			if (err)
				break;
			visit(c->pid, st.start, ctx);
			visited++;
		}
		tmp = level;
		level = next;
		next = tmp;
	}
	free(seen.v);
	free(level.v);
	free(next.v);
	free(listed.v);
	return err ? err : visited;
}
