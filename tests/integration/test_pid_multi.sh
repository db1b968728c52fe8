#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# -p A,B: two processes of one binary (identical stacks). With --group-by process they are
# told apart: each site carries the pid that allocated it, and each process's totals are
# exact. By default (several processes) a stack both have is one row counting both.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

setup
bin=$TARGET_DIR/alloc_target
start_target a "$bin" leak_malloc leak_calloc
start_target b "$bin" leak_malloc
A=${T_PID[a]}
B=${T_PID[b]}
start_tool s -p "$A,$B" --group-by process "${JSON_ARGS[@]}"
start_tool g -p "$A,$B" "${JSON_ARGS[@]}"
for name in s g; do
	wait_tracing "$name" "$A"
	wait_tracing "$name" "$B"
done
run_scenario a leak_malloc
run_scenario b leak_malloc
run_scenario a leak_calloc
stop_tool s INT 5
assert_eq "allocscope exit status" 0 "$TOOL_RC"
stop_tool g INT 5
assert_eq "default grouping: allocscope exit status" 0 "$TOOL_RC"
out=${S_OUT[s]}

assert_json "last report is final" "$out" "last.get('final')" true
# check PID SYMBOL FIELD EXPECTED
check()
{
	assert_json "pid $1 $2 $3" "$out" "ssum(last, '$3', $1, '$2')" "$4"
}
check "$A" leak_malloc live_bytes 100000
check "$A" leak_malloc live_objects 1000
check "$A" leak_calloc live_bytes 60000
check "$B" leak_malloc live_bytes 100000
check "$B" leak_malloc live_objects 1000
assert_json "pid B has no leak_calloc site" "$out" "len(sites(last, $B, 'leak_calloc'))" 0
assert_json "every site's pid is A or B" "$out" \
	"sorted(set(s['pid'] for r in reports for s in r['sites']) - {$A, $B})" "[]"
assert_json "leak_malloc sites per pid" "$out" \
	"sorted(set(s['pid'] for s in sites(last, sym='leak_malloc'))) == sorted([$A, $B])" true
assert_json "header live_bytes covers both" "$out" "last['live_bytes'] >= 260000" true
read -r p1 p2 < <(printf '%s\n' "$A" "$B" | sort -n | paste -sd' ')
assert_json "header targets: both, by pid" "$out" "(last['scope'], last['targets'])" \
	"('pid', [{'pid': $p1, 'comm': 'alloc_target'}, {'pid': $p2, 'comm': 'alloc_target'}])"

# By default: leak_malloc is one row of both processes, leak_calloc one of A alone.
out=${S_OUT[g]}
assert_json "default grouping: leak_malloc rows (processes, pids, live_bytes, live_objects)" \
	"$out" "[(s['processes'], sorted(s['pids']), s['live_bytes'], s['live_objects'])
	         for s in sites(last, sym='leak_malloc')]" "[(2, $(python3 -c "print(sorted([$A, $B]))"), 200000, 2000)]"
assert_json "default grouping: leak_calloc rows (pid, processes, live_bytes)" "$out" \
	"[(s['pid'], s['processes'], s['live_bytes']) for s in sites(last, sym='leak_calloc')]" \
	"[($A, 1, 60000)]"
assert_json "default grouping: header live_bytes as with one row per process" "$out" \
	"last['live_bytes'] >= 260000" true

stop_target a
assert_eq "target A exit status" 0 $?
stop_target b
assert_eq "target B exit status" 0 $?
finish
