# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Python target for test_python_rows and test_columns, in the targets' protocol: prints
# "pid <PID>", then per "go" line runs the next step:
#   1. forks WORKERS multiprocessing workers that wait, prints "workers PID..." and
#      "done fork" (the workers exist before a tracer names them with -p)
#   2. lets each worker keep LEAK 700-character strings (749-byte str objects on 3.11,
#      past pymalloc's 512 bytes: one malloc each) at the one line marked WORKER_LEAK_LINE,
#      in a function with a long name, and prints "done leak" once all have
# "quit" (or EOF) ends it and its workers.
import multiprocessing, os, sys

WORKERS = 4
LEAK = 300


def worker_keeping_strings_in_a_list_that_only_grows_so_that_its_name_is_long(go, ready, stop):
    go.wait()
    kept = []
    for i in range(LEAK):
        kept.append(str(i % 10) * 700)  # WORKER_LEAK_LINE
    ready.set()
    stop.wait()


print("pid %d" % os.getpid(), flush=True)
ctx = multiprocessing.get_context("fork")
go, stop = ctx.Event(), ctx.Event()
workers, readies = [], []
step = 0
for line in sys.stdin:
    if line.strip() != "go":
        break
    step += 1
    if step == 1:
        for _ in range(WORKERS):
            ready = ctx.Event()
            p = ctx.Process(
                target=worker_keeping_strings_in_a_list_that_only_grows_so_that_its_name_is_long,
                args=(go, ready, stop))
            p.start()
            workers.append(p)
            readies.append(ready)
        print("workers %s" % " ".join(str(p.pid) for p in workers), flush=True)
        print("done fork", flush=True)
    elif step == 2:
        go.set()
        for ready in readies:
            ready.wait(60)
        print("done leak", flush=True)
stop.set()
for p in workers:
    p.join(5)
