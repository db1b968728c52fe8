// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Address -> function+offset (module): per-process snapshots of the mappings,
 * and symbol tables cached per file (device, inode) and shared between them. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "array.h"
#include "elfobj.h"
#include "jitmap.h"
#include "mapfile.h"
#include "procmaps.h"
#include "srcline.h"
#include "strpool.h"
#include "symtab.h"
#include "syms.h"
#include "path.h"

#define UNKNOWN "[unknown]"
#define ANON	"[anon]"
#define DELETED " (deleted)"
/* Line tables held open at once (each holds its debug sections in memory);
 * the least recently used is closed to make room, and read again if
 * needed. The lines already found stay interned. */
#define MAX_OPEN_LINES 8
/* Lines found per file, kept so that the frames every report shows again
 * need no open line table; past this many, lookups go to the table. */
#define MAX_MEMO_LINES 4096

/* One line lookup's result (file NULL: the table has no row there). */
struct line_memo {
	__u64 vaddr;
	const char *file; /* interned */
	int line;
};

/* One ELF file, shared by every process that maps it. */
struct symfile {
	__u64 inode;
	__u32 dev_major;
	__u32 dev_minor;
	struct elf_seg *segs;
	size_t nr_segs;
	struct symtab *symtab;
	const char *build_id; /* interned hex, or NULL */
	struct srcline *lines;
	bool no_lines;		/* neither the file nor a debug file has a line table */
	__u64 lines_use;	/* syms.lines_tick at its last use */
	struct line_memo *memo; /* sorted by vaddr */
	size_t nr_memo, memo_cap;
};

/* Per-mapping data of a snapshot, parallel to procmaps.vmas. */
struct vma_info {
	const char *module;   /* interned */
	const char *path;     /* interned, without " (deleted)"; NULL if not a file */
	struct symfile *file; /* NULL: anonymous, unreadable or not ELF */
	bool jit;	      /* executable anonymous (or memfd) memory */
	__u64 bias;	      /* runtime address - ELF vaddr */
	bool has_bias;
};

struct proc {
	__u32 pid;
	struct procmaps maps;
	struct vma_info *info;
	char *maps_path; /* to open its files again for line tables */
	char *root;
	struct jitmap *jit; /* made on the first address in JIT code */
};

struct syms {
	struct proc **procs; /* sorted by pid */
	size_t nr_procs, procs_cap;
	/* Sorted by (dev, inode). Never evicted before syms__free: the symbol
	 * names handed out point into their tables. */
	struct symfile **files;
	size_t nr_files, files_cap;
	struct strpool pool;
	size_t nr_open_lines;
	__u64 lines_tick;
};

static void symfile__free(struct symfile *sf)
{
	if (!sf)
		return;
	free(sf->segs);
	symtab__free(sf->symtab);
	srcline__free(sf->lines);
	free(sf->memo);
	free(sf);
}

static int cmp_file_key(const struct symfile *f, const struct vma *v)
{
	if (f->dev_major != v->dev_major)
		return f->dev_major < v->dev_major ? -1 : 1;
	if (f->dev_minor != v->dev_minor)
		return f->dev_minor < v->dev_minor ? -1 : 1;
	if (f->inode != v->inode)
		return f->inode < v->inode ? -1 : 1;
	return 0;
}

/* The cached file of v, or NULL with *pos where it would be inserted. */
static struct symfile *find_file(const struct syms *s, const struct vma *v, size_t *pos)
{
	size_t lo = 0, hi = s->nr_files;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_file_key(s->files[mid], v);

		if (!c)
			return s->files[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return NULL;
}

/* Opens what v maps (see mapfile.h): through map_files/ next to maps_path,
 * else v's path inside root, which must then be the very file mapped (not
 * e.g. an upgraded library, or another mount namespace's file). */
static struct elfobj *open_mapped(const struct vma *v, const char *maps_path, const char *root)
{
	struct file_id id;
	int fd = mapfile__open_maps(maps_path, root, v, &id);

