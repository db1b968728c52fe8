#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The cost line: every report, text and JSON, says what the probes cost each target. A
# churning target's probe runs per second match the call rate it measures itself (three runs
# per malloc+free pair: malloc's entry and return, free's entry) and are a share of its CPU,
# with --pid and in whole-system mode.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

# count_lines FILE REGEX: how many lines of FILE match REGEX.
count_lines()
{
	grep -Ec -- "$2" "$1" 2>/dev/null
}

# wait_more FILE REGEX N: waits until N more lines of FILE match REGEX.
wait_more()
{
	local want=$(($(count_lines "$1" "$2") + $3)) deadline
	deadline=$(deadline_ms "$SCENARIO_TIMEOUT")
	while [ "$(count_lines "$1" "$2")" -lt "$want" ]; do
		[ "$(date +%s%3N)" -ge "$deadline" ] && die "no $3 more lines /$2/ in $1"
		sleep 0.05
	done
}

setup

# 1. JSON: bench_target times 400000 pairs under the probes (seconds at today's trap costs;
# intervals of 0.5 s fall wholly inside the run).
start_target b "$TARGET_DIR/bench_target" 400000
PID=${T_PID[b]}
start_tool json -p "$PID" -i 0.5 -T 5 --format json --max-overhead 0 -v
wait_tracing json "$PID"
send_line b go
wait_for_line "${T_OUT[b]}" '^ns_per_pair ' "$SCENARIO_TIMEOUT" || die "bench_target did not finish"
wait_more "${S_OUT[json]}" '^\{' 1
stop_tool json INT 5 json
assert_eq "json: exit status" 0 "$TOOL_RC"
OUT=${S_OUT[json]}
ns=$(sed -n 's/^ns_per_pair //p' "${T_OUT[b]}")
want=$(awk -v ns="$ns" 'BEGIN { printf "%.0f", 3e9 / ns }')
log "bench_target: $ns ns per pair under the probes: $want probe runs/s expected"
assert_json "json: every report has a cost object listing the target" "$OUT" \
	"all(any(p['pid'] == $PID for p in r['cost']['processes']) for r in reports)" true
peak=$(json_eval "$OUT" "int(max(p['traps_per_s'] for r in reports
	for p in r['cost']['processes'] if p['pid'] == $PID))")
assert_ge "json: peak probe runs/s at least half of 3 x the pairs/s ($want)" "$((want / 2))" "$peak"
assert_ge "json: peak probe runs/s at most twice 3 x the pairs/s ($want)" "$peak" "$((want * 2))"
assert_json "json: in the busy intervals the probes are a share of the target's CPU" "$OUT" \
	"all(p['cpu_pct'] is not None and 0 < p['cpu_pct'] <= 100 for r in reports
	    for p in r['cost']['processes'] if p['pid'] == $PID and p['traps_per_s'] >= $peak / 2)" \
	true
assert_json "json: the trap cost measured at start is in every report" "$OUT" \
	"all(r['cost']['trap_ns'] > 0 and r['cost']['estimate'] for r in reports)" true
assert_json "json: allocscope's own CPU is in every report" "$OUT" \
	"all(r['cost']['allocscope_cpu_pct'] >= 0 for r in reports)" true
assert_grep "json: -v says the trap cost" "${S_ERR[json]}" \
	'^allocscope: trap cost: [0-9]+ ns per probe, [0-9]+ ns more per return probe'
stop_target b

# 2. Text, 80 columns: one cost line per report, under the header.
start_target t "$TARGET_DIR/alloc_target" churn churn
PID=${T_PID[t]}
COLUMNS=80 start_tool text -p "$PID" -i 0.5 --max-overhead 0
wait_tracing text "$PID"
run_scenario t churn
wait_more "${S_OUT[text]}" '^allocscope [0-9]' 1
run_scenario t churn
wait_more "${S_OUT[text]}" '^allocscope [0-9]' 1
stop_tool text INT 5 text
assert_eq "text: exit status" 0 "$TOOL_RC"
OUT=${S_OUT[text]}
headers=$(count_lines "$OUT" '^allocscope [0-9]{4}-')
assert_eq "text: one cost line per report ($headers reports)" "$headers" \
	"$(count_lines "$OUT" "^cost: [0-9.]+[kM]? traps/s, (~[0-9]+|<1|0|~\\?) % of pid $PID's CPU; allocscope [0-9.]+ % CPU\$")"
assert_ge "text: a report shows the churn's probe runs" 1 \
	"$(count_lines "$OUT" "^cost: [0-9.]+k traps/s, ~[1-9][0-9]* % of pid $PID's CPU")"
assert_eq "text: no line wider than 80 columns" "" "$(awk 'length > 80' "$OUT" | head -3)"
stop_target t

# 3. Every process: the churning target is among the costliest, with its share.
start_target w "$TARGET_DIR/alloc_target" churn churn churn
PID=${T_PID[w]}
start_tool all -i 0.5 -T 1 --format json
wait_for_line "${S_ERR[all]}" 'tracing every process using .*libc' "$ATTACH_TIMEOUT" ||
	{ show "${S_ERR[all]}"; die "every process: libc not probed"; }
for _ in 1 2 3; do
	run_scenario w churn
done
wait_more "${S_OUT[all]}" '^\{' 1
stop_tool all INT 5 all
assert_eq "every process: exit status" 0 "$TOOL_RC"
assert_json "every process: the churning target has probe runs and a share of its CPU" \
	"${S_OUT[all]}" "any(p['pid'] == $PID and p['traps_per_s'] > 1000 and (p['cpu_pct'] or 0) > 0
	  for r in reports for p in r['cost']['processes'])" true
assert_json "every process: processes_total counts those with probe runs" "${S_OUT[all]}" \
	"all(r['cost']['processes_total'] >= len(r['cost']['processes']) for r in reports)" true
stop_target w

finish
