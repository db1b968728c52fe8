#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Uprobe sessions (Linux 6.13+): one program runs at a call's entry and return, and an entry
# that rejects the call (--min-size, --max-size) skips the return probe. -v says which path
# is used and, at exit, how many returns ran; ALLOCSCOPE_NO_SESSIONS=1 takes the fallback
# (an entry and a return probe per call). Both paths account alike, a realloc whose new size
# is rejected included: its return still frees the tracked block it replaces.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

# session_counts TOOL: sets SKIPS and RETURNS from the run's -v exit line.
session_counts()
{
	SKIPS=$(sed -n 's/.*uprobe sessions: \([0-9]*\) calls skipped.*/\1/p' "${S_ERR[$1]}")
	RETURNS=$(sed -n 's/.*skipped their return probe, \([0-9]*\) returns ran.*/\1/p' "${S_ERR[$1]}")
}

# run_both NAME SCENARIO... -- ARGS...: a session run (NAME) and a fallback run (NAME-fb)
# with ARGS -v on one target over the scenarios.
run_both()
{
	local name=$1 scen=()
	shift
	while [ "$1" != -- ]; do
		scen+=("$1")
		shift
	done
	shift
	start_target t "$TARGET_DIR/alloc_target" "${scen[@]}"
	PID=${T_PID[t]}
	start_tool "$name" -p "$PID" "${JSON_ARGS[@]}" -v "$@"
	ALLOCSCOPE_NO_SESSIONS=1 start_tool "$name-fb" -p "$PID" "${JSON_ARGS[@]}" -v "$@"
	wait_tracing "$name" "$PID"
	wait_tracing "$name-fb" "$PID"
	for s in "${scen[@]}"; do
		run_scenario t "$s"
	done
	for s in "$name" "$name-fb"; do
		stop_tool "$s" INT 10 "$s"
		assert_eq "$s: exit status" 0 "$TOOL_RC"
	done
	stop_target t
}

setup
if ! grep -qw BPF_TRACE_UPROBE_SESSION <(bpftool btf dump file /sys/kernel/btf/vmlinux 2>/dev/null); then
	skip "kernel without uprobe sessions (Linux 6.13+)"
fi

# leak_malloc: 1000 x malloc(100); churn: 100000 x (malloc(64), free). No call reaches 1G.
run_both min leak_malloc churn -- --min-size 1G
assert_grep "min: -v says sessions are used" "${S_ERR[min]}" \
	"attaching with uprobe session links: one program at entry and return"
assert_grep "min-fb: -v says why not" "${S_ERR[min-fb]}" \
	"attaching with uprobe_multi links \(no uprobe sessions: Linux 6.13\+"
session_counts min
assert_eq "min: returns run with a --min-size that rejects every call" 0 "$RETURNS"
assert_ge "min: calls that skipped their return" 101000 "$SKIPS"
for s in min min-fb; do
	assert_json "$s: nothing accounted" "${S_OUT[$s]}" \
		"(ssum(last, 'live_bytes', $PID), total('allocs', $PID))" "(0, 0)"
done
# The cost lines still count every run: 101000 entries and 100000 frees, and the fallback's
# 101000 returns (a session entry that rejects malloc is counted per CPU, without its
# thread's storage). Within 1 %: a rate times the report's interval is not quite the count,
# and a report may miss up to 63 runs of each kind per thread not yet added from its storage.
declare -A RUNS=([min]=201000 [min-fb]=302000)
for s in min min-fb; do
	runs=$(json_eval "${S_OUT[$s]}" "round(sum(p['traps_per_s'] * r['interval_s']
		for r in reports for p in r['cost']['processes'] if p['pid'] == $PID))")
	assert_ge "$s: probe runs counted by the cost lines" $((RUNS[$s] * 99 / 100)) "$runs"
	assert_le "$s: probe runs counted by the cost lines" $((RUNS[$s] * 101 / 100)) "$runs"
done
assert_eq "min-fb: no session counts" "" \
	"$(grep -o 'uprobe sessions: [0-9].*' "${S_ERR[min-fb]}")"

# The counter counts: without a filter every call's return runs.
run_both all leak_malloc churn --
session_counts all
assert_ge "all: returns run without a filter" 101000 "$RETURNS"
for s in all all-fb; do
	assert_json "$s: leak_malloc live" "${S_OUT[$s]}" \
		"(ssum(last, 'live_bytes', $PID, 'leak_malloc'), ssum(last, 'live_objects', $PID, 'leak_malloc'))" \
		"(100000, 1000)"
	assert_json "$s: churn allocs and frees" "${S_OUT[$s]}" \
		"(total('allocs', $PID, 'churn'), total('frees', $PID, 'churn'))" "(100000, 100000)"
done

# leak_calloc: 200 x calloc(10, 30) passes --min-size 200, leak_malloc's 100 B do not: only
# the 200 calloc returns (and the target's own few large allocations) run.
run_both part leak_malloc leak_calloc -- --min-size 200
session_counts part
assert_ge "part: returns of the calls kept" 200 "$RETURNS"
assert_le "part: returns of the calls kept" 300 "$RETURNS"
for s in part part-fb; do
	assert_json "$s: leak_calloc counted, leak_malloc not" "${S_OUT[$s]}" \
		"(ssum(last, 'live_bytes', $PID, 'leak_calloc'), ssum(last, 'live_bytes', $PID, 'leak_malloc'))" \
		"(60000, 0)"
done

# grow_realloc: realloc(NULL, 16) doubled up to 65536. With --max-size 1000 the blocks of 16
# to 512 B are tracked; realloc(p, 1024) is rejected at its entry, yet frees the tracked
# 512 B block: its return must run. Nothing stays live; 6 allocations, 6 frees.
run_both max grow_realloc -- --max-size 1000
for s in max max-fb; do
	assert_json "$s: grow_realloc live, allocs, frees" "${S_OUT[$s]}" \
		"(ssum(last, 'live_bytes', $PID, 'grow_realloc'), total('allocs', $PID, 'grow_realloc'),
		  total('frees', $PID, 'grow_realloc'))" "(0, 6, 6)"
done
finish
