// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "procmem.h"
#include "pylayout.h"
#include "pyline.h"
#include "pyname.h"
#include "log.h"
#include "pysym.h"

#define STR_BYTES   (PYNAME_CHARS * 4) /* the widest str data read for a name */
#define TABLE_MAX   (1 << 20)	       /* longest line table read */
#define OB_TYPE_OFF 8
/* Memory budgets: whatever a target's code objects hold, allocscope's copies
 * stay under these. Names: ~13K names of PYNAME_MAX bytes, far more of real
 * length. Code cache: the line tables kept; over budget it is emptied and
 * filled again as frames come. Stacks: ~40K stacks of 16 frames. */
#define NAMES_BUDGET  (4u << 20)
#define CODES_BUDGET  (8u << 20)
#define STACKS_BUDGET (16u << 20)

/* Frames that are not named say why, rather than guess. */
#define NO_FILE	   "?"
#define UNREADABLE "[unreadable code object]"
#define NAMES_FULL "[not named: Python name cache full]"

/* A code object as last read; reused while its fields still match. Names
 * point into the pool (or at a label), shared by every frame of the code. */
struct code_entry {
	__u64 addr;
	__u64 filename, name, linetable; /* the objects it pointed to */
	int firstlineno;
	const char *file, *function;
	__u8 *table;
	size_t tlen;
};

struct stack_entry {
	__u64 id;
	struct py_frame *frames; /* one per pcs word; names shared, never owned */
	__u32 nr;
};

struct py_pid {
	__u32 pid;
	struct pyproc pp;
	enum pyline_format fmt;
	struct code_entry *codes; /* sorted by addr */
	size_t ncodes, codes_cap;
	struct stack_entry *stacks; /* sorted by id */
	size_t nstacks, stacks_cap;
};

struct pysym {
	struct py_pid **pids;
	size_t npids, pids_cap;
	struct pynames *names;
	size_t code_bytes, stack_bytes; /* counted against the budgets */
	__u64 reads, hits, code_flushes, stacks_unnamed;
	bool said_names, said_codes, said_stacks; /* each limit is told once */
};

struct pysym *pysym__new(void)
{
	struct pysym *s = calloc(1, sizeof(struct pysym));

	if (s)
		s->names = pynames__new(NAMES_BUDGET);
	if (s && !s->names) {
		free(s);
		return NULL;
	}
	return s;
}

static size_t code_cost(const struct code_entry *c)
{
	return sizeof(*c) + c->tlen;
}

static size_t stack_cost(const struct stack_entry *st)
{
	return sizeof(*st) + st->nr * sizeof(*st->frames);
}

static void free_pid(struct pysym *s, struct py_pid *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->ncodes; i++) {
		s->code_bytes -= code_cost(&p->codes[i]);
		free(p->codes[i].table);
	}
	for (size_t i = 0; i < p->nstacks; i++) {
		s->stack_bytes -= stack_cost(&p->stacks[i]);
		free(p->stacks[i].frames);
	}
	free(p->codes);
	free(p->stacks);
	free(p);
}

void pysym__free(struct pysym *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->npids; i++)
		free_pid(s, s->pids[i]);
	free(s->pids);
	pynames__free(s->names);
	free(s);
}

static struct py_pid *find_pid(const struct pysym *s, __u32 pid, size_t *at)
{
	size_t i;

	for (i = 0; i < s->npids; i++)
		if (s->pids[i]->pid == pid)
			break;
	if (at)
		*at = i;
	return i < s->npids ? s->pids[i] : NULL;
}

int pysym__add_pid(struct pysym *s, __u32 pid, const struct pyproc *pp)
{
	struct py_pid *p, **grown;

	pysym__drop_pid(s, pid);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->pid = pid;
	p->pp = *pp;
	if (pyline__format(pp->major, pp->minor, &p->fmt)) {
		free(p);
		return -ENOTSUP;
	}
	grown = array_grow(s->pids, &s->pids_cap, s->npids + 1, sizeof(*grown));
	if (!grown) {
		free(p);
		return -ENOMEM;
	}
	s->pids = grown;
	s->pids[s->npids++] = p;
	return 0;
}

void pysym__drop_pid(struct pysym *s, __u32 pid)
{
	size_t at;
	struct py_pid *p = find_pid(s, pid, &at);

	if (!p)
		return;
	free_pid(s, p);
	s->pids[at] = s->pids[--s->npids];
}

const struct pyproc *pysym__proc(const struct pysym *s, __u32 pid)
{
	struct py_pid *p = find_pid(s, pid, NULL);

	return p ? &p->pp : NULL;
}

/* Index of the first element of a sorted u64-keyed array not below key. */
#define LOWER_BOUND(arr, n, field, key)                                                            \
	({                                                                                         \
		size_t lo_ = 0, hi_ = (n);                                                         \
		while (lo_ < hi_) {                                                                \
			size_t mid_ = (lo_ + hi_) / 2;                                             \
			if ((arr)[mid_].field < (key))                                             \
				lo_ = mid_ + 1;                                                    \
			else                                                                       \
				hi_ = mid_;                                                        \
		}                                                                                  \
		lo_;                                                                               \
	})

