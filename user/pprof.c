// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pprof profiles with Debian's protobuf-c: the structs protoc-c generates
 * from pprof's profile.proto at build time, filled from interned tables,
 * packed, then gzipped with zlib as `go tool pprof` expects a file to be. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "array.h"
#include "pprof.h"
#include "profile.pb-c.h"

/* Byte-string keys to ids, open addressing: a profile of 10000 rows of 64
 * frames interns ~600000 keys, too many for a linear search. */
struct intern_slot {
	void *key; /* NULL: empty */
	size_t len;
	__u64 id;
};

struct intern {
	struct intern_slot *slots;
	size_t cap, n; /* cap: a power of two */
};

static __u64 fnv1a(const void *key, size_t len)
{
	const unsigned char *p = key;
	__u64 h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static struct intern_slot *intern_slot(struct intern_slot *slots, size_t cap, const void *key,
				       size_t len)
{
	size_t i = fnv1a(key, len) & (cap - 1);

	while (slots[i].key && (slots[i].len != len || memcmp(slots[i].key, key, len)))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static int intern_grow(struct intern *t)
{
	size_t cap = t->cap ? t->cap * 2 : 1024;
	struct intern_slot *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].key)
			*intern_slot(slots, cap, t->slots[i].key, t->slots[i].len) = t->slots[i];
	free(t->slots);
	t->slots = slots;
	t->cap = cap;
	return 0;
}

/* Looks key up; a key not there gets id next. Returns 1 if added, 0 if found
 * (*id set either way), or -ENOMEM. */
static int intern_get(struct intern *t, const void *key, size_t len, __u64 next, __u64 *id)
{
	struct intern_slot *s;

	if ((t->n + 1) * 2 > t->cap && intern_grow(t))
		return -ENOMEM;
	s = intern_slot(t->slots, t->cap, key, len);
	if (s->key) {
		*id = s->id;
		return 0;
	}
	s->key = malloc(len ? len : 1);
	if (!s->key)
		return -ENOMEM;
	memcpy(s->key, key, len);
	s->len = len;
	s->id = *id = next;
	t->n++;
	return 1;
}

static void intern_free(struct intern *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->slots[i].key);
	free(t->slots);
}

struct pprof {
	Perftools__Profiles__Profile prof;
	Perftools__Profiles__ValueType types[8], period_type;
	struct intern strings, functions, mappings, locations;
	size_t cap_string, cap_sample, cap_mapping, cap_location, cap_function;
	size_t nvalues;
};

/* Appends one element (struct size elem) to the pointer array *arr of *n. */
static void *push(void *arr_p, size_t *n, size_t *cap, size_t elem)
{
	void ***arr = arr_p;
	void **grown;
	void *e;

	grown = array_grow(*arr, cap, *n + 1, sizeof(void *));
	if (!grown)
		return NULL;
	*arr = grown;
	e = calloc(1, elem);
	if (e)
		(*arr)[(*n)++] = e;
	return e;
}

