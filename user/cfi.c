// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Compiles an ELF file's CFI into sorted unwind rows: each FDE's program runs
 * once (cfiprog.c), and the rules the BPF walker can follow become unw_rows.
 * The file is untrusted: what is read, inflated and built is capped (cfi.h). */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "cfi.h"
#include "cfiprog.h"

struct range {
	__u64 lo, hi;
};

/* A CIE, with its initial state once an FDE needed it. */
struct cie {
	Dwarf_Off off; /* section offset */
	struct cfiprog_cie info;
	bool sized;		     /* 'z': FDEs carry an augmentation length */
	int fde_aug;		     /* else the bytes of their augmentation data */
	const __u8 *init, *init_end; /* initial instructions */
	int state;		     /* 0: not run yet, 1: ok, -1: malformed */
	struct cfiprog_state initial;
};

/* An FDE covering executable code; its program is [insn, end) of the section. */
struct fde {
	__u32 lo, hi;
	__u32 cie;	 /* index in cies */
	__u32 insn, end; /* offsets in the section; insn > end: malformed */
};

/* One CFI section being compiled. */
struct builder {
	Elf_Data *data;
	__u64 sh_addr;	    /* address of the section, for pc-relative pointers */
	bool eh;	    /* .eh_frame (else .debug_frame) */
	struct range *exec; /* executable PT_LOAD ranges of the file */
	size_t nexec;
	const atomic_bool *cancel;
	struct cie *cies; /* in section order */
	size_t ncies, cies_cap;
	struct fde *fdes;
	size_t nfdes, fdes_cap;
	struct unw_row *rows;
	size_t nr, rows_cap;
	size_t pushed; /* rows offered, merged or not: paces the cancel checks */
	struct cfi_stats stats;
};

static bool cancelled(const struct builder *b)
{
	return b->cancel && atomic_load_explicit(b->cancel, memory_order_relaxed);
}

/* Reads a CIE's augmentation as libdw's cie.c does (a "z" string may carry
 * letters it does not know; .debug_frame signal frames say "S"), so both
 * find the same FDE addresses and instructions. */
static void parse_augmentation(struct cie *c, const Dwarf_CIE *e)
{
	const __u8 *p = e->augmentation_data;
	const __u8 *end = p + e->augmentation_data_size;
	const char *a;
	int size;

	c->info.enc = DW_EH_PE_absptr;
	for (a = e->augmentation; *a; a++) {
		switch (*a) {
		case 'z':
			c->sized = true;
			continue;
		case 'S':
			c->info.signal = true;
			continue;
		case 'R':
			c->info.enc = p < end ? *p++ : -1;
			continue;
		case 'L': /* the LSDA's encoding byte: FDEs hold a pointer */
			size = p < end ? cfiprog__pointer_size(*p++) : -1;
			c->fde_aug += size > 0 ? size : 0;
			continue;
		case 'P': /* encoding byte, then a pointer in that encoding */
			size = p < end ? cfiprog__pointer_size(*p) : -1;
			if (size < 0) {
				c->info.enc = -1;
				return;
			}
			p += 1 + size;
			continue;
		default:
			if (c->sized)
				continue;
		}
		break;
	}
}

