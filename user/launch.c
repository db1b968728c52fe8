// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* -c CMD: fork, PTRACE_TRACEME, execvp; then a breakpoint at the loader's
 * r_brk (_dl_debug_state), as debuggers find new libraries (glibc's
 * <link.h>, "struct r_debug"), removed before the command goes on. */
#define _GNU_SOURCE /* pipe2 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elfobj.h"
#include "launch.h"
#include "linkmap.h"
#include "log.h"
#include "mapfile.h"
#include "opts.h"
#include "procmaps.h"
#include "procmem.h"
#include "words.h"

/* glibc's enum r_state (<link.h>) and the offset of r_state in struct
 * r_debug on LP64: int r_version, link_map *r_map, ElfW(Addr) r_brk. */
#define RT_CONSISTENT 0
#define RT_ADD	      1
#define R_STATE_OFF   24
/* ld.so calls r_brk a few times before main (RT_ADD, RT_CONSISTENT, and
 * again for LD_AUDIT or preloads); more than this is not a start-up. */
#define MAX_BREAK_HITS 64

/* Where the loader tells a debugger about its objects. */
struct loader {
	__u64 brk;     /* _dl_debug_state */
	__u64 r_debug; /* _r_debug */
};

/* The child: the operator's environment and stdio, default signal
 * dispositions (allocscope ignores SIGPIPE, which an exec would keep). */
static void __attribute__((noreturn)) child(char *const argv[], int errfd)
{
	int e;

	signal(SIGPIPE, SIG_DFL);
	/* NAME=value words first, as a shell takes them (opts checked a
	 * program follows). */
	for (; words__assignment(*argv); argv++)
		putenv(*argv);
	/* Negative: the trace failed, not the exec. */
	e = ptrace(PTRACE_TRACEME, 0, NULL, NULL) ? -errno : 0;
	if (!e) {
		execvp(argv[0], argv);
		e = errno;
	}
	if (write(errfd, &e, sizeof(e)) < 0) {
		/* The parent sees an exit before any exec stop. */
	}
	_exit(e < 0 ? EXIT_NO_PRIVILEGE : e == ENOENT ? EXIT_CMD_NOT_FOUND : EXIT_CMD_CANNOT_RUN);
}

/* _dl_debug_state and _r_debug in the ld.so mapped at base, from its
 * dynamic symbols (both are exported: GLIBC_PRIVATE and GLIBC_2.2.5). */
static int find_loader(pid_t pid, __u64 base, struct loader *ld, char *path, size_t len)
{
	struct procmaps maps = {};
	const struct elf_seg *segs;
	struct elf_func fn, obj;
	const struct vma *v;
	struct elfobj *o = NULL;
	struct file_id id;
	__u64 bias;
	int err, fd;

	err = procmaps__read_pid(pid, &maps);
	if (err)
		return err;
	v = procmaps__find(&maps, base);
	if (!v || !v->path[0]) {
		err = -ENOENT;
		goto cleanup;
	}
	snprintf(path, len, "%s", v->path);
	fd = mapfile__open(pid, v, &id);
	if (fd < 0) {
		err = fd;
		goto cleanup;
	}
	o = elfobj__open_fd(fd);
	if (!o) {
		err = -errno;
		goto cleanup;
	}
	err = elfobj__find_func(o, "_dl_debug_state", &fn);
	if (!err)
		err = elfobj__find_object(o, "_r_debug", &obj);
	if (!err) {
		size_t nsegs = elfobj__segments(o, &segs);

		err = elfobj__bias(segs, nsegs, v->start, v->offset, &bias);
	}
	if (!err) {
		ld->brk = fn.vaddr + bias;
		ld->r_debug = obj.vaddr + bias;
	}
cleanup:
	elfobj__close(o);
	procmaps__free(&maps);
	return err;
}

/* Waits for pid's next stop; -ECHILD (said) when it ended instead. */
static int wait_stop(pid_t pid, const char *name, int *sig)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	if (WIFSTOPPED(st)) {
		*sig = WSTOPSIG(st);
		return 0;
	}
	if (WIFEXITED(st))
		log_msg("%s exited with status %d before it ran its own code: not traced\n", name,
			WEXITSTATUS(st));
	else
		log_msg("%s was killed by signal %d (%s) before it ran its own code: not traced\n",
			name, WTERMSIG(st), strsignal(WTERMSIG(st)));
	return -ECHILD;
}

/* Writes byte at addr in pid's text (a private copy-on-write page). *old
 * gets the word that was there. 0 or -errno. */
static int poke_byte(pid_t pid, __u64 addr, long byte, long *old)
{
	long word;

	errno = 0;
	word = ptrace(PTRACE_PEEKTEXT, pid, (void *)addr, NULL);
	if (errno)
		return -errno;
	if (old)
		*old = word;
	word = (word & ~0xffL) | (byte & 0xff);
	return ptrace(PTRACE_POKETEXT, pid, (void *)addr, (void *)word) ? -errno : 0;
}

/* Runs pid to the breakpoint (x86-64: int3, rip one past it) at ld->brk until r_debug says the
 * initial objects are all there; leaves it stopped there with the text restored and rip at brk. 0
 * or -errno. */
