#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Clean detach: on SIGINT or SIGTERM, while the target allocates nonstop, allocscope prints a
# final report, exits 0 within 5 s and leaves no BPF program or uprobe behind; the target lives on.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

uprobe_events()
{
	local f
	for f in /sys/kernel/tracing/uprobe_events /sys/kernel/debug/tracing/uprobe_events; do
		[ -r "$f" ] && { cat "$f"; return; }
	done
}

# Other allocscope runs on this machine may hold programs of the same names: tool_progs
# tells the run's own.
run_one()
{
	local sig=$1 what=$2 pid ours ev_before ev_after
	shift 2
	start_target t "$TARGET_DIR/alloc_target" slow_leak leak_malloc
	pid=${T_PID[t]}
	ev_before=$(uprobe_events)
	start_tool s -p "$pid" "${JSON_ARGS[@]}" "$@"
	wait_tracing s "$pid"
	send_line t go # slow_leak: allocates and frees every 10 ms until the next line
	sleep 1.5
	ours=$(tool_progs s)
	if [ -n "$ours" ]; then
		pass "$what: programs while tracing: $(echo "$ours" | cut -d: -f2 | sort -u | tr '\n' ' ')"
	else
		fail "$what: allocscope holds no BPF program named one of: $ALLOCSCOPE_PROGS"
	fi

	stop_tool s "$sig" 5 "$what" && pass "$what: exited $TOOL_ELAPSED ms after SIG$sig"
	assert_eq "$what: exit status after SIG$sig" 0 "$TOOL_RC"
	assert_json "$what: last report is final" "${S_OUT[s]}" "last.get('final')" true

	assert_eq "$what: programs left loaded" "" "$(progs_left "$ours")"
	ev_after=$(uprobe_events)
	assert_eq "$what: uprobe_events entries left" "" \
		"$(comm -13 <(echo "$ev_before" | sort) <(echo "$ev_after" | sort) | tr '\n' ' ')"

	if target_alive t; then
		pass "$what: target still running"
	else
		fail "$what: target died"
	fi
	send_line t stop
	wait_for_line "${T_OUT[t]}" '^done slow_leak$' "$SCENARIO_TIMEOUT" || fail "$what: slow_leak did not finish"
	run_scenario t leak_malloc
	stop_target t
	assert_eq "$what: target exit status" 0 $?
}

setup
run_one INT "SIGINT"
run_one TERM "SIGTERM"
run_one INT "SIGINT, --probe-mode noop" --probe-mode noop
# The brief form of the check, when no other allocscope runs on this machine before or after
# (one that ended just before may still be releasing its programs: progs_left waits).
if [ -z "$(pgrep -x allocscope)" ]; then
	left=$(progs_left "$(bpf_progs)")
	if [ -z "$(pgrep -x allocscope)" ]; then
		assert_eq "no program named like allocscope's is loaded" "" "$left"
	else
		log "another allocscope started meanwhile: only our own programs were checked"
	fi
else
	log "other allocscope processes run here ($(pgrep -x allocscope | tr '\n' ' ')):" \
		"only the programs our runs held were checked"
fi
if [ -z "$(uprobe_events)" ]; then
	pass "uprobe_events is empty (or absent)"
else
	fail "uprobe_events is not empty: $(uprobe_events | head -3 | tr '\n' ' ')"
fi
finish
