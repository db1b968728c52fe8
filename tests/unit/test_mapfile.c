// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests of opening mapped files: a root's symlinks and ".." stay in it
 * (the debug-file search too), FIFOs are refused without blocking, a file
 * that is not the one a maps line names is refused, map_files is used. */
#define _GNU_SOURCE /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>
#include "test_files.h"
#include "elfobj.h"
#include "mapfile.h"

/* A scratch directory: <dir>/root is a root, <dir>/host_file is outside it. */
struct scratch {
	char dir[32];
	char root[64];
	char host_file[64];
};

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int scratch_setup(void **state)
{
	struct scratch *sc = calloc(1, sizeof(*sc));

	*state = sc;
	if (!sc)
		return -1;
	strcpy(sc->dir, "/tmp/test_mapfile.XXXXXX");
	if (!mkdtemp(sc->dir))
		return -1;
	snprintf(sc->root, sizeof(sc->root), "%s/root", sc->dir);
	snprintf(sc->host_file, sizeof(sc->host_file), "%s/host_file", sc->dir);
	put(sc->host_file, "host\n");
	return mkdir(sc->root, 0755);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static int scratch_teardown(void **state)
{
	struct scratch *sc = *state;

	if (sc) {
		nftw(sc->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		free(sc);
	}
	return 0;
}

static void in_root(const struct scratch *sc, char *buf, size_t len, const char *path)
{
	snprintf(buf, len, "%s%s", sc->root, path);
}

/* An absolute symlink and ".." resolve inside the root, as for the process
 * whose root it is: the host file next to the root is never reached. */
static void test_symlinks_stay_in_root(void **state)
{
	struct scratch *sc = *state;
	char path[PATH_MAX], up[PATH_MAX];
	int fd;

	in_root(sc, path, sizeof(path), "/lib.so");
	assert_int_equal(symlink(sc->host_file, path), 0);
	assert_int_equal(mapfile__open_root(sc->root, "/lib.so"), -ENOENT);
	snprintf(up, sizeof(up), "/../../../..%s", sc->host_file);
	assert_int_equal(mapfile__open_root(sc->root, up), -ENOENT);

	/* The same name inside the root is what the link reaches. */
	in_root(sc, path, sizeof(path), sc->host_file);
	for (char *p = strchr(path + strlen(sc->root) + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	put(path, "inside\n");
	fd = mapfile__open_root(sc->root, "/lib.so");
	assert_true(fd >= 0);
	assert_int_equal(read(fd, up, 7), 7);
	assert_memory_equal(up, "inside\n", 7);
	close(fd);
}

/* A FIFO in place of a library: refused at once, not read (O_NONBLOCK). */
static void test_fifo_refused(void **state)
{
	struct scratch *sc = *state;
	char path[PATH_MAX];

	in_root(sc, path, sizeof(path), "/fifo");
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(mapfile__open_root(sc->root, "/fifo"), -ENOEXEC);
	assert_null(elfobj__open(path));
	assert_int_equal(errno, ENOEXEC);
}

/* A maps line is honoured only by the file it names (device and inode). */
static void test_identity_checked(void **state)
{
	struct scratch *sc = *state;
	char path[PATH_MAX], maps[PATH_MAX];
	struct file_id id;
	struct stat st;
	struct vma v = {.start = 0x1000, .end = 0x2000, .path = "/lib.so"};
	int fd;

	in_root(sc, path, sizeof(path), "/lib.so");
	put(path, "lib\n");
	assert_int_equal(stat(path, &st), 0);
	snprintf(maps, sizeof(maps), "%s/maps.txt", sc->dir);
	v.dev_major = major(st.st_dev);
	v.dev_minor = minor(st.st_dev);
	v.inode = st.st_ino;
	fd = mapfile__open_maps(maps, sc->root, &v, &id);
	assert_true(fd >= 0);
	assert_true(file_id__eq(id, procmaps__file_id(&v)));
	close(fd);

	v.inode++;
	assert_int_equal(mapfile__open_maps(maps, sc->root, &v, &id), -ESTALE);
	v.inode--;
	v.dev_minor++;
	assert_int_equal(mapfile__open_maps(maps, sc->root, &v, &id), -ESTALE);
}

/* A live process: map_files opens the mapping itself, whatever its path. */
static void test_map_files(void **state)
{
	struct procmaps m = {};
	struct file_id id;
	size_t opened = 0;

	(void)state;
	assert_int_equal(procmaps__read_pid(getpid(), &m), 0);
	for (size_t i = 0; i < m.nr; i++) {
		struct vma v = m.vmas[i];
		int fd;

		if (!v.exec || v.path[0] != '/')
			continue;
		v.path = "/no/such/path"; /* only map_files can find it */
		fd = mapfile__open(getpid(), &v, &id);
		if (geteuid() != 0) {
			assert_true(fd < 0); /* map_files needs CAP_SYS_ADMIN */
			continue;
		}
		assert_true(fd >= 0);
		assert_int_equal(id.inode, v.inode);
		close(fd);
		opened++;
	}
	assert_true(geteuid() != 0 || opened > 0);
	procmaps__free(&m);
}

/* The build-id path of a debug file inside a root is an absolute symlink to
 * a valid debug file outside it: it resolves inside the root, to nothing. */
static void test_debug_search_stays_in_root(void **state)
{
	struct scratch *sc = *state;
	char path[PATH_MAX], hex[41];
	struct elfobj *o, *d;
	__u8 id[20];

	o = elfobj__open(FIXTURE_DIR "/symfix.stripped");
	assert_non_null(o);
	assert_int_equal(elfobj__build_id(o, id, sizeof(id)), 20);
	for (int i = 0; i < 20; i++)
		sprintf(hex + 2 * i, "%02x", id[i]);
	in_root(sc, path, sizeof(path), "/usr");
	assert_int_equal(mkdir(path, 0755), 0);
	in_root(sc, path, sizeof(path), "/usr/lib");
	assert_int_equal(mkdir(path, 0755), 0);
	in_root(sc, path, sizeof(path), "/usr/lib/debug");
	assert_int_equal(mkdir(path, 0755), 0);
	in_root(sc, path, sizeof(path), "/usr/lib/debug/.build-id");
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/usr/lib/debug/.build-id/%.2s", sc->root, hex);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/usr/lib/debug/.build-id/%.2s/%s.debug", sc->root, hex,
		 hex + 2);
	assert_int_equal(symlink(FIXTURE_DIR "/symfix.debug", path), 0);

	assert_null(elfobj__open_debug(o, sc->root, "/bin/symfix"));

	/* The debug file itself at that place inside the root is found. */
	assert_int_equal(unlink(path), 0);
	copy_file(FIXTURE_DIR "/symfix.debug", path);
	d = elfobj__open_debug(o, sc->root, "/bin/symfix");
	assert_non_null(d);
	assert_true(elfobj__has_symtab(d));
	elfobj__close(d);
	elfobj__close(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_symlinks_stay_in_root, scratch_setup,
						scratch_teardown),
		cmocka_unit_test_setup_teardown(test_fifo_refused, scratch_setup, scratch_teardown),
		cmocka_unit_test_setup_teardown(test_identity_checked, scratch_setup,
						scratch_teardown),
		cmocka_unit_test(test_map_files),
		cmocka_unit_test_setup_teardown(test_debug_search_stays_in_root, scratch_setup,
						scratch_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
