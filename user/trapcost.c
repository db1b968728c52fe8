// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Trap cost calibration: the same kind of uprobes the tool plants (an entry
 * on an emulated instruction, a return probe), on functions of our own, with
 * an empty program, timed against the same calls unprobed. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "probes.h"
#include "procmaps.h"
#include "trapcost.h"

/* Three identical functions: probed at entry, probed at entry and return,
 * never probed. Each starts with `push r12`, the instruction glibc's malloc
 * is probed on: x86 uprobes emulate it (see user/placement.c), where most
 * other first instructions would be single-stepped at several times the
 * cost. */
#if defined(__x86_64__)
#define CALIB_FN(name)                                                                             \
	asm(".pushsection .text\n"                                                                 \
	    ".globl " #name "\n"                                                                   \
	    ".type " #name ", @function\n" #name ":\n"                                             \
	    "	push %r12\n"                                                                         \
	    "	pop %r12\n"                                                                          \
	    "	ret\n"                                                                               \
	    ".size " #name ", .-" #name "\n"                                                       \
	    ".popsection\n")
CALIB_FN(trapcost_enter);
CALIB_FN(trapcost_return);
CALIB_FN(trapcost_none);
void trapcost_enter(void);
void trapcost_return(void);
void trapcost_none(void);
#else
__attribute__((noinline)) void trapcost_enter(void)
{
	asm volatile("" ::: "memory");
}
__attribute__((noinline)) void trapcost_return(void)
{
	asm volatile("" ::: "memory");
}
__attribute__((noinline)) void trapcost_none(void)
{
	asm volatile("" ::: "memory");
}
#endif

/* Rounds of calls per function, interleaved; the median round counts, so a
 * round the scheduler interrupted does not. */
#define ROUNDS 7
#define CALLS  300

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double time_calls(void (*fn)(void))
{
	double t0 = now_ns();

	for (int i = 0; i < CALLS; i++)
		fn();
	return (now_ns() - t0) / CALLS;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The file offset of fn in our executable (as mapped). */
static int file_offset(void (*fn)(void), __u64 *off)
{
	struct procmaps maps = {};
	const struct vma *v;
	int err = procmaps__read_pid(getpid(), &maps);

	if (err)
		return err;
	v = procmaps__find(&maps, (__u64)(unsigned long)fn);
	if (v)
		*off = (__u64)(unsigned long)fn - v->start + v->offset;
	procmaps__free(&maps);
	return v ? 0 : -ENOENT;
}

static int attach(struct bpf_program *prog, void (*fn)(void), bool retprobe,
		  struct link_list *links)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = retprobe);
	struct probe_link l = {.fd = -1};
	struct probe_link *grown;
	__u64 off;
	int err = file_offset(fn, &off);

	if (err)
		return err;
	l.link = bpf_program__attach_uprobe_opts(prog, getpid(), "/proc/self/exe", off, &opts);
	if (!l.link)
		return -errno;
	grown = realloc(links->links, (links->nr + 1) * sizeof(*grown));
	if (!grown) {
		bpf_link__destroy(l.link);
		return -ENOMEM;
	}
	links->links = grown;
	links->links[links->nr++] = l;
	links->cap = links->nr;
	return 0;
}

/* Releasing a perf-event uprobe waits for an RCU grace period, one at a
 * time (~0.1 s each here): done in the background, since only allocscope
 * itself is probed; an exit meanwhile closes them with the process. */
static void *detach_thread(void *arg)
{
	probes__detach(arg);
	free(arg);
	return NULL;
}

static void detach_later(struct link_list *links)
{
	struct link_list *copy = malloc(sizeof(*copy));
	pthread_t th;

	if (copy) {
		*copy = *links;
		if (!pthread_create(&th, NULL, detach_thread, copy)) {
			pthread_detach(th);
			return;
		}
		free(copy);
	}
	probes__detach(links);
}

int trapcost__measure(struct bpf_program *prog, struct trap_cost *out)
{
	double none[ROUNDS], enter[ROUNDS], both[ROUNDS];
	struct link_list links = {};
	int err;

	*out = (struct trap_cost){TRAP_ENTER_NS_FALLBACK, TRAP_RETURN_NS_FALLBACK, false};
	err = attach(prog, trapcost_enter, false, &links);
	if (!err)
		err = attach(prog, trapcost_return, false, &links);
	if (!err)
		err = attach(prog, trapcost_return, true, &links);
	if (err)
		goto cleanup;
	for (int r = 0; r < ROUNDS; r++) {
		none[r] = time_calls(trapcost_none);
		enter[r] = time_calls(trapcost_enter);
		both[r] = time_calls(trapcost_return);
	}
	qsort(none, ROUNDS, sizeof(double), cmp_double);
	qsort(enter, ROUNDS, sizeof(double), cmp_double);
	qsort(both, ROUNDS, sizeof(double), cmp_double);
	out->enter_ns = enter[ROUNDS / 2] - none[ROUNDS / 2];
	out->return_ns = both[ROUNDS / 2] - enter[ROUNDS / 2];
	if (out->enter_ns <= 0)
		out->enter_ns = 1;
	if (out->return_ns < 0)
		out->return_ns = 0;
	out->measured = true;
cleanup:
	detach_later(&links);
	return err;
}
