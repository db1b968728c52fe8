/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* OOM kills: the victim is announced the moment the kernel marks it, and its
 * exit keeps its sites' counters as they stood, so the report that names it
 * shows what it held when it was killed. Costs nothing until a kill. */
#ifndef OOM_BPF_H
#define OOM_BPF_H

#define SIGKILL 9

/* Whether task's process dies of an OOM kill, for its exit (proc_exit).
 * __oom_kill_process() sends SIGKILL to the whole process (complete_signal()
 * sets signal->group_exit_code to it at once), then mark_oom_victim() sets
 * signal->oom_mm, then fires the tracepoint. Since Linux 6.16
 * sched_process_exit fires before exit_mm(), so the victim's last thread can
 * reach its exit before the tracepoint has run, or even before oom_mm is set;
 * it cannot before the SIGKILL. Both marks are the kernel's, read at the exit
 * itself: whichever of the exit and the tracepoint comes first, a victim is
 * known as one there. (A victim that was already exiting gets no SIGKILL, but
 * oom_mm is set before the tracepoint.) A process killed by any SIGKILL is
 * taken as one: its last report shows what it held, as heap mode shows for
 * every exit. */
static __always_inline bool oom_killed(struct task_struct *task)
{
	if (BPF_CORE_READ(task, signal, group_exit_code) == SIGKILL)
		return true;
	return bpf_core_field_exists(struct signal_struct, oom_mm) &&
	       BPF_CORE_READ(task, signal, oom_mm) != NULL;
}

/* mm_struct's counters before Linux 6.2 (commit f1a7941243c1, "mm: convert
 * mm's rss stats into percpu_counter"), which Debian 12's 6.1 still has
 * although it carries the tracepoint's 6.8 fields: told apart by their type. */
struct mm_rss_stat___pre62 {
	atomic_long_t count[4];
};

struct mm_struct___pre62 {
	struct mm_rss_stat___pre62 rss_stat;
};

/* A resident-page counter as get_mm_counter() reads it (the per-CPU
 * counter's approximate total, never negative). */
static __always_inline __u64 mm_pages(struct mm_struct *mm, int member)
{
	struct mm_struct___pre62 *old = (void *)mm;
	__s64 n;

	if (bpf_core_type_exists(struct mm_rss_stat___pre62))
		n = BPF_CORE_READ(old, rss_stat.count[member].counter);
	else
		n = BPF_CORE_READ(mm, rss_stat[member].count);
	return n > 0 ? n : 0;
}

/* Linux 6.8 ("mm, oom: add more detail to mark_victim tracepoint") gave the
 * tracepoint the task and the uid, where it had the pid alone; the counters
 * came into its record in the same commit (backported to Debian 12's 6.1),
 * so their presence tells which prototype ctx[0] is. The loader loads this
 * program only where the kernel's BTF has the tracepoint. Every kill is sent
 * (they are rare): the loader keeps those of its targets. */
SEC("tp_btf/mark_victim")
int oom_victim(__u64 *ctx)
{
	struct oom_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	struct task_struct *task, *leader;
	struct mm_struct *mm;

	if (!e) {
		count_drop(DROP_EVENT_LOST);
		return 0;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->type = TASK_EV_OOM;
	if (!bpf_core_field_exists(struct trace_event_raw_mark_victim, total_vm)) {
		/* The thread's pid: the process's unless its main thread is gone. */
		e->tid = e->tgid = (__u32)ctx[0];
		bpf_ringbuf_submit(e, 0);
		return 0;
	}
	task = (struct task_struct *)ctx[0];
	leader = BPF_CORE_READ(task, group_leader);
	mm = BPF_CORE_READ(task, mm);
	e->tgid = BPF_CORE_READ(task, tgid);
	e->tid = BPF_CORE_READ(task, pid);
	bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), &leader->comm);
	e->uid = BPF_CORE_READ(task, real_cred, uid.val);
	e->oom_score_adj = BPF_CORE_READ(task, signal, oom_score_adj);
	if (mm) {
		e->total_vm = BPF_CORE_READ(mm, total_vm);
		e->file_rss = mm_pages(mm, MM_FILEPAGES);
		e->anon_rss = mm_pages(mm, MM_ANONPAGES);
		e->shmem_rss = mm_pages(mm, MM_SHMEMPAGES);
		e->pgtables = BPF_CORE_READ(mm, pgtables_bytes.counter);
		e->has_counters = 1;
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}

#endif /* OOM_BPF_H */
