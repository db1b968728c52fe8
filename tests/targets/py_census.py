# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Python target for test_python_census, in the targets' protocol: prints "pid <PID>"; at "go"
# builds a dict of 2,000,000 int keys to 2,000,000 distinct int values, all outside the
# small-int cache but the keys below 257 (4,000,000 int objects in pymalloc's pools, one
# table from malloc), and prints "table <BYTES>" (the dict's own table, as __sizeof__
# counts it) and "done census".
import os, sys

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
    print("table %d" % (d.__sizeof__() - dict.__basicsize__), flush=True)
    print("done census", flush=True)
