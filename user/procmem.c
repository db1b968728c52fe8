// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#define _GNU_SOURCE
#include <errno.h>
#include <sys/uio.h>
#include "procmem.h"

int procmem__read(pid_t pid, __u64 addr, void *buf, size_t len)
{
	struct iovec local = {.iov_base = buf, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)(unsigned long)addr, .iov_len = len};
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

__u64 procmem__ptr(pid_t pid, __u64 addr)
{
	__u64 v;

	return procmem__read(pid, addr, &v, sizeof(v)) ? 0 : v;
}
