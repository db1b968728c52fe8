/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Probe runs per process, so the loader can say what tracing costs each
 * target (user/cost.c). One per-CPU lookup and a plain add per run: next to
 * the trap that brought us here (microseconds) it is noise. */
#ifndef COST_BPF_H
#define COST_BPF_H

/* A plain per-CPU hash: an LRU one costs ~30 ns more per run here. The
 * loader deletes the entries of processes that are gone (user/cost.c). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, AS_PROCS_MAX);
	__type(key, __u32); /* tgid */
	__type(value, struct probe_hits);
} hits SEC(".maps");

static __always_inline void count_hit(__u32 tgid, enum hit_kind kind)
{
	struct probe_hits *h = bpf_map_lookup_elem(&hits, &tgid);
	struct probe_hits zero = {};

	if (!h) {
		bpf_map_update_elem(&hits, &tgid, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hits, &tgid);
		if (!h)
			return;
	}
	if (kind < HIT_COUNT)
		h->n[kind]++;
}

#endif /* COST_BPF_H */