static int add_cie(struct builder *b, Dwarf_Off off, const Dwarf_CIE *e)
{
	struct cie *c;

	if (b->ncies == CFI_MAX_CIES)
		return -EOVERFLOW;
	c = array_grow(b->cies, &b->cies_cap, b->ncies + 1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	b->cies = c;
	c = &b->cies[b->ncies++];
	*c = (struct cie){
		.off = off,
		.info = {.code_align = e->code_alignment_factor,
			 .data_align = e->data_alignment_factor,
			 .ra_reg = e->return_address_register},
		.init = e->initial_instructions,
		.init_end = e->initial_instructions_end,
	};
	parse_augmentation(c, e);
	return 0;
}

/* The index of the CIE at off (CIEs precede their FDEs in practice), or -1. */
static long find_cie(const struct builder *b, Dwarf_Off off)
{
	size_t lo = 0, hi = b->ncies;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->cies[mid].off == off)
			return mid;
		if (b->cies[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Where the FDE's instructions start, past its augmentation data; NULL
 * when that overruns the FDE (then no address of it has a rule). */
static const __u8 *fde_instructions(const struct cie *c, const __u8 *p, const __u8 *end)
{
	__u64 len = 0;
	unsigned int shift = 0;

	if (!c->sized)
		return end - p >= c->fde_aug ? p + c->fde_aug : NULL;
	for (;;) {
		if (p >= end)
			return NULL;
		len |= shift < 64 ? (__u64)(*p & 0x7f) << shift : 0;
		shift += 7;
		if (!(*p++ & 0x80))
			break;
	}
	return len <= (__u64)(end - p) ? p + len : NULL;
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

/* Records the FDE when it covers executable code. FDEs of code the linker
 * discarded keep address 0 in .debug_frame: they are left out by the same
 * test. */
static int add_fde(struct builder *b, const Dwarf_FDE *e)
{
	const __u8 *p = e->start, *base = b->data->d_buf, *insn;
	long ci = find_cie(b, e->CIE_pointer);
	__u64 lo, len;
	struct fde *f;
	int enc;

	enc = ci < 0 ? -1 : b->cies[ci].info.enc;
	if (enc < 0 || enc == DW_EH_PE_omit)
		return 0;
	if (cfiprog__read_pointer(&p, e->end, enc, b->sh_addr + (p - base), &lo) ||
	    cfiprog__read_pointer(&p, e->end, enc & 0x0f, 0, &len))
		return 0;
	if (!len || !in_exec(b, lo))
		return 0;
	if (len > UINT32_MAX || lo > UINT32_MAX - len)
		return -E2BIG;
	if (b->nfdes == CFI_MAX_FDES)
		return -EOVERFLOW;
	f = array_grow(b->fdes, &b->fdes_cap, b->nfdes + 1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	b->fdes = f;
	insn = fde_instructions(&b->cies[ci], p, e->end);
	b->fdes[b->nfdes++] = (struct fde){
		.lo = lo,
		.hi = lo + len,
		.cie = ci,
		.insn = insn ? insn - base : 1,
		.end = insn ? e->end - base : 0,
	};
	return 0;
}
static int cmp_fde(const void *a, const void *b)
{
	const struct fde *x = a, *y = b;

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
	size_t n;
	int ret, err;

	for (n = 0;; n++) {
		if (n % 4096 == 0 && cancelled(b))
			return -ECANCELED;
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
	if (b->nfdes)
		qsort(b->fdes, b->nfdes, sizeof(*b->fdes), cmp_fde);
	return 0;
}

static bool same_rule(const struct unw_row *a, const struct unw_row *b)
{
	return a->kind == b->kind && a->cfa_off == b->cfa_off && a->rbp_off8 == b->rbp_off8;
}

/* Appends r unless the previous row already says the same. */
static int push_row(struct builder *b, struct unw_row r)
{
	struct unw_row *rows;

	if (++b->pushed % 4096 == 0 && cancelled(b))
		return -ECANCELED;
	if (b->nr && same_rule(&b->rows[b->nr - 1], &r))
		return 0;
	if (b->nr == CFI_MAX_ROWS)
		return -EOVERFLOW;
	rows = array_grow(b->rows, &b->rows_cap, b->nr + 1, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	b->rows = rows;
	b->rows[b->nr++] = r;
	return 0;
}

struct fde_run {
	struct builder *b;
	const struct cie *cie;
	bool first;
};

/* A row of the FDE's program; s NULL: no rule from pc on. */
static int fde_row(void *ctx, __u64 pc, const struct cfiprog_state *s)
{
	struct fde_run *run = ctx;
	struct unw_row r = {.pc = pc, .kind = UNW_CFA_UNSUP};

	if (s)
		r = cfiprog__row(s, &run->cie->info, pc);
	if (s && run->first && run->cie->info.signal)
		run->b->stats.signal_frames++;
	run->first = false;
	if (UNW_ROW_CFA(&r) == UNW_CFA_UNSUP)
		run->b->stats.unsupported++;
	return push_row(run->b, r);
}

/* Rows for [fde->lo, fde->hi), then a NONE row at hi that the next FDE
 * replaces when it starts there. An FDE starting inside the previous one
 * takes over from its start. */
static int compile_fde(struct builder *b, const struct fde *fde)
{
	const __u8 *sec = b->data->d_buf;
	struct cie *c = &b->cies[fde->cie];
	struct fde_run run = {.b = b, .cie = c, .first = true};
	struct cfiprog p = {.sec = sec, .sec_addr = b->sh_addr, .cie = &c->info};
	int err;

	while (b->nr && b->rows[b->nr - 1].pc >= fde->lo)
		b->nr--;
	if (!c->state) {
		/* Run once per CIE: the state every FDE of it starts from. */
		cfiprog__abi_state(&c->initial);
		c->state = cfiprog__run_cie(&p, c->init, c->init_end, &c->initial) ? -1 : 1;
	}
	p.initial = &c->initial;
	if (c->state < 0 || fde->insn > fde->end)
		err = fde_row(&run, fde->lo, NULL);
	else
		err = cfiprog__run_fde(&p, sec + fde->insn, sec + fde->end, fde->lo, fde->hi,
				       fde_row, &run);
	b->stats.fdes++;
	if (err)
		return err;
	return push_row(b, (struct unw_row){.pc = fde->hi, .kind = UNW_CFA_NONE});
}

/* The section called name; -EFBIG when it is larger than we read. */
static int find_section(Elf *elf, const char *name, Elf_Scn **out, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return -ENOENT;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, sh) || sh->sh_type == SHT_NOBITS || !sh->sh_size)
			continue;
		n = elf_strptr(elf, shstrndx, sh->sh_name);
		if (!n || strcmp(n, name))
			continue;
		*out = scn;
		return sh->sh_size > CFI_MAX_SECTION ? -EFBIG : 0;
	}
	return -ENOENT;
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

/* The section's bytes (read, never mapped: the file may shrink under us),
 * inflated when compressed, if its compression header promises no more
 * than CFI_MAX_SECTION. */
static int read_section(struct builder *b, Elf_Scn *scn, const GElf_Shdr *sh)
{
	GElf_Chdr ch;

	if (sh->sh_flags & SHF_COMPRESSED) {
		if (!gelf_getchdr(scn, &ch))
			return -EIO;
		if (ch.ch_size > CFI_MAX_SECTION)
			return -EFBIG;
		if (elf_compress(scn, 0, 0) < 0)
			return -EINVAL;
	}
	b->data = elf_getdata(scn, NULL);
	if (!b->data || !b->data->d_buf)
		return -EIO; /* a short read: the file changed */
	if (b->data->d_size > CFI_MAX_SECTION || b->data->d_size >= UINT32_MAX)
		return -EFBIG;
	b->sh_addr = sh->sh_addr;
	return 0;
}

static int open_section(struct builder *b, Elf *elf, const char *name)
{
	Elf_Scn *scn;
	GElf_Shdr sh;
	int err;

	err = find_section(elf, name, &scn, &sh);
	if (!err)
		err = read_section(b, scn, &sh);
	b->eh = !err && !strcmp(name, ".eh_frame");
	return err;
}

static int compile(struct builder *b, Elf *elf)
{
	size_t i;
	int err;

	err = collect_fdes(b, elf);
	for (i = 0; !err && i < b->nfdes; i++)
		err = cancelled(b) ? -ECANCELED : compile_fde(b, &b->fdes[i]);
	if (!err && !b->stats.fdes)
		err = -ENOENT;
	return err;
}

/* libelf reads what it is asked for with pread (ELF_C_READ): a file that
 * is truncated meanwhile gives a read error, never a SIGBUS. */
static Elf *open_elf(int fd, int *err)
{
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	size_t n;

	*err = 0;
	if (!elf || elf_kind(elf) != ELF_K_ELF)
		*err = -ENOEXEC;
	else if (elf_getshdrnum(elf, &n))
		*err = -ENOEXEC;
	else if (n > CFI_MAX_SECTIONS)
		*err = -EFBIG;
	return elf;
}

int cfi_table__build(int fd, int debug_fd, const atomic_bool *cancel, struct cfi_table *out)
{
	Elf *elf, *delf = NULL, *src;
	struct builder b = {.cancel = cancel};
	int err;

	memset(out, 0, sizeof(*out));
	elf_version(EV_CURRENT);
	src = elf = open_elf(fd, &err);
	if (!err)
		err = read_exec_ranges(&b, elf);
	if (!err)
		err = open_section(&b, elf, ".eh_frame");
	if (err == -ENOENT)
		err = open_section(&b, elf, ".debug_frame");
	if (err == -ENOENT && debug_fd >= 0) {
		src = delf = open_elf(debug_fd, &err);
		if (!err)
			err = open_section(&b, delf, ".debug_frame");
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
	elf_end(delf);
	elf_end(elf);
	free(b.rows);
	free(b.fdes);
	free(b.cies);
	free(b.exec);
	return err;
}

const char *cfi_table__strerror(int err)
{
	switch (err) {
	case -EFBIG:
		return "a CFI section over " CFI_MAX_SECTION_STR
		       " (inflated), or too many sections";
	case -EOVERFLOW:
		return "more rows, FDEs or CIEs than the caps (cfi.h)";
	case -E2BIG:
		return "code above 4 GiB";
	case -ECANCELED:
		return "cancelled";
	case -ENOENT:
		return "no CFI";
	default:
		return strerror(-err);
	}
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
