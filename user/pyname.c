// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* One copy of each name: a stack used to copy every frame's file and
 * function, up to 16 KB each, and 300 stacks of 42 frames with long names
 * took 400 MB. Now a frame points into the pool. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "pyname.h"

/* Bytes counted per name beyond its text: malloc's header and rounding, and
 * its share of the hash table (kept at most half full, 8 bytes a slot). */
#define NAME_OVERHEAD 48

struct pynames {
	char **slots; /* open addressing, power-of-two size */
	size_t nslots, names, bytes, budget;
	__u64 refused;
};

static size_t utf8_len(__u32 c)
{
	return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
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

static __u32 unit(const void *data, size_t i, unsigned int width)
{
	__u32 c;

	if (width == 1)
		return ((const __u8 *)data)[i];
	if (width == 2) {
		__u16 u;

		memcpy(&u, (const __u8 *)data + 2 * i, sizeof(u));
		c = u;
	} else {
		memcpy(&c, (const __u8 *)data + 4 * i, sizeof(c));
	}
	return (c >= 0xd800 && c < 0xe000) || c > 0x10ffff ? 0xfffd : c;
}

size_t pyname__utf8(char out[PYNAME_MAX + 1], const void *data, size_t n, unsigned int width,
		    bool more)
{
	size_t len = 0, need = 0, i, keep = PYNAME_MAX - (sizeof(PYNAME_MARK) - 1);

	for (i = 0; i < n && need <= PYNAME_MAX; i++)
		need += utf8_len(unit(data, i, width));
	if (more || need > PYNAME_MAX) {
		for (i = 0; i < n; i++) {
			__u32 c = unit(data, i, width);

			if (len + utf8_len(c) > keep)
				break;
			put_utf8(out, &len, c);
		}
		memcpy(out + len, PYNAME_MARK, sizeof(PYNAME_MARK));
		return len + sizeof(PYNAME_MARK) - 1;
	}
	for (i = 0; i < n; i++)
		put_utf8(out, &len, unit(data, i, width));
	out[len] = '\0';
	return len;
}

struct pynames *pynames__new(size_t budget)
{
	struct pynames *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->budget = budget;
	return p;
}

void pynames__free(struct pynames *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nslots; i++)
		free(p->slots[i]);
	free(p->slots);
	free(p);
}

/* FNV-1a */
static size_t hash(const char *s)
{
	__u64 h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (__u8)*s++) * 0x100000001b3ULL;
	return h;
}

static char **slot_of(char **slots, size_t nslots, const char *s)
{
	size_t i = hash(s) & (nslots - 1);

	while (slots[i] && strcmp(slots[i], s))
		i = (i + 1) & (nslots - 1);
	return &slots[i];
}

static int grow(struct pynames *p)
{
	size_t n = p->nslots ? 2 * p->nslots : 64;
	char **slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < p->nslots; i++)
		if (p->slots[i])
			*slot_of(slots, n, p->slots[i]) = p->slots[i];
	free(p->slots);
	p->slots = slots;
	p->nslots = n;
	return 0;
}

const char *pynames__intern(struct pynames *p, const char *s)
{
	size_t cost = strlen(s) + 1 + NAME_OVERHEAD;
	char **at;

	if (p->nslots) {
		at = slot_of(p->slots, p->nslots, s);
		if (*at)
			return *at;
	}
	if (p->bytes + cost > p->budget) {
		p->refused++;
		return NULL;
	}
	if (2 * (p->names + 1) > p->nslots && grow(p))
		return NULL;
	at = slot_of(p->slots, p->nslots, s);
	*at = strdup(s);
	if (!*at)
		return NULL;
	p->names++;
	p->bytes += cost;
	return *at;
}

void pynames__stats(const struct pynames *p, struct pynames_stats *out)
{
	out->names = p->names;
	out->bytes = p->bytes;
	out->refused = p->refused;
}
