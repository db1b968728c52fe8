// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of the descendant walk on /proc trees built in a scratch
 * directory: children files and the stat fallback, reused pids, the bound,
 * and a child forked while its parent is being visited. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "proctree.h"

struct tree {
	char root[64];
	bool children_files; /* CONFIG_PROC_CHILDREN */
};

struct visits {
	struct tree *tree;
	__u32 pids[16];
	unsigned long long starts[16];
	size_t n;
	/* Forks a child of this pid when it is visited (0: none). */
	__u32 fork_on_visit, forked;
};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void mkdirs(const char *fmt, ...)
{
	char path[PATH_MAX], *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	mkdir(path, 0755);
}

/* A process: its stat (a comm with the characters that trip naive parsers)
 * and one thread, tid == pid, whose children file lists children. */
static void add_proc(struct tree *t, __u32 pid, __u32 ppid, unsigned long long start,
		     const char *children)
{
	char path[PATH_MAX], stat[512];

	mkdirs("%s/%u/task/%u", t->root, pid, pid);
	snprintf(stat, sizeof(stat),
		 "%u (a) b (c) S %u %u %u 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 %llu 1 1 "
		 "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
		 pid, ppid, pid, pid, start);
	snprintf(path, sizeof(path), "%s/%u/stat", t->root, pid);
	write_file(path, stat);
	if (!t->children_files)
		return;
	snprintf(path, sizeof(path), "%s/%u/task/%u/children", t->root, pid, pid);
	write_file(path, children);
}

/* A second thread of pid, with children of its own. */
static void add_thread(struct tree *t, __u32 pid, __u32 tid, const char *children)
{
	char path[PATH_MAX];

	mkdirs("%s/%u/task/%u", t->root, pid, tid);
	snprintf(path, sizeof(path), "%s/%u/task/%u/children", t->root, pid, tid);
	write_file(path, children);
}

static void record(__u32 pid, unsigned long long start, void *ctx)
{
	struct visits *v = ctx;

	assert_true(v->n < 16);
	v->pids[v->n] = pid;
	v->starts[v->n++] = start;
	if (pid == v->fork_on_visit) {
		/* The child appears after its parent was listed, before its
		 * parent's children are. */
		add_proc(v->tree, 900, pid, 5000, "");
		if (v->tree->children_files)
			add_thread(v->tree, pid, pid, "104 900");
		v->forked = 900;
	}
}

static int setup_tree(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	snprintf(t->root, sizeof(t->root), "/tmp/test_proctree.XXXXXX");
	assert_non_null(mkdtemp(t->root));
	*state = t;
	return 0;
}

static int teardown_tree(void **state)
{
	struct tree *t = *state;
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->root);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

/* 100 has children 101 (forked by its main thread) and 102 (by thread 103);
 * 101 has 104. 105 is listed under 100 but its stat names another parent
 * (the pid was reused); 106 names 100 but started before it. 200 is no
 * descendant. */
static void build_family(struct tree *t)
{
	add_proc(t, 100, 1, 1000, "101 105 106 ");
	add_thread(t, 100, 103, "102\n");
	add_proc(t, 101, 100, 1100, "104");
	add_proc(t, 102, 100, 1200, "");
	add_proc(t, 104, 101, 1300, "");
	add_proc(t, 105, 7, 1400, "");
	add_proc(t, 106, 100, 900, "");
	add_proc(t, 200, 1, 1000, "");
}

static void check_family(struct tree *t)
{
	struct visits v = {.tree = t};
	bool more = true;

	build_family(t);
	assert_int_equal(proctree__walk(t->root, 100, PROCTREE_MAX, record, &v, &more), 3);
	assert_false(more);
	assert_int_equal(v.n, 3);
	/* Parents before children; each level by pid. */
	assert_int_equal(v.pids[0], 101);
	assert_int_equal(v.pids[1], 102);
	assert_int_equal(v.pids[2], 104);
	assert_true(v.starts[0] == 1100 && v.starts[2] == 1300);
}

static void test_children_files(void **state)
{
	struct tree *t = *state;

	t->children_files = true;
	check_family(t);
}

static void test_stat_fallback(void **state)
{
	struct tree *t = *state;

	t->children_files = false;
	check_family(t);
}

/* A child forked while its parent was visited (attached) is found: the
 * parent's children are read after the visit. */
static void check_fork_during_visit(struct tree *t)
{
	struct visits v = {.tree = t, .fork_on_visit = 101};
	bool more;

	build_family(t);
	assert_int_equal(proctree__walk(t->root, 100, PROCTREE_MAX, record, &v, &more), 4);
	assert_int_equal(v.forked, 900);
	assert_int_equal(v.pids[3], 900);
}

static void test_fork_during_visit(void **state)
{
	struct tree *t = *state;

	t->children_files = true;
	check_fork_during_visit(t);
}

static void test_fork_during_visit_stat(void **state)
{
	struct tree *t = *state;

	t->children_files = false;
	check_fork_during_visit(t);
}

static void test_bound(void **state)
{
	struct tree *t = *state;
	struct visits v = {.tree = t};
	bool more = false;

	t->children_files = true;
	build_family(t);
	assert_int_equal(proctree__walk(t->root, 100, 2, record, &v, &more), 2);
	assert_true(more);
	assert_int_equal(v.n, 2);
}

static void test_missing_root(void **state)
{
	struct tree *t = *state;
	struct visits v = {.tree = t};
	struct proc_stat st;
	bool more;

	assert_int_equal(proctree__walk(t->root, 4242, PROCTREE_MAX, record, &v, &more), -ESRCH);
	assert_int_equal(v.n, 0);
	assert_int_equal(proctree__stat(t->root, 4242, &st), -ESRCH);
}

/* The real /proc: this process's parent is its parent, and a forked child
 * is found under it. */
static void test_real_proc(void **state)
{
	struct visits v = {};
	struct proc_stat st;
	bool more, found = false;
	int fds[2];
	pid_t child;
	char c;

	(void)state;
	assert_int_equal(proctree__stat("/proc", getpid(), &st), 0);
	assert_int_equal(st.ppid, getppid());
	assert_int_equal(pipe(fds), 0);
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		close(fds[1]);
		_exit(read(fds[0], &c, 1) < 0);
	}
	close(fds[0]);
	assert_true(proctree__walk("/proc", getpid(), PROCTREE_MAX, record, &v, &more) >= 1);
	for (size_t i = 0; i < v.n; i++)
		found |= v.pids[i] == (__u32)child;
	close(fds[1]);
	assert_true(found);
	waitpid(child, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_children_files, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_stat_fallback, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_fork_during_visit, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_fork_during_visit_stat, setup_tree,
						teardown_tree),
		cmocka_unit_test_setup_teardown(test_bound, setup_tree, teardown_tree),
		cmocka_unit_test_setup_teardown(test_missing_root, setup_tree, teardown_tree),
		cmocka_unit_test(test_real_proc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