	return fd < 0 ? NULL : elfobj__open_fd(fd);
}

/* o's build-id in hex, interned (NULL when it has none). */
static int intern_build_id(struct syms *s, struct elfobj *o, const char **out)
{
	char hex[2 * 64 + 1];
	__u8 id[64];
	int n = elfobj__build_id(o, id, sizeof(id)), i;

	*out = NULL;
	if (n <= 0)
		return 0;
	for (i = 0; i < n; i++)
		sprintf(hex + 2 * i, "%02x", id[i]);
	*out = strpool__intern(&s->pool, hex, 2 * n);
	return *out ? 0 : -ENOMEM;
}

/* Loads v's file into the cache. Files that cannot be opened are not
 * cached: another process (another root) may still reach them. The cache is
 * keyed by v's (device, inode), which open_mapped checked the file opened
 * against: an entry is only ever made from the file it names. */
static int add_file(struct syms *s, const struct vma *v, const char *maps_path, const char *root,
		    struct symfile **out)
{
	struct symfile *sf = NULL, **files;
	const struct elf_seg *segs;
	struct elfobj *o;
	size_t pos;
	int err = 0;

	*out = find_file(s, v, &pos);
	if (*out)
		return 0;
	o = open_mapped(v, maps_path, root);
	if (!o)
		return 0;
	files = array_grow(s->files, &s->files_cap, s->nr_files + 1, sizeof(*s->files));
	if (files)
		s->files = files;
	sf = calloc(1, sizeof(*sf));
	if (!sf || !files) {
		err = -ENOMEM;
		goto cleanup;
	}
	sf->dev_major = v->dev_major;
	sf->dev_minor = v->dev_minor;
	sf->inode = v->inode;
	sf->nr_segs = elfobj__segments(o, &segs);
	sf->segs = malloc((sf->nr_segs ? sf->nr_segs : 1) * sizeof(*segs));
	if (!sf->segs) {
		err = -ENOMEM;
		goto cleanup;
	}
	memcpy(sf->segs, segs, sf->nr_segs * sizeof(*segs));
	sf->symtab = symtab__load(o, root, v->path);
	if (!sf->symtab) {
		err = -errno;
		goto cleanup;
	}
	err = intern_build_id(s, o, &sf->build_id);
	if (err)
		goto cleanup;
	memmove(&s->files[pos + 1], &s->files[pos], (s->nr_files - pos) * sizeof(*s->files));
	s->files[pos] = sf;
	s->nr_files++;
	*out = sf;
	sf = NULL;
cleanup:
	symfile__free(sf);
	elfobj__close(o);
	return err;
}

/* Whether segment g, mapped as the kernel does (from p_offset rounded down
 * to a page), explains v; then bias = start - offset + (p_offset - p_vaddr). */
static bool seg_bias(const struct elf_seg *g, const struct vma *v, __u64 *bias)
{
	__u64 page = (__u64)sysconf(_SC_PAGESIZE);

	if (v->offset < (g->offset & ~(page - 1)) || v->offset >= g->offset + g->filesz)
		return false;
	*bias = v->start - v->offset + g->offset - g->vaddr;
	return true;
}

static bool fits_bias(const struct symfile *sf, const struct vma *v, __u64 bias)
{
	__u64 b;
	size_t k;

	for (k = 0; k < sf->nr_segs; k++) {
		if (seg_bias(&sf->segs[k], v, &b) && b == bias)
			return true;
	}
	return false;
}

/* One mapped ELF has one bias, but a file page may hold the end of one
 * PT_LOAD and the start of the next (.rodata and .data with ld's
 * -z separate-code and no RELRO), so one vma's offset can fit two segments.
 * Over a run of vmas of one file, the bias that most of them fit wins. A
 * vma that does not fit it is a mapping of the file made by the program, not
 * by the loader: node maps its own code a second time (V8's remapped
 * builtins), far from where its ET_EXEC addresses say. */
static void set_biases(struct proc *p, size_t lo, size_t hi)
{
	const struct symfile *sf = p->info[lo].file;
	size_t i, j, k, votes, best_votes = 0;
	__u64 best = 0, c;

	for (i = lo; i < hi; i++) {
		for (k = 0; k < sf->nr_segs; k++) {
			if (!seg_bias(&sf->segs[k], &p->maps.vmas[i], &c))
				continue;
			for (j = lo, votes = 0; j < hi; j++)
				votes += fits_bias(sf, &p->maps.vmas[j], c);
			if (votes > best_votes) {
				best = c;
				best_votes = votes;
			}
		}
	}
	for (i = lo; i < hi; i++) {
		p->info[i].bias = best;
		p->info[i].has_bias = fits_bias(sf, &p->maps.vmas[i], best);
		/* A mapping the loader did not make: its own bias names its
		 * bytes by their place in the file. */
		for (k = 0; k < sf->nr_segs && !p->info[i].has_bias; k++)
			p->info[i].has_bias =
				seg_bias(&sf->segs[k], &p->maps.vmas[i], &p->info[i].bias);
	}
}

static size_t path_len_of(const char *path)
{
	size_t len = strlen(path), dl = strlen(DELETED);

	if (len > dl && !strcmp(path + len - dl, DELETED))
		return len - dl;
	return len;
}

/* Module names and files for every mapping of p. Files are opened for
 * executable mappings only (code is what gets resolved); the other
 * mappings of an opened file share it. */
static int fill_info(struct syms *s, struct proc *p, const char *maps_path, const char *root)
{
	size_t i, j;
	int pass, err;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < p->maps.nr; i++) {
			const struct vma *v = &p->maps.vmas[i];
			struct vma_info *in = &p->info[i];
			size_t pos;

			if (v->path[0] != '/' || !v->inode)
				continue;
			if (pass == 0 && v->exec) {
				err = add_file(s, v, maps_path, root, &in->file);
				if (err)
					return err;
			} else if (pass == 1 && !in->file) {
				in->file = find_file(s, v, &pos);
			}
		}
	}
	for (i = 0; i < p->maps.nr; i++) {
		const struct vma *v = &p->maps.vmas[i];
		struct vma_info *in = &p->info[i];
		const char *base = path_base(v->path);

		/* Code in anonymous memory was written there: a JIT's. */
		in->jit = v->exec && (!v->path[0] || !strncmp(v->path, "[anon:", 6) ||
				      !strncmp(v->path, "/memfd:", 7));
		if (in->jit && v->path[0] != '/')
			in->module = SYMS_JIT;
		else if (!v->path[0])
			in->module = ANON;
		else
			in->module = strpool__intern(&s->pool, base, path_len_of(base));
		if (!in->module)
			return -ENOMEM;
		if (v->path[0] == '/' && v->inode) {
			in->path = strpool__intern(&s->pool, v->path, path_len_of(v->path));
			if (!in->path)
				return -ENOMEM;
		}
	}
	for (i = 0; i < p->maps.nr; i = j) {
		for (j = i + 1; j < p->maps.nr && p->info[j].file == p->info[i].file; j++)
			;
		if (p->info[i].file)
			set_biases(p, i, j);
	}
	return 0;
}

