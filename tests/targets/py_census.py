# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Python target for test_python_census, in the targets' protocol: prints "pid <PID>"; at "go"
# builds a dict of 2,000,000 int keys to 2,000,000 distinct int values, all outside the
# small-int cache but the keys below 257 (4,000,000 int objects in pymalloc's pools, one
# table from malloc) and 100,000 distinct short strs (compact objects, smaller than str's
# tp_basicsize), and prints "table <BYTES>" (the dict's own table, as __sizeof__
# counts it) and "done census". It also reserves 8 GiB of anonymous memory it never touches
# (as allocators and JITs do), which a census must not read: reading it would have the kernel
# map it, filling the process's page tables.
import ctypes, os, sys

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                      ctypes.c_long]
# PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE
reserved = libc.mmap(None, 8 << 30, 0x3, 0x02 | 0x20 | 0x4000, -1, 0)
if reserved in (None, ctypes.c_void_p(-1).value):
    sys.exit("mmap: %s" % os.strerror(ctypes.get_errno()))

N = 2000000
kept = []
print("pid %d" % os.getpid(), flush=True)
for line in sys.stdin:
    if line.strip() != "go":
        break
    d = {}
    for i in range(N):
        d[i] = i + 10**9
    kept.append(d)
    kept.append(["s%d" % i for i in range(100000)])
    print("table %d" % (d.__sizeof__() - dict.__basicsize__), flush=True)
    print("done census", flush=True)
