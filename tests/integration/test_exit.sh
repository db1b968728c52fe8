#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# A traced process exits mid-trace: stderr says so, its sites are shown once more marked
# "exited": true, and allocscope either keeps running or ends cleanly with a final report;
# with a second target still alive, it keeps tracing that one.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

setup
start_target t "$TARGET_DIR/alloc_target" leak_malloc
pid=${T_PID[t]}
start_tool s -p "$pid" "${JSON_ARGS[@]}"
out=${S_OUT[s]}
wait_tracing s "$pid"
run_scenario t leak_malloc
poll_json "$out" "ssum(last, 'live_bytes', $pid, 'leak_malloc') == 100000" 20 ||
	fail "no report showed leak_malloc's 100000 live bytes while the target was alive"

stop_target t
assert_eq "target exit status" 0 $?
if wait_for_line "${S_ERR[s]}" "pid $pid \\(alloc_target\\) exited" 20; then
	pass "stderr says 'pid $pid (alloc_target) exited'"
else
	fail "no 'pid $pid (alloc_target) exited' line on stderr within 20 s"
	show "${S_ERR[s]}"
fi
if poll_json "$out" "any(s.get('exited') for r in reports for s in sites(r, $pid))" 20; then
	pass "a report marks the target's sites exited"
else
	fail "no report with an exited site of pid $pid within 20 s"
fi

# One more interval: the exited site must not come back.
sleep 1.5
if alive "${S_WRAP[s]}"; then
	log "allocscope keeps running after its only target exited"
	stop_tool s INT 5
else
	log "allocscope ended by itself after its only target exited"
	wait_tool s 20
fi
assert_eq "allocscope exit status" 0 "$TOOL_RC"
assert_json "last report is final" "$out" "last.get('final')" true
assert_json "reports showing pid $pid's leak_malloc site as exited" "$out" \
	"sum(1 for r in reports if any(s.get('exited') for s in sites(r, $pid, 'leak_malloc')))" 1
assert_json "no site of pid $pid after the report that marked it exited" "$out" \
	"[i for i, s in every_site() if s['pid'] == $pid and
	  i > min([j for j, q in every_site() if q['pid'] == $pid and q.get('exited')] or [1e9])]" \
	"[]"
assert_json "the exited site still shows its live bytes" "$out" \
	"[s['live_bytes'] for r in reports for s in sites(r, $pid, 'leak_malloc') if s.get('exited')]" \
	"[100000]"

# Two targets, one exits: allocscope must go on tracing the other.
start_target a "$TARGET_DIR/alloc_target" leak_malloc
start_target b "$TARGET_DIR/alloc_target" leak_calloc
A=${T_PID[a]}
B=${T_PID[b]}
start_tool two -p "$A,$B" "${JSON_ARGS[@]}"
wait_tracing two "$A"
wait_tracing two "$B"
run_scenario a leak_malloc
stop_target a
wait_for_line "${S_ERR[two]}" "pid $A \\(alloc_target\\) exited" 20 ||
	fail "two targets: no 'pid $A (alloc_target) exited' line within 20 s"
sleep 1.5
if alive "${S_WRAP[two]}"; then
	pass "two targets: allocscope keeps running while pid $B lives"
else
	fail "two targets: allocscope ended although pid $B is still traced"
	show "${S_ERR[two]}"
fi
run_scenario b leak_calloc
stop_tool two INT 5 "two targets"
assert_eq "two targets: exit status" 0 "$TOOL_RC"
assert_json "two targets: pid $B's leak_calloc, allocated after pid $A exited" "${S_OUT[two]}" \
	"ssum(last, 'live_bytes', $B, 'leak_calloc')" 60000
assert_json "two targets: pid $A's leak_malloc shown exited once" "${S_OUT[two]}" \
	"sum(1 for r in reports if any(s.get('exited') for s in sites(r, $A, 'leak_malloc')))" 1
stop_target b
finish
