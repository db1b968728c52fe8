# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Python target for test_python_objects, in the targets' protocol: prints "pid <PID>", then
# per "go" line runs TICKS ticks, each keeping PER_TICK 2-tuples of fresh ints (objects of
# 64 and 32 bytes: pymalloc's, never malloc's) beside a json.loads whose result is dropped
# (a churn of small dicts, lists and strs), pausing PAUSE_S between ticks so that a traced
# run costs little CPU; then says "done objects". Prints "kept N" once: the tuples kept
# per "go".
import json, os, sys, time

TICKS = 40
PER_TICK = 50
PAUSE_S = 0.02
DOC = json.dumps([{"id": i, "name": "item %d" % i, "tags": ["a%d" % i, "b"]}
                  for i in range(20)])
keep = []


def tick(n):
    keep.extend([(i, i + 1) for i in range(n, n + 2 * PER_TICK, 2)])  # site: keep
    json.loads(DOC)  # site: churn
    return n + 2 * PER_TICK


print("pid %d" % os.getpid(), flush=True)
print("kept %d" % (TICKS * PER_TICK), flush=True)
n = 1 << 20  # above the small-int cache: each int is a new object
for line in sys.stdin:
    if line.strip() != "go":
        break
    for _ in range(TICKS):
        n = tick(n)
        time.sleep(PAUSE_S)
    print("done objects", flush=True)
