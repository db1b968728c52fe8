#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# --max-overhead: a churning target whose probes cost more than the limit loses its heap
# probes within two intervals and goes on in rss mode (said once on stderr, marked in the
# report, its heap sites frozen, later allocations unseen, the pages it faults in charged); --max-overhead 0 never
# takes them away; the default spares a slow leak.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

GOV_RE="probes cost ~[0-9]+ % of its CPU \\(limit [0-9]+ %\\): heap probes removed, now charging the pages it faults in \\(rss mode\\)"

# reports_now NAME: how many reports tool run NAME has written.
reports_now()
{
	grep -c '^{' "${S_OUT[$1]}" 2>/dev/null
}

# wait_reports NAME N: waits until tool run NAME has written N more reports.
wait_reports()
{
	local want=$(($(reports_now "$1") + $2)) deadline
	deadline=$(deadline_ms $((SCENARIO_TIMEOUT)))
	while [ "$(reports_now "$1")" -lt "$want" ]; do
		[ "$(date +%s%3N)" -ge "$deadline" ] && die "$1: no $2 more reports in ${SCENARIO_TIMEOUT}s"
		sleep 0.05
	done
}

setup

# 1. --max-overhead 5 on a churn of 100000 malloc+free pairs per round: demoted.
start_target g "$TARGET_DIR/alloc_target" leak_malloc churn churn churn churn churn churn churn \
	churn leak_calloc
PID=${T_PID[g]}
start_tool gov -p "$PID" -i 1 -T 50 --format json --max-overhead 5
wait_tracing gov "$PID"
run_scenario g leak_malloc
rounds=0
while [ "$rounds" -lt 8 ] && ! grep -Eq "pid $PID: $GOV_RE" "${S_ERR[gov]}"; do
	run_scenario g churn
	rounds=$((rounds + 1))
	# The interval the round ended in is judged at its report.
	wait_reports gov 1
done
grep -Eq "pid $PID: $GOV_RE" "${S_ERR[gov]}" ||
	{ show "${S_ERR[gov]}"; die "--max-overhead 5: pid $PID kept its heap probes through $rounds churn rounds"; }
pass "--max-overhead 5: the churning target was demoted (after $rounds churn rounds)"
# Rounds left: churn once more, then a leak, both after the demotion.
while [ "$rounds" -lt 8 ]; do
	run_scenario g churn
	rounds=$((rounds + 1))
done
run_scenario g leak_calloc
wait_reports gov 2
stop_tool gov INT 5 "--max-overhead 5"
assert_eq "--max-overhead 5: exit status" 0 "$TOOL_RC"
target_alive g || fail "--max-overhead 5: the target died"
OUT=${S_OUT[gov]}
assert_eq "--max-overhead 5: said once on stderr" 1 "$(grep -Ec "$GOV_RE" "${S_ERR[gov]}")"
# First report with probe runs, first report marked governed: at most one interval apart.
first_hits=$(json_eval "$OUT" "min(i for i, r in enumerate(reports)
	for p in r['cost']['processes'] if p['pid'] == $PID and p['traps_per_s'] > 0)")
governed=$(json_eval "$OUT" "min(i for i, r in enumerate(reports)
	for p in r['cost']['processes'] if p['pid'] == $PID and p['mode'] == 'rss')")
if [[ "$first_hits" =~ ^[0-9]+$ && "$governed" =~ ^[0-9]+$ ]] &&
	[ "$governed" -le $((first_hits + 1)) ]; then
	pass "--max-overhead 5: probes ran from report $first_hits, governed in report $governed"
else
	die "--max-overhead 5: probes ran from report '$first_hits', governed in report '$governed'"
fi
assert_json "--max-overhead 5: every later report marks it governed, in rss mode" "$OUT" \
	"all(p['mode'] == 'rss' for r in reports[$governed:] for p in r['cost']['processes']
	     if p['pid'] == $PID)" true
assert_json "--max-overhead 5: no probe runs once the detach is done (report after the next)" "$OUT" \
	"int(sum(p['traps_per_s'] for r in reports[$governed + 2:] for p in r['cost']['processes']
	     if p['pid'] == $PID))" 0
assert_json "--max-overhead 5: the churn after the demotion is unseen" "$OUT" \
	"sum(ssum(r, 'allocs', $PID, 'churn') for r in reports[$governed + 1:])" 0
assert_json "--max-overhead 5: the leak after the demotion is no heap site (pages at most)" "$OUT" \
	"[s['frames'][0]['symbol'] for s in seen($PID, 'leak_calloc')
	  if s['frames'][0]['symbol'] != 'page fault']" "[]"
assert_json "--max-overhead 5: leak_malloc keeps its 100000 live bytes, marked frozen" "$OUT" \
	"[(s['live_bytes'], s.get('frozen')) for s in sites(last, $PID, 'leak_malloc')]" \
	"[(100000, True)]"
assert_json "--max-overhead 5: leak_malloc was not frozen before the demotion" "$OUT" \
	"[s.get('frozen') for r in reports[:$governed] for s in sites(r, $PID, 'leak_malloc')
	  if s.get('frozen')]" "[]"
stop_target g

# 2. --max-overhead 0: never demoted, every call counted.
start_target z "$TARGET_DIR/alloc_target" churn churn churn
PID=${T_PID[z]}
start_tool zero -p "$PID" -i 1 -T 50 --format json --max-overhead 0
wait_tracing zero "$PID"
for _ in 1 2 3; do
	run_scenario z churn
done
wait_reports zero 1
stop_tool zero INT 5 "--max-overhead 0"
assert_eq "--max-overhead 0: exit status" 0 "$TOOL_RC"
assert_eq "--max-overhead 0: no demotion" 0 "$(grep -Ec "$GOV_RE" "${S_ERR[zero]}")"
OUT=${S_OUT[zero]}
assert_json "--max-overhead 0: every churn call counted" "$OUT" "total('allocs', $PID, 'churn')" \
	300000
assert_json "--max-overhead 0: never marked governed" "$OUT" \
	"[p['mode'] for r in reports for p in r['cost']['processes'] if p['mode'] != 'exact']" "[]"
stop_target z

# 3. The default limit spares a slow leak (4 KiB and 9 small allocations every 10 ms).
start_target s "$TARGET_DIR/alloc_target" slow_leak
PID=${T_PID[s]}
start_tool slow -p "$PID" -i 1 -T 50 --format json
wait_tracing slow "$PID"
send_line s go
wait_reports slow 5
send_line s
wait_for_line "${T_OUT[s]}" '^done slow_leak$' "$SCENARIO_TIMEOUT" || fail "slow_leak did not finish"
wait_reports slow 1
stop_tool slow INT 5 "default limit"
assert_eq "default limit: exit status" 0 "$TOOL_RC"
assert_eq "default limit: the slow leak is not demoted" 0 "$(grep -Ec "$GOV_RE" "${S_ERR[slow]}")"
OUT=${S_OUT[slow]}
assert_json "default limit: its probes ran" "$OUT" \
	"max(p['traps_per_s'] for r in reports for p in r['cost']['processes']) > 0" true
assert_json "default limit: every leaked block is counted, and live at the end" "$OUT" \
	"(ssum(last, 'live_bytes', $PID, 'cache_insert') == 4096 * total('allocs', $PID, 'cache_insert')
	  and total('allocs', $PID, 'cache_insert') > 0)" true
stop_target s

finish