static void proc__free(struct proc *p)
{
	if (!p)
		return;
	procmaps__free(&p->maps);
	free(p->info);
	free(p->maps_path);
	free(p->root);
	jitmap__free(p->jit);
	free(p);
}

/* Index of pid in s->procs, or where it would go (*found false). */
static size_t find_proc(const struct syms *s, __u32 pid, bool *found)
{
	size_t lo = 0, hi = s->nr_procs;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->procs[mid]->pid == pid) {
			*found = true;
			return mid;
		}
		if (s->procs[mid]->pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct syms *syms__new(void)
{
	return calloc(1, sizeof(struct syms));
}

void syms__free(struct syms *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nr_procs; i++)
		proc__free(s->procs[i]);
	for (i = 0; i < s->nr_files; i++)
		symfile__free(s->files[i]);
	free(s->procs);
	free(s->files);
	strpool__free(&s->pool);
	free(s);
}

int syms__load_pid(struct syms *s, __u32 pid, const char *maps_path, const char *root)
{
	struct proc *p, **procs;
	bool found;
	size_t pos;
	FILE *f;
	int err;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->pid = pid;
	p->maps_path = strdup(maps_path);
	p->root = strdup(root ? root : "");
	if (!p->maps_path || !p->root) {
		err = -ENOMEM;
		goto cleanup;
	}
	f = fopen(maps_path, "re");
	if (!f) {
		err = errno == ENOENT ? -ESRCH : -errno;
		goto cleanup;
	}
	err = procmaps__parse(f, &p->maps);
	fclose(f);
	/* A zombie's maps file is empty: keep the snapshot taken while it ran. */
	if (!err && !p->maps.nr)
		err = -ESRCH;
	if (err)
		goto cleanup;
	p->info = calloc(p->maps.nr ? p->maps.nr : 1, sizeof(*p->info));
	if (!p->info) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = fill_info(s, p, maps_path, root ? root : "");
	if (err)
		goto cleanup;
	pos = find_proc(s, pid, &found);
	if (found) {
		proc__free(s->procs[pos]);
	} else {
		procs = array_grow(s->procs, &s->procs_cap, s->nr_procs + 1, sizeof(*s->procs));
		if (!procs) {
			err = -ENOMEM;
			goto cleanup;
		}
		s->procs = procs;
		memmove(&s->procs[pos + 1], &s->procs[pos],
			(s->nr_procs - pos) * sizeof(*s->procs));
		s->nr_procs++;
	}
	s->procs[pos] = p;
	p = NULL;
cleanup:
	proc__free(p);
	return err;
}

