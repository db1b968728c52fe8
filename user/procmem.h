/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reads another process's memory (process_vm_readv): no ptrace stop, the
 * target never notices. */
#ifndef PROCMEM_H
#define PROCMEM_H

#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

/* Exactly len bytes at addr in pid: 0, -EFAULT when any is unmapped, -ESRCH. */
int procmem__read(pid_t pid, __u64 addr, void *buf, size_t len);

/* The pointer at addr; 0 when it cannot be read. */
__u64 procmem__ptr(pid_t pid, __u64 addr);

#endif /* PROCMEM_H */
