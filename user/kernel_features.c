// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Kernel feature probes run before the BPF object is loaded, so that a kernel
 * without an optional helper gets a smaller configuration instead of a verifier error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "elfobj.h"
#include "kernel_features.h"
#include "log.h"
#include "probes.h"

/* Linux 6.13; libbpf 1.1 and Debian 12's headers predate it. */
#define AS_BPF_TRACE_UPROBE_SESSION 57

int kernel_features__bpf_loop(void)
{
	const char *force = getenv("ALLOCSCOPE_NO_BPF_LOOP");

	if (force && !strcmp(force, "1"))
		return 0;
	/* bpf_loop: Linux 5.17 (commit e6f2dd0f8067). Uprobe programs are of
	 * the kprobe type, and the helper is offered to every program type. */
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_loop, NULL);
}

/* The kernel's BTF id of kfunc name, or -ENOENT. */
static int kfunc_id(const char *name)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int id;

	if (!btf)
		return -errno;
	id = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC);
	btf__free(btf);
	return id;
}

int kernel_features__btf_tracepoint(const char *name)
{
	struct btf *btf = btf__load_vmlinux_btf();
	char type[128];
	int id;

	if (!btf)
		return -errno;
	/* What libbpf looks up to attach a tp_btf program. */
	snprintf(type, sizeof(type), "btf_trace_%s", name);
	id = btf__find_by_name_kind(btf, type, BTF_KIND_TYPEDEF);
	btf__free(btf);
	return id >= 0 ? 1 : id == -ENOENT ? 0 : id;
}

/* A session link of prog_fd on a function of allocscope's own executable,
 * for this process alone; the function never runs while it is attached. */
static int attach_own_function(int prog_fd)
{
	struct elfobj *o = elfobj__open("/proc/self/exe");
	struct elf_func f;
	__u64 cookie = 0;
	int err, fd;

	if (!o)
		return -errno;
	err = elfobj__find_func(o, "kernel_features__uprobe_session", &f);
	elfobj__close(o);
	if (err)
		return err;
	fd = probes__multi_link(prog_fd, true, false, "/proc/self/exe", getpid(), &f.file_off,
				&cookie, 1);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int kernel_features__uprobe_session(void)
{
	const char *force = getenv("ALLOCSCOPE_NO_SESSIONS");
	LIBBPF_OPTS(bpf_prog_load_opts, opts,
		    .expected_attach_type = (enum bpf_attach_type)AS_BPF_TRACE_UPROBE_SESSION);
	/* bpf_session_is_return(), the kfunc the session program needs; then
	 * return 0 (a session program's entry returns 0 or 1). */
	struct bpf_insn insns[] = {
		{.code = BPF_JMP | BPF_CALL, .src_reg = BPF_PSEUDO_KFUNC_CALL},
		{.code = BPF_ALU64 | BPF_MOV | BPF_K},
		{.code = BPF_JMP | BPF_EXIT},
	};
	int id, fd, err;

	if (force && !strcmp(force, "1"))
		return 0;
	id = kfunc_id("bpf_session_is_return");
	if (id == -ENOENT)
		return 0;
	if (id < 0)
		return id;
	insns[0].imm = id;
	/* Before 6.13 the attach type is unknown and the load fails; the
	 * link then tells whether uprobes take it. */
	fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, "as_session", "GPL", insns, 3, &opts);
	if (fd < 0)
		return fd == -EINVAL || fd == -EACCES ? 0 : fd;
	err = attach_own_function(fd);
	close(fd);
	if (err == -ENOENT)
		return 1; /* a stripped allocscope: the load alone says yes */
	return err ? (err == -EINVAL || err == -EOPNOTSUPP ? 0 : err) : 1;
}

void kernel_features__adjust(struct config *cfg)
{
	if (kernel_features__bpf_loop() != 0)
		return;
	cfg->no_bpf_loop = true;
	cfg->unwind = UNWIND_FP;
	cfg->python = false;
	log_msg("this kernel has no bpf_loop (Linux 5.17+): native stacks are walked with "
		"frame pointers only (--unwind fp, at most %d callers), without Python frames\n",
		AS_FP_LOOP_FRAMES);
}
