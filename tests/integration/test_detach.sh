#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Clean detach: on SIGINT or SIGTERM, while the target allocates nonstop, allocscope prints a
# final report, exits 0 within 5 s and leaves no BPF program or uprobe behind; the target lives on.

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

PROG_NAMES="alloc_enter alloc_exit free_enter noop_probe proc_exit proc_exec"

# progs: "id:name" of every loaded BPF program with one of allocscope's names, sorted.
progs()
{
	bpftool prog show -j 2>/dev/null | python3 -c '
import json, sys
names = set(sys.argv[1].split())
for p in json.load(sys.stdin):
    if p.get("name") in names:
        print("%d:%s" % (p["id"], p["name"]))
' "$PROG_NAMES" | sort
}

uprobe_events()
{
	local f
	for f in /sys/kernel/tracing/uprobe_events /sys/kernel/debug/tracing/uprobe_events; do
		[ -r "$f" ] && { cat "$f"; return; }
	done
}

# Other allocscope runs on this machine may hold programs of the same names: only the
# programs that appeared while ours ran are its own.
run_one()
{
	local sig=$1 what=$2 pid before during ours after ev_before ev_after
	shift 2
	start_target t "$TARGET_DIR/alloc_target" slow_leak leak_malloc
	pid=${T_PID[t]}
	before=$(progs)
	ev_before=$(uprobe_events)
	start_tool s -p "$pid" "${JSON_ARGS[@]}" "$@"
	wait_tracing s "$pid"
	send_line t go # slow_leak: allocates and frees every 10 ms until the next line
	sleep 1.5
	during=$(progs)
	ours=$(comm -13 <(echo "$before") <(echo "$during"))
	if [ -n "$ours" ]; then
		pass "$what: programs while tracing: $(echo "$ours" | cut -d: -f2 | sort -u | tr '\n' ' ')"
	else
		fail "$what: no new BPF program named one of: $PROG_NAMES"
	fi

	stop_tool s "$sig" 5 "$what" && pass "$what: exited $TOOL_ELAPSED ms after SIG$sig"
	assert_eq "$what: exit status after SIG$sig" 0 "$TOOL_RC"
	assert_json "$what: last report is final" "${S_OUT[s]}" "last.get('final')" true

	# Program memory is released after an RCU grace period: allow a moment.
	for _ in $(seq 20); do
		after=$(comm -12 <(echo "$ours") <(progs))
		[ -z "$after" ] && break
		sleep 0.1
	done
	assert_eq "$what: programs left loaded" "" "$(printf "%s" "$after" | tr '\n' ' ')"
	ev_after=$(uprobe_events)
	assert_eq "$what: uprobe_events entries left" "" \
		"$(comm -13 <(echo "$ev_before" | sort) <(echo "$ev_after" | sort) | tr '\n' ' ')"

	if target_alive t; then
		pass "$what: target still running"
	else
		fail "$what: target died"
	fi
	send_line t stop
	wait_for_line "${T_OUT[t]}" '^done slow_leak$' 5 || fail "$what: slow_leak did not finish"
	run_scenario t leak_malloc
	stop_target t
	assert_eq "$what: target exit status" 0 $?
}

setup
run_one INT "SIGINT"
run_one TERM "SIGTERM"
run_one INT "SIGINT, --probe-mode noop" --probe-mode noop
# The brief form of the check, when no other allocscope runs on this machine.
sleep 0.5
if [ -z "$(pgrep -x allocscope)" ]; then
	assert_eq "no program named like allocscope's is loaded" "" "$(progs | tr '\n' ' ')"
else
	log "other allocscope processes run here ($(pgrep -x allocscope | tr '\n' ' ')):" \
		"only the programs that appeared with ours were checked"
fi
if [ -z "$(uprobe_events)" ]; then
	pass "uprobe_events is empty (or absent)"
else
	fail "uprobe_events is not empty: $(uprobe_events | head -3 | tr '\n' ' ')"
fi
finish
