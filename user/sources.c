// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The event sources' table and their life: which programs load, which attach at start,
 * which the governor may attach later. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "sources.h"

static bool want_heap(const struct config *cfg)
{
	return cfg->mode == TRACE_MODE_HEAP;
}

static bool want_faults(const struct config *cfg)
{
	return cfg->mode == TRACE_MODE_RSS;
}

static bool want_mappings(const struct config *cfg)
{
	return cfg->mappings && cfg->mode == TRACE_MODE_HEAP;
}

static bool always(const struct config *cfg)
{
	(void)cfg;
	return true;
}

/* bpf_find_vma (5.17) tells anonymous memory from files at a fault; bpf_loop (5.17)
 * walks a released range page by page. */
static bool faults_loadable(void)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_find_vma, NULL) > 0 &&
	       libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_loop, NULL) > 0;
}

/* The governor moves a --pid, --comm, --cgroup or --container target to rss mode; its fault
 * programs take the verifier most of a second to load, so they load only where it may act. */
static bool governed_later(const struct config *cfg)
{
	return cfg->mode == TRACE_MODE_HEAP && cfg->max_overhead && config__targeted(cfg) &&
	       faults_loadable();
}

/* An entry is a program attached where its SEC() says, or "program:category/tracepoint":
 * map_exit serves the three mapping calls' exits. */
#define MAP_EXITS "map_exit", "map_exit:syscalls/sys_exit_mremap", "map_exit:syscalls/sys_exit_brk"

/* clang-format off */
const struct source sources__table[SOURCE_COUNT] = {
	[SOURCE_HEAP] = {"heap probes", {NULL}, .per_target = true, want_heap, always},
	/* Releases come from the mapping calls; mmap of code keeps the unwind tables whole. */
	[SOURCE_FAULTS] = {"page faults",
			   {"fault_user", "madvise_enter", "munmap_enter", "mremap_enter", "brk_enter",
			    "mmap_enter", MAP_EXITS, NULL},
			   .per_target = false, want_faults, governed_later},
	[SOURCE_MAPPINGS] = {"mappings",
			     {"mmap_enter", "munmap_enter", "mremap_enter", "brk_enter", MAP_EXITS, NULL},
			     .per_target = false, want_mappings, always},
};
/* clang-format on */

/* Whether a table entry ("prog" or "prog:category/tracepoint") names program name. */
static bool entry_names(const char *entry, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(entry, name, n) && (entry[n] == '\0' || entry[n] == ':');
}

void sources__prepare(struct sources *s, struct bpf_object *obj, const struct config *cfg)
{
	struct bpf_program *prog;

	memset(s, 0, sizeof(*s));
	s->obj = obj;
	for (int i = 0; i < SOURCE_COUNT; i++)
		s->loaded[i] = sources__table[i].wanted(cfg) || sources__table[i].later(cfg);
	/* A program loads when one of the loaded sources lists it; programs no source
	 * lists (the allocator probes, the process tracepoints) are the tracer's. */
	bpf_object__for_each_program(prog, obj)
	{
		const char *name = bpf_program__name(prog);
		bool listed = false, load = false;

		for (int i = 0; i < SOURCE_COUNT; i++)
			for (int j = 0; sources__table[i].progs[j]; j++)
				if (entry_names(sources__table[i].progs[j], name)) {
					listed = true;
					load |= s->loaded[i];
				}
		if (listed)
			bpf_program__set_autoload(prog, load);
	}
}

/* Attaches a table entry's program: where its SEC() says, or at the entry's tracepoint. */
static struct bpf_link *attach_entry(struct bpf_program *p, const char *entry)
{
	const char *at = strchr(entry, ':'), *slash;
	char category[64];

	if (!at)
		return bpf_program__attach(p);
	slash = strchr(at + 1, '/');
	if (!slash || (size_t)(slash - at - 1) >= sizeof(category)) {
		errno = EINVAL;
		return NULL;
	}
	memcpy(category, at + 1, slash - at - 1);
	category[slash - at - 1] = '\0';
	return bpf_program__attach_tracepoint(p, category, slash + 1);
}

static bool linked(const struct sources *s, const char *name)
{
	for (size_t i = 0; i < s->nlinks; i++)
		if (!strcmp(s->linked[i], name))
			return true;
	return false;
}

/* libbpf finds tracepoints in tracefs, which hosts do not always mount. */
static void ensure_tracefs(void)
{
	if (access("/sys/kernel/tracing/events", F_OK) &&
	    access("/sys/kernel/debug/tracing/events", F_OK))
		mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL);
}

int sources__enable(struct sources *s, enum source_id id, const char **prog)
{
	const struct source *src = &sources__table[id];

	if (!s->loaded[id])
		return -ENOTSUP;
	if (s->active[id])
		return 0;
	ensure_tracefs();
	for (int j = 0; src->progs[j]; j++) {
		const char *entry = src->progs[j];
		char name[64];
		struct bpf_program *p;
		struct bpf_link *l;

		if (linked(s, entry))
			continue;
		*prog = entry;
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(entry, ":"), entry);
		p = bpf_object__find_program_by_name(s->obj, name);
		if (!p || s->nlinks >= SOURCE_LINKS_MAX)
			return -ENOENT;
		l = attach_entry(p, entry);
		if (!l)
			return -errno;
		s->linked[s->nlinks] = src->progs[j];
		s->links[s->nlinks++] = l;
	}
	s->active[id] = true;
	return 0;
}

int sources__start(struct sources *s, const struct config *cfg, const char **prog)
{
	for (int i = 0; i < SOURCE_COUNT; i++) {
		int err = sources__table[i].wanted(cfg) ? sources__enable(s, i, prog) : 0;

		if (err)
			return err;
	}
	return 0;
}

void sources__take_links(struct sources *s, struct link_list *l)
{
	l->links = calloc(s->nlinks ? s->nlinks : 1, sizeof(*l->links));
	for (size_t i = 0; l->links && i < s->nlinks; i++)
		l->links[l->nr++] = (struct probe_link){.link = s->links[i], .fd = -1};
	l->cap = l->nr;
	if (l->links)
		s->nlinks = 0;
}

void sources__free(struct sources *s)
{
	for (size_t i = 0; i < s->nlinks; i++)
		bpf_link__destroy(s->links[i]);
	s->nlinks = 0;
}
