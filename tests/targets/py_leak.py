# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Python target for the stack tests, in the targets' protocol: prints "pid <PID>", then per
# "go" line keeps 200 x b"x" * 100000: 100033 B each (PyBytesObject header + data + NUL),
# too large for pymalloc (512 B at most), so PyObject_Malloc passes each one to malloc.
import os, sys
SIZE = 100000
keep = []

def leak(n):
    for _ in range(n):
        keep.append(b"x" * SIZE)

print("pid %d" % os.getpid(), flush=True)
for line in sys.stdin:
    if line.strip() != "go":
        break
    leak(200)
    print("done leak", flush=True)
