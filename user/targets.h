/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The processes allocscope knows about: targets it attached to and, in
 * whole-system mode, every process a site belongs to; plus /proc discovery. */
#ifndef TARGETS_H
#define TARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "allocscope.h"
#include "cgroup.h"
#include "probes.h"

struct proc_entry {
	__u32 pid;
	char comm[AS_COMM_LEN];
	bool exited;	    /* exit seen: report its sites once more, then forget */
	bool attached;	    /* probes attached for this pid (--pid / --comm) */
	bool untraceable;   /* attaching failed and was reported: do not retry */
	bool governed;	    /* --max-overhead took its heap probes away (tracer.c) */
	bool rss;	    /* and its page faults are charged since (--mode rss for it) */
	unsigned int looks; /* looks that found no allocator yet (--comm retries) */
	/* Its container, pod and pid inside, when in one. */
	struct cgroup_ident ident;
	struct link_list links;
};

struct proc_table {
	struct proc_entry *procs; /* sorted by pid */
	size_t nr;
	size_t cap;
};

struct proc_entry *targets__find(struct proc_table *t, __u32 pid);
/* Finds or adds pid (comm read from /proc when known). NULL on ENOMEM. */
struct proc_entry *targets__get(struct proc_table *t, __u32 pid);
/* Detaches and removes pid. */
void targets__remove(struct proc_table *t, __u32 pid);
void targets__free(struct proc_table *t);
size_t targets__count_attached(const struct proc_table *t);

/* /proc/<pid>/comm without the newline: 0 or -ESRCH. */
int targets__read_comm(__u32 pid, char comm[AS_COMM_LEN]);
/* When pid started, in clock ticks after boot (/proc/PID/stat field 22). */
int targets__start_ticks(__u32 pid, unsigned long long *ticks);
bool targets__exists(__u32 pid);
/* Calls cb for every process in /proc (threads excluded). */
int targets__for_each_pid(int (*cb)(__u32 pid, void *ctx), void *ctx);

#endif /* TARGETS_H */
