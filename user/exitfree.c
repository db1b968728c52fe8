// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Thread-exit frees: glibc (2.26+) flushes a thread's tcache when the thread
 * ends (start_thread -> __libc_thread_freeres -> tcache_thread_shutdown),
 * calling __libc_free on each cached chunk: ~7 per size class used, blocks
 * the program freed long before. They look like frees of untracked blocks. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <elf.h>

#include "elfobj.h"
#include "exitfree.h"

/* glibc 2.32+ checks each cached chunk's alignment in the flush and names
 * the flush when one is not aligned; the code loading this message is the
 * flush. Files larger than this are not searched (glibc's is ~2 MiB). */
#define FLUSH_MSG  "tcache_thread_shutdown(): unaligned tcache chunk detected"
#define SCAN_MAX   (64u << 20)
#define LEA_RIP_SZ 7 /* REX.W 8d modrm(rip) disp32 */

/* Static functions: in .symtab only, which distributions strip into the
 * debug file (Debian: libc6-dbg). The second is where the first is inlined. */
static const char *const shutdown_fns[] = {"tcache_thread_shutdown",
					   "__malloc_arena_thread_freeres"};

static void find_in(struct elfobj *sym, struct elfobj *o, struct exitfree *out)
{
	struct elf_func f;

	for (size_t i = 0; i < sizeof(shutdown_fns) / sizeof(shutdown_fns[0]); i++) {
		__u64 off;

		if (out->nr >= AS_EXIT_FREE_RANGES || elfobj__find_func(sym, shutdown_fns[i], &f) ||
		    !f.size || elfobj__offset_of_vaddr(o, f.vaddr, &off))
			continue;
		out->off[out->nr] = off;
		out->len[out->nr++] = f.size;
	}
}

/* .eh_frame_hdr's table as GNU ld writes it: (initial location, FDE) pairs
 * of 4-byte values relative to the table's section, sorted by location. */
#define EH_PE_UDATA4	     0x03
#define EH_PE_DATAREL_SDATA4 0x3b

/* From the start of the function (FDE) holding vaddr to the start of the
 * next one, by the sorted table of .eh_frame_hdr, in the file read into
 * buf. 0 or -ENOENT. */
static int fde_bounds(const __u8 *buf, size_t len, __u64 vaddr, __u64 *start, __u64 *end)
{
	const Elf64_Ehdr *eh = (const void *)buf;
	const Elf64_Phdr *ph = NULL;
	const __u8 *hdr;
	__u32 count;
	size_t lo = 0, hi;

	if (len < sizeof(*eh) || eh->e_phentsize != sizeof(*ph) || eh->e_phoff > len ||
	    eh->e_phnum > (len - eh->e_phoff) / sizeof(*ph))
		return -ENOENT;
	for (size_t i = 0; i < eh->e_phnum && !ph; i++) {
		const Elf64_Phdr *p = (const void *)(buf + eh->e_phoff + i * sizeof(*p));

		if (p->p_type == PT_GNU_EH_FRAME)
			ph = p;
	}
	if (!ph || ph->p_offset > len || ph->p_filesz > len - ph->p_offset || ph->p_filesz < 12)
		return -ENOENT;
	hdr = buf + ph->p_offset;
	memcpy(&count, hdr + 8, sizeof(count));
	if (hdr[0] != 1 || hdr[2] != EH_PE_UDATA4 || hdr[3] != EH_PE_DATAREL_SDATA4 || count < 2 ||
	    count > (ph->p_filesz - 12) / 8)
		return -ENOENT;
	/* The last entry whose location is <= vaddr, and the one after it. */
	hi = count;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		__s32 loc;

		memcpy(&loc, hdr + 12 + mid * 8, sizeof(loc));
		if (ph->p_vaddr + loc <= vaddr)
			lo = mid;
		else
			hi = mid;
	}
	if (lo + 1 >= count)
		return -ENOENT;
	for (size_t i = 0; i < 2; i++) {
		__s32 loc;

		memcpy(&loc, hdr + 12 + (lo + i) * 8, sizeof(loc));
		*(i ? end : start) = ph->p_vaddr + loc;
	}
	return *start <= vaddr && vaddr < *end ? 0 : -ENOENT;
}

