// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of the /proc/PID/cgroup parser: lines, membership, the container
 * ids and pod UIDs runtimes write into cgroup paths, NSpid, and hostile text
 * (lines injected through a name, very long lines, no newline, odd bytes). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cgroup.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define ID64  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID64B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define UID_  "1a2b3c4d_5e6f_7a8b_9c0d_1e2f3a4b5c6d"
#define UID   "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"

static int container(const char *path, char id[CGROUP_ID_LEN + 1])
{
	id[0] = '\0';
	return cgroup__container_id(path, strlen(path), id);
}

static int pod(const char *path, char uid[CGROUP_POD_UID_LEN + 1])
{
	uid[0] = '\0';
	return cgroup__pod_uid(path, strlen(path), uid);
}

static void test_parse_line(void **state)
{
	static const struct {
		const char *line, *path; /* path NULL: refused */
	} cases[] = {
		{"0::/user.slice/session-1.scope", "/user.slice/session-1.scope"},
		{"4:memory:/docker/x", "/docker/x"},
		{"9:name=systemd:/", "/"},
		{"0::/a:b:c", "/a:b:c"}, /* a name may hold ':' */
		{"", NULL},
		{"0", NULL},
		{"0:", NULL},
		{"0::", NULL},
		{"0::relative", NULL},
		{"x::/a", NULL},
		{":memory:/a", NULL},
		{"-1::/a", NULL},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *path = NULL;
		size_t n = 0;
		int err = cgroup__parse_line(cases[i].line, strlen(cases[i].line), &path, &n);

		print_message("line '%s'\n", cases[i].line);
		if (!cases[i].path) {
			assert_int_equal(err, -EINVAL);
			continue;
		}
		assert_int_equal(err, 0);
		assert_int_equal(n, strlen(cases[i].path));
		assert_memory_equal(path, cases[i].path, n);
	}
}

static void test_path_under(void **state)
{
	static const struct {
		const char *path, *target;
		bool under;
	} cases[] = {
		{"/a", "/a", true},	  {"/a/b", "/a", true},	 {"/a/b/c", "/a/b", true},
		{"/ab", "/a", false},	  {"/a", "/a/b", false}, {"/", "/", true},
		{"/x/y", "/", true},	  {"/b/a", "/a", false}, {"/a.service", "/a", false},
		{"/a/b", "/a/b/", false}, /* targets are normalized: no trailing '/' */
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		print_message("'%s' under '%s'\n", cases[i].path, cases[i].target);
		assert_int_equal(
			cgroup__path_under(cases[i].path, strlen(cases[i].path), cases[i].target),
			cases[i].under);
	}
}

static void test_container_id(void **state)
{
	static const struct {
		const char *path, *id; /* id NULL: none */
	} cases[] = {
		{"/system.slice/docker-" ID64 ".scope", ID64},
		{"/docker/" ID64, ID64},
		{"/docker/" ID64 "/init", ID64},
		{"/system.slice/containerd.service/kubepods-burstable-pod" UID_
		 ".slice:cri-containerd:" ID64,
		 NULL}, /* containerd's own path syntax inside one name: not a scope */
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		 ".slice/cri-containerd-" ID64 ".scope",
		 ID64},
		{"/kubepods.slice/kubepods-pod" UID_ ".slice/crio-" ID64 ".scope", ID64},
		{"/kubepods/burstable/pod" UID "/" ID64, ID64},
		{"/machine.slice/libpod-" ID64 ".scope/container", ID64},
		{"/system.slice/docker-" ID64 ".scope/docker/" ID64B, ID64B}, /* the innermost */
		{"/" ID64, NULL}, /* bare, under neither docker nor kubepods */
		{"/user.slice/" ID64, NULL},
		{"/kubepods.slice/crio-conmon-" ID64 ".scope",
		 NULL},				   /* conmon, not the container */
		{"/docker-" ID64 "0.scope", NULL}, /* 65 digits */
		{"/docker/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", NULL},
		{"/docker/" ID64 ".scope.scope", NULL},
		{"/docker-.scope", NULL},
		{"/", NULL},
		{"", NULL},
	};
	char id[CGROUP_ID_LEN + 1];
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int err = container(cases[i].path, id);

		print_message("container of '%s'\n", cases[i].path);
		if (!cases[i].id) {
			assert_int_equal(err, -ENOENT);
			continue;
		}
		assert_int_equal(err, 0);
		assert_string_equal(id, cases[i].id);
	}
}