static __u64 field_ptr(const __u8 *head, __u16 off)
{
	__u64 v;

	memcpy(&v, head + off, sizeof(v));
	return v;
}

/* A str object's text, cut to PYNAME_MAX bytes of UTF-8 (compact objects
 * only: every code object's names are). Reads at most STR_BYTES of its data,
 * whatever length it claims. -EFAULT when it cannot be read. */
static int read_str(pid_t pid, const struct py_layout *l, __u64 addr, char out[PYNAME_MAX + 1])
{
	__u8 head[PY_STR_HEAD], raw[STR_BYTES];
	__u64 length;
	__u32 state, kind;
	size_t n, width;

	/* pylayout__check keeps the str fields inside head */
	if (!addr || procmem__read(pid, addr, head, l->unicode_ascii_data))
		return -EFAULT;
	memcpy(&length, head + 16, sizeof(length));
	memcpy(&state, head + l->unicode_state, sizeof(state));
	kind = (state >> 2) & 7;
	if (!((state >> 5) & 1)) /* not compact */
		return -EFAULT;
	width = (state >> 6) & 1 ? 1 : kind;
	if (width != 1 && width != 2 && width != 4)
		return -EFAULT;
	n = length < PYNAME_CHARS ? length : PYNAME_CHARS;
	if (procmem__read(
		    pid,
		    addr + ((state >> 6) & 1 ? l->unicode_ascii_data : l->unicode_compact_data),
		    raw, n * width))
		return -EFAULT;
	pyname__utf8(out, raw, n, width, length > n);
	return 0;
}

static __u8 *read_bytes(pid_t pid, const struct py_layout *l, __u64 addr, size_t *len)
{
	__u64 size;
	__u8 *buf;

	if (!addr || procmem__read(pid, addr + l->bytes_size, &size, sizeof(size)) ||
	    size > TABLE_MAX)
		return NULL;
	buf = malloc(size ? size : 1);
	if (buf && procmem__read(pid, addr + l->bytes_data, buf, size)) {
		free(buf);
		return NULL;
	}
	*len = size;
	return buf;
}

/* The pool's copy of name, or NULL when the pool is full. */
static const char *keep_name(struct pysym *s, const char *name)
{
	const char *kept = pynames__intern(s->names, name);
	struct pynames_stats st;

	if (kept)
		return kept;
	if (!s->said_names) {
		pynames__stats(s->names, &st);
		log_msg("Python name cache full (%zu names, %zu KiB): "
			"frames of code read from now on are shown as %s\n",
			st.names, st.bytes >> 10, NAMES_FULL);
		s->said_names = true;
	}
	return NULL;
}

/* Reads the code object at addr into c; 0 or -errno. */
static int read_code(struct pysym *s, pid_t pid, const struct pyproc *pp, __u64 addr,
		     const __u8 *head, struct code_entry *c)
{
	const struct py_layout *l = &pp->layout;
	__u16 qual = l->code_qualname != AS_PY_NONE ? l->code_qualname : l->code_name;
	char file[PYNAME_MAX + 1], function[PYNAME_MAX + 1];

	memset(c, 0, sizeof(*c));
	c->addr = addr;
	c->filename = field_ptr(head, l->code_filename);
	c->name = field_ptr(head, l->code_name);
	c->linetable = field_ptr(head, l->code_linetable);
	memcpy(&c->firstlineno, head + l->code_firstlineno, sizeof(int));
	if (read_str(pid, l, c->filename, file) ||
	    read_str(pid, l, field_ptr(head, qual), function))
		return -EFAULT;
	c->table = read_bytes(pid, l, c->linetable, &c->tlen);
	if (!c->table)
		return -EFAULT;
	c->file = keep_name(s, file);
	c->function = c->file ? keep_name(s, function) : NULL;
	if (!c->function) { /* the line is still right */
		c->file = NO_FILE;
		c->function = NAMES_FULL;
	}
	return 0;
}

/* Empties every process's code cache: the names stay in the pool, only the
 * line tables go, and are read again as frames need them. */
static void flush_codes(struct pysym *s)
{
	for (size_t i = 0; i < s->npids; i++) {
		struct py_pid *p = s->pids[i];

		for (size_t j = 0; j < p->ncodes; j++)
			free(p->codes[j].table);
		p->ncodes = 0;
	}
	s->code_bytes = 0;
	s->code_flushes++;
	if (!s->said_codes)
		log_msg("Python code cache passed %u MiB: emptied, "
			"code objects are read again as needed\n",
			CODES_BUDGET >> 20);
	s->said_codes = true;
}

