// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Pattern matching over a few instruction encodings, not a disassembler:
 * each function accepts only the shapes compilers emit for these one-line
 * lookups, and the loader verifies what it finds against the live process. */
#include <errno.h>
#include <string.h>
#include "pydecode.h"

static __s32 le32(const __u8 *p)
{
	return (__s32)((__u32)p[0] | (__u32)p[1] << 8 | (__u32)p[2] << 16 | (__u32)p[3] << 24);
}

static bool match(const __u8 *code, size_t len, size_t i, const __u8 *pat, size_t n)
{
	return i + n <= len && !memcmp(code + i, pat, n);
}

/* mov disp32(%rip),%rax at i: the slot's address. */
static bool load_rax_rip(const __u8 *code, size_t len, size_t i, __u64 vaddr, __u64 *slot)
{
	static const __u8 mov[] = {0x48, 0x8b, 0x05};

	if (!match(code, len, i, mov, sizeof(mov)) || i + 7 > len)
		return false;
	*slot = vaddr + i + 7 + le32(code + i + 3);
	return true;
}

/* lea disp(%rax),%rdi or %rbx (disp8 or disp32) at i; its length, or 0. */
static size_t lea_from_rax(const __u8 *code, size_t len, size_t i, __s64 *disp)
{
	if (i + 3 > len || code[i] != 0x48 || code[i + 1] != 0x8d)
		return 0;
	switch (code[i + 2]) {
	case 0xb8: /* rdi, disp32 */
	case 0x98: /* rbx, disp32 */
		if (i + 7 > len)
			return 0;
		*disp = le32(code + i + 3);
		return 7;
	case 0x78: /* rdi, disp8 */
	case 0x58: /* rbx, disp8 */
		if (i + 4 > len)
			return 0;
		*disp = (__s8)code[i + 3];
		return 4;
	}
	return 0;
}

int pydecode__tss_key(const __u8 *code, size_t len, __u64 vaddr, struct x86_ref *key)
{
	__u64 slot = 0;
	bool have_slot = false;
	__s64 disp;

	for (size_t i = 0; i + 6 <= len; i++) {
		/* mov disp32(%rip),%edi: the int key itself, passed on. */
		if (code[i] == 0x8b && code[i + 1] == 0x3d) {
			*key = (struct x86_ref){.vaddr = vaddr + i + 6 + le32(code + i + 2)};
			return 0;
		}
		if (load_rax_rip(code, len, i, vaddr, &slot)) {
			have_slot = true;
			i += 6;
			continue;
		}
		/* &_PyRuntime + disp is the Py_tss_t {int initialized; int key}. */
		if (have_slot && lea_from_rax(code, len, i, &disp)) {
			*key = (struct x86_ref){.vaddr = slot, .disp = disp + 4, .via_slot = true};
			return 0;
		}
	}
	return -ENOENT;
}

int pydecode__interp_head(const __u8 *code, size_t len, __u64 vaddr, struct x86_ref *head)
{
	static const __u8 deref8[] = {0x48, 0x8b, 0x40};
	__u64 slot;

	if (!load_rax_rip(code, len, 0, vaddr, &slot))
		return -ENOENT;
	if (len > 7 && code[7] == 0xc3) { /* the variable itself: ret */
		*head = (struct x86_ref){.vaddr = slot};
		return 0;
	}
	if (match(code, len, 7, deref8, sizeof(deref8)) && len > 10) {
		*head = (struct x86_ref){.vaddr = slot, .disp = (__s8)code[10], .via_slot = true};
		return 0;
	}
	return -ENOENT;
}

int pydecode__tsd(const __u8 *code, size_t len, __u32 *base, __u32 *keys)
{
	static const __u8 shl4[] = {0x48, 0xc1, 0xe0, 0x04};
	static const __u8 add_self[] = {0x64, 0x48, 0x03, 0x04, 0x25, 0x10, 0x00, 0x00, 0x00};
	static const __u8 cmp_edi[] = {0x83, 0xff};
	__u32 limit = 0;

	for (size_t i = 0; i + 4 <= len; i++) {
		size_t j;

		/* cmp $N,%edi; ja slow: the first block holds keys 0..N */
		if (match(code, len, i, cmp_edi, sizeof(cmp_edi)) && i + 3 <= len)
			limit = code[i + 2] + 1;
		/* add $idx,%rax; shl $4,%rax; add %fs:0x10,%rax; mov disp8(%rax),%r */
		if (code[i] != 0x48 || code[i + 1] != 0x83 || code[i + 2] != 0xc0)
			continue;
		j = i + 4;
		if (!match(code, len, j, shl4, sizeof(shl4)))
			continue;
		j += sizeof(shl4);
		if (!match(code, len, j, add_self, sizeof(add_self)))
			continue;
		j += sizeof(add_self);
		if (j + 4 > len || code[j] != 0x48 || code[j + 1] != 0x8b ||
		    (code[j + 2] & 0xc7) != 0x40 || !limit)
			return -ENOENT;
		*base = (__u32)code[i + 3] * 16 + code[j + 3];
		*keys = limit;
		return 0;
	}
	return -ENOENT;
}