static int run_to_libraries(pid_t pid, const struct loader *ld, const char *name)
{
	struct user_regs_struct regs;
	bool added = false;
	int err, sig = 0, hits = 0;
	long orig;

	err = poke_byte(pid, ld->brk, 0xcc, &orig);
	if (err)
		return err;
	for (;;) {
		__s32 state = -1;

		if (ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig))
			return -errno;
		err = wait_stop(pid, name, &sig);
		if (err)
			return err;
		if (sig != SIGTRAP)
			continue; /* the command's own signal, delivered on the next run */
		sig = 0;
		if (ptrace(PTRACE_GETREGS, pid, NULL, &regs))
			return -errno;
		if (regs.rip - 1 != ld->brk)
			continue;
		/* The int3 ran: restore the instruction and run it next. */
		if (ptrace(PTRACE_POKETEXT, pid, (void *)ld->brk, (void *)orig))
			return -errno;
		regs.rip = ld->brk;
		if (ptrace(PTRACE_SETREGS, pid, NULL, &regs))
			return -errno;
		procmem__read(pid, ld->r_debug + R_STATE_OFF, &state, sizeof(state));
		added |= state == RT_ADD;
		if ((added && state == RT_CONSISTENT) || ++hits >= MAX_BREAK_HITS)
			return 0;
		/* Step over the restored instruction, then set the trap again. */
		if (ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL))
			return -errno;
		err = wait_stop(pid, name, &sig);
		if (err)
			return err;
		if (sig == SIGTRAP)
			sig = 0;
		err = poke_byte(pid, ld->brk, 0xcc, NULL);
		if (err)
			return err;
	}
}

/* Holds the exec'd pid where its libraries are mapped. 0 or -errno. */
static int hold(pid_t pid, const char *name)
{
	struct loader ld = {};
	char path[256] = "ld.so";
	struct linkmap_auxv av;
	int err;

	/* Should allocscope die while the command is held (a trap in its
	 * text), the command dies with it rather than run into the trap. */
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL, (void *)PTRACE_O_EXITKILL))
		return -errno;
	err = linkmap__auxv(pid, &av);
	if (err || !av.base)
		return err; /* no interpreter: a static executable, held at its exec */
	err = find_loader(pid, av.base, &ld, path, sizeof(path));
	if (err) {
		log_msg("cannot find _dl_debug_state and _r_debug in %s, the loader of %s: %s\n",
			path, name, strerror(-err));
		return err;
	}
	err = run_to_libraries(pid, &ld, name);
	if (err && err != -ECHILD)
		log_msg("cannot run %s to its libraries: %s\n", name, strerror(-err));
	return err;
}

int launch__start(char *const words[], pid_t *pid)
{
	char *const *argv = words;
	int fds[2], e = 0, sig, err;
	ssize_t n;
	pid_t p;

	while (words__assignment(*argv))
		argv++; /* messages name the program */

	if (pipe2(fds, O_CLOEXEC)) {
		log_msg("cannot run %s: %s\n", argv[0], strerror(errno));
		return EXIT_RUNTIME;
	}
	fflush(NULL);
	p = fork();
	if (p == 0)
		child(words, fds[1]);
	close(fds[1]);
	if (p < 0) {
		close(fds[0]);
		log_msg("cannot run %s: %s\n", argv[0], strerror(errno));
		return EXIT_RUNTIME;
	}
	/* The pipe closes at a successful exec (O_CLOEXEC), or brings errno. */
	do
		n = read(fds[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	if (n == sizeof(e) && e < 0) {
		waitpid(p, NULL, 0);
		log_msg("cannot trace %s from its start: PTRACE_TRACEME: %s "
			"(kernel.yama.ptrace_scope "
			"3 forbids every ptrace)\n",
			argv[0], strerror(-e));
		return EXIT_NO_PRIVILEGE;
	}
	if (n == sizeof(e)) {
		waitpid(p, NULL, 0);
		log_msg("cannot run '%s': %s\n", argv[0], strerror(e));
		return e == ENOENT ? EXIT_CMD_NOT_FOUND : EXIT_CMD_CANNOT_RUN;
	}
	err = wait_stop(p, argv[0], &sig); /* the SIGTRAP of a traced exec */
	if (!err)
		err = hold(p, argv[0]);
	if (err) {
		if (err != -ECHILD) {
			kill(p, SIGKILL);
			waitpid(p, NULL, 0);
		}
		return EXIT_RUNTIME;
	}
	*pid = p;
	return EXIT_OK;
}

int launch__release(pid_t pid)
{
	return ptrace(PTRACE_DETACH, pid, NULL, NULL) ? -errno : 0;
}

void launch__report(pid_t pid, const char *name)
{
	int st;
	pid_t r;

	do
		r = waitpid(pid, &st, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		log_msg("%s (pid %d) runs on, no longer traced\n", name, pid);
	else if (WIFEXITED(st))
		log_msg("%s (pid %d) exited with status %d\n", name, pid, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		log_msg("%s (pid %d) was killed by signal %d (%s)\n", name, pid, WTERMSIG(st),
			strsignal(WTERMSIG(st)));
}
