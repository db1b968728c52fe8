// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Per-process perf maps: located through /proc/PID/status and root, re-read
 * on a miss when the file changed, never more than once a second. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "jitmap.h"
#include "perfmap.h"

#define RECHECK_NS 1000000000ULL

struct jitmap {
	char *root;
	pid_t nspid;
	uid_t uid;
	struct perfmap *map;
	struct stat st; /* of the file map was read from */
	__u64 checked_ns;
	bool checked;
};

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The innermost pid of "NStgid:" (the pid the runtime itself sees and
 * writes into the map's name) and the effective uid of "Uid:". */
static void read_status(const char *maps_path, struct jitmap *j)
{
	size_t mlen = strlen(maps_path), cap = 0;
	unsigned int ruid, euid;
	char path[64], *line = NULL, *p;
	FILE *f;

	if (mlen < 5 || strcmp(maps_path + mlen - 5, "/maps") ||
	    snprintf(path, sizeof(path), "%.*s/status", (int)(mlen - 5), maps_path) >=
		    (int)sizeof(path))
		return;
	f = fopen(path, "re");
	if (!f) {
		j->uid = (uid_t)-1; /* matches no file */
		return;
	}
	j->uid = (uid_t)-1;
	while (getline(&line, &cap, f) > 0) {
		if (sscanf(line, "Uid: %u %u", &ruid, &euid) == 2) {
			j->uid = euid;
		} else if (!strncmp(line, "NStgid:", 7)) {
			p = strrchr(line, '\t');
			j->nspid = p ? atoi(p + 1) : j->nspid;
		}
	}
	free(line);
	fclose(f);
}

struct jitmap *jitmap__new(const char *maps_path, const char *root, __u32 pid)
{
	struct jitmap *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->root = strdup(root ? root : "");
	if (!j->root) {
		free(j);
		return NULL;
	}
	j->nspid = pid;
	j->uid = geteuid();
	read_status(maps_path, j);
	return j;
}

void jitmap__free(struct jitmap *j)
{
	if (!j)
		return;
	perfmap__free(j->map);
	free(j->root);
	free(j);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Re-reads the map if it changed. A file that cannot be opened or read
 * leaves the last good map in place. */
static void refresh(struct jitmap *j)
{
	struct perfmap *m;
	struct stat st;
	__u64 now = now_ns();
	int fd;

	if (j->checked && now - j->checked_ns < RECHECK_NS)
		return;
	j->checked = true;
	j->checked_ns = now;
	fd = perfmap__open(j->root, j->nspid, j->uid);
	if (fd < 0)
		return;
	if (!fstat(fd, &st) && !(j->map && same_file(&st, &j->st))) {
		m = perfmap__read(fd);
		if (m) {
			perfmap__free(j->map);
			j->map = m;
			j->st = st;
		}
	}
	close(fd);
}

int jitmap__find(struct jitmap *j, __u64 addr, const char **name, __u64 *start)
{
	if (j->map && !perfmap__find(j->map, addr, name, start))
		return 0;
	refresh(j);
	return j->map ? perfmap__find(j->map, addr, name, start) : -ENOENT;
}
