// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "procmem.h"
#include "pyline.h"
#include "pysym.h"

#define CODE_HEAD   256	      /* bytes of a code object covering every field read */
#define STR_MAX	    4096      /* longest file or function name read */
#define TABLE_MAX   (1 << 20) /* longest line table read */
#define OB_TYPE_OFF 8

/* A code object as last read; reused while its fields still match. */
struct code_entry {
	__u64 addr;
	__u64 filename, name, linetable; /* the objects it pointed to */
	int firstlineno;
	char *file, *function;
	__u8 *table;
	size_t tlen;
};

struct stack_entry {
	__u64 id;
	struct py_frame *frames; /* one per pcs word; strings owned here */
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
	__u64 reads, hits;
};

struct pysym *pysym__new(void)
{
	return calloc(1, sizeof(struct pysym));
}

static void free_code(struct code_entry *c)
{
	free(c->file);
	free(c->function);
	free(c->table);
}

static void free_stack(struct stack_entry *st)
{
	for (__u32 i = 0; i < st->nr; i++) {
		free((char *)st->frames[i].file);
		free((char *)st->frames[i].function);
	}
	free(st->frames);
}

static void free_pid(struct py_pid *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->ncodes; i++)
		free_code(&p->codes[i]);
	for (size_t i = 0; i < p->nstacks; i++)
		free_stack(&p->stacks[i]);
	free(p->codes);
	free(p->stacks);
	free(p);
}

void pysym__free(struct pysym *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->npids; i++)
		free_pid(s->pids[i]);
	free(s->pids);
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
	free_pid(p);
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

static void put_utf8(char *out, size_t *n, __u32 c)
{
	if (c < 0x80) {
		out[(*n)++] = c;
	} else if (c < 0x800) {
		out[(*n)++] = 0xc0 | c >> 6;
		out[(*n)++] = 0x80 | (c & 0x3f);
	} else if (c < 0x10000) {
		out[(*n)++] = 0xe0 | c >> 12;
		out[(*n)++] = 0x80 | ((c >> 6) & 0x3f);
		out[(*n)++] = 0x80 | (c & 0x3f);
	} else {
		out[(*n)++] = 0xf0 | c >> 18;
		out[(*n)++] = 0x80 | ((c >> 12) & 0x3f);
		out[(*n)++] = 0x80 | ((c >> 6) & 0x3f);
		out[(*n)++] = 0x80 | (c & 0x3f);
	}
}

/* A str object as UTF-8 (compact objects only: every code object's names
 * are). NULL when it cannot be read. */
static char *read_str(pid_t pid, const struct py_layout *l, __u64 addr)
{
	__u8 head[64];
	__u64 length;
	__u32 state, kind;
	size_t n = 0, width;
	__u8 *raw = NULL;
	char *out = NULL;

	if (!addr || l->unicode_ascii_data > sizeof(head) ||
	    procmem__read(pid, addr, head, l->unicode_ascii_data))
		return NULL;
	memcpy(&length, head + 16, sizeof(length));
	memcpy(&state, head + l->unicode_state, sizeof(state));
	kind = (state >> 2) & 7;
	if (length > STR_MAX || !((state >> 5) & 1)) /* not compact */
		return NULL;
	width = (state >> 6) & 1 ? 1 : kind;
	if (width != 1 && width != 2 && width != 4)
		return NULL;
	raw = malloc(length * width + 1);
	out = malloc(length * 4 + 1);
	if (!raw || !out ||
	    procmem__read(
		    pid,
		    addr + ((state >> 6) & 1 ? l->unicode_ascii_data : l->unicode_compact_data),
		    raw, length * width)) {
		free(raw);
		free(out);
		return NULL;
	}
	for (size_t i = 0; i < length; i++) {
		__u32 c = width == 1 ? raw[i] : width == 2 ? ((__u16 *)raw)[i] : ((__u32 *)raw)[i];

		put_utf8(out, &n, c);
	}
	out[n] = '\0';
	free(raw);
	return out;
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

/* Reads the code object at addr into c; 0 or -errno. */
static int read_code(pid_t pid, const struct pyproc *pp, __u64 addr, const __u8 *head,
		     struct code_entry *c)
{
	const struct py_layout *l = &pp->layout;
	__u16 qual = l->code_qualname != AS_PY_NONE ? l->code_qualname : l->code_name;

	memset(c, 0, sizeof(*c));
	c->addr = addr;
	c->filename = field_ptr(head, l->code_filename);
	c->name = field_ptr(head, l->code_name);
	c->linetable = field_ptr(head, l->code_linetable);
	memcpy(&c->firstlineno, head + l->code_firstlineno, sizeof(int));
	c->file = read_str(pid, l, c->filename);
	c->function = read_str(pid, l, field_ptr(head, qual));
	c->table = read_bytes(pid, l, c->linetable, &c->tlen);
	if (!c->file || !c->function || !c->table) {
		free_code(c);
		return -EFAULT;
	}
	return 0;
}

/* The code object at addr, read now and checked against the cached copy. */
static struct code_entry *code_at(struct pysym *s, struct py_pid *p, __u64 addr)
{
	const struct py_layout *l = &p->pp.layout;
	size_t at = LOWER_BOUND(p->codes, p->ncodes, addr, addr);
	struct code_entry *c = at < p->ncodes && p->codes[at].addr == addr ? &p->codes[at] : NULL;
	struct code_entry fresh, *grown;
	__u8 head[CODE_HEAD];
	int firstlineno;

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
	if (read_code(p->pid, &p->pp, addr, head, &fresh))
		return NULL;
	if (c) { /* freed and reused since: a different function now */
		free_code(c);
		*c = fresh;
		return c;
	}
	grown = array_grow(p->codes, &p->codes_cap, p->ncodes + 1, sizeof(*grown));
	if (!grown) {
		free_code(&fresh);
		return NULL;
	}
	p->codes = grown;
	memmove(&p->codes[at + 1], &p->codes[at], (p->ncodes - at) * sizeof(*grown));
	p->codes[at] = fresh;
	p->ncodes++;
	return &p->codes[at];
}

static void name_frame(struct pysym *s, struct py_pid *p, __u64 word, struct py_frame *f)
{
	struct code_entry *c = code_at(s, p, AS_PY_FRAME_CODE(word));
	int line = 0;

	if (!c) {
		f->file = strdup("?");
		f->function = strdup("[unreadable code object]");
		return;
	}
	if (pyline__line(p->fmt, c->table, c->tlen, c->firstlineno, AS_PY_FRAME_OFF(word), &line))
		line = c->firstlineno;
	f->file = strdup(c->file);
	f->function = strdup(c->function);
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
	return e.frames;
}

void pysym__stats(const struct pysym *s, __u64 *reads, __u64 *hits)
{
	*reads = s->reads;
	*hits = s->hits;
}