static void test_pod_uid(void **state)
{
	static const struct {
		const char *path, *uid; /* uid NULL: none */
	} cases[] = {
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
		 ".slice/cri-containerd-" ID64 ".scope",
		 UID},
		{"/kubepods.slice/kubepods-pod" UID_ ".slice", UID},
		{"/kubepods/besteffort/pod" UID "/" ID64, UID},
		/* A static pod's UID is a hash of its manifest: 32 hex digits. */
		{"/kubepods/pod0123456789abcdef0123456789abcdef/" ID64,
		 "0123456789abcdef0123456789abcdef"},
		{"/user.slice/pod" UID, NULL}, /* no kubepods above */
		{"/kubepods/ipod" UID, NULL},  /* "pod" inside a word */
		{"/kubepods/pod" UID "0", NULL},
		{"/kubepods/pod1a2b3c4d", NULL},
		{"/kubepods/pod" UID "!", NULL},
		{"/kubepods", NULL},
	};
	char uid[CGROUP_POD_UID_LEN + 1];
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int err = pod(cases[i].path, uid);

		print_message("pod of '%s'\n", cases[i].path);
		if (!cases[i].uid) {
			assert_int_equal(err, -ENOENT);
			continue;
		}
		assert_int_equal(err, 0);
		assert_string_equal(uid, cases[i].uid);
	}
}

/* A hybrid layout's file: v1 hierarchies and the v2 line. */
static const char hybrid[] = "3:pids:/\n"
			     "2:name=systemd:/system.slice/docker-" ID64 ".scope\n"
			     "1:memory:/system.slice/docker-" ID64 ".scope\n"
			     "0::/system.slice/docker-" ID64 ".scope\n";

static void test_files(void **state)
{
	struct cgroup_ident id;
	(void)state;

	assert_int_equal(cgroup__count_lines(hybrid, strlen(hybrid)), 4);
	assert_int_equal(cgroup__check_file(hybrid, strlen(hybrid), 4), 0);
	assert_true(cgroup__file_under(hybrid, strlen(hybrid), "/system.slice"));
	assert_true(cgroup__file_under(hybrid, strlen(hybrid), "/"));
	assert_false(cgroup__file_under(hybrid, strlen(hybrid), "/user.slice"));
	cgroup__file_ident(hybrid, strlen(hybrid), &id);
	assert_string_equal(id.container, ID64);
	assert_string_equal(id.pod_uid, "");

	/* Cut short (no final newline), or holding a NUL: refused. */
	assert_int_equal(cgroup__check_file(hybrid, strlen(hybrid) - 1, 4), -EBADMSG);
	assert_int_equal(cgroup__check_file("0::/\0x\n", 7, 1), -EBADMSG);
	assert_int_equal(cgroup__check_file("", 0, 0), -EBADMSG);
}

/* A cgroup named "x\n0::/system.slice/docker-ID.scope" makes its path look like
 * two lines, the second claiming a container the process is not in: the line
 * count gives it away. */
static void test_injected_line(void **state)
{
	static const char text[] = "0::/user.slice/x\n0::/system.slice/docker-" ID64 ".scope\n";
	(void)state;

	assert_int_equal(cgroup__check_file(text, strlen(text), 1), -EBADMSG);
	/* On its own, a line is what it says: the check is what guards. */
	assert_true(cgroup__file_under(text, strlen(text), "/system.slice"));
}

static void test_hostile(void **state)
{
	size_t big = 1 << 20;
	char *s = malloc(big + 200), id[CGROUP_ID_LEN + 1], uid[CGROUP_POD_UID_LEN + 1];
	struct cgroup_ident ident;
	__u32 nspid = 0;
	(void)state;

	assert_non_null(s);
	/* One very long line of names, an id at its very end, no newline. */
	strcpy(s, "0::/");
	memset(s + 4, 'a', big);
	for (size_t i = 64; i < big; i += 64)
		s[4 + i] = '/';
	strcpy(s + 4 + big, "/docker-" ID64 ".scope");
	assert_int_equal(container(s + 3, id), 0);
	assert_string_equal(id, ID64);
	assert_int_equal(cgroup__check_file(s, strlen(s), 1), -EBADMSG);
	assert_true(cgroup__file_under(s, strlen(s), "/"));
	assert_false(cgroup__file_under(s, strlen(s), "/b"));
	cgroup__file_ident(s, strlen(s), &ident);
	assert_string_equal(ident.container, ID64);
	/* The same without a '/' anywhere: one name of a megabyte. */
	memset(s, 'd', big);
	s[big] = '\0';
	assert_int_equal(container(s, id), -ENOENT);
	assert_int_equal(pod(s, uid), -ENOENT);
	assert_int_equal(cgroup__nspid(s, big, &nspid), -ENOENT);
	free(s);

	/* Terminal escapes, UTF-8, '%' and separators around the ids: only
	 * hex digits and '-' come out. */
	assert_int_equal(container("/\x1b]0;x\x07/docker-" ID64 ".scope/\xe2\x80\xae%n", id), 0);
	assert_string_equal(id, ID64);
	assert_int_equal(container("/docker-\x1b" ID64 ".scope", id), -ENOENT);
	assert_int_equal(container("/docker/" ID64 "\n", id), -ENOENT);
	assert_int_equal(pod("/kubepods/pod" UID "\x1b", uid), -ENOENT);
	assert_int_equal(pod("/kubepods/pod\xe2\x80\xae" UID, uid), -ENOENT);
	assert_int_equal(pod("/kubepods\x1b/pod" UID, uid), 0);
	assert_string_equal(uid, UID);
	/* Lines that are not lines. */
	cgroup__file_ident("\n\n::\n:\x1b:\n0:", 11, &ident);
	assert_string_equal(ident.container, "");
	assert_false(cgroup__file_under("\n\n::\n", 5, "/"));
}

