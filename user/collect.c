// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Report assembly from the BPF maps: sites are read every interval, stacks
 * only for the rows shown, symbols from per-process snapshots. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

#include "collect.h"

int collect__load_syms(struct collector *c, __u32 pid)
{
	char maps[64], root[64];

	if (syms__has_pid(c->syms, pid))
		return 0;
	snprintf(maps, sizeof(maps), "/proc/%u/maps", pid);
	snprintf(root, sizeof(root), "/proc/%u/root", pid);
	return syms__load_pid(c->syms, pid, maps, root);
}

static int read_sites(struct collector *c)
{
	struct site_key key, next, *prev = NULL;
	struct report_site site;
	struct proc_entry *p;
	int err;

	while (bpf_map_get_next_key(c->sites_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		memset(&site, 0, sizeof(site));
		if (bpf_map_lookup_elem(c->sites_fd, &key, &site.stats))
			continue; /* deleted meanwhile */
		site.stack_id = key.stack_id;
		site.pid = key.tgid;
		p = targets__get(c->procs, key.tgid);
		if (p) {
			site.exited = p->exited;
			memcpy(site.comm, p->comm, sizeof(site.comm));
		}
		err = report__add(c->report, &site);
		if (err)
			return err;
	}
	return 0;
}

static void symbolize(struct collector *c, struct report_row *row)
{
	__u32 pid = row->site.pid;
	struct stack_trace st;
	bool reloaded = false;

	row->nframes = 0;
	if (bpf_map_lookup_elem(c->stacks_fd, &row->site.stack_id, &st) || st.nr > AS_MAX_FRAMES)
		return;
	collect__load_syms(c, pid);
	for (__u32 i = 0; i < st.nr; i++) {
		struct sym_frame *f = &row->frames[row->nframes];
		int err = syms__resolve(c->syms, pid, st.pcs[i], i > 0, f);

		/* A library loaded after the snapshot: re-read the mappings once. */
		if (err == -ENOENT && !reloaded && !row->site.exited) {
			char maps[64], root[64];

			reloaded = true;
			snprintf(maps, sizeof(maps), "/proc/%u/maps", pid);
			snprintf(root, sizeof(root), "/proc/%u/root", pid);
			if (!syms__load_pid(c->syms, pid, maps, root))
				err = syms__resolve(c->syms, pid, st.pcs[i], i > 0, f);
		}
		/* Past the immediate caller, an address outside any mapped
		 * file means the frame-pointer chain went astray: stop there. */
		if (i > 1 && (err == -ENOENT || f->module[0] == '['))
			break;
		row->nframes++;
	}
}

/* Sites of exited processes were shown once more: delete them and the
 * processes' snapshots. */
static void forget_exited(struct collector *c)
{
	struct site_key key, next, *prev = NULL;
	struct proc_entry *p;

	while (bpf_map_get_next_key(c->sites_fd, prev, &next) == 0) {
		key = next;
		p = targets__find(c->procs, key.tgid);
		if (p && p->exited) {
			bpf_map_delete_elem(c->sites_fd, &key);
			continue; /* restart-safe: next lookup from the same prev */
		}
		prev = &key;
	}
	for (size_t i = 0; i < c->procs->nr;) {
		p = &c->procs->procs[i];
		if (p->exited) {
			syms__drop_pid(c->syms, p->pid);
			targets__remove(c->procs, p->pid);
			continue;
		}
		i++;
	}
}

int collect__report(struct collector *c, struct report_header *hdr)
{
	struct report_row *rows;
	size_t nrows;
	int err;

	err = read_sites(c);
	if (err)
		return err;
	err = report__finish(c->report, hdr, &rows, &nrows);
	if (err)
		return err;
	for (size_t i = 0; i < nrows; i++)
		symbolize(c, &rows[i]);
	if (c->format == FORMAT_JSON)
		report__print_json(c->out, hdr, rows, nrows);
	else
		report__print_text(c->out, hdr, rows, nrows);
	fflush(c->out);
	forget_exited(c);
	return 0;
}
