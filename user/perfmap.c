// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* perf map files: parsed with bounded size, lines and names, and opened only
 * when they are the target's own regular file, reached without symlinks. */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "array.h"
#include "mapfile.h"
#include "perfmap.h"

/* How far back a lookup looks for an entry covering the address when a
 * later-starting one does not (a stale larger entry under reused space). */
#define OVERLAP_SCAN 64

struct pm_entry {
	__u64 start;
	__u64 size;
	__u32 seq; /* line order: the later entry wins a tie */
	__u32 name_off;
};

struct perfmap {
	struct pm_entry *e; /* sorted by start, then seq */
	size_t nr, cap;
	char *names;
	size_t names_len, names_cap;
};

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A hex number (optional 0x, at most 16 digits) at *p, which moves past it. */
static bool parse_hex(const char **p, const char *end, __u64 *out)
{
	const char *s = *p;
	int n = 0, d;

	if (end - s > 2 && s[0] == '0' && (s[1] | 0x20) == 'x')
		s += 2;
	*out = 0;
	for (; s < end && (d = hexval(*s)) >= 0; s++, n++) {
		if (n == 16)
			return false;
		*out = *out << 4 | d;
	}
	*p = s;
	return n > 0;
}

static int add_line(struct perfmap *m, const char *s, const char *end)
{
	struct pm_entry *e;
	__u64 start, size;
	size_t len;
	char *names;

	if (!parse_hex(&s, end, &start) || s == end || *s != ' ')
		return 0;
	s++;
	if (!parse_hex(&s, end, &size) || s == end || *s != ' ' || !size || start + size < start)
		return 0;
	s++;
	len = end - s;
	if (len > PERFMAP_MAX_NAME)
		len = PERFMAP_MAX_NAME;
	if (!len || memchr(s, '\0', len))
		return 0;
	e = array_grow(m->e, &m->cap, m->nr + 1, sizeof(*m->e));
	if (!e)
		return -ENOMEM;
	m->e = e;
	names = array_grow(m->names, &m->names_cap, m->names_len + len + 1, 1);
	if (!names)
		return -ENOMEM;
	m->names = names;
	memcpy(m->names + m->names_len, s, len);
	m->names[m->names_len + len] = '\0';
	m->e[m->nr] = (struct pm_entry){start, size, m->nr, m->names_len};
	m->names_len += len + 1;
	m->nr++;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct pm_entry *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Whole lines of buf[0..len); a line longer than PERFMAP_MAX_LINE is
 * skipped, so no name is read out of the middle of one. */
static int parse(struct perfmap *m, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *nl;
	int err = 0;

	while (!err && p < end && m->nr < PERFMAP_MAX_ENTRIES) {
		nl = memchr(p, '\n', end - p);
		if (!nl)
			break; /* a line still being written */
		if (nl - p <= PERFMAP_MAX_LINE)
			err = add_line(m, p, nl);
		p = nl + 1;
	}
	return err;
}

struct perfmap *perfmap__read(int fd)
{
	struct perfmap *m = calloc(1, sizeof(*m));
	size_t len = 0, cap = 0;
	char *buf = NULL, *nb;
	ssize_t n;
	int err = 0;

	if (!m)
		return NULL;
	while (len < PERFMAP_MAX_SIZE) {
		nb = array_grow(buf, &cap,
				len + 65536 < PERFMAP_MAX_SIZE ? len + 65536 : PERFMAP_MAX_SIZE, 1);
		if (!nb) {
			err = -ENOMEM;
			goto cleanup;
		}
		buf = nb;
		n = read(fd, buf + len, (cap < PERFMAP_MAX_SIZE ? cap : PERFMAP_MAX_SIZE) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto cleanup;
		}
		if (!n)
			break;
		len += n;
	}
	err = parse(m, buf, len);
	if (!err && m->nr)
		qsort(m->e, m->nr, sizeof(*m->e), cmp_entry);
cleanup:
	free(buf);
	if (err) {
		perfmap__free(m);
		errno = -err;
		return NULL;
	}
	return m;
}

void perfmap__free(struct perfmap *m)
{
	if (!m)
		return;
	free(m->e);
	free(m->names);
	free(m);
}

size_t perfmap__count(const struct perfmap *m)
{
	return m ? m->nr : 0;
}

int perfmap__find(const struct perfmap *m, __u64 addr, const char **name, __u64 *start)
{
	size_t lo = 0, hi = m ? m->nr : 0, i;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->e[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i > 0 && lo - i < OVERLAP_SCAN; i--) {
		const struct pm_entry *e = &m->e[i - 1];

		if (addr - e->start < e->size) {
			*name = m->names + e->name_off;
			*start = e->start;
			return 0;
		}
	}
	return -ENOENT;
}

int perfmap__open(const char *root, pid_t nspid, uid_t uid)
{
	struct open_how how = {.flags = MAPFILE_FLAGS | O_NOFOLLOW,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS |
					  RESOLVE_NO_MAGICLINKS};
	char path[64];
	struct stat st;
	int root_fd, fd, err = 0;

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)nspid);
	root_fd = open(root && root[0] ? root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return -errno;
	/* glibc 2.36 has no openat2() wrapper. */
	fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
	if (fd < 0)
		err = -errno;
	close(root_fd);
	if (err)
		return err;
	if (fstat(fd, &st))
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -ENOEXEC;
	/* A hard link to another user's file (where protected_hardlinks is
	 * off) has a second name; the runtime's own file has one. */
	else if (st.st_uid != uid || st.st_nlink != 1)
		err = -EPERM;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}