/* The address of the first `lea reg, [rip + disp]` in buf loading target. */
static int find_lea(struct elfobj *o, const __u8 *buf, size_t len, __u64 target, __u64 *at)
{
	for (size_t i = 0; i + LEA_RIP_SZ <= len; i++) {
		__s32 disp;
		__u64 va;

		/* REX.W (and REX.R for r8-r15), opcode 8d, mod 00 rm 101. */
		if ((buf[i] & 0xfb) != 0x48 || buf[i + 1] != 0x8d || (buf[i + 2] & 0xc7) != 0x05)
			continue;
		memcpy(&disp, buf + i + 3, sizeof(disp));
		if (!elfobj__vaddr_of_offset(o, i, &va) && va + LEA_RIP_SZ + disp == target) {
			*at = va;
			return 0;
		}
	}
	return -ENOENT;
}

/* Without symbols: the function that loads FLUSH_MSG, bounded by its FDE. */
static void find_by_message(struct elfobj *o, int fd, struct exitfree *out)
{
	__u64 msg_va, lea_va, start, end, off;
	struct stat st;
	__u8 *buf = NULL, *msg;

	if (fstat(fd, &st) || st.st_size <= 0 || (__u64)st.st_size > SCAN_MAX)
		return;
	buf = malloc(st.st_size);
	if (!buf || elfobj__read(o, 0, buf, st.st_size))
		goto out;
	msg = memmem(buf, st.st_size, FLUSH_MSG, sizeof(FLUSH_MSG)); /* with its NUL */
	if (!msg || elfobj__vaddr_of_offset(o, msg - buf, &msg_va) ||
	    find_lea(o, buf, st.st_size, msg_va, &lea_va) ||
	    fde_bounds(buf, st.st_size, lea_va, &start, &end) ||
	    elfobj__offset_of_vaddr(o, start, &off))
		goto out;
	out->off[0] = off;
	out->len[0] = end - start;
	out->nr = 1;
out:
	free(buf);
}

int exitfree__find(int fd, const char *root, const char *path, struct exitfree *out)
{
	struct elfobj *o, *dbg = NULL;
	struct elf_func f;
	int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	out->nr = 0;
	if (own < 0)
		return -errno;
	o = elfobj__open_fd(own);
	if (!o)
		return -errno;
	/* glibc's own alias of free: no other allocator is looked into. */
	if (elfobj__find_func(o, "__libc_free", &f))
		goto out;
	if (elfobj__has_symtab(o))
		find_in(o, o, out);
	if (!out->nr) {
		dbg = elfobj__open_debug(o, root, path);
		if (dbg)
			find_in(dbg, o, out);
	}
	if (!out->nr)
		find_by_message(o, fd, out);
out:
	elfobj__close(dbg);
	elfobj__close(o);
	return 0;
}

void exitfree__pcs(const struct exitfree *ef, const struct procmaps *maps, struct file_id id,
		   struct exit_free_pcs *pcs, size_t *n)
{
	for (size_t i = 0; i < ef->nr; i++) {
		for (size_t j = 0; j < maps->nr && *n < AS_EXIT_FREE_RANGES; j++) {
			const struct vma *v = &maps->vmas[j];

			if (!v->exec || !file_id__eq(procmaps__file_id(v), id) ||
			    ef->off[i] < v->offset || ef->off[i] - v->offset >= v->end - v->start)
				continue;
			pcs->lo[*n] = v->start + (ef->off[i] - v->offset);
			pcs->hi[*n] = pcs->lo[*n] + ef->len[i];
			(*n)++;
			break;
		}
	}
}
