#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# --comm: a process started after allocscope is picked up and traced exactly; a --comm that
# matches nothing waits, says so, and exits 0 on SIGINT. How soon a process is picked up is
# logged, not asserted (a loaded machine delays it; scripts/bench.sh is for speed).

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

# run_one BINARY COMM: BINARY runs as a copy named COMM, a name no other process on this
# machine has (other runs of alloc_target would be picked up too).
run_one()
{
	local bin comm=$2 pid out t0 ms
	bin=$TMP/$comm
	cp "$1" "$bin" || die "cannot copy $1"
	start_tool c --comm "$comm" "${JSON_ARGS[@]}"
	if wait_for_line "${S_ERR[c]}" '[Ww]aiting' "$ATTACH_TIMEOUT"; then
		pass "$comm: waiting line before the target exists"
	else
		fail "$comm: no line saying allocscope is waiting for '$comm'"
		show "${S_ERR[c]}"
	fi
	t0=$(date +%s%3N)
	start_target t "$bin" leak_malloc
	pid=${T_PID[t]}
	wait_tracing c "$pid"
	ms=$(($(date +%s%3N) - t0))
	log "$comm: pid $pid picked up after $ms ms"
	run_scenario t leak_malloc
	stop_tool c INT 5 "$comm"
	assert_eq "$comm: allocscope exit status" 0 "$TOOL_RC"
	out=${S_OUT[c]}
	assert_json "$comm: last report is final" "$out" "last.get('final')" true
	assert_json "$comm: leak_malloc live_bytes" "$out" \
		"ssum(last, 'live_bytes', $pid, 'leak_malloc')" 100000
	assert_json "$comm: leak_malloc live_objects" "$out" \
		"ssum(last, 'live_objects', $pid, 'leak_malloc')" 1000
	assert_json "$comm: site comm" "$out" \
		"sorted(set(s['comm'] for s in sites(last, $pid)))" "['$comm']"
	stop_target t
}

setup
run_one "$TARGET_DIR/alloc_target" "at_nofp_$$"
run_one "$TARGET_DIR/alloc_target_fp" "at_fp_$$"

# Two processes of one name: both traced; with --group-by process each site under its own
# pid, by default their one stack as one row of both.
comm=at_two_$$
cp "$TARGET_DIR/alloc_target" "$TMP/$comm" || die "cannot copy alloc_target"
start_tool two --comm "$comm" --group-by process "${JSON_ARGS[@]}"
start_tool one --comm "$comm" "${JSON_ARGS[@]}"
wait_for_line "${S_ERR[two]}" '[Ww]aiting' "$ATTACH_TIMEOUT" || fail "$comm: no waiting line"
wait_for_line "${S_ERR[one]}" '[Ww]aiting' "$ATTACH_TIMEOUT" || fail "$comm: no waiting line"
start_target a "$TMP/$comm" leak_malloc
start_target b "$TMP/$comm" leak_malloc
for name in two one; do
	wait_tracing "$name" "${T_PID[a]}"
	wait_tracing "$name" "${T_PID[b]}"
done
run_scenario a leak_malloc
run_scenario b leak_malloc
stop_tool two INT 5 "$comm"
assert_eq "$comm x 2: exit status" 0 "$TOOL_RC"
stop_tool one INT 5 "$comm"
assert_eq "$comm x 2, default grouping: exit status" 0 "$TOOL_RC"
for t in a b; do
	assert_json "$comm x 2: pid ${T_PID[$t]} leak_malloc live_bytes" "${S_OUT[two]}" \
		"ssum(last, 'live_bytes', ${T_PID[$t]}, 'leak_malloc')" 100000
done
assert_json "$comm x 2, default grouping: leak_malloc rows (processes, live_bytes)" \
	"${S_OUT[one]}" "[(s['processes'], s['live_bytes']) for s in sites(last, sym='leak_malloc')]" \
	"[(2, 200000)]"
read -r p1 p2 < <(printf '%s\n' "${T_PID[a]}" "${T_PID[b]}" | sort -n | paste -sd' ')
assert_json "$comm x 2: scope and targets, by pid" "${S_OUT[two]}" \
	"(last['scope'], last['targets'])" \
	"('comm', [{'pid': $p1, 'comm': '$comm'}, {'pid': $p2, 'comm': '$comm'}])"
stop_target a
stop_target b

# Nothing matches: allocscope keeps waiting until told to stop.
start_tool n --comm "no_such_$$" "${JSON_ARGS[@]}"
if wait_for_line "${S_ERR[n]}" '[Ww]aiting' "$ATTACH_TIMEOUT"; then
	pass "unmatched --comm prints a waiting line"
else
	fail "unmatched --comm: no waiting line"
	show "${S_ERR[n]}"
fi
# Two rescans (-i 1) after the waiting line: it must still be there.
sleep 2
if alive "${S_WRAP[n]}"; then
	pass "unmatched --comm keeps running"
else
	fail "unmatched --comm: allocscope exited by itself"
	show "${S_ERR[n]}"
fi
stop_tool n INT 5 "unmatched --comm"
assert_eq "unmatched --comm: exit status after SIGINT" 0 "$TOOL_RC"
finish