void syms__drop_pid(struct syms *s, __u32 pid)
{
	bool found;
	size_t pos = find_proc(s, pid, &found);

	if (!found)
		return;
	proc__free(s->procs[pos]);
	memmove(&s->procs[pos], &s->procs[pos + 1], (s->nr_procs - pos - 1) * sizeof(*s->procs));
	s->nr_procs--;
}

bool syms__has_pid(const struct syms *s, __u32 pid)
{
	bool found;

	find_proc(s, pid, &found);
	return found;
}

/* Makes room for one more open line table: the least recently used goes. */
static void evict_lines(struct syms *s)
{
	struct symfile *lru = NULL;
	size_t i;

	if (s->nr_open_lines < MAX_OPEN_LINES)
		return;
	for (i = 0; i < s->nr_files; i++) {
		if (s->files[i]->lines && (!lru || s->files[i]->lines_use < lru->lines_use))
			lru = s->files[i];
	}
	if (!lru)
		return;
	srcline__free(lru->lines);
	lru->lines = NULL;
	s->nr_open_lines--;
}

/* sf's line table, from the file p maps at v or its debug file (searched
 * inside p's root, as symtab__load does). A file that cannot be opened now
 * is tried again later; one without lines is remembered. */
static struct srcline *file_lines(struct syms *s, struct proc *p, const struct vma *v,
				  struct symfile *sf)
{
	struct elfobj *o, *dbg;
	char path[PATH_MAX];

	if (sf->lines || sf->no_lines)
		goto out;
	o = open_mapped(v, p->maps_path, p->root);
	if (!o)
		return NULL;
	evict_lines(s);
	sf->lines = srcline__open(o);
	if (!sf->lines && errno == ENOENT && (o = open_mapped(v, p->maps_path, p->root))) {
		snprintf(path, sizeof(path), "%.*s", (int)path_len_of(v->path), v->path);
		dbg = elfobj__open_debug(o, p->root, path);
		elfobj__close(o);
		sf->lines = dbg ? srcline__open(dbg) : NULL;
		if (!dbg)
			errno = ENOENT;
	}
	if (!sf->lines) {
		sf->no_lines = errno == ENOENT || errno == EFBIG;
		return NULL;
	}
	s->nr_open_lines++;
out:
	sf->lines_use = ++s->lines_tick;
	return sf->lines;
}

