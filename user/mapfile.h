/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Opening the file a process maps, as the kernel mapped it: never by a path
 * the traced process alone decides, and never anything but a regular file. */
#ifndef MAPFILE_H
#define MAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "procmaps.h"

/* Open flags for every file a target can reach: O_NONBLOCK so a FIFO at its
 * place cannot hang allocscope. */
#define MAPFILE_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK)

/* Opens path inside the directory root_fd as the process whose root that is
 * would (openat2 RESOLVE_IN_ROOT): absolute symlinks and ".." stay inside,
 * /proc magic links are refused. Regular files only (-ENOEXEC otherwise).
 * An fd, or -errno. */
int mapfile__open_in(int root_fd, const char *path);
/* The same below the directory root ("" or "/": the host's root). */
int mapfile__open_root(const char *root, const char *path);

/* fd's identity. -ENOEXEC when fd is not a regular file. */
int mapfile__id(int fd, struct file_id *id);

/* Opens the file v maps in the process whose maps file is maps_path, checked
 * to be v's (device, inode): through map_files/ next to maps_path when that
 * is /proc/PID/maps (the very file the kernel mapped, in any mount namespace
 * and even deleted), else v's path below root. *id gets the identity of what
 * was opened. An fd, -ESTALE when the file found is not the one mapped, or
 * -errno. */
int mapfile__open_maps(const char *maps_path, const char *root, const struct vma *v,
		       struct file_id *id);
/* The same for a live process: /proc/PID/map_files, else /proc/PID/root. */
int mapfile__open(pid_t pid, const struct vma *v, struct file_id *id);

/* Why a mapfile__open failed, for messages. */
const char *mapfile__strerror(int err);

#endif /* MAPFILE_H */
