/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Where the BPF side's events come from: allocator probes, page faults, mapping system
 * calls. One table says which programs each source needs and when it is wanted; one
 * interface loads, attaches and later enables them, so the tracer holds no branch per source. */
#ifndef SOURCES_H
#define SOURCES_H

#include <stdbool.h>
#include <stddef.h>

#include "opts.h"
#include "probes.h"

struct bpf_object;
struct bpf_link;

enum source_id {
	SOURCE_HEAP,	 /* allocator uprobes, attached per target (probes.c) */
	SOURCE_FAULTS,	 /* page faults and releases (--mode rss, the governor's fallback) */
	SOURCE_MAPPINGS, /* anonymous mmap, mremap, munmap, brk as sites */
	SOURCE_COUNT,
};

#define SOURCE_PROGS_MAX 10

struct source {
	const char *name;
	/* Programs attached once for every target, by name; NULL-terminated. A
	 * program several sources share is attached once. */
	const char *progs[SOURCE_PROGS_MAX];
	bool per_target; /* attached per target process by the tracer (uprobes) */
	bool (*wanted)(const struct config *cfg); /* attached from the start */
	/* Whether it may be enabled while running (by the governor), and the kernel can
	 * load it: then it loads unattached. */
	bool (*later)(const struct config *cfg);
};

extern const struct source sources__table[SOURCE_COUNT];

#define SOURCE_LINKS_MAX (SOURCE_COUNT * SOURCE_PROGS_MAX)

struct sources {
	struct bpf_object *obj;
	bool loaded[SOURCE_COUNT];
	bool active[SOURCE_COUNT];
	struct bpf_link *links[SOURCE_LINKS_MAX];
	const char *linked[SOURCE_LINKS_MAX]; /* program name of each link */
	size_t nlinks;
};

/* Before the object is loaded: the programs of sources neither wanted nor possibly enabled later
 * are left out of the load. */
void sources__prepare(struct sources *s, struct bpf_object *obj, const struct config *cfg);
/* After the load: attaches the sources cfg wants. 0 or -errno, *prog naming the
 * program that failed. */
int sources__start(struct sources *s, const struct config *cfg, const char **prog);
/* Attaches a source loaded but not wanted at the start. 0, -ENOTSUP when it was not
 * loaded, or -errno. */
int sources__enable(struct sources *s, enum source_id id, const char **prog);
static inline bool sources__active(const struct sources *s, enum source_id id)
{
	return s->active[id];
}
/* Moves the links into l, for one parallel detach. */
void sources__take_links(struct sources *s, struct link_list *l);
void sources__free(struct sources *s);

#endif /* SOURCES_H */
