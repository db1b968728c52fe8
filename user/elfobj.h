/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Thin libelf wrapper shared by the symbolizer and the probe planner: open an
 * ELF file, walk its function symbols, map addresses to file offsets. */
#ifndef ELFOBJ_H
#define ELFOBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

struct elfobj;

struct elf_func {
	const char *name; /* valid while the elfobj is open */
	__u64 vaddr;	  /* st_value */
	__u64 size;	  /* st_size */
	__u64 file_off;	  /* offset of vaddr in the file (via PT_LOAD) */
	bool global;	  /* STB_GLOBAL or STB_WEAK */
	bool dynamic;	  /* from .dynsym */
};

/* A PT_LOAD program header. */
struct elf_seg {
	__u64 vaddr;
	__u64 offset;
	__u64 filesz;
	__u64 memsz;
};

/* Files larger than this are refused (EFBIG): what is read from a file is
 * read into memory, never mapped (see elfobj__open_fd). */
#define ELFOBJ_MAX_SIZE (4LL << 30)
/* Sections read whole (symbol and string tables, notes): libelf allocates
 * each in full, so a target's file could otherwise cost gigabytes. The
 * largest .symtab here (libLLVM-14's debug file) is well under this. */
#define ELFOBJ_MAX_SECTION (64u << 20)
#define ELFOBJ_MAX_NOTES   (64u << 10)

/* Reads the ELF file open at fd, which it owns from then on (closed on
 * failure too). NULL and errno set on failure (ENOEXEC for a non-ELF or
 * non-regular file, EFBIG, ...). */
struct elfobj *elfobj__open_fd(int fd);
/* elfobj__open_fd of path opened O_NONBLOCK, for files allocscope names
 * itself (tests, fixtures); a target's files go through mapfile.h. */
struct elfobj *elfobj__open(const char *path);
void elfobj__close(struct elfobj *o);
/* The open file, e.g. for libdw; owned by o. */
int elfobj__fd(const struct elfobj *o);
/* The libelf handle (read with pread, ELF_C_READ), e.g. for libdw; owned by o. */
struct Elf *elfobj__elf(const struct elfobj *o);
/* ET_DYN (PIE or shared object) vs ET_EXEC. */
bool elfobj__is_dyn(const struct elfobj *o);
/* Lowest PT_LOAD p_vaddr - p_offset pair, for load-bias computation:
 * bias = vma.start - vma.offset - (p_vaddr - p_offset) of the segment holding vma.offset. */
int elfobj__vaddr_of_offset(const struct elfobj *o, __u64 file_off, __u64 *vaddr);
int elfobj__offset_of_vaddr(const struct elfobj *o, __u64 vaddr, __u64 *file_off);
/* The PT_LOAD segments in program-header order (valid while o is open), so a
 * caller can cache them and compute biases after closing the file. */
size_t elfobj__segments(const struct elfobj *o, const struct elf_seg **segs);
/* The load bias (address in the process - address in the file) of a mapping
 * of the file at start from file offset off, given the file's PT_LOAD
 * segments: the segment holding off decides. 0 or -ENOENT. */
int elfobj__bias(const struct elf_seg *segs, size_t nsegs, __u64 start, __u64 off, __u64 *bias);

/* Whether the file has a .symtab (stripped files only keep .dynsym). */
bool elfobj__has_symtab(const struct elfobj *o);
/* A *defined* STT_FUNC/STT_GNU_IFUNC symbol named name (version suffix "@..."
 * ignored), .symtab first, then .dynsym. 0 or -ENOENT. */
int elfobj__find_func(struct elfobj *o, const char *name, struct elf_func *out);
/* Calls cb for every defined function symbol of .symtab and .dynsym;
 * a non-zero return from cb stops the walk and is returned. */
int elfobj__for_each_func(struct elfobj *o, int (*cb)(const struct elf_func *f, void *ctx),
			  void *ctx);
/* A defined STT_OBJECT symbol named name, .dynsym first. 0 or -ENOENT. */
int elfobj__find_object(struct elfobj *o, const char *name, struct elf_func *out);

/* Reads len bytes at file offset off. 0 or -errno (-EIO when short). */
int elfobj__read(struct elfobj *o, __u64 off, void *buf, size_t len);
/* GNU build-id (raw bytes); returns its length, or -ENOENT. */
int elfobj__build_id(struct elfobj *o, __u8 *buf, size_t len);
/* .gnu_debuglink file name, or NULL. */
const char *elfobj__debuglink(struct elfobj *o);
/* The separate debug file (with .symtab) of o, which is mapped or found at
 * path inside the directory root ("": the host's /):
 * /usr/lib/debug/.build-id/xx/rest.debug, then the debuglink name in path's
 * directory, its .debug/ and under /usr/lib/debug/<dir>/, each resolved
 * inside root (openat2 RESOLVE_IN_ROOT). A build-id mismatch rejects a
 * candidate. NULL when none is found. */
struct elfobj *elfobj__open_debug(struct elfobj *o, const char *root, const char *path);

#endif /* ELFOBJ_H */
