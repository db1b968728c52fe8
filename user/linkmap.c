// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The link map of a running process, as a debugger finds it: the program
 * headers from the aux vector, DT_DEBUG in the executable's dynamic section,
 * then r_debug's list. Everything read is the target's and is checked. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "linkmap.h"
#include "procmem.h"

#define MAX_PHDRS   256
#define MAX_DYN_LEN (64 * 1024)

/* The first fields of glibc's struct link_map (<link.h>), the public ABI. */
struct lm_head {
	__u64 l_addr;
	__u64 l_name;
	__u64 l_ld;
	__u64 l_next;
	__u64 l_prev;
};

int linkmap__auxv(pid_t pid, struct linkmap_auxv *out)
{
	Elf64_auxv_t av[128];
	char path[64];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, av, sizeof(av));
	close(fd);
	if (len < 0)
		return -errno;
	*out = (struct linkmap_auxv){0};
	for (size_t i = 0; i < (size_t)len / sizeof(av[0]) && av[i].a_type != AT_NULL; i++) {
		if (av[i].a_type == AT_PHDR)
			out->phdr = av[i].a_un.a_val;
		else if (av[i].a_type == AT_PHNUM)
			out->phnum = av[i].a_un.a_val;
		else if (av[i].a_type == AT_BASE)
			out->base = av[i].a_un.a_val;
	}
	return 0;
}

/* AT_PHDR and AT_PHNUM from /proc/PID/auxv. 0 or -errno. */
static int read_auxv(pid_t pid, __u64 *phdr, __u64 *phnum)
{
	struct linkmap_auxv av;
	int err = linkmap__auxv(pid, &av);

	if (err)
		return err;
	*phdr = av.phdr;
	*phnum = av.phnum;
	return *phdr && *phnum && *phnum <= MAX_PHDRS ? 0 : -ENOENT;
}

/* The address of the executable's r_debug (its DT_DEBUG). 0 or -errno. */
static int find_r_debug(pid_t pid, __u64 *r_debug)
{
	Elf64_Phdr ph[MAX_PHDRS];
	__u64 at_phdr = 0, phnum = 0, bias = 0, dyn = 0, dyn_len = 0;
	Elf64_Dyn d;
	bool have_bias = false;
	int err;

	err = read_auxv(pid, &at_phdr, &phnum);
	if (!err)
		err = procmem__read(pid, at_phdr, ph, phnum * sizeof(ph[0]));
	if (err)
		return err;
	for (size_t i = 0; i < phnum; i++) {
		if (ph[i].p_type == PT_PHDR) {
			bias = at_phdr - ph[i].p_vaddr;
			have_bias = true;
		} else if (ph[i].p_type == PT_DYNAMIC) {
			dyn = ph[i].p_vaddr;
			dyn_len = ph[i].p_memsz;
		}
	}
	/* No PT_DYNAMIC: static, no link map. No PT_PHDR: the bias is not
	 * known for sure, and ld.so itself makes no link map without it. */
	if (!dyn || !have_bias)
		return -ENOENT;
	if (dyn_len > MAX_DYN_LEN)
		dyn_len = MAX_DYN_LEN;
	for (__u64 off = 0; off + sizeof(d) <= dyn_len; off += sizeof(d)) {
		err = procmem__read(pid, bias + dyn + off, &d, sizeof(d));
		if (err)
			return err;
		if (d.d_tag == DT_NULL)
			break;
		if (d.d_tag == DT_DEBUG) {
			*r_debug = d.d_un.d_ptr;
			return *r_debug ? 0 : -ENOENT; /* ld.so fills it in */
		}
	}
	return -ENOENT;
}

/* The file whose mapping holds addr, if it is one. */
static const struct vma *file_at(const struct procmaps *maps, __u64 addr)
{
	const struct vma *v = procmaps__find(maps, addr);

	return v && v->inode && v->path[0] == '/' ? v : NULL;
}

size_t linkmap__index(const struct file_id *ids, size_t n, struct file_id id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (file_id__eq(ids[i], id))
			break;
	return i;
}

int linkmap__order(pid_t pid, const struct procmaps *maps, struct file_id *ids, size_t max,
		   size_t *n)
{
	struct {
		__s32 r_version;
		__u32 pad;
		__u64 r_map;
	} r;
	struct lm_head lm;
	__u64 r_debug, next;
	int err;

	*n = 0;
	err = find_r_debug(pid, &r_debug);
	if (!err)
		err = procmem__read(pid, r_debug, &r, sizeof(r));
	if (err)
		return err;
	/* 1, or 2 since glibc 2.35 (r_debug_extended, whose first namespace
	 * is the base one, laid out as before). */
	if (r.r_version < 1 || r.r_version > 2)
		return -EINVAL;
	next = r.r_map;
	for (size_t i = 0; next && i < LINKMAP_MAX; i++) {
		const struct vma *v;

		err = procmem__read(pid, next, &lm, sizeof(lm));
		if (err)
			return err;
		v = file_at(maps, lm.l_ld);
		if (v && *n < max && linkmap__index(ids, *n, procmaps__file_id(v)) == *n)
			ids[(*n)++] = procmaps__file_id(v);
		next = lm.l_next;
	}
	return *n ? 0 : -EINVAL;
}
