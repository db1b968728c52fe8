// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Parsing of /proc/PID/maps into a sorted array of mappings, with a binary
 * search to find the mapping that holds an address. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "procmaps.h"

/* Parses one line; 0, -EINVAL when malformed, -ENOMEM. */
static int parse_line(char *line, struct vma *v)
{
	unsigned long long start, end, offset, inode;
	unsigned int major, minor;
	char perms[5];
	int n = -1;
	size_t len;
	char *path;

	/* The kernel pads the inode column with spaces before the path
	 * (show_vma_header_prefix), so the path starts at the first
	 * non-blank after it and may itself contain spaces. */
	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu%n", &start, &end, perms, &offset, &major,
		   &minor, &inode, &n) != 7 ||
	    n < 0 || end < start)
		return -EINVAL;
	path = line + n;
	path += strspn(path, " \t");
	len = strcspn(path, "\n");
	path[len] = '\0';

	v->path = strdup(path);
	if (!v->path)
		return -ENOMEM;
	v->start = start;
	v->end = end;
	v->offset = offset;
	v->inode = inode;
	v->dev_major = major;
	v->dev_minor = minor;
	v->exec = strlen(perms) >= 3 && perms[2] == 'x';
	return 0;
}

static int cmp_vma(const void *a, const void *b)
{
	const struct vma *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

int procmaps__parse(FILE *f, struct procmaps *out)
{
	struct procmaps m = {};
	size_t cap = 0, linecap = 0;
	char *line = NULL;
	int err = 0;

	while (getline(&line, &linecap, f) > 0) {
		if (line[strspn(line, " \t\n")] == '\0')
			continue;
		if (m.nr == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct vma *nv = realloc(m.vmas, ncap * sizeof(*nv));

			if (!nv) {
				err = -ENOMEM;
				goto cleanup;
			}
			m.vmas = nv;
			cap = ncap;
		}
		err = parse_line(line, &m.vmas[m.nr]);
		if (err)
			goto cleanup;
		m.nr++;
	}
	if (ferror(f)) {
		err = -EIO;
		goto cleanup;
	}
	/* The kernel already prints in address order; sorting keeps find()
	 * correct for hand-written or concatenated inputs too. */
	if (m.nr)
		qsort(m.vmas, m.nr, sizeof(*m.vmas), cmp_vma);
	*out = m;
	m = (struct procmaps){};
cleanup:
	free(line);
	procmaps__free(&m);
	return err;
}

int procmaps__read_pid(pid_t pid, struct procmaps *out)
{
	char path[64];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	err = procmaps__parse(f, out);
	/* A process that exits while we read leaves a short or empty file;
	 * only the absent directory is reported as -ESRCH. */
	fclose(f);
	return err;
}

const struct vma *procmaps__find(const struct procmaps *m, __u64 addr)
{
	size_t lo = 0, hi = m ? m->nr : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct vma *v = &m->vmas[mid];

		if (addr < v->start)
			hi = mid;
		else if (addr >= v->end)
			lo = mid + 1;
		else
			return v;
	}
	return NULL;
}

void procmaps__free(struct procmaps *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nr; i++)
		free(m->vmas[i].path);
	free(m->vmas);
	m->vmas = NULL;
	m->nr = 0;
}
