# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# CPython 3.11+ target whose functions have very long names, in the targets' protocol:
# STACKS distinct Python stacks, DEPTH + 2 frames deep, every function named with 4096
# characters, nearly all emoji (16 KB of UTF-8, in its co_name and co_qualname). Per "go" line each stack keeps
# one bytearray of SIZE bytes (a malloc, too large for pymalloc) at the "site" line.
#
#   py_longnames.py [STACKS [DEPTH]]      (300 and 40 by default)
import os, sys

STACKS = int(sys.argv[1]) if len(sys.argv) > 1 else 300
DEPTH = int(sys.argv[2]) if len(sys.argv) > 2 else 40
SIZE = 20000
NAME_CHARS = 4096


def long_name(prefix):
    return prefix + "\U0001F600" * (NAME_CHARS - len(prefix))


keep = []


def deep(n):
    if n:
        return deep(n - 1)
    return bytearray(SIZE)  # site: leak


def renamed(fn, name):
    fn.__code__ = fn.__code__.replace(co_name=name, co_qualname=name)
    return fn


renamed(deep, long_name("leak_"))
callers = []
for i in range(STACKS):
    # One code object per caller, so that every caller starts a distinct stack.
    ns = {"deep": deep, "DEPTH": DEPTH}
    exec(compile("def caller():\n    return deep(DEPTH)\n", __file__, "exec"), ns)
    callers.append(renamed(ns["caller"], long_name("caller%d_" % i)))

print("pid %d" % os.getpid(), flush=True)
for line in sys.stdin:
    if line.strip() != "go":
        break
    keep.extend(c() for c in callers)
    print("done leak", flush=True)