static void test_nspid(void **state)
{
	static const struct {
		const char *status;
		__u32 nspid; /* 0: none */
	} cases[] = {
		{"Name:\tx\nNSpid:\t4242\t7\nNSpgid:\t1\n", 7},
		{"NSpid:\t4242\t100\t1\n", 1}, /* nested namespaces: the innermost */
		{"NSpid:\t4242\t7", 7},	       /* no newline */
		{"Name:\tx\nNSpid:\t4242\n", 0},
		{"Name:\tx\n", 0},
		{"XNSpid:\t4242\t7\n", 0},
		{"Name:\tNSpid:\t1\t2\n", 0},
		{"NSpid:\t4242\t99999999999999999999\n", 0},
		{"NSpid:\t4242\t4194305\n", 0},
		{"NSpid:\t4242\t0\n", 0},
		{"NSpid:\t4242\t-7\n", 0},
		{"NSpid:\t4242\t7x\n", 0},
		{"NSpid:", 0},
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		__u32 got = 0;
		int err = cgroup__nspid(cases[i].status, strlen(cases[i].status), &got);

		print_message("status '%s'\n", cases[i].status);
		assert_int_equal(err, cases[i].nspid ? 0 : -ENOENT);
		assert_int_equal(got, cases[i].nspid);
	}
}

static void test_normalize(void **state)
{
	static const struct {
		const char *arg, *want; /* want NULL: -EINVAL */
	} cases[] = {
		{"/system.slice/foo.service", "/system.slice/foo.service"},
		{"system.slice/foo.service/", "/system.slice/foo.service"},
		{"//a//b//", "/a/b"},
		{"/", "/"},
		{"", "/"},
		{"/a/../b", NULL},
		{"/a/./b", NULL},
		{"..", NULL},
		{"/a\nb", NULL},
		{"/a\x1b", NULL},
		{"/a\x7f", NULL},
		{"/a/.../b", "/a/.../b"}, /* a name of its own */
	};
	char out[64], small[6];
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int err = cgroup__normalize(cases[i].arg, out, sizeof(out));

		print_message("normalize '%s'\n", cases[i].arg);
		if (!cases[i].want) {
			assert_int_equal(err, -EINVAL);
			continue;
		}
		assert_int_equal(err, 0);
		assert_string_equal(out, cases[i].want);
	}
	assert_int_equal(cgroup__normalize("/abcd", small, sizeof(small)), 0);
	assert_string_equal(small, "/abcd");
	assert_int_equal(cgroup__normalize("/abcde", small, sizeof(small)), -ENAMETOOLONG);
	assert_int_equal(cgroup__normalize("/ab/c", small, 5), -ENAMETOOLONG);
}

static void test_id_prefix(void **state)
{
	char out[CGROUP_ID_LEN + 1];
	(void)state;

	assert_int_equal(cgroup__parse_id_prefix("3F2a", out), 0);
	assert_string_equal(out, "3f2a");
	assert_int_equal(cgroup__parse_id_prefix(ID64, out), 0);
	assert_string_equal(out, ID64);
	assert_int_equal(cgroup__parse_id_prefix("3f2", out), -EINVAL);
	assert_int_equal(cgroup__parse_id_prefix(ID64 "0", out), -EINVAL);
	assert_int_equal(cgroup__parse_id_prefix("3f2g", out), -EINVAL);
	assert_int_equal(cgroup__parse_id_prefix("docker-3f2a", out), -EINVAL);
	assert_int_equal(cgroup__parse_id_prefix("", out), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_line),   cmocka_unit_test(test_path_under),
		cmocka_unit_test(test_container_id), cmocka_unit_test(test_pod_uid),
		cmocka_unit_test(test_files),	     cmocka_unit_test(test_injected_line),
		cmocka_unit_test(test_hostile),	     cmocka_unit_test(test_nspid),
		cmocka_unit_test(test_normalize),    cmocka_unit_test(test_id_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
