// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Thin libelf wrapper: function symbols of .symtab/.dynsym, file offset <->
 * virtual address through PT_LOAD segments, build-id and debuglink. */
#define _GNU_SOURCE /* O_PATH */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "elfobj.h"
#include "mapfile.h"
#include "path.h"

#define BUILD_ID_MAX 64

struct elfobj {
	int fd;
	Elf *elf;
	GElf_Half type;
	struct elf_seg *segs; /* PT_LOAD, in program-header order */
	size_t nr_segs;
};

static int read_segments(struct elfobj *o)
{
	size_t i, n;
	GElf_Phdr ph;

	if (elf_getphdrnum(o->elf, &n))
		return -ENOEXEC;
	o->segs = calloc(n ? n : 1, sizeof(*o->segs));
	if (!o->segs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(o->elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		o->segs[o->nr_segs++] = (struct elf_seg){
			.vaddr = ph.p_vaddr,
			.offset = ph.p_offset,
			.filesz = ph.p_filesz,
			.memsz = ph.p_memsz,
		};
	}
	return 0;
}

struct elfobj *elfobj__open_fd(int fd)
{
	struct elfobj *o;
	struct stat st;
	GElf_Ehdr eh;
	int err;

	o = calloc(1, sizeof(*o));
	if (!o) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	o->fd = fd;
	if (fstat(o->fd, &st)) {
		err = -errno;
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	if (st.st_size > ELFOBJ_MAX_SIZE) {
		err = -EFBIG;
		goto cleanup;
	}
	/* elf_version() must run before any other libelf call; it is cheap
	 * and idempotent, so no process-wide init is needed. */
	elf_version(EV_CURRENT);
	/* ELF_C_READ, not ELF_C_READ_MMAP: the target may write the file, and
	 * a mapping of a file truncated under us faults with SIGBUS where
	 * pread just comes back short. libelf bounds every section by the
	 * size fstat gave it. */
	o->elf = elf_begin(o->fd, ELF_C_READ, NULL);
	if (!o->elf || elf_kind(o->elf) != ELF_K_ELF || !gelf_getehdr(o->elf, &eh)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	o->type = eh.e_type;
	err = read_segments(o);
	if (err)
		goto cleanup;
	return o;
cleanup:
	elfobj__close(o);
	errno = -err;
	return NULL;
}

struct elfobj *elfobj__open(const char *path)
{
	/* O_NONBLOCK: a FIFO at path must not hang us; only regular files
	 * are read. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	return fd < 0 ? NULL : elfobj__open_fd(fd);
}

void elfobj__close(struct elfobj *o)
{
	if (!o)
		return;
	elf_end(o->elf);
	if (o->fd >= 0)
		close(o->fd);
	free(o->segs);
	free(o);
}

bool elfobj__is_dyn(const struct elfobj *o)
{
	return o->type == ET_DYN;
}

int elfobj__fd(const struct elfobj *o)
{
	return o->fd;
}

struct Elf *elfobj__elf(const struct elfobj *o)
{
	return o->elf;
}

size_t elfobj__segments(const struct elfobj *o, const struct elf_seg **segs)
{
	*segs = o->segs;
	return o->nr_segs;
}

int elfobj__bias(const struct elf_seg *segs, size_t nsegs, __u64 start, __u64 off, __u64 *bias)
{
	for (size_t i = 0; i < nsegs; i++) {
		if (off >= segs[i].offset && off < segs[i].offset + segs[i].filesz) {
			*bias = start - (segs[i].vaddr + (off - segs[i].offset));
			return 0;
		}
	}
	return -ENOENT;
}

int elfobj__vaddr_of_offset(const struct elfobj *o, __u64 file_off, __u64 *vaddr)
{
	size_t i;

	for (i = 0; i < o->nr_segs; i++) {
		const struct elf_seg *s = &o->segs[i];

		if (file_off >= s->offset && file_off < s->offset + s->filesz) {
			*vaddr = file_off - s->offset + s->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

int elfobj__offset_of_vaddr(const struct elfobj *o, __u64 vaddr, __u64 *file_off)
{
	size_t i;

	for (i = 0; i < o->nr_segs; i++) {
		const struct elf_seg *s = &o->segs[i];

		if (vaddr >= s->vaddr && vaddr < s->vaddr + s->filesz) {
			*file_off = vaddr - s->vaddr + s->offset;
			return 0;
		}
	}
	return -ENOENT;
}

static Elf_Scn *find_section(Elf *elf, GElf_Word type, const char *name)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, &sh) || (type != SHT_NULL && sh.sh_type != type))
			continue;
		n = name ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;
		if (!name || (n && !strcmp(n, name)))
			return scn;
	}
	return NULL;
}

bool elfobj__has_symtab(const struct elfobj *o)
{
	return find_section(o->elf, SHT_SYMTAB, NULL) != NULL;
}

/* scn's data, or NULL when it is larger than a section may be read whole. */
static Elf_Data *bounded_data(Elf_Scn *scn, size_t max)
{
	GElf_Shdr sh;

	if (!scn || !gelf_getshdr(scn, &sh) || sh.sh_size > max)
		return NULL;
	return elf_getdata(scn, NULL);
}

/* Walks the defined function (or, with objects, data object) symbols of the
 * first section of type (SHT_SYMTAB or SHT_DYNSYM); stops at and returns
 * cb's first non-zero result. */
static int walk_syms(struct elfobj *o, GElf_Word type, bool objects,
		     int (*cb)(const struct elf_func *f, void *ctx), void *ctx)
{
	Elf_Scn *scn = find_section(o->elf, type, NULL);
	struct elf_func f;
	Elf_Data *data;
	GElf_Shdr sh;
	GElf_Sym sym;
	size_t i, n;
	int err;

	/* Debug files made by --only-keep-debug keep a .dynsym header whose
	 * data is gone (SHT_NOBITS or empty), so the data is checked too. */
	if (!scn || !gelf_getshdr(scn, &sh) || !sh.sh_entsize)
		return 0;
	data = bounded_data(scn, ELFOBJ_MAX_SECTION);
	/* elf_strptr reads the whole string table: bounded the same way. */
	if (!data || !data->d_buf ||
	    !bounded_data(elf_getscn(o->elf, sh.sh_link), ELFOBJ_MAX_SECTION))
		return 0;
	n = sh.sh_size / sh.sh_entsize;
	for (i = 0; i < n; i++) {
		int st;

		if (!gelf_getsym(data, i, &sym) || sym.st_shndx == SHN_UNDEF)
			continue;
		st = GELF_ST_TYPE(sym.st_info);
		if (objects ? st != STT_OBJECT : st != STT_FUNC && st != STT_GNU_IFUNC)
			continue;
		f.name = elf_strptr(o->elf, sh.sh_link, sym.st_name);
		if (!f.name || !f.name[0])
			continue;
		f.vaddr = sym.st_value;
		f.size = sym.st_size;
		if (elfobj__offset_of_vaddr(o, f.vaddr, &f.file_off))
			f.file_off = 0;
		f.global = GELF_ST_BIND(sym.st_info) == STB_GLOBAL ||
			   GELF_ST_BIND(sym.st_info) == STB_WEAK;
		f.dynamic = type == SHT_DYNSYM;
		err = cb(&f, ctx);
		if (err)
			return err;
	}
	return 0;
}

int elfobj__for_each_func(struct elfobj *o, int (*cb)(const struct elf_func *f, void *ctx),
			  void *ctx)
{
	int err = walk_syms(o, SHT_SYMTAB, false, cb, ctx);

	return err ? err : walk_syms(o, SHT_DYNSYM, false, cb, ctx);
}

struct find_ctx {
	const char *name;
	size_t len;
	struct elf_func *out;
};

/* Returns 1 (stop) on a match. */
static int match_func(const struct elf_func *f, void *ctx)
{
	struct find_ctx *c = ctx;

	/* .symtab may spell versioned definitions "name@VER" or "name@@VER". */
	if (strncmp(f->name, c->name, c->len) || (f->name[c->len] && f->name[c->len] != '@'))
		return 0;
	*c->out = *f;
	return 1;
}

int elfobj__find_func(struct elfobj *o, const char *name, struct elf_func *out)
{
	struct find_ctx c = {.name = name, .len = strcspn(name, "@"), .out = out};

	return elfobj__for_each_func(o, match_func, &c) == 1 ? 0 : -ENOENT;
}

int elfobj__find_object(struct elfobj *o, const char *name, struct elf_func *out)
{
	struct find_ctx c = {.name = name, .len = strcspn(name, "@"), .out = out};

	if (walk_syms(o, SHT_DYNSYM, true, match_func, &c) == 1 ||
	    walk_syms(o, SHT_SYMTAB, true, match_func, &c) == 1)
		return 0;
	return -ENOENT;
}

int elfobj__read(struct elfobj *o, __u64 off, void *buf, size_t len)
{
	ssize_t n = pread(o->fd, buf, len, off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* Copies the GNU build-id out of one note block; its length or -ENOENT. */
static int note_build_id(Elf_Data *data, __u8 *buf, size_t len)
{
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nh;

	while (data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
		const char *name = (const char *)data->d_buf + name_off;

		if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 || memcmp(name, "GNU", 4))
			continue;
		if (nh.n_descsz > len)
			return -ENOSPC;
		memcpy(buf, (const char *)data->d_buf + desc_off, nh.n_descsz);
		return nh.n_descsz;
	}
	return -ENOENT;
}

int elfobj__build_id(struct elfobj *o, __u8 *buf, size_t len)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Phdr ph;
	size_t i, n;
	int ret;

	/* Sections first: a debug file keeps .note.gnu.build-id but its
	 * PT_NOTE headers point at data that is no longer in the file. */
	while ((scn = elf_nextscn(o->elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		ret = note_build_id(bounded_data(scn, ELFOBJ_MAX_NOTES), buf, len);
		if (ret != -ENOENT)
			return ret;
	}
	if (elf_getphdrnum(o->elf, &n))
		return -ENOENT;
	for (i = 0; i < n; i++) {
		Elf_Data *d;

		if (!gelf_getphdr(o->elf, i, &ph) || ph.p_type != PT_NOTE ||
		    ph.p_filesz > ELFOBJ_MAX_NOTES)
			continue;
		d = elf_getdata_rawchunk(o->elf, ph.p_offset, ph.p_filesz,
					 ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		ret = note_build_id(d, buf, len);
		if (ret != -ENOENT)
			return ret;
	}
	return -ENOENT;
}

const char *elfobj__debuglink(struct elfobj *o)
{
	Elf_Scn *scn = find_section(o->elf, SHT_NULL, ".gnu_debuglink");
	Elf_Data *d = bounded_data(scn, ELFOBJ_MAX_NOTES);

	/* Name, NUL, padding to 4, then a CRC32 we do not check: build-ids
	 * are compared by the caller when both files have one. */
	if (!d || !d->d_buf || !d->d_size || !memchr(d->d_buf, '\0', d->d_size))
		return NULL;
	return ((const char *)d->d_buf)[0] ? d->d_buf : NULL;
}

/* o's counterpart at path (inside root_fd) if it has the symbols and, when
 * both files carry one, the same build-id. */
static struct elfobj *try_debug(int root_fd, const char *path, const __u8 *id, int id_len)
{
	int fd = mapfile__open_in(root_fd, path);
	struct elfobj *d = fd < 0 ? NULL : elfobj__open_fd(fd);
	__u8 did[BUILD_ID_MAX];
	int n;

	if (!d)
		return NULL;
	if (!elfobj__has_symtab(d))
		goto reject;
	n = id_len > 0 ? elfobj__build_id(d, did, sizeof(did)) : -ENOENT;
	if (n > 0 && (n != id_len || memcmp(did, id, n)))
		goto reject;
	return d;
reject:
	elfobj__close(d);
	return NULL;
}

/* The places gdb searches ("Separate Debug Files" in its manual). objcopy
 * --add-gnu-debuglink records only the basename, so an absolute link is
 * also tried by its basename in the debuglink directories. Every candidate
 * is resolved inside root: a container's symlink to /etc/shadow names its
 * own /etc/shadow, never the host's. */
struct elfobj *elfobj__open_debug(struct elfobj *o, const char *root, const char *path)
{
	static const char *const fmts[] = {"%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s"};
	const char *link = elfobj__debuglink(o), *base, *slash = strrchr(path, '/');
	char buf[PATH_MAX], hex[2 * BUILD_ID_MAX + 1];
	int id_len, i, root_fd, dir_len = slash ? (int)(slash - path) : 0;
	__u8 id[BUILD_ID_MAX];
	struct elfobj *d = NULL;

	root_fd = open(root && root[0] ? root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return NULL;
	id_len = elfobj__build_id(o, id, sizeof(id));
	if (id_len > 1) {
		for (i = 0; i < id_len; i++)
			sprintf(hex + 2 * i, "%02x", id[i]);
		if (snprintf(buf, sizeof(buf), "/usr/lib/debug/.build-id/%.2s/%s.debug", hex,
			     hex + 2) < (int)sizeof(buf))
			d = try_debug(root_fd, buf, id, id_len);
	}
	if (d || !link)
		goto out;
	if (link[0] == '/')
		d = try_debug(root_fd, link, id, id_len);
	base = path_base(link);
	for (i = 0; !d && i < (int)(sizeof(fmts) / sizeof(fmts[0])); i++) {
		if (snprintf(buf, sizeof(buf), fmts[i], dir_len, path, base) < (int)sizeof(buf))
			d = try_debug(root_fd, buf, id, id_len);
	}
out:
	close(root_fd);
	return d;
}
