/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* /proc/PID/cgroup and /proc/PID/status as text: which cgroup a process is in,
 * and the container id, pod UID and in-container pid its cgroup path carries.
 * Pure logic on buffers; the text comes from the traced process's side. */
#ifndef CGROUP_H
#define CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define CGROUP_ID_LEN	   64 /* docker, containerd and CRI-O ids: 64 hex digits */
#define CGROUP_SHORT_LEN   12 /* the short form docker ps shows */
#define CGROUP_ID_MIN	   4  /* --container: the shortest prefix taken */
#define CGROUP_POD_UID_LEN 36 /* 8-4-4-4-12; a static pod's is 32 hex digits */
/* Bytes of /proc/PID/cgroup read: one line per hierarchy, each path at most
 * PATH_MAX; what is past this is not looked at. */
#define CGROUP_FILE_MAX 32768

/* What a process's cgroup path and status say of its container. Empty
 * strings and 0 when they say nothing. */
struct cgroup_ident {
	char container[CGROUP_ID_LEN + 1]; /* full id, lowercase hex */
	char pod_uid[CGROUP_POD_UID_LEN + 1];
	__u32 nspid; /* the pid inside its pid namespace, when it has another */
};

/* One line "ID:CONTROLLERS:PATH" (len bytes, no newline): 0 with *path and
 * *path_len pointing into line, or -EINVAL when it is not of that form. */
int cgroup__parse_line(const char *line, size_t len, const char **path, size_t *path_len);

/* Whether path (len bytes) is target or a cgroup below it; target as
 * cgroup__normalize() makes it ("/" is every cgroup). */
bool cgroup__path_under(const char *path, size_t len, const char *target);

/* The container id a cgroup path names (the deepest one): 0, or -ENOENT. */
int cgroup__container_id(const char *path, size_t len, char id[CGROUP_ID_LEN + 1]);

/* The Kubernetes pod UID in a kubepods path, '_' of systemd slice names
 * turned back into '-': 0, or -ENOENT. */
int cgroup__pod_uid(const char *path, size_t len, char uid[CGROUP_POD_UID_LEN + 1]);

/* Whole files. text holds len bytes of /proc/PID/cgroup. A newline in a
 * cgroup name would make one path look like two lines, the second made up
 * by whoever named the cgroup; cgroup_mkdir() refuses such names (EINVAL),
 * but should one get through, a file whose number of lines
 * is not lines (one per hierarchy, as /proc/self/cgroup has) is refused with
 * -EBADMSG, as is one cut short (no final newline). */
int cgroup__check_file(const char *text, size_t len, size_t lines);
/* Number of newline-terminated lines in text. */
size_t cgroup__count_lines(const char *text, size_t len);
/* Whether a line of the file names target or a cgroup below it. */
bool cgroup__file_under(const char *text, size_t len, const char *target);
/* The container id and pod UID the file's paths carry (the first line
 * that has one). Leaves nspid alone. */
void cgroup__file_ident(const char *text, size_t len, struct cgroup_ident *id);

/* The NSpid line of /proc/PID/status (len bytes): its last pid when it
 * lists more than one (a process in a pid namespace of its own); 0, or
 * -ENOENT. */
int cgroup__nspid(const char *status, size_t len, __u32 *nspid);

/* A cgroup path as given (relative to a hierarchy's root, leading '/'
 * optional) into out: one '/' between names, none at the end, "/" for the
 * root. -EINVAL for "." or ".." names or control characters, -ENAMETOOLONG
 * when it does not fit size. */
int cgroup__normalize(const char *arg, char *out, size_t size);

/* A --container argument: CGROUP_ID_MIN to CGROUP_ID_LEN hex digits,
 * lowered into out; -EINVAL otherwise. */
int cgroup__parse_id_prefix(const char *arg, char out[CGROUP_ID_LEN + 1]);

#endif /* CGROUP_H */
