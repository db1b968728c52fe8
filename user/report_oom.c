// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The OOM lines of a report: the processes the OOM killer chose, named as the
 * kernel's event names them, with their memory in the kernel's own terms. */
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "textsafe.h"

void report__oom_from_event(const struct oom_event *ev, const char *comm, __u64 page_size,
			    struct report_oom *o)
{
	memset(o, 0, sizeof(*o));
	o->pid = ev->tgid;
	if (ev->comm[0])
		memcpy(o->comm, ev->comm, sizeof(o->comm));
	else
		strncpy(o->comm, comm ? comm : "?", sizeof(o->comm));
	o->comm[sizeof(o->comm) - 1] = '\0';
	if (!ev->has_counters)
		return;
	o->has_counters = true;
	o->uid = ev->uid;
	o->oom_score_adj = ev->oom_score_adj;
	o->total_vm = ev->total_vm * page_size;
	o->anon_rss = ev->anon_rss * page_size;
	o->file_rss = ev->file_rss * page_size;
	o->shmem_rss = ev->shmem_rss * page_size;
	o->pgtables = ev->pgtables;
}

/* "OOM-killed: pid 4242 (leaky): total-vm 70.1 MiB, anon-rss 63.2 MiB, ..."
 * in the order of the kernel's "Killed process" line, wrapped under cols. */
static void print_victim(FILE *f, const struct report_oom *o, size_t cols)
{
	char comm[4 * AS_COMM_LEN] = "", line[320], vm[32], anon[32], file[32], shmem[32], pgt[32];
	size_t n;
	FILE *cf = fmemopen(comm, sizeof(comm), "w");

	/* The name as the terminal may show it. */
	if (cf) {
		textsafe__put(cf, o->comm, sizeof(o->comm));
		fclose(cf);
	}
	n = snprintf(line, sizeof(line), "OOM-killed: pid %u (%s)", o->pid, comm);
	if (o->has_counters && n < sizeof(line)) {
		report__fmt_bytes(vm, sizeof(vm), o->total_vm);
		report__fmt_bytes(anon, sizeof(anon), o->anon_rss);
		report__fmt_bytes(file, sizeof(file), o->file_rss);
		report__fmt_bytes(shmem, sizeof(shmem), o->shmem_rss);
		report__fmt_bytes(pgt, sizeof(pgt), o->pgtables);
		snprintf(line + n, sizeof(line) - n,
			 ": total-vm %s, anon-rss %s, file-rss %s, shmem-rss %s, pgtables %s, "
			 "uid %u, oom_score_adj %d",
			 vm, anon, file, shmem, pgt, o->uid, o->oom_score_adj);
	}
	report__print_wrapped(f, line, cols, 2);
}

void report__print_oom_text(FILE *f, const struct report_header *hdr, size_t cols)
{
	for (size_t i = 0; i < hdr->nooms; i++)
		print_victim(f, &hdr->ooms[i], cols);
	if (hdr->nooms)
		report__print_wrapped(f,
				      "sites of OOM-killed processes are shown as they stood at "
				      "the kill, marked exited",
				      cols, 2);
}
