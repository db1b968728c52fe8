# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# CPython 3.13 target that lies about its own layout, in the targets' protocol. CPython
# 3.13 keeps _Py_DebugOffsets, the struct layouts debuggers read, at the start of
# _PyRuntime, in memory the process can write. With "corrupt", it sets
# code_object.filename there to 0xfff0 (a code object is ~200 bytes) before printing
# "pid <PID>"; without, it is the control. Then per "go" line it keeps 200 x 100033 B
# (b"x" * 100000: too large for pymalloc, so each is one malloc) at the "site" line.
import ctypes, os, struct, sys

SIZE = 100000
# Byte offset of code_object.filename in 3.13's _Py_DebugOffsets: cookie, version and
# free_threaded (3 x 8), runtime_state (3 x 8), interpreter_state (13 x 8),
# thread_state (9 x 8), interpreter_frame (6 x 8), then code_object.size.
CODE_FILENAME = 280
keep = []


def corrupt():
    base = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime"))
    if ctypes.string_at(base, 8) != b"xdebugpy":
        sys.exit("no _Py_DebugOffsets at _PyRuntime")
    (real,) = struct.unpack("<Q", ctypes.string_at(base + CODE_FILENAME, 8))
    # Refuse to write anywhere but the field we mean: 3.13.x keeps co_filename at 112.
    if real != 112:
        sys.exit("code_object.filename is %d, not 112: not 3.13's layout" % real)
    ctypes.memmove(base + CODE_FILENAME, struct.pack("<Q", 0xFFF0), 8)


def leak(n):
    for _ in range(n):
        keep.append(b"x" * SIZE)  # site: leak


if sys.argv[1:] == ["corrupt"]:
    corrupt()
print("pid %d" % os.getpid(), flush=True)
for line in sys.stdin:
    if line.strip() != "go":
        break
    leak(200)
    print("done leak", flush=True)
