/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Parsing of /proc/PID/maps: one process's mappings, sorted by address, as
 * plain structs so symbolization and probe planning can be tested on files. */
#ifndef PROCMAPS_H
#define PROCMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <linux/types.h>

struct vma {
	__u64 start;
	__u64 end;
	__u64 offset; /* file offset of start */
	__u64 inode;
	__u32 dev_major;
	__u32 dev_minor;
	bool exec;  /* 'x' in perms */
	char *path; /* as printed, "" for anonymous; " (deleted)" suffix kept */
};

/* A mapped file's identity: the same in every process, whatever the path. */
struct file_id {
	__u32 dev_major;
	__u32 dev_minor;
	__u64 inode;
};

static inline struct file_id procmaps__file_id(const struct vma *v)
{
	return (struct file_id){v->dev_major, v->dev_minor, v->inode};
}

static inline bool file_id__eq(struct file_id a, struct file_id b)
{
	return a.inode == b.inode && a.dev_major == b.dev_major && a.dev_minor == b.dev_minor;
}

struct procmaps {
	struct vma *vmas;
	size_t nr;
};

/* Parses every line of f (the format of /proc/PID/maps). 0 or -errno. */
int procmaps__parse(FILE *f, struct procmaps *out);
/* Parses /proc/<pid>/maps: 0, -ESRCH when the process does not exist, or -errno. */
int procmaps__read_pid(pid_t pid, struct procmaps *out);
/* The mapping containing addr, or NULL. */
const struct vma *procmaps__find(const struct procmaps *m, __u64 addr);
void procmaps__free(struct procmaps *m);

#endif /* PROCMAPS_H */
