/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reads where CPython keeps its thread states, and where glibc keeps a
 * pthread key's value, out of the machine code of the functions that look
 * them up: PyGILState_GetThisThreadState, PyInterpreterState_Head and
 * pthread_getspecific. No version table can know a build's offsets (LTO
 * folds them into rip-relative loads); their code always does. x86-64 only. */
#ifndef PYDECODE_H
#define PYDECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* An address the code computes: vaddr (+ load bias) + disp when direct; the
 * pointer stored at vaddr (a GOT slot, read from the process) + disp when
 * via_slot. vaddr is in the file's ELF address space. */
struct x86_ref {
	__u64 vaddr;
	__s64 disp;
	bool via_slot;
};

/* The pthread key (an int) of the interpreter's thread states, from
 * PyGILState_GetThisThreadState's code at vaddr: a bare int key (3.6,
 * LTO builds) or the key field of a Py_tss_t. 0 or -ENOENT. */
int pydecode__tss_key(const __u8 *code, size_t len, __u64 vaddr, struct x86_ref *key);

/* The pointer to the first interpreter, from PyInterpreterState_Head. */
int pydecode__interp_head(const __u8 *code, size_t len, __u64 vaddr, struct x86_ref *head);

/* glibc's pthread_getspecific: the slot of key k (k < *keys) is at thread
 * pointer + *base + 16 * k. 0 or -ENOENT. */
int pydecode__tsd(const __u8 *code, size_t len, __u32 *base, __u32 *keys);

#endif /* PYDECODE_H */
