# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Python target for test_python_sites: a start-up loader. Writes NFILES files of 64 KiB in a
# new temporary directory, prints "pid <PID>" and waits for "go" (so the tracer can attach
# before the load), then builds one string with data = data + open(path).read() over the
# files (the growing string, far above pymalloc's 512 B, is realloc'ed or malloc'ed at that
# line), prints "loaded <len>" and "done load", and keeps it until the next line or EOF. The
# test finds the lines it expects by their "# site:" comments. Runs on 3.6+.
import os, shutil, sys, tempfile

NFILES = 16
FILE_SIZE = 64 * 1024


def make_files(d):
    paths = []
    for i in range(NFILES):
        path = os.path.join(d, "part%02d.txt" % i)
        with open(path, "w") as f:
            f.write(chr(ord("a") + i) * FILE_SIZE)
        paths.append(path)
    return paths


def load_all(paths):
    data = ""
    for path in paths:
        data = data + open(path).read()  # site: concat
    return data


tmp = tempfile.mkdtemp(prefix="py_loader.")
try:
    paths = make_files(tmp)
    print("pid %d" % os.getpid(), flush=True)
    if sys.stdin.readline().strip() == "go":
        data = load_all(paths)  # site: load call
        print("loaded %d" % len(data), flush=True)
        print("done load", flush=True)
        sys.stdin.readline()
finally:
    shutil.rmtree(tmp)