struct pprof *pprof__new(size_t nvalues)
{
	struct pprof *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	perftools__profiles__profile__init(&p->prof);
	p->nvalues = nvalues;
	p->prof.sample_type = calloc(nvalues, sizeof(*p->prof.sample_type));
	/* The string table starts with "", as profile.proto requires. */
	if (!p->prof.sample_type || nvalues > 8 || pprof__string(p, "") != 0) {
		pprof__free(p);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void pprof__free(struct pprof *p)
{
	Perftools__Profiles__Profile *pr;

	if (!p)
		return;
	pr = &p->prof;
	for (size_t i = 0; i < pr->n_string_table; i++)
		free(pr->string_table[i]);
	for (size_t i = 0; i < pr->n_sample; i++) {
		for (size_t j = 0; j < pr->sample[i]->n_label; j++)
			free(pr->sample[i]->label[j]);
		free(pr->sample[i]->label);
		free(pr->sample[i]->location_id);
		free(pr->sample[i]->value);
		free(pr->sample[i]);
	}
	for (size_t i = 0; i < pr->n_location; i++) {
		if (pr->location[i]->n_line)
			free(pr->location[i]->line[0]);
		free(pr->location[i]->line);
		free(pr->location[i]);
	}
	for (size_t i = 0; i < pr->n_function; i++)
		free(pr->function[i]);
	for (size_t i = 0; i < pr->n_mapping; i++)
		free(pr->mapping[i]);
	free(pr->string_table);
	free(pr->sample);
	free(pr->location);
	free(pr->function);
	free(pr->mapping);
	free(pr->sample_type);
	intern_free(&p->strings);
	intern_free(&p->functions);
	intern_free(&p->mappings);
	intern_free(&p->locations);
	free(p);
}

__s64 pprof__string(struct pprof *p, const char *s)
{
	Perftools__Profiles__Profile *pr = &p->prof;
	char **grown;
	__u64 id;
	int added;

	if (!s)
		s = "";
	added = intern_get(&p->strings, s, strlen(s), pr->n_string_table, &id);
	if (added <= 0)
		return added ? added : (__s64)id;
	grown = array_grow(pr->string_table, &p->cap_string, pr->n_string_table + 1,
			   sizeof(*grown));
	if (!grown)
		return -ENOMEM; /* the key stays, unused: the profile is lost anyway */
	pr->string_table = grown;
	pr->string_table[pr->n_string_table] = strdup(s);
	if (!pr->string_table[pr->n_string_table])
		return -ENOMEM;
	pr->n_string_table++;
	return id;
}

int pprof__sample_type(struct pprof *p, const char *type, const char *unit)
{
	Perftools__Profiles__Profile *pr = &p->prof;
	Perftools__Profiles__ValueType *vt;
	__s64 t = pprof__string(p, type), u = pprof__string(p, unit);

	if (t < 0 || u < 0)
		return -ENOMEM;
	if (pr->n_sample_type >= p->nvalues)
		return -E2BIG;
	vt = &p->types[pr->n_sample_type];
	perftools__profiles__value_type__init(vt);
	vt->type = t;
	vt->unit = u;
	pr->sample_type[pr->n_sample_type++] = vt;
	return 0;
}

int pprof__set_period(struct pprof *p, const char *type, const char *unit, __s64 period)
{
	__s64 t = pprof__string(p, type), u = pprof__string(p, unit);

	if (t < 0 || u < 0)
		return -ENOMEM;
	perftools__profiles__value_type__init(&p->period_type);
	p->period_type.type = t;
	p->period_type.unit = u;
	p->prof.period_type = &p->period_type;
	p->prof.period = period;
	return 0;
}

void pprof__set_time(struct pprof *p, __s64 time_nanos, __s64 duration_nanos)
{
	p->prof.time_nanos = time_nanos;
	p->prof.duration_nanos = duration_nanos;
}

__s64 pprof__function(struct pprof *p, const char *name, const char *file)
{
	Perftools__Profiles__Profile *pr = &p->prof;
	Perftools__Profiles__Function *fn;
	__s64 key[2] = {pprof__string(p, name), pprof__string(p, file)};
	__u64 id;
	int added;

	if (key[0] < 0 || key[1] < 0)
		return -ENOMEM;
	added = intern_get(&p->functions, key, sizeof(key), pr->n_function + 1, &id);
	if (added <= 0)
		return added ? added : (__s64)id;
	fn = push(&pr->function, &pr->n_function, &p->cap_function, sizeof(*fn));
	if (!fn)
		return -ENOMEM;
	perftools__profiles__function__init(fn);
	fn->id = id;
	fn->name = fn->system_name = key[0];
	fn->filename = key[1];
	return id;
}

__s64 pprof__mapping(struct pprof *p, const char *path, const char *build_id)
{
	Perftools__Profiles__Profile *pr = &p->prof;
	Perftools__Profiles__Mapping *m;
	__s64 key[2] = {pprof__string(p, path), pprof__string(p, build_id)};
	__u64 id;
	int added;

	if (key[0] < 0 || key[1] < 0)
		return -ENOMEM;
	added = intern_get(&p->mappings, key, sizeof(key), pr->n_mapping + 1, &id);
	if (added <= 0)
		return added ? added : (__s64)id;
	m = push(&pr->mapping, &pr->n_mapping, &p->cap_mapping, sizeof(*m));
	if (!m)
		return -ENOMEM;
	perftools__profiles__mapping__init(m);
	m->id = id;
	m->filename = key[0];
	m->build_id = key[1];
	/* Locations carry their function: pprof need not symbolize them. */
	m->has_functions = true;
	return id;
}

__s64 pprof__location(struct pprof *p, __u64 mapping, __u64 address, __u64 function, __s64 line)
{
	Perftools__Profiles__Profile *pr = &p->prof;
	Perftools__Profiles__Location *loc;
	Perftools__Profiles__Line *ln;
	__u64 key[4] = {mapping, address, function, (__u64)line}, id;
	int added;

	added = intern_get(&p->locations, key, sizeof(key), pr->n_location + 1, &id);
	if (added <= 0)
		return added ? added : (__s64)id;
	loc = push(&pr->location, &pr->n_location, &p->cap_location, sizeof(*loc));
	if (!loc)
		return -ENOMEM;
	perftools__profiles__location__init(loc);
	loc->id = id;
	loc->mapping_id = mapping;
	loc->address = address;
	ln = calloc(1, sizeof(*ln));
	loc->line = calloc(1, sizeof(*loc->line));
	if (!ln || !loc->line) {
		free(ln);
		return -ENOMEM;
	}
	perftools__profiles__line__init(ln);
	ln->function_id = function;
	ln->line = line;
	loc->line[0] = ln;
	loc->n_line = 1;
	if (mapping && mapping <= pr->n_mapping) {
		/* Addresses are offsets in the file (mapping start 0): the
		 * mapping's limit covers the highest one. */
		Perftools__Profiles__Mapping *m = pr->mapping[mapping - 1];

		if (address >= m->memory_limit)
			m->memory_limit = address + 1;
		m->has_line_numbers |= line > 0;
	}
	return id;
}

int pprof__sample(struct pprof *p, const __u64 *locations, size_t nlocations, const __s64 *values,
		  const struct pprof_label *labels, size_t nlabels)
{
	Perftools__Profiles__Profile *pr = &p->prof;
	Perftools__Profiles__Sample *s;
	size_t i;

	s = push(&pr->sample, &pr->n_sample, &p->cap_sample, sizeof(*s));
	if (!s)
		return -ENOMEM;
	perftools__profiles__sample__init(s);
	s->location_id = malloc((nlocations ? nlocations : 1) * sizeof(*s->location_id));
	s->value = malloc(p->nvalues * sizeof(*s->value));
	s->label = calloc(nlabels ? nlabels : 1, sizeof(*s->label));
	if (!s->location_id || !s->value || !s->label)
		return -ENOMEM;
	memcpy(s->location_id, locations, nlocations * sizeof(*locations));
	s->n_location_id = nlocations;
	memcpy(s->value, values, p->nvalues * sizeof(*values));
	s->n_value = p->nvalues;
	for (i = 0; i < nlabels; i++) {
		Perftools__Profiles__Label *l = calloc(1, sizeof(*l));

		if (!l)
			return -ENOMEM;
		perftools__profiles__label__init(l);
		s->label[s->n_label++] = l;
		l->key = pprof__string(p, labels[i].key);
		l->str = pprof__string(p, labels[i].str);
		if (l->key < 0 || l->str < 0)
			return -ENOMEM;
	}
	return 0;
}

/* data (n bytes) as one gzip member (windowBits 15 + 16: the gzip wrapper). */
static int gzip_write(const void *data, size_t n, FILE *f)
{
	unsigned char out[65536];
	z_stream z = {.next_in = (Bytef *)data, .avail_in = n};
	int zerr, err = 0;

	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return -ENOMEM;
	do {
		z.next_out = out;
		z.avail_out = sizeof(out);
		zerr = deflate(&z, Z_FINISH);
		if (zerr == Z_STREAM_ERROR) {
			err = -EIO;
			break;
		}
		if (fwrite(out, 1, sizeof(out) - z.avail_out, f) != sizeof(out) - z.avail_out) {
			err = errno ? -errno : -EIO;
			break;
		}
	} while (zerr != Z_STREAM_END);
	deflateEnd(&z);
	return err;
}

int pprof__write(struct pprof *p, FILE *f)
{
	size_t n = perftools__profiles__profile__get_packed_size(&p->prof);
	uint8_t *buf = malloc(n ? n : 1);
	int err;

	if (!buf)
		return -ENOMEM;
	perftools__profiles__profile__pack(&p->prof, buf);
	err = gzip_write(buf, n, f);
	free(buf);
	return err;
}
