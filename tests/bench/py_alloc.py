# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The Python benchmark workload: prints "pid <PID>", waits for a line on stdin (so the
# tracer attaches first), then times it and prints "ns_per_iter <N>".
#   alloc N DEPTH   N times, DEPTH Python frames down: one 1000-character str (malloc,
#                   past pymalloc's 512 bytes) made and dropped (free): one traced pair
#   app N           an application-shaped run: N records built, serialised and parsed with
#                   json, kept in a dict; reported per record
#   tuples N        N 2-tuples of fresh ints made and dropped: two small objects from
#                   pymalloc and two frees per iteration (the tuple itself comes back from
#                   the interpreter's free list), what --python-objects traps on
import json, os, sys, time

def descend(depth, n):
    if depth > 1:
        return descend(depth - 1, n)
    s = None
    for i in range(n):
        s = str(i % 10) * 1000
    return s

def tuples(n):
    t = None
    for i in range(n):
        t = (i, i + 1)
    return t

def app(n):
    table = {}
    for i in range(n):
        rec = {"id": i, "name": "user%d" % i, "tags": ["a", "b", str(i)], "score": i * 0.5}
        table[i] = json.loads(json.dumps(rec))
    return table

print("pid %d" % os.getpid(), flush=True)
sys.stdin.readline()
n = int(sys.argv[2])
start = time.perf_counter()
if sys.argv[1] == "alloc":
    descend(int(sys.argv[3]), n)
elif sys.argv[1] == "tuples":
    tuples(n)
else:
    app(n)
print("ns_per_iter %.1f" % ((time.perf_counter() - start) * 1e9 / n), flush=True)
