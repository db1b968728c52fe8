// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Opening mapped files: through /proc/PID/map_files, or below the process's
 * root with openat2(RESOLVE_IN_ROOT), checked against the maps line. */
#define _GNU_SOURCE /* O_PATH */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "mapfile.h"

#define DELETED " (deleted)"

/* glibc 2.36 has no openat2() wrapper. */
static int openat2_fd(int dirfd, const char *path, __u64 resolve)
{
	struct open_how how = {.flags = MAPFILE_FLAGS, .resolve = resolve};

	return syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

int mapfile__id(int fd, struct file_id *id)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOEXEC;
	*id = (struct file_id){major(st.st_dev), minor(st.st_dev), st.st_ino};
	return 0;
}

/* fd, or -errno with fd closed. */
static int checked(int fd)
{
	struct file_id id;
	int err;

	if (fd < 0)
		return -errno;
	err = mapfile__id(fd, &id);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int mapfile__open_in(int root_fd, const char *path)
{
	/* RESOLVE_NO_MAGICLINKS: a symlink to /proc/self/fd/N or /proc/1/root
	 * would leave the root again. */
	return checked(openat2_fd(root_fd, path, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
}

int mapfile__open_root(const char *root, const char *path)
{
	int root_fd, fd;

	root_fd = open(root && root[0] ? root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return -errno;
	fd = mapfile__open_in(root_fd, path);
	close(root_fd);
	return fd;
}

/* Keeps fd when it is v's file, else closes it. map_files hands out the
 * mapped file itself, so only its inode is compared there: btrfs reports a
 * subvolume's st_dev where maps shows the superblock's. */
static int same_file(int fd, const struct vma *v, bool via_map_files, struct file_id *id)
{
	int err;

	if (fd < 0)
		return fd;
	err = mapfile__id(fd, id);
	if (!err && (id->inode != v->inode || (!via_map_files && (id->dev_major != v->dev_major ||
								  id->dev_minor != v->dev_minor))))
		err = -ESTALE;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int mapfile__open_maps(const char *maps_path, const char *root, const struct vma *v,
		       struct file_id *id)
{
	size_t mlen = strlen(maps_path), plen = strlen(v->path), dl = strlen(DELETED);
	char buf[PATH_MAX];
	int fd = -ENOENT;

	if (mlen >= 5 && !strcmp(maps_path + mlen - 5, "/maps") &&
	    snprintf(buf, sizeof(buf), "%.*s/map_files/%llx-%llx", (int)(mlen - 5), maps_path,
		     (unsigned long long)v->start, (unsigned long long)v->end) < (int)sizeof(buf)) {
		fd = open(buf, MAPFILE_FLAGS);
		fd = same_file(fd < 0 ? -errno : fd, v, true, id);
		if (fd >= 0)
			return fd;
	}
	/* map_files needs CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE): the path
	 * as the process sees it, resolved inside its root, must then name
	 * the very file mapped. */
	if (plen > dl && !strcmp(v->path + plen - dl, DELETED))
		plen -= dl;
	if (v->path[0] != '/' ||
	    snprintf(buf, sizeof(buf), "%.*s", (int)plen, v->path) >= (int)sizeof(buf))
		return fd;
	return same_file(mapfile__open_root(root, buf), v, false, id);
}

int mapfile__open(pid_t pid, const struct vma *v, struct file_id *id)
{
	char maps[64], root[64];

	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	snprintf(root, sizeof(root), "/proc/%d/root", (int)pid);
	return mapfile__open_maps(maps, root, v, id);
}

const char *mapfile__strerror(int err)
{
	if (err == -ESTALE)
		return "the file at its path is not the one it maps";
	if (err == -ENOEXEC)
		return "not a regular file";
	return strerror(-err);
}
