# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Python target for the worker and arena tests, in the targets' protocol: prints "pid <PID>",
# then per "go" line runs the scenario named on the command line:
#   fork   forks WORKERS multiprocessing workers; each keeps LEAK 700-character strings
#          (749-byte str objects, past pymalloc's 512 bytes: malloc) and says it is done
#   pool   the first "go" forks WORKERS workers that each keep LEAK such strings at once
#          and prints "workers PID PID"; the next "go" has each keep LEAK more at the same
#          line: a consumer whose workers exist, and leak, before a tracer is started
#   small  keeps SMALL tuples of small objects: pymalloc carves them from 1 MiB arenas
#          (256 KiB before 3.10) that it maps with mmap, never through malloc. The loop
#          walks ints made at start-up, so only the appending line allocates: a new arena
#          is then always mapped there, never at the for line.
# "quit" (or EOF) ends it and its workers.
import multiprocessing, os, sys, time
WORKERS = 2
LEAK = 300
SMALL = 200000
small_keep = []
small_ints = list(range(SMALL))

def worker_loop(ready, stop):
    time.sleep(1.0)  # the tracer attaches to a new process shortly after its fork
    kept = []
    for i in range(LEAK):
        kept.append(str(i % 10) * 700)  # WORKER_LEAK_LINE
    ready.set()
    stop.wait()

def fork_workers():
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    workers = []
    for _ in range(WORKERS):
        ready = ctx.Event()
        p = ctx.Process(target=worker_loop, args=(ready, stop))
        p.start()
        workers.append((p, ready))
    for p, ready in workers:
        ready.wait(20)
    return stop, [p for p, _ in workers]

def pool_leak(kept):
    for i in range(LEAK):
        kept.append(str(i % 10) * 700)  # POOL_LEAK_LINE

def pool_worker(ready, more, stop):
    kept = []
    pool_leak(kept)
    ready[0].set()
    more.wait()
    pool_leak(kept)
    ready[1].set()
    stop.wait()

def start_pool():
    ctx = multiprocessing.get_context("fork")
    stop, more = ctx.Event(), ctx.Event()
    workers = []
    for _ in range(WORKERS):
        ready = (ctx.Event(), ctx.Event())
        p = ctx.Process(target=pool_worker, args=(ready, more, stop))
        p.start()
        workers.append((p, ready))
    for p, ready in workers:
        ready[0].wait(20)
    print("workers %s" % " ".join(str(p.pid) for p, _ in workers), flush=True)
    return stop, more, workers

def pool_more(more, workers):
    more.set()
    for p, ready in workers:
        ready[1].wait(20)

def keep_small(ints):
    for i in ints:
        small_keep.append((i, -i))  # SMALL_LINE

print("pid %d" % os.getpid(), flush=True)
stop, workers = None, []
for line in sys.stdin:
    if line.strip() != "go":
        break
    if sys.argv[1] == "fork":
        stop, workers = fork_workers()
    elif sys.argv[1] == "pool" and not stop:
        stop, more, pool = start_pool()
        workers = [p for p, _ in pool]
    elif sys.argv[1] == "pool":
        pool_more(more, pool)
    else:
        keep_small(small_ints)
    print("done %s" % sys.argv[1], flush=True)
if stop:
    stop.set()
    for p in workers:
        p.join(5)
