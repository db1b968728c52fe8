// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Compiles an ELF file's CFI into sorted unwind rows: libdw evaluates each
 * row of each FDE, and the rules the BPF walker can follow become unw_rows. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "cfi.h"

/* x86-64 DWARF register numbers (psABI figure 3.36). */
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA	16

/* Pointer encodings (LSB 5.0, "DWARF Exception Header Encoding"). */
#define PE_ABSPTR 0x00
#define PE_UDATA2 0x02
#define PE_UDATA4 0x03
#define PE_UDATA8 0x04
#define PE_SDATA2 0x0a
#define PE_SDATA4 0x0b
#define PE_SDATA8 0x0c
#define PE_PCREL  0x10
#define PE_OMIT	  0xff

struct range {
	__u64 lo, hi;
};

struct cie_enc {
	Dwarf_Off off; /* section offset of the CIE */
	int enc;       /* its FDEs' pointer encoding, -1 when we cannot read it */
};

/* One CFI section being compiled. */
struct builder {
	Dwarf_CFI *cfi;
	Elf_Data *data;
	__u64 sh_addr;	    /* address of the section, for pc-relative pointers */
	bool eh;	    /* .eh_frame (else .debug_frame) */
	struct range *exec; /* executable PT_LOAD ranges of the file */
	size_t nexec;
	struct cie_enc *cies; /* in section order */
	size_t ncies, cies_cap;
	struct range *fdes;
	size_t nfdes, fdes_cap;
	struct unw_row *rows;
	size_t nr, rows_cap;
	struct cfi_stats stats;
};

/* Bytes of a pointer in encoding enc, or -1 for the variable-length ones. */
static int pointer_size(int enc)
{
	switch (enc & 0x0f) {
	case PE_UDATA2:
	case PE_SDATA2:
		return 2;
	case PE_UDATA4:
	case PE_SDATA4:
		return 4;
	case PE_ABSPTR: /* x86-64 only: 8-byte addresses */
	case PE_UDATA8:
	case PE_SDATA8:
		return 8;
	default:
		return -1;
	}
}

/* The FDE pointer encoding of a CIE: its 'R' augmentation, else absolute.
 * The augmentation is read the way libdw's cie.c reads it (a "z" string may
 * carry letters it does not know; .debug_frame signal frames say "S"), so
 * both find the same FDE addresses. -1 when the encoding cannot be read. */
static int cie_encoding(const Dwarf_CIE *cie)
{
	const __u8 *p = cie->augmentation_data;
	const __u8 *end = p + cie->augmentation_data_size;
	bool sized = false;
	const char *a;
	int size;

	for (a = cie->augmentation; *a; a++) {
		switch (*a) {
		case 'z':
			sized = true;
			continue;
		case 'S':
			continue;
		case 'R':
			return p < end ? *p : -1;
		case 'L':
			p++;
			continue;
		case 'P': /* encoding byte, then a pointer in that encoding */
			size = p < end ? pointer_size(*p) : -1;
			if (size < 0)
				return -1;
			p += 1 + size;
			continue;
		default:
			if (sized)
				continue;
		}
		break;
	}
	return PE_ABSPTR;
}

/* Reads one pointer of encoding enc at *p; pc is the address of *p. */
static int read_pointer(const __u8 **p, const __u8 *end, int enc, __u64 pc, __u64 *val)
{
	int size = pointer_size(enc);
	__s64 v;

	if (size < 0 || (enc & 0x70 && (enc & 0x70) != PE_PCREL))
		return -ENOTSUP; /* textrel, datarel, funcrel: not used for x86-64 FDEs */
	if (end - *p < size)
		return -EINVAL;
	if (size == 2) {
		__u16 u;

		memcpy(&u, *p, 2);
		v = (enc & 0x0f) == PE_SDATA2 ? (__s64)(__s16)u : (__s64)u;
	} else if (size == 4) {
		__u32 u;

		memcpy(&u, *p, 4);
		v = (enc & 0x0f) == PE_SDATA4 ? (__s64)(__s32)u : (__s64)u;
	} else {
		memcpy(&v, *p, 8);
	}
	*p += size;
	*val = (enc & 0x70) == PE_PCREL ? (__u64)v + pc : (__u64)v;
	return 0;
}

static bool in_exec(const struct builder *b, __u64 addr)
{
	size_t i;

	for (i = 0; i < b->nexec; i++) {
		if (addr >= b->exec[i].lo && addr < b->exec[i].hi)
			return true;
	}
	return false;
}

