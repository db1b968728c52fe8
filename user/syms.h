/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Address -> function+offset (module) for traced processes. Mappings are
 * snapshotted per process and kept after it exits; symbol tables are cached
 * per file (device, inode) and shared by every process mapping that file. */
#ifndef SYMS_H
#define SYMS_H

#include <stdbool.h>
#include <linux/types.h>

struct syms;

/* The module of code in anonymous executable memory: a JIT's. */
#define SYMS_JIT "[jit]"

struct sym_frame {
	__u64 addr;
	const char *symbol; /* demangled; "[unknown]" when no symbol covers addr */
	__u64 offset;	    /* addr - symbol start (0 when unknown) */
	const char *module; /* basename of the mapped file, "[jit]" for anonymous
			     * executable memory, "[unknown]" if unmapped */
	const char *file;   /* a Python frame's source file (symbol: its function), else NULL */
	int line;	    /* a Python frame's line, 0 when unknown */
	/* Native frames in a mapped file: where addr is in it, so that a frame
	 * without a symbol can be looked up offline (addr2line). */
	const char *path;     /* the file as the process names it, else NULL */
	const char *build_id; /* its GNU build-id in hex, else NULL */
	__u64 file_offset;    /* valid when path is set */
	/* From the DWARF line table, for return addresses: the call's line. */
	const char *src_file; /* as compiled (often absolute), else NULL */
	int src_line;
};

struct syms *syms__new(void);
void syms__free(struct syms *s);

/* (Re)reads pid's mappings from maps_path and opens their files under root
 * (e.g. "/proc/PID/root", "" for the host's /), replacing any earlier
 * snapshot of pid. 0 or -errno (-ESRCH if maps_path is gone). */
int syms__load_pid(struct syms *s, __u32 pid, const char *maps_path, const char *root);
/* Forget pid's snapshot (e.g. after exec). */
void syms__drop_pid(struct syms *s, __u32 pid);
bool syms__has_pid(const struct syms *s, __u32 pid);

/* Resolves addr in pid. is_return: addr is a return address, so the call
 * site (addr - 1) decides the function, and its source line is looked up
 * (a debug file is read on the first lookup in its module, so resolve only
 * frames that are shown). In anonymous executable memory (a JIT's code),
 * the function is named from the process's /tmp/perf-PID.map when there is
 * one. Strings stay valid until syms__free.
 * 0, or -ENOENT when addr is in no known mapping (out is still filled). */
int syms__resolve(struct syms *s, __u32 pid, __u64 addr, bool is_return, struct sym_frame *out);

#endif /* SYMS_H */
