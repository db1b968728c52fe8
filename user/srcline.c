// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Line tables through libdw, on an Elf that elfobj read with pread: libdw
 * never opens or maps a file here, and what it reads is sized first.
 * libdwfl is not used for this: it opens each file itself with
 * ELF_C_READ_MMAP_PRIVATE (libdwfl/open.c, __libdw_open_file, elfutils
 * 0.188), so a target that truncates its file would kill allocscope with
 * SIGBUS, and its standard debug-file search resolves paths on the host,
 * outside the target's root (elfobj__open_debug does that search here). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <elfutils/libdw.h>
#include <gelf.h>
#include "elfobj.h"
#include "srcline.h"

struct srcline {
	struct elfobj *o;
	Dwarf *dw;
};

/* The bytes libdw would hold for o's debug sections (dwarf_begin_elf reads
 * every one it knows, inflated). Compressed sections are judged by their
 * header, read from the file, before anything is inflated. */
static int check_sections(Elf *elf, bool *has_line)
{
	__u64 total = 0, size;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;
	GElf_Chdr ch;

	*has_line = false;
	if (elf_getshdrstrndx(elf, &shstrndx))
		return -ENOEXEC;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name)
			continue;
		/* The old GNU .zdebug_ form gives its size only once read. */
		if (!strncmp(name, ".zdebug_", 8))
			return -EFBIG;
		if (strncmp(name, ".debug_", 7))
			continue;
		size = sh.sh_size;
		if (size > SRCLINE_MAX_DEBUG)
			return -EFBIG;
		if (sh.sh_flags & SHF_COMPRESSED) {
			if (!gelf_getchdr(scn, &ch))
				return -EIO;
			size = ch.ch_size;
		}
		total += size;
		if (total > SRCLINE_MAX_DEBUG)
			return -EFBIG;
		if (!strcmp(name, ".debug_line") && sh.sh_size)
			*has_line = true;
	}
	return 0;
}

struct srcline *srcline__open(struct elfobj *o)
{
	struct srcline *l = calloc(1, sizeof(*l));
	bool has_line;
	int err;

	if (!l) {
		err = -ENOMEM;
		goto fail;
	}
	l->o = o;
	err = check_sections(elfobj__elf(o), &has_line);
	if (!err && !has_line)
		err = -ENOENT;
	if (err)
		goto fail;
	l->dw = dwarf_begin_elf(elfobj__elf(o), DWARF_C_READ, NULL);
	if (!l->dw) {
		err = -ENOENT;
		goto fail;
	}
	return l;
fail:
	if (l)
		srcline__free(l);
	else
		elfobj__close(o);
	errno = -err;
	return NULL;
}

void srcline__free(struct srcline *l)
{
	if (!l)
		return;
	dwarf_end(l->dw);
	elfobj__close(l->o);
	free(l);
}

/* The compile unit holding vaddr: through .debug_aranges, or, when the
 * compiler wrote none (clang), by each unit's ranges. */
static bool find_cu(Dwarf *dw, __u64 vaddr, Dwarf_Die *cu)
{
	Dwarf_CU *unit = NULL;
	Dwarf_Die sub;
	Dwarf_Half version;
	__u8 type;

	if (dwarf_addrdie(dw, vaddr, cu))
		return true;
	while (!dwarf_get_units(dw, unit, &unit, &version, &type, cu, &sub)) {
		if (dwarf_haspc(cu, vaddr) > 0)
			return true;
	}
	return false;
}

int srcline__find(struct srcline *l, __u64 vaddr, const char **file, int *line)
{
	Dwarf_Line *row;
	Dwarf_Die cu;

	if (!find_cu(l->dw, vaddr, &cu))
		return -ENOENT;
	row = dwarf_getsrc_die(&cu, vaddr);
	if (!row || dwarf_lineno(row, line) || *line <= 0)
		return -ENOENT;
	*file = dwarf_linesrc(row, NULL, NULL);
	return *file ? 0 : -ENOENT;
}
