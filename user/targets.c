// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Process table kept sorted by pid (binary search per site at report time)
 * and the /proc walks that discover processes. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "cgtarget.h"
#include "proctree.h"
#include "targets.h"

static size_t lower_bound(const struct proc_table *t, __u32 pid)
{
	size_t lo = 0, hi = t->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->procs[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct proc_entry *targets__find(struct proc_table *t, __u32 pid)
{
	size_t i = lower_bound(t, pid);

	return i < t->nr && t->procs[i].pid == pid ? &t->procs[i] : NULL;
}

struct proc_entry *targets__get(struct proc_table *t, __u32 pid)
{
	size_t i = lower_bound(t, pid);
	struct proc_entry *p, *n;

	if (i < t->nr && t->procs[i].pid == pid)
		return &t->procs[i];
	n = array_grow(t->procs, &t->cap, t->nr + 1, sizeof(*n));
	if (!n)
		return NULL;
	t->procs = n;
	memmove(&t->procs[i + 1], &t->procs[i], (t->nr - i) * sizeof(*p));
	t->nr++;
	p = &t->procs[i];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	if (targets__read_comm(pid, p->comm))
		snprintf(p->comm, sizeof(p->comm), "?");
	cgtarget__ident(pid, &p->ident);
	return p;
}

void targets__remove(struct proc_table *t, __u32 pid)
{
	struct proc_entry *p = targets__find(t, pid);
	size_t i;

	if (!p)
		return;
	probes__detach(&p->links);
	i = p - t->procs;
	memmove(p, p + 1, (t->nr - i - 1) * sizeof(*p));
	t->nr--;
}

void targets__free(struct proc_table *t)
{
	struct link_list *lists = calloc(t->nr + 1, sizeof(*lists));

	/* One parallel detach for every process: exit does not wait per target. */
	for (size_t i = 0; i < t->nr; i++) {
		if (lists)
			lists[i] = t->procs[i].links;
		else
			probes__detach(&t->procs[i].links);
	}
	if (lists)
		probes__detach_all(lists, t->nr);
	free(lists);
	free(t->procs);
	memset(t, 0, sizeof(*t));
}

size_t targets__count_attached(const struct proc_table *t)
{
	size_t n = 0;

	for (size_t i = 0; i < t->nr; i++)
		n += t->procs[i].attached && !t->procs[i].exited;
	return n;
}

/* Reads at most len - 1 bytes of /proc/PID/NAME into buf, terminated; the
 * byte count, or -ESRCH when the process (or the file) is gone or empty. */
static ssize_t read_proc_file(__u32 pid, const char *name, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/%s", pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	return n;
}

int targets__read_comm(__u32 pid, char comm[AS_COMM_LEN])
{
	if (read_proc_file(pid, "comm", comm, AS_COMM_LEN) < 0)
		return -ESRCH;
	comm[strcspn(comm, "\n")] = '\0';
	return 0;
}

int targets__start_ticks(__u32 pid, unsigned long long *ticks)
{
	struct proc_stat st;
	int err = proctree__stat("/proc", pid, &st);

	if (!err)
		*ticks = st.start;
	return err;
}

bool targets__exists(__u32 pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u", pid);
	return access(path, F_OK) == 0;
}

int targets__for_each_pid(int (*cb)(__u32 pid, void *ctx), void *ctx)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int err = 0;

	if (!d)
		return -errno;
	while (!err && (e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		err = cb((__u32)strtoul(e->d_name, NULL, 10), ctx);
	}
	closedir(d);
	return err;
}