/* Where vaddr's memo is, or would go, in sf's memo. */
static size_t memo_at(const struct symfile *sf, __u64 vaddr)
{
	size_t lo = 0, hi = sf->nr_memo;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sf->memo[mid].vaddr < vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void memo_add(struct symfile *sf, size_t pos, const struct line_memo *m)
{
	struct line_memo *nm;

	if (sf->nr_memo >= MAX_MEMO_LINES)
		return;
	nm = array_grow(sf->memo, &sf->memo_cap, sf->nr_memo + 1, sizeof(*nm));
	if (!nm)
		return;
	sf->memo = nm;
	memmove(&nm[pos + 1], &nm[pos], (sf->nr_memo - pos) * sizeof(*nm));
	nm[pos] = *m;
	sf->nr_memo++;
}

static void find_line(struct syms *s, struct proc *p, const struct vma *v, struct symfile *sf,
		      __u64 vaddr, struct sym_frame *out)
{
	size_t pos = memo_at(sf, vaddr);
	struct line_memo m = {.vaddr = vaddr};
	struct srcline *l;
	const char *file;

	if (pos < sf->nr_memo && sf->memo[pos].vaddr == vaddr) {
		m = sf->memo[pos];
	} else {
		l = file_lines(s, p, v, sf);
		if (!l)
			return; /* not remembered: the file may open later */
		if (!srcline__find(l, vaddr, &file, &m.line))
			m.file = strpool__intern(&s->pool, file, strlen(file));
		memo_add(sf, pos, &m);
	}
	out->src_file = m.file;
	out->src_line = m.file ? m.line : 0;
}

/* Code a JIT wrote: named from the process's perf map when it has one. */
static void resolve_jit(struct syms *s, struct proc *p, __u64 pc, struct sym_frame *out)
{
	const char *name;
	__u64 start;

	if (!p->jit)
		p->jit = jitmap__new(p->maps_path, p->root, p->pid);
	if (!p->jit || jitmap__find(p->jit, pc, &name, &start))
		return;
	name = strpool__intern(&s->pool, name, strlen(name));
	if (!name)
		return;
	out->symbol = name;
	out->offset = out->addr - start;
}

int syms__resolve(struct syms *s, __u32 pid, __u64 addr, bool is_return, struct sym_frame *out)
{
	/* A return address may be the first byte after a call at the very
	 * end of a function (noreturn callee), so the call site decides. */
	__u64 pc = is_return && addr ? addr - 1 : addr;
	const struct vma_info *in;
	const struct vma *v = NULL;
	struct proc *p = NULL;
	__u64 start;
	bool found;
	size_t pos;

	*out = (struct sym_frame){.addr = addr, .symbol = UNKNOWN, .module = UNKNOWN};
	pos = find_proc(s, pid, &found);
	if (found) {
		p = s->procs[pos];
		v = procmaps__find(&p->maps, pc);
	}
	if (!v)
		return -ENOENT;
	in = &p->info[v - p->maps.vmas];
	out->module = in->module;
	if (in->path) {
		out->path = in->path;
		out->file_offset = addr - v->start + v->offset;
	}
	if (in->jit)
		resolve_jit(s, p, pc, out);
	if (!in->file || !in->has_bias)
		return 0;
	out->build_id = in->file->build_id;
	if (!symtab__find(in->file->symtab, pc - in->bias, &out->symbol, &start))
		out->offset = addr - in->bias - start;
	/* The allocator's own frame is its entry: the line of its opening
	 * brace says nothing. */
	if (is_return)
		find_line(s, p, v, in->file, pc - in->bias, out);
	return 0;
}
