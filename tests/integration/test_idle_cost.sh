#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# allocscope's own CPU while its targets are idle stays near zero in every mode: --pid,
# --comm and whole-system. The bound catches a busy loop (a spinning poll costs a whole
# core, 10 s in a 10 s window); it is no speed target (`make bench` measures that).

# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

WINDOW_S=${IDLE_WINDOW_S:-10}
BOUND_CS=30 # centiseconds of utime + stime in the window: 0.3 s
HZ=$(getconf CLK_TCK)

# cpu_cs PID: utime + stime of PID so far, in centiseconds.
cpu_cs()
{
	awk -v hz="$HZ" '{ sub(/^.*\) /, ""); printf "%d\n", ($12 + $13) * 100 / hz }' \
		"/proc/$1/stat"
}

# forks: processes created on the host since boot.
forks()
{
	awk '$1 == "processes" { print $2 }' /proc/stat
}

# measure NAME:WHAT...: each tool run's CPU over one WINDOW_S while all of them run (--pid
# and --comm share theirs: a window each cost the suite 10 s more); asserts the bound for
# each. Past the first rescan (5 s in whole-system mode, 1 s with --comm) and
# several reports.
measure()
{
	local spec name what f0 f1 bound
	declare -A c0 c1
	for spec in "$@"; do
		name=${spec%%:*}
		c0[$name]=$(cpu_cs "${S_PID[$name]}")
	done
	f0=$(forks)
	sleep "$WINDOW_S"
	for spec in "$@"; do
		name=${spec%%:*}
		c1[$name]=$(cpu_cs "${S_PID[$name]}")
	done
	f1=$(forks)
	for spec in "$@"; do
		name=${spec%%:*} what=${spec#*:} bound=$BOUND_CS
		alive "${S_WRAP[$name]}" || { show "${S_ERR[$name]}"; die "$what: allocscope exited early"; }
		# Whole-system mode reads every new process's maps and symbols and builds its
		# unwind tables: real work, which other tests running beside this one cause.
		# Then only a busy loop is caught (half a core).
		if [ "$name" = all ] && [ $((f1 - f0)) -gt 20 ]; then
			bound=$((WINDOW_S * 50))
			log "$what: $((f1 - f0)) processes started on the host in the window: bound $bound cs"
		fi
		assert_le "$what: allocscope's CPU in ${WINDOW_S} s (centiseconds)" "$bound" \
			$((c1[$name] - c0[$name]))
	done
	for spec in "$@"; do
		name=${spec%%:*} what=${spec#*:}
		stop_tool "$name" INT 5 "$what"
		assert_eq "$what: exit status" 0 "$TOOL_RC"
	done
}

setup
# A name no other test's process has, so --comm matches this target alone.
comm=idle$$
cp "$TARGET_DIR/alloc_target" "$TMP/$comm"
start_target t "$TMP/$comm" leak_malloc
pid=${T_PID[t]}

start_tool p -p "$pid" -i 2
start_tool c --comm "$comm" -i 2
wait_tracing p "$pid"
wait_tracing c "$pid"
# One burst of allocations, then nothing: each report has a site to show.
run_scenario t leak_malloc
measure p:--pid c:--comm

# Alone: the other two would be new processes to read and build tables for in its window.
start_tool all -i 2
wait_for_line "${S_ERR[all]}" 'tracing every process using .*libc\.so' "$ATTACH_TIMEOUT" ||
	{ show "${S_ERR[all]}"; die "whole-system: allocscope did not attach to libc"; }
measure all:whole-system

target_alive t && pass "the idle target is alive"
stop_target t
finish
