// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* --cgroup and --container against the live system: the mounted cgroup
 * hierarchies (/proc/self/mountinfo) and each process's /proc/PID/cgroup. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "cgtarget.h"
#include "targets.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define STATUS_MAX  8192 /* /proc/PID/status: NSpid is in its first 2 KiB */

/* Reads at most size - 1 bytes of path into buf, terminated: the length,
 * or -errno. /proc files may come in pieces: read until the end. */
static ssize_t read_text(const char *path, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (n < size - 1 && (r = read(fd, buf + n, size - 1 - n)) > 0)
		n += r;
	if (r < 0)
		r = -errno;
	close(fd);
	buf[n] = '\0';
	return r < 0 ? r : (ssize_t)n;
}

static ssize_t read_cgroup_file(__u32 pid, char *buf)
{
	char path[64];

	if (pid)
		snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/cgroup");
	return read_text(path, buf, CGROUP_FILE_MAX);
}

/* The lines every /proc/PID/cgroup has here: one per hierarchy, as ours. */
static size_t hierarchy_lines(char *buf)
{
	ssize_t n = read_cgroup_file(0, buf);

	return n > 0 ? cgroup__count_lines(buf, n) : 0;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* Calls fn with the mount point of every cgroup and cgroup2 mount until it
 * returns true; true then. Mount points with escaped characters (\040) are
 * skipped: no cgroup hierarchy is mounted at such a place. */
static bool each_mount(bool (*fn)(const char *mnt, void *ctx), void *ctx)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], mnt[PATH_MAX], fstype[64];
	bool done = false;

	if (!f)
		return false;
	while (!done && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s", fstype) != 1 || strchr(mnt, '\\'))
			continue;
		if (!strcmp(fstype, "cgroup") || !strcmp(fstype, "cgroup2"))
			done = fn(mnt, ctx);
	}
	fclose(f);
	return done;
}

struct lookup {
	const char *path; /* normalized */
	size_t best;	  /* absolute: the longest mount point that holds path */
	bool found;	  /* relative: a hierarchy has it */
};

static bool longest_mount(const char *mnt, void *ctx)
{
	struct lookup *l = ctx;
	size_t n = strlen(mnt);

	if (n > l->best && cgroup__path_under(l->path, strlen(l->path), mnt))
		l->best = n;
	return false;
}

static bool has_cgroup(const char *mnt, void *ctx)
{
	struct lookup *l = ctx;
	char full[PATH_MAX * 2];

	snprintf(full, sizeof(full), "%s%s", mnt, l->path);
	l->found = is_dir(full);
	return l->found;
}

int cgtarget__resolve(struct cgtarget *cg, const char *arg, char *msg, size_t len)
{
	char norm[PATH_MAX];
	struct lookup l = {.path = norm};
	int err = cgroup__normalize(arg, norm, sizeof(norm));

	if (err) {
		snprintf(msg, len,
			 "invalid --cgroup '%s': expected a cgroup path such as "
			 "/system.slice/foo.service, without '.' or '..'",
			 arg);
		return -EINVAL;
	}
	if (arg[0] == '/' && cgroup__path_under(norm, strlen(norm), CGROUP_ROOT)) {
		each_mount(longest_mount, &l);
		if (!l.best) {
			snprintf(msg, len, "--cgroup %s is in no cgroup hierarchy mounted there",
				 norm);
			return -ENOENT;
		}
		if (!is_dir(norm)) {
			snprintf(msg, len, "--cgroup %s: no such cgroup", norm);
			return -ENOENT;
		}
		snprintf(cg->path, sizeof(cg->path), "%s", norm[l.best] ? norm + l.best : "/");
		return 0;
	}
	if (!each_mount(has_cgroup, &l)) {
		snprintf(msg, len,
			 "--cgroup %s: no such cgroup in any hierarchy under " CGROUP_ROOT, norm);
		return -ENOENT;
	}
	snprintf(cg->path, sizeof(cg->path), "%s", norm);
	return 0;
}

static int read_checked(struct cgtarget *cg, __u32 pid, ssize_t *n)
{
	if (!cg->buf) {
		cg->buf = malloc(CGROUP_FILE_MAX);
		if (!cg->buf)
			return -ENOMEM;
		cg->lines = hierarchy_lines(cg->buf);
	}
	*n = read_cgroup_file(pid, cg->buf);
	if (*n < 0)
		return *n;
	return cgroup__check_file(cg->buf, *n, cg->lines);
}

bool cgtarget__member(struct cgtarget *cg, __u32 pid)
{
	struct cgroup_ident ident;
	ssize_t n;

	if (read_checked(cg, pid, &n))
		return false;
	if (cg->path[0])
		return cgroup__file_under(cg->buf, n, cg->path);
	cgroup__file_ident(cg->buf, n, &ident);
	return ident.container[0] && !strcmp(ident.container, cg->container);
}

struct finding {
	struct cgtarget *cg;
	const char *prefix;
	char ids[4][CGROUP_ID_LEN + 1]; /* distinct matches, the first few */
	size_t nids;
};

static int find_cb(__u32 pid, void *ctx)
{
	struct finding *f = ctx;
	struct cgroup_ident ident;
	ssize_t n;
	size_t i;

	if (read_checked(f->cg, pid, &n))
		return 0;
	cgroup__file_ident(f->cg->buf, n, &ident);
	if (!ident.container[0] || strncmp(ident.container, f->prefix, strlen(f->prefix)))
		return 0;
	for (i = 0; i < f->nids && i < 4 && strcmp(f->ids[i], ident.container); i++)
		;
	if (i < f->nids)
		return 0;
	if (f->nids < 4)
		memcpy(f->ids[f->nids], ident.container, sizeof(ident.container));
	f->nids++;
	return 0;
}

int cgtarget__find_container(struct cgtarget *cg, const char *prefix, char *msg, size_t len)
{
	struct finding f = {.cg = cg, .prefix = prefix};
	size_t used;

	targets__for_each_pid(find_cb, &f);
	if (!f.nids) {
		snprintf(msg, len,
			 "--container %s: no running process is in a container whose id "
			 "starts with it",
			 prefix);
		return -ENOENT;
	}
	if (f.nids > 1) {
		used = snprintf(msg, len, "--container %s is ambiguous: it starts the ids of ",
				prefix);
		for (size_t i = 0; i < f.nids && i < 4 && used < len; i++)
			used += snprintf(msg + used, len - used, "%s%.*s", i ? ", " : "",
					 CGROUP_SHORT_LEN, f.ids[i]);
		if (f.nids > 4 && used < len)
			snprintf(msg + used, len - used, " and more");
		return -EEXIST;
	}
	memcpy(cg->container, f.ids[0], sizeof(cg->container));
	return 0;
}

void cgtarget__ident(__u32 pid, struct cgroup_ident *id)
{
	char path[64], *buf = malloc(CGROUP_FILE_MAX);
	size_t lines;
	ssize_t n;

	memset(id, 0, sizeof(*id));
	if (!buf)
		return;
	lines = hierarchy_lines(buf);
	n = read_cgroup_file(pid, buf);
	if (n > 0 && !cgroup__check_file(buf, n, lines))
		cgroup__file_ident(buf, n, id);
	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	n = read_text(path, buf, STATUS_MAX);
	if (n > 0)
		cgroup__nspid(buf, n, &id->nspid);
	free(buf);
}

void cgtarget__free(struct cgtarget *cg)
{
	free(cg->buf);
	cg->buf = NULL;
}
