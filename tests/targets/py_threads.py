# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Python target for test_python_sites: two threads allocating at once from different
# functions. alpha_worker keeps 1000-character strs, beta_worker 2000-character ones (built
# at run time: each a malloc, above pymalloc's 512 B), 10 every 5 ms each. Prints
# "pid <PID>" once both run; the main thread then waits on stdin, and the next line or EOF
# stops the workers. The test finds the lines it expects by their "# site:" comments.
# Runs on 3.6+.
import os, sys, threading

stop = threading.Event()
alpha_keep = []
beta_keep = []


def alpha_worker(ch):
    while not stop.is_set():
        for _ in range(10):
            alpha_keep.append(ch * 1000)  # site: alpha append
        stop.wait(0.005)


def beta_worker(ch):
    while not stop.is_set():
        for _ in range(10):
            beta_keep.append(ch * 2000)  # site: beta append
        stop.wait(0.005)


threads = [threading.Thread(target=fn, args=("x",), name=fn.__name__)
           for fn in (alpha_worker, beta_worker)]
for t in threads:
    t.start()
print("pid %d" % os.getpid(), flush=True)
sys.stdin.readline()
stop.set()
for t in threads:
    t.join()