static int add_cie(struct builder *b, Dwarf_Off off, const Dwarf_CIE *cie)
{
	struct cie_enc *c = array_grow(b->cies, &b->cies_cap, b->ncies + 1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	b->cies = c;
	b->cies[b->ncies++] = (struct cie_enc){.off = off, .enc = cie_encoding(cie)};
	return 0;
}

/* The encoding of the CIE at off (CIEs precede their FDEs in practice), or -1. */
static int find_cie_enc(const struct builder *b, Dwarf_Off off)
{
	size_t lo = 0, hi = b->ncies;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->cies[mid].off == off)
			return b->cies[mid].enc;
		if (b->cies[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Records the FDE's address range when it covers executable code. FDEs of
 * code the linker discarded keep address 0 in .debug_frame: they are left
 * out by the same test. */
static int add_fde(struct builder *b, const Dwarf_FDE *fde)
{
	const __u8 *p = fde->start, *base = b->data->d_buf;
	int enc = find_cie_enc(b, fde->CIE_pointer);
	__u64 lo, len;
	struct range *r;

	if (enc < 0 || enc == PE_OMIT)
		return 0;
	if (read_pointer(&p, fde->end, enc, b->sh_addr + (p - base), &lo) ||
	    read_pointer(&p, fde->end, enc & 0x0f, 0, &len))
		return 0;
	if (!len || !in_exec(b, lo))
		return 0;
	if (len > UINT32_MAX || lo > UINT32_MAX - len)
		return -E2BIG;
	r = array_grow(b->fdes, &b->fdes_cap, b->nfdes + 1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	b->fdes = r;
	b->fdes[b->nfdes++] = (struct range){.lo = lo, .hi = lo + len};
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return 0;
}

/* Every FDE of the section that covers executable code, sorted by start. */
static int collect_fdes(struct builder *b, Elf *elf)
{
	const unsigned char *ident = (const unsigned char *)elf_getident(elf, NULL);
	Dwarf_Off off = 0, next;
	Dwarf_CFI_Entry e;
	int ret, err;

	for (;;) {
		next = off;
		ret = dwarf_next_cfi(ident, b->data, b->eh, off, &next, &e);
		if (ret == 1)
			break;
		if (ret == 0) {
			err = dwarf_cfi_cie_p(&e) ? add_cie(b, off, &e.cie) : add_fde(b, &e.fde);
			if (err)
				return err;
		}
		/* A malformed entry is skipped when its length was readable. */
		if (next == (Dwarf_Off)-1 || next <= off)
			break;
		off = next;
	}
	qsort(b->fdes, b->nfdes, sizeof(*b->fdes), cmp_range);
	return 0;
}

/* Whether ops locate CFA + *k: libdw spells "saved at CFA+k" that way for
 * DW_CFA_offset and for an expression saying the same. */
static bool cfa_slot(const Dwarf_Op *ops, size_t n, __s64 *k)
{
	if (!ops || !n || n > 2 || ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	if (n == 1) {
		*k = 0;
		return true;
	}
	if (ops[1].atom != DW_OP_plus_uconst)
		return false;
	*k = (__s64)ops[1].number;
	return true;
}

/* The PLT stubs' rule (GCC/binutils): CFA = rsp + 8 + ((rip & 15) >= N) << 3. */
static int compile_plt(const Dwarf_Op *ops, __s16 *off)
{
	static const __u8 shape[9] = {DW_OP_breg7, DW_OP_breg16, DW_OP_lit15, DW_OP_and, DW_OP_lit0,
				      DW_OP_ge,	   DW_OP_lit3,	 DW_OP_shl,   DW_OP_plus};
	size_t i;

	for (i = 0; i < 9; i++) {
		if (i == 4 ? ops[i].atom < DW_OP_lit0 || ops[i].atom > DW_OP_lit15
			   : ops[i].atom != shape[i])
			return UNW_CFA_UNSUP;
	}
	if (ops[0].number != 8 || ops[1].number != 0)
		return UNW_CFA_UNSUP;
	*off = ops[4].atom - DW_OP_lit0;
	return UNW_CFA_PLT;
}

/* The CFA rule as an enum unw_cfa, its offset in *off. */
static int compile_cfa(Dwarf_Frame *f, __s16 *off)
{
	__u64 reg;
	size_t n;
	Dwarf_Op *ops;
	__s64 v;

	if (dwarf_frame_cfa(f, &ops, &n) || !n)
		return UNW_CFA_UNSUP;
	if (n == 9)
		return compile_plt(ops, off);
	/* DW_CFA_def_cfa comes back as DW_OP_bregx; an expression of one
	 * DW_OP_bregN says the same. */
	if (n != 1)
		return UNW_CFA_UNSUP;
	if (ops[0].atom == DW_OP_bregx) {
		reg = ops[0].number;
		v = (__s64)ops[0].number2;
	} else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
		reg = ops[0].atom - DW_OP_breg0;
		v = (__s64)ops[0].number;
	} else {
		return UNW_CFA_UNSUP;
	}
	if (reg != REG_RSP && reg != REG_RBP)
		return UNW_CFA_UNSUP;
	if (v >= INT16_MIN && v <= INT16_MAX) {
		*off = v;
		return reg == REG_RSP ? UNW_CFA_RSP : UNW_CFA_RBP;
	}
	/* Frames of 32 KiB and more: rsp-based ones in 8-byte units. */
	if (reg == REG_RSP && v % 8 == 0 && v / 8 >= INT16_MIN && v / 8 <= INT16_MAX) {
		*off = v / 8;
		return UNW_CFA_RSP8;
	}
	return UNW_CFA_UNSUP;
}

/* The caller's rbp as an enum unw_rbp (offset in *off8), or -1. */
static int compile_rbp(Dwarf_Frame *f, __s8 *off8)
{
	Dwarf_Op mem[3], *ops;
	size_t n;
	__s64 k;

	if (dwarf_frame_register(f, REG_RBP, mem, &ops, &n))
		return -1;
	/* libdw: no ops and ops == NULL is "same value" (also the x86-64 ABI
	 * default for rbp); no ops and ops == mem is "undefined". */
	if (!n)
		return ops == mem ? UNW_RBP_UNDEF : UNW_RBP_SAME;
	if (!cfa_slot(ops, n, &k) || k % 8 || k / 8 < INT8_MIN || k / 8 > INT8_MAX)
		return -1;
	*off8 = k / 8;
	return UNW_RBP_CFA;
}

/* 0 when the return address is at CFA-8, 1 when it is undefined (the
 * outermost frame), -1 for any other rule. */
static int ra_rule(Dwarf_Frame *f)
{
	Dwarf_Op mem[3], *ops;
	size_t n;
	__s64 k;

	if (dwarf_frame_register(f, REG_RA, mem, &ops, &n))
		return -1;
	if (!n)
		return ops == mem ? 1 : -1;
	return cfa_slot(ops, n, &k) && k == -8 ? 0 : -1;
}

static struct unw_row compile_frame(Dwarf_Frame *f, int ra_reg, bool signal, __u32 pc)
{
	struct unw_row r = {.pc = pc, .kind = UNW_CFA_UNSUP};
	int ra = ra_reg == REG_RA ? ra_rule(f) : -1;
	int cfa, rbp;

	if (signal || ra < 0)
		return r;
	if (ra == 1) {
		r.kind = UNW_ROW_KIND(UNW_CFA_END, UNW_RBP_SAME);
		return r;
	}
	cfa = compile_cfa(f, &r.cfa_off);
	rbp = compile_rbp(f, &r.rbp_off8);
	if (cfa == UNW_CFA_UNSUP || rbp < 0)
		return (struct unw_row){.pc = pc, .kind = UNW_CFA_UNSUP};
	r.kind = UNW_ROW_KIND(cfa, rbp);
	return r;
}

static bool same_rule(const struct unw_row *a, const struct unw_row *b)
{
	return a->kind == b->kind && a->cfa_off == b->cfa_off && a->rbp_off8 == b->rbp_off8;
}

/* Appends r unless the previous row already says the same. */
static int push_row(struct builder *b, struct unw_row r)
{
	struct unw_row *rows;

	if (b->nr && same_rule(&b->rows[b->nr - 1], &r))
		return 0;
	rows = array_grow(b->rows, &b->rows_cap, b->nr + 1, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	b->rows = rows;
	b->rows[b->nr++] = r;
	return 0;
}

/* Rows for [fde->lo, fde->hi), then a NONE row at hi that the next FDE
 * replaces when it starts there. An FDE starting inside the previous one
 * takes over from its start. */
static int compile_fde(struct builder *b, const struct range *fde)
{
	__u64 addr = fde->lo;
	int err = 0;

	while (b->nr && b->rows[b->nr - 1].pc >= fde->lo)
		b->nr--;
	while (!err && addr < fde->hi) {
		struct unw_row r = {.pc = addr, .kind = UNW_CFA_UNSUP};
		Dwarf_Addr start, end = fde->hi;
		Dwarf_Frame *f;
		bool signal = false;
		int ra_reg;

		/* libdw replays the FDE's program up to addr and reports the
		 * row holding addr as [start, end). */
		if (dwarf_cfi_addrframe(b->cfi, addr, &f) == 0) {
			ra_reg = dwarf_frame_info(f, &start, &end, &signal);
			r = compile_frame(f, ra_reg, signal, addr);
			free(f);
		}
		if (signal && addr == fde->lo)
			b->stats.signal_frames++;
		if (UNW_ROW_CFA(&r) == UNW_CFA_UNSUP)
			b->stats.unsupported++;
		err = push_row(b, r);
		addr = end > addr && end < fde->hi ? end : fde->hi;
	}
	b->stats.fdes++;
	if (err)
		return err;
	return push_row(b, (struct unw_row){.pc = fde->hi, .kind = UNW_CFA_NONE});
}

static Elf_Scn *find_section(Elf *elf, const char *name, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, sh) || sh->sh_type == SHT_NOBITS || !sh->sh_size)
			continue;
		n = elf_strptr(elf, shstrndx, sh->sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

static int read_exec_ranges(struct builder *b, Elf *elf)
{
	size_t i, n;
	GElf_Phdr ph;

	if (elf_getphdrnum(elf, &n))
		return -ENOEXEC;
	b->exec = calloc(n ? n : 1, sizeof(*b->exec));
	if (!b->exec)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
			b->exec[b->nexec++] = (struct range){ph.p_vaddr, ph.p_vaddr + ph.p_memsz};
	}
	return 0;
}

/* libdw reads .eh_frame through the section headers, as we do. */
static int open_eh_frame(struct builder *b, Elf *elf)
{
	Elf_Scn *scn;
	GElf_Shdr sh;

	scn = find_section(elf, ".eh_frame", &sh);
	if (!scn)
		return -ENOENT;
	b->data = elf_getdata(scn, NULL);
	b->cfi = b->data ? dwarf_getcfi_elf(elf) : NULL;
	if (!b->cfi)
		return -ENOENT;
	b->sh_addr = sh.sh_addr;
	b->eh = true;
	return 0;
}

static int open_debug_frame(struct builder *b, Elf *elf, Dwarf **dw)
{
	Elf_Scn *scn;
	GElf_Shdr sh;

	scn = find_section(elf, ".debug_frame", &sh);
	if (!scn)
		return -ENOENT;
	/* Decompressed before libdw opens it, so both read the same bytes. */
	if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
		return -EINVAL;
	*dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	b->cfi = *dw ? dwarf_getcfi(*dw) : NULL;
	b->data = elf_getdata(scn, NULL);
	if (!b->cfi || !b->data) {
		dwarf_end(*dw);
		*dw = NULL;
		return -ENOENT;
	}
	b->sh_addr = sh.sh_addr;
	return 0;
}

static int compile(struct builder *b, Elf *elf)
{
	size_t i;
	int err;

	err = collect_fdes(b, elf);
	for (i = 0; !err && i < b->nfdes; i++)
		err = compile_fde(b, &b->fdes[i]);
	if (!err && !b->stats.fdes)
		err = -ENOENT;
	return err;
}

int cfi_table__build(int fd, int debug_fd, struct cfi_table *out)
{
	Elf *elf, *delf = NULL, *src;
	struct builder b = {};
	Dwarf *dw = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	elf_version(EV_CURRENT);
	src = elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto cleanup;
	}
	err = read_exec_ranges(&b, elf);
	if (!err)
		err = open_eh_frame(&b, elf);
	if (err == -ENOENT)
		err = open_debug_frame(&b, elf, &dw);
	if (err == -ENOENT && debug_fd >= 0) {
		src = delf = elf_begin(debug_fd, ELF_C_READ_MMAP, NULL);
		err = delf ? open_debug_frame(&b, delf, &dw) : -ENOEXEC;
	}
	if (!err)
		err = compile(&b, src);
	if (err)
		goto cleanup;
	out->rows = b.rows;
	out->nr = b.nr;
	out->stats = b.stats;
	out->stats.rows = b.nr;
	out->from_debug_frame = !b.eh;
	b.rows = NULL;
cleanup:
	if (b.eh)
		dwarf_cfi_end(b.cfi);
	dwarf_end(dw);
	elf_end(delf);
	elf_end(elf);
	free(b.rows);
	free(b.fdes);
	free(b.cies);
	free(b.exec);
	return err;
}

void cfi_table__free(struct cfi_table *t)
{
	if (!t)
		return;
	free(t->rows);
	t->rows = NULL;
	t->nr = 0;
}

const struct unw_row *cfi_table__find(const struct cfi_table *t, __u32 pc)
{
	size_t lo = 0, hi = t->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->rows[mid].pc <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &t->rows[lo - 1] : NULL;
}
