// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Thread-exit frees: glibc (2.26+) flushes a thread's tcache when the thread
 * ends (start_thread -> __libc_thread_freeres -> tcache_thread_shutdown),
 * calling __libc_free on each cached chunk: ~7 per size class used, blocks
 * the program freed long before. They look like frees of untracked blocks. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "elfobj.h"
#include "exitfree.h"

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