/* The code object at addr, read now and checked against the cached copy. */
static struct code_entry *code_at(struct pysym *s, struct py_pid *p, __u64 addr)
{
	const struct py_layout *l = &p->pp.layout;
	size_t at = LOWER_BOUND(p->codes, p->ncodes, addr, addr);
	struct code_entry *c = at < p->ncodes && p->codes[at].addr == addr ? &p->codes[at] : NULL;
	struct code_entry fresh, *grown;
	__u8 head[PY_CODE_HEAD];
	int firstlineno;

	/* pylayout__check keeps every code field inside head */
	if (procmem__read(p->pid, addr, head, sizeof(head)) ||
	    (p->pp.code_type && field_ptr(head, OB_TYPE_OFF) != p->pp.code_type))
		return NULL;
	memcpy(&firstlineno, head + l->code_firstlineno, sizeof(int));
	if (c && c->filename == field_ptr(head, l->code_filename) &&
	    c->name == field_ptr(head, l->code_name) &&
	    c->linetable == field_ptr(head, l->code_linetable) && c->firstlineno == firstlineno) {
		s->hits++;
		return c;
	}
	s->reads++;
	if (read_code(s, p->pid, &p->pp, addr, head, &fresh))
		return NULL;
	if (c) { /* freed and reused since: a different function now */
		s->code_bytes -= code_cost(c);
		free(c->table);
		memmove(c, c + 1, (p->ncodes - at - 1) * sizeof(*c));
		p->ncodes--;
	}
	if (s->code_bytes + code_cost(&fresh) > CODES_BUDGET)
		flush_codes(s);
	grown = array_grow(p->codes, &p->codes_cap, p->ncodes + 1, sizeof(*grown));
	if (!grown) {
		free(fresh.table);
		return NULL;
	}
	p->codes = grown;
	at = LOWER_BOUND(p->codes, p->ncodes, addr, addr);
	memmove(&p->codes[at + 1], &p->codes[at], (p->ncodes - at) * sizeof(*grown));
	p->codes[at] = fresh;
	p->ncodes++;
	s->code_bytes += code_cost(&fresh);
	return &p->codes[at];
}

static void name_frame(struct pysym *s, struct py_pid *p, __u64 word, struct py_frame *f)
{
	struct code_entry *c = code_at(s, p, AS_PY_FRAME_CODE(word));
	int line = 0;

	if (!c) {
		f->file = NO_FILE;
		f->function = UNREADABLE;
		return;
	}
	if (pyline__line(p->fmt, c->table, c->tlen, c->firstlineno, AS_PY_FRAME_OFF(word), &line))
		line = c->firstlineno;
	f->file = c->file;
	f->function = c->function;
	f->line = line;
}

const struct py_frame *pysym__stack(struct pysym *s, __u32 pid, __u64 stack_id,
				    const struct stack_trace *st)
{
	struct py_pid *p = find_pid(s, pid, NULL);
	struct stack_entry e = {.id = stack_id}, *grown;
	size_t at;

	if (!p)
		return NULL;
	at = LOWER_BOUND(p->stacks, p->nstacks, id, stack_id);
	if (at < p->nstacks && p->stacks[at].id == stack_id)
		return p->stacks[at].frames;
	e.nr = st->nr < AS_MAX_FRAMES ? st->nr : AS_MAX_FRAMES;
	if (s->stack_bytes + stack_cost(&e) > STACKS_BUDGET) {
		if (!s->said_stacks)
			log_msg("Python stack names passed %u MiB: Python frames "
				"of newer stacks are shown as %s\n",
				STACKS_BUDGET >> 20, PYSYM_UNNAMED);
		s->said_stacks = true;
		s->stacks_unnamed++;
		return NULL;
	}
	e.frames = calloc(e.nr ? e.nr : 1, sizeof(*e.frames));
	grown = array_grow(p->stacks, &p->stacks_cap, p->nstacks + 1, sizeof(*grown));
	if (!e.frames || !grown) {
		free(e.frames);
		return NULL;
	}
	p->stacks = grown;
	for (__u32 i = 0; i < e.nr; i++)
		if (st->pcs[i] & AS_PY_FRAME_BIT)
			name_frame(s, p, st->pcs[i], &e.frames[i]);
	memmove(&p->stacks[at + 1], &p->stacks[at], (p->nstacks - at) * sizeof(*grown));
	p->stacks[at] = e;
	p->nstacks++;
	s->stack_bytes += stack_cost(&e);
	return e.frames;
}

void pysym__stats(const struct pysym *s, struct pysym_stats *out)
{
	struct pynames_stats names;

	pynames__stats(s->names, &names);
	*out = (struct pysym_stats){.reads = s->reads,
				    .hits = s->hits,
				    .names = names.names,
				    .name_bytes = names.bytes,
				    .names_refused = names.refused,
				    .code_bytes = s->code_bytes,
				    .code_flushes = s->code_flushes,
				    .stack_bytes = s->stack_bytes,
				    .stacks_unnamed = s->stacks_unnamed};
}
