#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Cost of the Python heap census: a CPython process holding about 200 MiB of small objects
# (tuples of an int, a float and a str) traced with JSON reports every second; each report's
# census time (python_heaps[].ms) and the pymalloc bytes it read, medians over the reports.
# Goal: at most 500 ms per report for 200 MiB.
# Environment: BENCH_PYTHON (a python3; default pyenv's newest 3.11), BENCH_CENSUS_N
# (1100000 tuples; 3.6-3.9 take more memory per tuple), BENCH_CENSUS_REPORTS (6), ALLOCSCOPE.

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ALLOCSCOPE=${ALLOCSCOPE:-$ROOT/.output/allocscope}
N=${BENCH_CENSUS_N:-1100000}
REPORTS=${BENCH_CENSUS_REPORTS:-6}
GOAL_MS=500
PY=${BENCH_PYTHON:-$(find /root/.pyenv/versions -maxdepth 3 -path '*/3.11.*/bin/python3' \
	2>/dev/null | sort -V | tail -1)}
TMP=$(mktemp -d /tmp/allocscope-benchcensus.XXXXXX)
TPID=
cleanup()
{
	[ -n "$TPID" ] && kill "$TPID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

[ -x "$PY" ] || { echo "  skipped: no python3 (set BENCH_PYTHON)"; exit 0; }

mkfifo "$TMP/in"
exec 9<>"$TMP/in"
"$PY" -c "
import os, sys
kept = [(i + 10**9, float(i), 's%d' % i) for i in range($N)]
print('pid', os.getpid(), flush=True)
sys.stdin.readline()" <"$TMP/in" >"$TMP/target" 2>&1 &
TPID=$!
until grep -q '^pid' "$TMP/target" 2>/dev/null; do
	kill -0 "$TPID" 2>/dev/null || { cat "$TMP/target"; exit 1; }
	sleep 0.1
done
cmd=("$ALLOCSCOPE" -p "$TPID" -i 1 -n "$REPORTS" --format json --census-budget 60000)
"${cmd[@]}" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err"; exit 1; }
echo go >&9
exec 9>&-

echo "Python heap census: $("$PY" -c 'import sys; print(sys.version.split()[0])') ($PY)"
python3 - "$TMP/out" "$TPID" "$GOAL_MS" <<'PYEOF'
import json, sys
path, pid, goal = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
heaps = []
for line in open(path):
    r = json.loads(line)
    heaps += [h for h in r.get("python_heaps", []) if h["pid"] == pid]
# The first report pays for reading the process's type objects once: left out.
ms = sorted(h["ms"] for h in heaps[1:]) or [h["ms"] for h in heaps]
med = ms[len(ms) // 2]
pools = heaps[-1]["pools"]
mib = pools * heaps[-1]["pool_size"] / 2**20
print("  %d reports, %d pools (%.0f MiB of pymalloc pools)" % (len(heaps), pools, mib))
print("  census per report: median %.0f ms (min %.0f, max %.0f): %.2f ms per MiB" %
      (med, ms[0], ms[-1], med / mib))
print("  for 200 MiB: %.0f ms (goal <= %.0f ms): %s" %
      (med / mib * 200, goal, "ok" if med / mib * 200 <= goal else "OVER"))
PYEOF
echo "  command: ${cmd[*]}"
