/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Probe runs per process, so the loader can say what tracing costs each
 * target (user/cost.c). A run is counted in its thread's inflight storage,
 * which the allocator programs hold already, and added to the per-process
 * map every HIT_BATCH runs and at the thread's exit: a hash lookup per run
 * was a tenth of what a rejected call costs in BPF. A report may miss up to
 * HIT_BATCH - 1 runs of each kind per thread, counted later. */
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

/* tgid's entry in hits, made on its first run; NULL if the map is full. */
static __always_inline struct probe_hits *proc_hits(__u32 tgid)
{
	struct probe_hits *h = bpf_map_lookup_elem(&hits, &tgid);
	struct probe_hits zero = {};

	if (h)
		return h;
	bpf_map_update_elem(&hits, &tgid, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&hits, &tgid);
}

static __always_inline void count_hit(__u32 tgid, enum hit_kind kind)
{
	struct probe_hits *h = proc_hits(tgid);

	if (h && kind < HIT_COUNT)
		h->n[kind]++;
}

#define HIT_BATCH 64

static __always_inline void flush_hits(__u32 tgid, struct inflight *in)
{
	struct probe_hits *h = proc_hits(tgid);

	if (!h)
		return;
	for (int k = 0; k < HIT_COUNT; k++) {
		h->n[k] += in->hits_pending[k];
		in->hits_pending[k] = 0;
	}
}

/* count_hit() through the thread's storage in (NULL: counted at once). */
static __always_inline void count_hit_in(__u32 tgid, struct inflight *in, enum hit_kind kind)
{
	if (!in || kind >= HIT_COUNT) {
		count_hit(tgid, kind);
		return;
	}
	if (++in->hits_pending[kind] >= HIT_BATCH)
		flush_hits(tgid, in);
}

/* Runs of the programs that return before fetching their thread's storage
 * (a session entry rejecting malloc or calloc by size): counted per CPU for
 * the process that ran last there, added to hits when another process runs
 * on that CPU or every HIT_BATCH runs. The loader adds what is still pending
 * here to what hits holds (user/cost.c), so nothing is lost at exit. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_hits);
} cpu_hits SEC(".maps");

static __always_inline void flush_cpu_hits(struct cpu_hits *c)
{
	struct probe_hits *h;

	if (!c->tgid)
		return;
	h = proc_hits(c->tgid);
	for (int k = 0; k < HIT_COUNT; k++) {
		if (h)
			h->n[k] += c->n[k];
		c->n[k] = 0;
	}
}

static __always_inline void count_hit_cpu(__u32 tgid, enum hit_kind kind)
{
	__u32 zero = 0;
	struct cpu_hits *c = bpf_map_lookup_elem(&cpu_hits, &zero);

	if (!c || kind >= HIT_COUNT) {
		count_hit(tgid, kind);
		return;
	}
	if (c->tgid != tgid || c->n[kind] >= HIT_BATCH) {
		flush_cpu_hits(c);
		c->tgid = tgid;
	}
	c->n[kind]++;
}

#endif /* COST_BPF_H */
