# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Python target for test_residency, in the targets' protocol: prints "pid <PID>", then per
# "go" line keeps 100000 session records (a dict each, with a str, an int, a float and a list
# of strs), about 60 MB: small objects in pymalloc's mmap'd arenas, dicts' tables from malloc.
import os, sys
sessions = {}

def load(start, n):
    for i in range(start, start + n):
        sessions["session-%d" % i] = {
            "user": "user-%d@example.com" % i,
            "hits": i * 7,
            "score": i / 3.0,
            "tags": ["tag-%d" % (i % 97), "region-%d" % (i % 13), "x" * (i % 50)],
        }

print("pid %d" % os.getpid(), flush=True)
for line in sys.stdin:
    if line.strip() != "go":
        break
    load(len(sessions), 100000)
    print("done load", flush=True)
