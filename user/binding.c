// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Binding a process's allocator calls: a preloaded wrapper defining malloc
 * and free (heaptrack's preload library, a leak checker) forwards to libc's
 * through dlsym(RTLD_NEXT); probing both would see each call twice, and
 * every free of libc's after the wrapper's as a free of an untracked block. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "linkmap.h"
#include "log.h"
#include "path.h"

/* "malloc, free, ..." for the names in bits. */
static void names_of(unsigned int bits, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ALLOC_FN_COUNT && used < len; i++)
		if (bits & (1u << i))
			used += snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
					 probes__fns[i].name);
}

/* The first of objs[0..upto) exporting a name of bits. */
static const struct bind_obj *winner(const struct bind_obj *objs, size_t upto, unsigned int bits)
{
	for (size_t i = 0; i < upto; i++)
		if (objs[i].plan.exports & bits)
			return &objs[i];
	return NULL;
}

static void say(pid_t pid, const struct bind_obj *objs, size_t n, size_t nids)
{
	char names[160];

	for (size_t i = 0; i < n; i++) {
		const struct bind_obj *o = &objs[i], *w;
		unsigned int kept = 0;

		for (size_t j = 0; j < o->plan.nsites; j++)
			kept |= o->plan.sites[j].names;
		names_of(kept, names, sizeof(names));
		if (o->rank < nids)
			log_msg("pid %d: %s is #%zu in the link map: probing %s\n", pid,
				path_base(o->v->path), o->rank + 1, kept ? names : "nothing");
		else
			log_msg("pid %d: %s is not in the link map (loaded since?): probing %s\n",
				pid, path_base(o->v->path), kept ? names : "nothing");
		if (!o->lost)
			continue;
		w = winner(objs, i, o->lost);
		names_of(o->lost, names, sizeof(names));
		log_msg("pid %d: %s: not probing %s: calls bind to %s's, earlier in the link map\n",
			pid, path_base(o->v->path), names, w ? path_base(w->v->path) : "?");
	}
}

int binding__resolve(pid_t pid, const struct procmaps *maps, struct bind_obj *objs, size_t n,
		     bool verbose)
{
	struct probe_plan **plans = NULL;
	struct file_id *ids = NULL;
	unsigned int *lost = NULL;
	size_t nids = 0;
	int err = -ENOMEM;

	ids = calloc(LINKMAP_MAX, sizeof(*ids));
	plans = calloc(n ? n : 1, sizeof(*plans));
	lost = calloc(n ? n : 1, sizeof(*lost));
	if (!ids || !plans || !lost)
		goto cleanup;
	err = linkmap__order(pid, maps, ids, LINKMAP_MAX, &nids);
	if (err) {
		if (verbose && n > 1)
			log_msg("pid %d: link map not readable (%s): probing every allocator "
				"object\n",
				pid, strerror(-err));
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++)
		objs[i].rank = linkmap__index(ids, nids, procmaps__file_id(objs[i].v));
	/* Stable: objects missing from the list keep their order, last. */
	for (size_t i = 1; i < n; i++) {
		struct bind_obj o = objs[i];
		size_t j = i;

		for (; j > 0 && objs[j - 1].rank > o.rank; j--)
			objs[j] = objs[j - 1];
		objs[j] = o;
	}
	for (size_t i = 0; i < n; i++) {
		const char *base = path_base(objs[i].v->path);

		/* By the name the process maps it under: a process naming
		 * its own allocator so can only make its counts double. */
		objs[i].plan.libc = !strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5);
		plans[i] = &objs[i].plan;
	}
	probes__bind(plans, n, lost);
	for (size_t i = 0; i < n; i++)
		objs[i].lost = lost[i];
	if (verbose)
		say(pid, objs, n, nids);
cleanup:
	free(ids);
	free(plans);
	free(lost);
	return err;
}
