# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Picks call sites with Python frames out of allocscope's JSON reports, for
# test_python_sites.sh.
#
#   pyreport.py FILE PID [--python] [--first FUNC] [--through FUNC] [--min-objects N]
#               [--per-object MIN MAX] [--dump N]
#
# Reads the last report of FILE (one JSON object per line), keeps PID's sites that match
# every option, ranks them by live_bytes, and prints the top one as KEY=VALUE lines:
#   found      1, or 0 when no site matches (then only found and count follow)
#   count      how many sites matched
#   final      the report's "final" flag (true/false)
#   no_thread  the report's python_no_thread count
#   live_bytes, live_objects, growth_bytes, allocs, frees   the site's fields
#   per_object live_bytes // live_objects (0 without live objects)
#   alloc      frames[0] as "symbol (module)"
#   next       "python" if frames[1] is a Python frame, else frames[1] as "symbol (module)"
#   py0, py1   the first and second Python frames (innermost first) as the text report
#              shows them, "basename:line function"; empty if there are fewer
#   py_last    the last (outermost) Python frame
#   py0_file   the first Python frame's full file name
#   pystack    every Python frame, innermost first, joined by " | "
#   stack      every frame, for failure messages
# Options:
#   --python            only sites with at least one Python frame
#   --first FUNC        only sites whose first Python frame is function FUNC
#   --through FUNC      only sites with a Python frame of function FUNC
#   --min-objects N     only sites with at least N live objects
#   --per-object A B    only sites with A <= live_bytes / live_objects <= B
#   --dump N            print the N top sites' stacks, one per line, instead (for failures)
#   --share FILE:LINE   instead, how much of the matching sites' growth since tracing began
#                       (their live bytes, counted where positive) is at sites whose
#                       innermost Python frame is FILE (a base name) at LINE:
#                       share_bytes, share_objects (those sites' live bytes and objects),
#                       share_total (every matching site's) and share_pct (floor of the
#                       percentage; 0 when share_total is 0)
# Exits 2 if FILE holds no report or a line is not a JSON object.
import json
import os
import sys


def die(msg):
    print("error=%s" % msg)
    sys.exit(2)


def is_py(f):
    return f.get("module") == "python"


def show_frame(f):
    if is_py(f):
        return "%s:%s %s" % (os.path.basename(f.get("file", "?")), f.get("line"), f.get("symbol"))
    return "%s (%s)" % (f.get("symbol"), f.get("module", "?"))


def per_object(s):
    n = s.get("live_objects", 0)
    return s.get("live_bytes", 0) // n if n > 0 else 0


def describe(s):
    fr = s.get("frames") or []
    return "live %d B in %d objects (%d B each), growth %d B: %s" % (
        s.get("live_bytes", 0), s.get("live_objects", 0), per_object(s),
        s.get("growth_bytes", 0), " <- ".join(show_frame(f) for f in fr) or "(no frames)")


def print_share(sites, where):
    def at(s):
        py = [f for f in s.get("frames") or [] if is_py(f)]
        return py and "%s:%s" % (os.path.basename(py[0].get("file", "?")), py[0].get("line")) == where

    total = sum(max(s.get("live_bytes", 0), 0) for s in sites)
    mine = [s for s in sites if at(s)]
    part = sum(max(s.get("live_bytes", 0), 0) for s in mine)
    print("share_bytes=%d" % part)
    print("share_objects=%d" % sum(s.get("live_objects", 0) for s in mine))
    print("share_total=%d" % total)
    print("share_pct=%d" % (100 * part // total if total > 0 else 0))


def main(argv):
    if len(argv) < 3:
        die("usage: pyreport.py FILE PID [options]")
    path, pid = argv[1], int(argv[2])
    python, first, through, min_objects, span, dump = False, None, None, 0, None, None
    share = None
    i = 3
    while i < len(argv):
        a = argv[i]
        if a == "--python":
            python = True
        elif a == "--first":
            first = argv[i + 1]
            i += 1
        elif a == "--through":
            through = argv[i + 1]
            i += 1
        elif a == "--min-objects":
            min_objects = int(argv[i + 1])
            i += 1
        elif a == "--per-object":
            span = (int(argv[i + 1]), int(argv[i + 2]))
            i += 2
        elif a == "--share":
            share = argv[i + 1]
            i += 1
        elif a == "--dump":
            dump = int(argv[i + 1])
            i += 1
        else:
            die("unknown option %s" % a)
        i += 1

    last = None
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                last = json.loads(line)
            except ValueError as e:
                die("line %d is not JSON: %s" % (n, e))
            if not isinstance(last, dict):
                die("line %d is not a JSON object" % n)
    if last is None:
        die("no reports in %s" % path)

    def keep(s):
        if s.get("pid") != pid:
            return False
        py = [f for f in s.get("frames") or [] if is_py(f)]
        if (python or first is not None or through is not None) and not py:
            return False
        if first is not None and py[0].get("symbol") != first:
            return False
        if through is not None and through not in [f.get("symbol") for f in py]:
            return False
        if s.get("live_objects", 0) < min_objects:
            return False
        if span is not None and not span[0] <= per_object(s) <= span[1]:
            return False
        return True

    sites = sorted((s for s in last.get("sites", []) if keep(s)),
                   key=lambda s: s.get("live_bytes", 0), reverse=True)
    if dump is not None:
        for s in sites[:dump]:
            print(describe(s))
        return
    if share is not None:
        print_share(sites, share)
        return
    print("found=%d" % (1 if sites else 0))
    print("count=%d" % len(sites))
    print("final=%s" % ("true" if last.get("final") else "false"))
    print("no_thread=%s" % last.get("python_no_thread"))
    if not sites:
        return
    s = sites[0]
    fr = s.get("frames") or []
    py = [f for f in fr if is_py(f)]
    for k in ("live_bytes", "live_objects", "growth_bytes", "allocs", "frees"):
        print("%s=%s" % (k, s.get(k)))
    print("per_object=%d" % per_object(s))
    print("alloc=%s" % (show_frame(fr[0]) if fr else ""))
    print("next=%s" % ("python" if len(fr) > 1 and is_py(fr[1])
                       else show_frame(fr[1]) if len(fr) > 1 else ""))
    print("py0=%s" % (show_frame(py[0]) if py else ""))
    print("py1=%s" % (show_frame(py[1]) if len(py) > 1 else ""))
    print("py_last=%s" % (show_frame(py[-1]) if py else ""))
    print("py0_file=%s" % (py[0].get("file", "") if py else ""))
    print("pystack=%s" % " | ".join(show_frame(f) for f in py))
    print("stack=%s" % describe(s))


if __name__ == "__main__":
    main(sys.argv)
