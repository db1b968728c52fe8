#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""craft_libc.py SRC DST: writes DST, a copy of the libc SRC whose .dynsym `free` points one
byte into an instruction of the real free (with a 0x55 `push %rbp` byte there, so a probe
planner keeps its probe at +0). A breakpoint placed from DST into SRC's code splits that
instruction. Prints the crafted file offset of free (hex)."""
import re
import struct
import subprocess
import sys


def sections(b):
    shoff, = struct.unpack_from('<Q', b, 0x28)
    shentsize, shnum = struct.unpack_from('<HH', b, 0x3a)
    return [struct.unpack_from('<IIQQQQIIQQ', b, shoff + i * shentsize) for i in range(shnum)]


def loads(b):
    phoff, = struct.unpack_from('<Q', b, 0x20)
    phentsize, phnum = struct.unpack_from('<HH', b, 0x36)
    for i in range(phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz = struct.unpack_from(
            '<IIQQQQ', b, phoff + i * phentsize)
        if p_type == 1:
            yield p_offset, p_vaddr, p_filesz


def file_off(b, vaddr):
    for off, va, size in loads(b):
        if va <= vaddr < va + size:
            return vaddr - va + off
    sys.exit('craft_libc: no PT_LOAD holds %#x' % vaddr)


def mid_instruction(src, vaddr):
    """The address one byte into the first REX-prefixed instruction after free's first: a
    breakpoint there makes the CPU run `REX int3`, and the kernel single-steps the rest of
    the instruction without its prefix (a 32-bit result where 64 bits were meant)."""
    out = subprocess.run(['objdump', '-d', '--start-address=%#x' % vaddr,
                          '--stop-address=%#x' % (vaddr + 96), src],
                         capture_output=True, text=True, check=True).stdout
    insns = [(int(m.group(1), 16), m.group(2).split())
             for m in re.finditer(r'^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+)', out, re.M)]
    for addr, code in insns[1:]:
        if len(code) >= 3 and 0x40 <= int(code[0], 16) <= 0x4f:
            return addr + 1
    sys.exit('craft_libc: no REX-prefixed instruction in free')


def main():
    src, dst = sys.argv[1], sys.argv[2]
    b = bytearray(open(src, 'rb').read())
    secs = sections(b)
    dynsym = next(s for s in secs if s[1] == 11)  # SHT_DYNSYM
    strtab = secs[dynsym[6]]
    off, size, ent = dynsym[4], dynsym[5], dynsym[9]
    for i in range(size // ent):
        p = off + i * ent
        name, _, _, shndx, value, _ = struct.unpack_from('<IBBHQQ', b, p)
        end = b.index(0, strtab[4] + name)
        if shndx and b[strtab[4] + name:end] == b'free':
            target = mid_instruction(src, value)
            struct.pack_into('<Q', b, p + 8, target)
            struct.pack_into('<Q', b, p + 16, 16)
            b[file_off(b, target)] = 0x55
            open(dst, 'wb').write(b)
            print('%x' % target)
            return
    sys.exit('craft_libc: no free in .dynsym')


main()
